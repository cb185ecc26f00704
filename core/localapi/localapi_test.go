package localapi

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadState(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sync-daemon")

	if _, running, err := ReadState(p); err != nil || running {
		t.Errorf("missing file: running=%v err=%v, want stopped and no error", running, err)
	}

	// A live PID (ours) is running.
	os.WriteFile(p, []byte(`{"pid":`+strconv.Itoa(os.Getpid())+`,"policy":"auto","queue_depth":3}`), 0o600)
	st, running, err := ReadState(p)
	if err != nil || !running || st.QueueDepth != 3 {
		t.Errorf("live pid: %+v running=%v err=%v", st, running, err)
	}

	// A dead PID (a process that has exited) reads as stopped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte(`{"pid":`+strconv.Itoa(cmd.Process.Pid)+`}`), 0o600)
	if _, running, err := ReadState(p); err != nil || running {
		t.Errorf("dead pid: running=%v err=%v, want stopped", running, err)
	}

	// Garbage is an error naming the file, never a panic.
	os.WriteFile(p, []byte(`{"pid": "x`), 0o600)
	if _, _, err := ReadState(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("garbage state: err=%v, want an error naming %s", err, p)
	}
}

func TestCheckRequest(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		headers map[string]string
		ok      bool
	}{
		{"daemon client", Host, nil, true},
		{"browser origin", Host, map[string]string{"Origin": "http://localhost:3000"}, false},
		{"null origin", Host, map[string]string{"Origin": "null"}, false},
		{"referer", Host, map[string]string{"Referer": "http://evil.example/"}, false},
		{"dns rebinding host", "evil.example", nil, false},
		{"loopback host", "127.0.0.1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://"+tt.host+RouteStatus, nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			if got := CheckRequest(r) == ""; got != tt.ok {
				t.Errorf("accepted = %v, want %v (%q)", got, tt.ok, CheckRequest(r))
			}
		})
	}
}

// FuzzCheckRequest: any Host/Origin/Referer combination is decided without a
// panic, and only the exact daemon Host without browser headers passes.
func FuzzCheckRequest(f *testing.F) {
	f.Add(Host, "", "")
	f.Add("evil.example", "http://evil.example", "")
	f.Add(Host, "", "http://x/")
	f.Fuzz(func(t *testing.T, host, origin, referer string) {
		r := httptest.NewRequest("GET", "http://"+Host+RouteStatus, nil)
		r.Host = host
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if referer != "" {
			r.Header.Set("Referer", referer)
		}
		ok := CheckRequest(r) == ""
		want := host == Host && r.Header.Get("Origin") == "" && r.Header.Get("Referer") == ""
		if ok != want {
			t.Errorf("host=%q origin=%q referer=%q: accepted=%v want %v", host, origin, referer, ok, want)
		}
	})
}
