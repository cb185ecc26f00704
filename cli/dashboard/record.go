package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
)

// Record is the running dashboard's entry in `<repo>/.kittify/.dashboard`
// (paths.DashboardFile), mode 0600. It holds no secret: the CSRF token
// stays in the serving process.
type Record struct {
	PID       int       `json:"pid"`
	URL       string    `json:"url"`
	Port      int       `json:"port"`
	StartedAt time.Time `json:"started_at"`
}

// URLFor is the dashboard URL of a loopback port.
func URLFor(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) + "/" }

// maxRecord bounds what ReadRecord reads.
const maxRecord = 4 << 10

// ParseRecord reads a record and checks it can only point at a dashboard on
// this machine's loopback: the URL must be exactly URLFor(port).
func ParseRecord(b []byte) (Record, error) {
	if len(b) > maxRecord {
		return Record{}, fmt.Errorf("larger than %d bytes", maxRecord)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("not a dashboard record: %w", err)
	}
	if r.PID <= 0 {
		return Record{}, fmt.Errorf("bad pid %d", r.PID)
	}
	if r.Port <= 0 || r.Port > 65535 {
		return Record{}, fmt.Errorf("bad port %d", r.Port)
	}
	if r.URL != URLFor(r.Port) {
		return Record{}, fmt.Errorf("url %q is not %s", r.URL, URLFor(r.Port))
	}
	return r, nil
}

// ReadRecord reads the record at path; the error wraps fs.ErrNotExist when
// there is none.
func ReadRecord(path string) (Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return Record{}, fmt.Errorf("read %s: %w", path, err)
	}
	r, err := ParseRecord(b)
	if err != nil {
		return Record{}, fmt.Errorf("read %s: %w", path, err)
	}
	return r, nil
}

// ErrRecordExists is returned by ClaimRecord when another record is there.
var ErrRecordExists = errors.New("a dashboard record already exists")

// ClaimRecord writes rec to path only if no record exists, atomically: a
// reader sees either no file or the whole record, and of two dashboards
// starting at once exactly one wins. The parent directory (.kittify/) is
// created when missing.
func ClaimRecord(path string, rec Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil && !isWindows() {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// A hard link fails when the target exists: an exclusive, all-or-nothing create.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrRecordExists
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// RemoveRecord removes the record at path if it names pid (any record when
// pid is 0, e.g. an unreadable one). It reports whether it removed one.
func RemoveRecord(path string, pid int) (bool, error) {
	if pid != 0 {
		r, err := ReadRecord(path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err == nil && r.PID != pid {
			return false, nil
		}
	}
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove %s: %w", path, err)
	}
	return true, nil
}

// RecordState says what a record stands for.
type RecordState string

const (
	RecordNone    RecordState = "none"    // no record
	RecordRunning RecordState = "running" // a live dashboard answers at its URL with its PID
	RecordStale   RecordState = "stale"   // unreadable, dead PID, or nobody (or someone else) answers
)

// Check reads the record at path and verifies it: the PID is alive and the
// dashboard at its loopback URL says it is that PID. The only connection it
// opens is to 127.0.0.1. err is set only when the record cannot be read for
// a reason other than its absence or its content.
func Check(ctx context.Context, path string) (Record, RecordState, error) {
	r, err := ReadRecord(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Record{}, RecordNone, nil
	case err != nil:
		if _, serr := os.Stat(path); serr != nil && !errors.Is(serr, fs.ErrNotExist) {
			return Record{}, RecordNone, err
		}
		return Record{}, RecordStale, nil
	}
	if !localapi.Alive(r.PID) {
		return r, RecordStale, nil
	}
	h, err := Probe(ctx, r.Port)
	if err != nil || h.App != App || h.PID != r.PID {
		return r, RecordStale, nil
	}
	return r, RecordRunning, nil
}

// Probe asks the dashboard on 127.0.0.1:port who it is, within 2 s. It
// never uses a proxy and never dials anything but that loopback address.
func Probe(ctx context.Context, port int) (Health, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+HealthPath, nil)
	if err != nil {
		return Health{}, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Health{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Health{}, fmt.Errorf("%s: %s", HealthPath, resp.Status)
	}
	var h Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&h); err != nil {
		return Health{}, fmt.Errorf("%s: %w", HealthPath, err)
	}
	return h, nil
}

// WaitExit waits until pid is gone or ctx ends; it reports whether it is gone.
func WaitExit(ctx context.Context, pid int) bool {
	for {
		if !localapi.Alive(pid) {
			return true
		}
		select {
		case <-ctx.Done():
			return !localapi.Alive(pid)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
