package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// testSecret is a well-formed record secret.
var testSecret = strings.Repeat("ab", 32)

func TestParseRecord(t *testing.T) {
	good := Record{PID: 42, URL: "http://127.0.0.1:8123/", Port: 8123, StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), Secret: testSecret}
	tests := []struct {
		name, in string
		want     Record
		err      string
	}{
		{"good", `{"pid":42,"url":"http://127.0.0.1:8123/","port":8123,"started_at":"2026-11-27T12:00:00Z","secret":"abababababababababababababababababababababababababababababababab"}`, good, ""},
		{"extra fields", `{"pid":42,"url":"http://127.0.0.1:8123/","port":8123,"started_at":"2026-11-27T12:00:00Z","secret":"abababababababababababababababababababababababababababababababab","x":1}`, good, ""},
		{"no secret", `{"pid":42,"url":"http://127.0.0.1:8123/","port":8123}`, Record{}, "bad secret"},
		{"short secret", `{"pid":42,"url":"http://127.0.0.1:8123/","port":8123,"secret":"abcd"}`, Record{}, "bad secret"},
		{"empty", ``, Record{}, "not a dashboard record"},
		{"not json", `pid=42`, Record{}, "not a dashboard record"},
		{"no pid", `{"url":"http://127.0.0.1:8123/","port":8123}`, Record{}, "bad pid 0"},
		{"negative pid", `{"pid":-1,"url":"http://127.0.0.1:8123/","port":8123}`, Record{}, "bad pid -1"},
		{"bad port", `{"pid":42,"url":"http://127.0.0.1:0/","port":0}`, Record{}, "bad port 0"},
		{"big port", `{"pid":42,"url":"http://127.0.0.1:70000/","port":70000}`, Record{}, "bad port 70000"},
		{"remote url", `{"pid":42,"url":"http://evil.example:8123/","port":8123}`, Record{}, `url "http://evil.example:8123/" is not http://127.0.0.1:8123/`},
		{"url port mismatch", `{"pid":42,"url":"http://127.0.0.1:9999/","port":8123}`, Record{}, "is not http://127.0.0.1:8123/"},
		{"https", `{"pid":42,"url":"https://127.0.0.1:8123/","port":8123}`, Record{}, "is not"},
		{"huge", `{"pid":42,"pad":"` + strings.Repeat("x", 5000) + `"}`, Record{}, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRecord([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Error(d)
			}
		})
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"pid":42,"url":"http://127.0.0.1:8123/","port":8123,"started_at":"2026-11-27T12:00:00Z","secret":"abababababababababababababababababababababababababababababababab"}`))
	f.Add([]byte(`{"pid":1,"url":"http://127.0.0.1:1/","port":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		// Whatever parses can only point at a loopback port.
		if r.PID <= 0 || r.Port < 1 || r.Port > 65535 || r.URL != URLFor(r.Port) {
			t.Fatalf("accepted %+v", r)
		}
		if !strings.HasPrefix(r.URL, "http://127.0.0.1:") {
			t.Fatalf("non-loopback URL %q accepted", r.URL)
		}
	})
}

func TestClaimRecord(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "dashboards", "x.json")
	rec := Record{PID: os.Getpid(), URL: URLFor(8123), Port: 8123, StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		Repo: "/r", Secret: testSecret}
	if err := ClaimRecord(path, rec); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for k := range raw {
		keys = append(keys, k)
	}
	if len(keys) != 6 || raw["pid"] == nil || raw["url"] == nil || raw["port"] == nil || raw["started_at"] == nil || raw["secret"] == nil {
		t.Errorf("record fields %v, want exactly pid, url, port, started_at, repo, secret", keys)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || runtime.GOOS != "windows" && di.Mode().Perm() != 0o700 {
		t.Errorf("record directory: %v %v, want mode 0700", di.Mode(), err)
	}
	if got, err := ReadRecord(path); err != nil || got != rec {
		t.Errorf("ReadRecord = %+v, %v", got, err)
	}
	if err := ClaimRecord(path, Record{PID: 1, URL: URLFor(1), Port: 1, Secret: testSecret}); !errors.Is(err, ErrRecordExists) {
		t.Errorf("second claim: %v, want ErrRecordExists", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
	if ok, err := RemoveRecord(path, rec.PID+1); ok || err != nil {
		t.Errorf("remove with another pid: %v %v", ok, err)
	}
	if ok, err := RemoveRecord(path, rec.PID); !ok || err != nil {
		t.Errorf("remove: %v %v", ok, err)
	}
	if _, err := ReadRecord(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after remove: %v", err)
	}
	if ok, err := RemoveRecord(path, rec.PID); ok || err != nil {
		t.Errorf("remove again: %v %v", ok, err)
	}
}

// Of many dashboards claiming at once, exactly one wins, and a reader never
// sees a partial record.
func TestClaimRecordRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dashboards", "x.json")
	var wg sync.WaitGroup
	wins := make(chan int, 20)
	for i := range 20 {
		wg.Go(func() {
			if err := ClaimRecord(path, Record{PID: i + 1, URL: URLFor(1000 + i), Port: 1000 + i, Secret: testSecret}); err == nil {
				wins <- i
			} else if !errors.Is(err, ErrRecordExists) {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := ReadRecord(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("reader saw a partial record: %v", err)
			}
		})
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("%d winners, want 1", n)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.json")

	if _, st, err := Check(ctx, path); st != RecordNone || err != nil {
		t.Errorf("no record: %s %v", st, err)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, st, err := Check(ctx, path); st != RecordStale || err != nil {
		t.Errorf("garbage: %s %v", st, err)
	}
	os.Remove(path)

	// A dead PID.
	ClaimRecord(path, Record{PID: deadPID, URL: URLFor(8123), Port: 8123, Secret: testSecret})
	if _, st, _ := Check(ctx, path); st != RecordStale {
		t.Errorf("dead pid: %s", st)
	}
	os.Remove(path)

	// A live PID (ours) but nobody on the port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ClaimRecord(path, Record{PID: os.Getpid(), URL: URLFor(port), Port: port, Secret: testSecret})
	if _, st, _ := Check(ctx, path); st != RecordStale {
		t.Errorf("nobody listening: %s", st)
	}
	os.Remove(path)

	// A real dashboard of this process.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	srv, err := New(Config{Repo: dir, Addr: ln.Addr().String(), Launcher: &fakeLauncher{gate: func() bool { return false }}, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() { cancel(); <-done }()
	ClaimRecord(path, Record{PID: os.Getpid(), URL: URLFor(port), Port: port, Secret: testSecret})
	if r, st, err := Check(ctx, path); st != RecordRunning || err != nil || r.Port != port {
		t.Errorf("running: %s %v %+v", st, err, r)
	}
	// The same dashboard under another PID's record: not ours to reuse.
	os.Remove(path)
	ClaimRecord(path, Record{PID: os.Getppid(), URL: URLFor(port), Port: port, Secret: testSecret})
	if _, st, _ := Check(ctx, path); st != RecordStale {
		t.Errorf("foreign pid: %s", st)
	}
}

// A record path is private to the user and keyed by the repo's real path:
// no file in the repository can stand for it.
func TestRecordPath(t *testing.T) {
	home := paths.Home{Dir: t.TempDir()}
	repo := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(repo, link); err != nil {
		t.Skip(err)
	}
	p := RecordPath(home, repo)
	if filepath.Dir(p) != home.Dashboards() || RecordPath(home, link) != p || RecordPath(home, t.TempDir()) == p {
		t.Errorf("RecordPath = %s", p)
	}
}

// A record that others could have written is not trusted.
func TestReadRecordRefusesForeignFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "x.json")
	rec := Record{PID: os.Getpid(), URL: URLFor(8123), Port: 8123, Secret: testSecret}
	if err := ClaimRecord(path, rec); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := ReadRecord(path); err == nil || !strings.Contains(err.Error(), "readable or writable by others") {
		t.Errorf("0644 record: %v", err)
	}
	link := filepath.Join(dir, "link.json")
	os.Chmod(path, 0o600)
	os.Symlink(path, link)
	if _, err := ReadRecord(link); err == nil {
		t.Error("a symlinked record was read")
	}
}

// A planted listener that answers the health path with the recorded PID —
// but cannot prove the secret — is not the dashboard; a dashboard with
// another secret is not either. Stop needs the proof, and a browser
// request (Origin) is refused even with one.
func TestIdentityIsProvenBySecret(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.json")

	planted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(Health{App: App, PID: os.Getpid(), Proof: strings.Repeat("0", 64)})
	}))
	defer planted.Close()
	port := planted.Listener.Addr().(*net.TCPAddr).Port
	ClaimRecord(path, Record{PID: os.Getpid(), URL: URLFor(port), Port: port, Secret: testSecret})
	if _, st, _ := Check(ctx, path); st != RecordStale {
		t.Errorf("planted listener: %s, want stale", st)
	}
	os.Remove(path)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	srv, err := New(Config{Repo: dir, Addr: ln.Addr().String(), Launcher: &fakeLauncher{gate: func() bool { return false }}, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	other := Record{PID: os.Getpid(), URL: URLFor(port), Port: port, Secret: strings.Repeat("cd", 32)}
	ClaimRecord(path, other)
	if _, st, _ := Check(ctx, path); st != RecordStale {
		t.Errorf("another secret: %s, want stale", st)
	}
	if err := Stop(ctx, other); err == nil {
		t.Error("Stop with the wrong secret succeeded")
	}
	c, base := loopback(port)
	req, _ := http.NewRequest(http.MethodPost, base+StopPath, nil)
	ch := strings.Repeat("e", 64)
	req.Header.Set(ChallengeHeader, ch)
	req.Header.Set(ProofHeader, proof(testSecret, "stop", ch))
	req.Header.Set("Origin", base)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("browser stop: %v %v, want 403", resp, err)
	}
	select {
	case err := <-done:
		t.Fatalf("dashboard stopped by an unauthenticated request: %v", err)
	default:
	}
	if err := Stop(ctx, Record{Port: port, Secret: testSecret}); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve after stop: %v", err)
	}
}
