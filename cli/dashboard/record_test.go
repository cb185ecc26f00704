package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRecord(t *testing.T) {
	good := Record{PID: 42, URL: "http://127.0.0.1:8123/", Port: 8123, StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	tests := []struct {
		name, in string
		want     Record
		err      string
	}{
		{"good", `{"pid":42,"url":"http://127.0.0.1:8123/","port":8123,"started_at":"2026-11-27T12:00:00Z"}`, good, ""},
		{"extra fields", `{"pid":42,"url":"http://127.0.0.1:8123/","port":8123,"started_at":"2026-11-27T12:00:00Z","x":1}`, good, ""},
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
	f.Add([]byte(`{"pid":42,"url":"http://127.0.0.1:8123/","port":8123,"started_at":"2026-11-27T12:00:00Z"}`))
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
	repo := t.TempDir()
	path := filepath.Join(repo, ".kittify", ".dashboard")
	rec := Record{PID: os.Getpid(), URL: URLFor(8123), Port: 8123, StartedAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
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
	if len(keys) != 4 || raw["pid"] == nil || raw["url"] == nil || raw["port"] == nil || raw["started_at"] == nil {
		t.Errorf("record fields %v, want exactly pid, url, port, started_at", keys)
	}
	if got, err := ReadRecord(path); err != nil || got != rec {
		t.Errorf("ReadRecord = %+v, %v", got, err)
	}
	if err := ClaimRecord(path, Record{PID: 1, URL: URLFor(1), Port: 1}); !errors.Is(err, ErrRecordExists) {
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
	path := filepath.Join(t.TempDir(), ".kittify", ".dashboard")
	var wg sync.WaitGroup
	wins := make(chan int, 20)
	for i := range 20 {
		wg.Go(func() {
			if err := ClaimRecord(path, Record{PID: i + 1, URL: URLFor(1000 + i), Port: 1000 + i}); err == nil {
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
	path := filepath.Join(dir, ".dashboard")

	if _, st, err := Check(ctx, path); st != RecordNone || err != nil {
		t.Errorf("no record: %s %v", st, err)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, st, err := Check(ctx, path); st != RecordStale || err != nil {
		t.Errorf("garbage: %s %v", st, err)
	}
	os.Remove(path)

	// A dead PID.
	ClaimRecord(path, Record{PID: deadPID, URL: URLFor(8123), Port: 8123})
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
	ClaimRecord(path, Record{PID: os.Getpid(), URL: URLFor(port), Port: port})
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
	srv, err := New(Config{Repo: dir, Addr: ln.Addr().String(), Launcher: &fakeLauncher{gate: func() bool { return false }}})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() { cancel(); <-done }()
	ClaimRecord(path, Record{PID: os.Getpid(), URL: URLFor(port), Port: port})
	if r, st, err := Check(ctx, path); st != RecordRunning || err != nil || r.Port != port {
		t.Errorf("running: %s %v %+v", st, err, r)
	}
	// The same dashboard under another PID's record: not ours to reuse.
	os.Remove(path)
	ClaimRecord(path, Record{PID: os.Getppid(), URL: URLFor(port), Port: port})
	if _, st, _ := Check(ctx, path); st != RecordStale {
		t.Errorf("foreign pid: %s", st)
	}
}
