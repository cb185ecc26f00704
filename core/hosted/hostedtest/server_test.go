package hostedtest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestListenLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr bool
	}{
		{"127.0.0.1:0", false},
		{":0", true},
		{"0.0.0.0:0", true},
		{"[::]:0", true},
		{"192.168.1.10:0", true},
		{"localhost:0", true},
		{"example.test:80", true},
		{"127.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			s := New(Options{})
			defer s.Close()
			err := s.Listen(tt.addr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Listen(%q) = %v, want error %v", tt.addr, err, tt.wantErr)
			}
			if err == nil && !strings.HasPrefix(s.URL(), "http://") {
				t.Errorf("URL = %q", s.URL())
			}
			if err != nil && s.URL() != "" {
				t.Errorf("URL after a refused Listen = %q", s.URL())
			}
		})
	}
	// Other loopback addresses pass the check (binding them depends on the OS).
	for _, ok := range []string{"127.0.0.5:8787", "[::1]:8787"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("CheckLoopback(%q) = %v", ok, err)
		}
	}
	s := NewTest(t, Options{})
	if err := s.Listen("127.0.0.1:0"); err == nil {
		t.Error("second Listen succeeded")
	}
	s.Close()
	if err := New(Options{}).Listen("127.0.0.1:0"); err != nil {
		t.Errorf("fresh server: %v", err)
	}
}

func TestHandlerUnderHTTPTest(t *testing.T) {
	s := New(Options{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.Close()
	r := send(t, newReq(t, http.MethodHead, ts.URL+"/", nil))
	if r.status != http.StatusOK {
		t.Errorf("HEAD / = %d", r.status)
	}
	if err := s.SetFaults(Faults{ResetNext: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := trySend(newReq(t, http.MethodPost, ts.URL+"/oauth/device", nil)); err == nil {
		t.Error("reset fault under httptest answered")
	}
}

func TestStartClosesWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := New(Options{})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if r := send(t, newReq(t, http.MethodHead, s.URL()+"/", nil)); r.status != 200 {
		t.Fatalf("HEAD / = %d", r.status)
	}
	cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := trySend(newReq(t, http.MethodHead, s.URL()+"/", nil)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still answers after its context ended")
		}
	}
}

func TestRouting(t *testing.T) {
	s := NewTest(t, Options{})
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     string
	}{
		{"GET", "/nowhere", 404, "not_found"},
		{"GET", "/api/v1/unknown", 404, "not_found"},
		{"GET", "/api/v1/events/batch/", 405, "method_not_allowed"},
		{"DELETE", "/api/v1/tracker/mappings/", 401, "unauthorized"},
		{"GET", "/oauth/token", 405, "method_not_allowed"},
		{"POST", "/", 405, "method_not_allowed"},
		{"POST", "/_test/events", 405, "method_not_allowed"},
		{"GET", "/_test/nothing", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := send(t, newReq(t, tt.method, s.URL()+tt.path, nil))
			if r.status != tt.wantStatus || r.errorCode(t) != tt.wantCode {
				t.Errorf("= %d %s, want %d %s", r.status, r.body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if r := send(t, newReq(t, http.MethodGet, s.URL()+"/", nil)); r.status != 200 {
		t.Errorf("GET / = %d", r.status)
	}
	if n := s.RequestCount("/nowhere"); n != 1 {
		t.Errorf("RequestCount(/nowhere) = %d", n)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestLogNeverHoldsSecrets(t *testing.T) {
	var buf syncBuffer
	s := NewTest(t, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	d := startDevice(t, s)
	_ = s.Approve(d.UserCode)
	var tok tokenResponse
	pollDevice(t, s, d.DeviceCode).json(t, &tok)
	var tok2 tokenResponse
	refresh(t, s, tok.RefreshToken).json(t, &tok2)
	api(t, s, http.MethodGet, "/api/v1/me", tok2.AccessToken, nil)
	code := browse(t, authorizeURL(s, "http://127.0.0.1:53682/callback", pkcePair(strings.Repeat("v", 43)), "state-secret")).Get("code")

	log := buf.String()
	if !strings.Contains(log, "path=/api/v1/me") || !strings.Contains(log, "status=200") {
		t.Errorf("log lacks the request line:\n%s", log)
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, tok2.AccessToken, tok2.RefreshToken, d.DeviceCode, code, "state-secret"} {
		if secret == "" || strings.Contains(log, secret) {
			t.Errorf("log contains a secret %q:\n%s", secret, log)
		}
	}
}
