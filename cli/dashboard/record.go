package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// Record is the running dashboard's entry, a private file under the state
// home (RecordPath), never in the repository: a cloned repo could plant one,
// and git would show it. Mode 0600 in a 0700 directory; it holds the secret
// the dashboard proves its identity with (see Probe and Stop).
type Record struct {
	PID       int       `json:"pid"`
	URL       string    `json:"url"`
	Port      int       `json:"port"`
	StartedAt time.Time `json:"started_at"`
	Repo      string    `json:"repo"`
	Secret    string    `json:"secret"`
}

// RecordPath is where the dashboard of repo records itself:
// `<home>/dashboards/<hash of the repo's real path>.json`.
func RecordPath(home paths.Home, repo string) string {
	real, err := filepath.EvalSymlinks(repo)
	if err != nil {
		real = filepath.Clean(repo)
	}
	sum := sha256.Sum256([]byte(real))
	return filepath.Join(home.Dashboards(), hex.EncodeToString(sum[:16])+".json")
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
	if b, err := hex.DecodeString(r.Secret); err != nil || len(b) != 32 {
		return Record{}, errors.New("bad secret")
	}
	return r, nil
}

// ReadRecord reads the record at path; the error wraps fs.ErrNotExist when
// there is none. The file must be a regular file (not a symlink) that only
// this user can read and write.
func ReadRecord(path string) (Record, error) {
	li, err := os.Lstat(path)
	if err != nil {
		return Record{}, err
	}
	if !li.Mode().IsRegular() {
		return Record{}, fmt.Errorf("read %s: not a regular file", path)
	}
	if err := private(li); err != nil {
		return Record{}, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !os.SameFile(li, fi) {
		return Record{}, fmt.Errorf("read %s: changed while being opened", path)
	}
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
// starting at once exactly one wins. The parent directory is created 0700
// when missing.
func ClaimRecord(path string, rec Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
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
// listener at its loopback URL proves the record's secret and says it is
// that PID. The only connection it opens is to 127.0.0.1. err is set only when the record cannot be read for
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
	h, err := Probe(ctx, r.Port, r.Secret)
	if err != nil || h.App != App || h.PID != r.PID {
		return r, RecordStale, nil
	}
	return r, RecordRunning, nil
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
