package hostedtest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func me(s *Server, token string) (resp, error) {
	req, err := apiReq(s, http.MethodGet, "/api/v1/me", token, nil)
	if err != nil {
		return resp{}, err
	}
	return trySend(req)
}

func TestFaultsNext(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, r resp, err error)
		fault  Fault
	}{
		{
			name: "429 with Retry-After", faults: Faults{TooManyRequests: 2, RetryAfter: 7}, fault: "429",
			check: func(t *testing.T, r resp, err error) {
				var e apiError
				if err != nil || r.status != 429 || r.header.Get("Retry-After") != "7" || json.Unmarshal(r.body, &e) != nil ||
					e.RetryAfterSeconds != 7 || !e.Retryable || e.ErrorCode != "rate_limited" {
					t.Errorf("= %v %d %v %s", err, r.status, r.header, r.body)
				}
			},
		},
		{
			name: "connection reset", faults: Faults{ResetNext: 2}, fault: "reset",
			check: func(t *testing.T, r resp, err error) {
				if err == nil || !isTransportError(err) {
					t.Errorf("= %d %s, want a transport error", r.status, r.body)
				}
			},
		},
		{
			name: "forced 401", faults: Faults{UnauthorizedNext: 2}, fault: "401",
			check: func(t *testing.T, r resp, err error) {
				if err != nil || r.status != 401 || !strings.Contains(string(r.body), `"token_expired"`) {
					t.Errorf("= %v %d %s", err, r.status, r.body)
				}
			},
		},
		{
			name: "HTML page", faults: Faults{HTMLNext: 2}, fault: "html",
			check: func(t *testing.T, r resp, err error) {
				if err != nil || r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !bytes.Contains(r.body, []byte("<html>")) {
					t.Errorf("= %v %d %s", err, r.status, r.body)
				}
			},
		},
		{
			name: "truncated JSON", faults: Faults{TruncatedJSONNext: 2}, fault: "truncated_json",
			check: func(t *testing.T, r resp, err error) {
				var v any
				if err != nil || r.status != 200 || json.Unmarshal(r.body, &v) == nil {
					t.Errorf("= %v %d %s, want 200 with invalid JSON", err, r.status, r.body)
				}
			},
		},
		{
			name: "redirect to another host", faults: Faults{RedirectNext: 2}, fault: "redirect",
			check: func(t *testing.T, r resp, err error) {
				loc, _ := url.Parse(r.header.Get("Location"))
				if err != nil || r.status != 307 || loc == nil || loc.Hostname() != "127.0.0.2" || loc.Path != "/api/v1/me" {
					t.Errorf("= %v %d Location %q", err, r.status, r.header.Get("Location"))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTest(t, Options{})
			tok := login(t, s, DefaultUser.ID).AccessToken
			if err := s.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				r, err := me(s, tok)
				tt.check(t, r, err)
				if i == 0 && s.CurrentFaults() == tt.faults {
					t.Error("CurrentFaults did not count down")
				}
			}
			if r, err := me(s, tok); err != nil || r.status != 200 {
				t.Errorf("third request = %v %d %s, want 200 once the faults are spent", err, r.status, r.body)
			}
			if n := s.FaultCount(tt.fault); n != 2 {
				t.Errorf("FaultCount(%q) = %d, want 2", tt.fault, n)
			}
			if s.CurrentFaults() != (Faults{RetryAfter: tt.faults.RetryAfter}) {
				t.Errorf("CurrentFaults after = %+v", s.CurrentFaults())
			}
		})
	}
}

func TestFaultScope(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken

	// OAuth endpoints suffer the general faults but not the API-only ones.
	if err := s.SetFaults(Faults{UnauthorizedNext: 1, ErrorFraction: 1}); err != nil {
		t.Fatal(err)
	}
	if d := startDevice(t, s); d.DeviceCode == "" {
		t.Error("device start failed")
	}
	if r, _ := me(s, tok); r.status != 401 {
		t.Errorf("first API call = %d, want the forced 401", r.status)
	}
	if r, _ := me(s, tok); r.status != 500 || !strings.Contains(string(r.body), `"retryable":true`) {
		t.Errorf("second API call = %d %s, want 500", r.status, r.body)
	}

	if err := s.SetFaults(Faults{TooManyRequests: 1}); err != nil {
		t.Fatal(err)
	}
	if r := postForm(t, s.URL()+"/oauth/device", url.Values{"client_id": {ClientID}}); r.status != 429 {
		t.Errorf("/oauth/device under 429 = %d", r.status)
	}

	// /_test/* and HEAD / are never hung unless ProbeFaults asks.
	if err := s.SetFaults(Faults{Hang: true}); err != nil {
		t.Fatal(err)
	}
	if r := send(t, newReq(t, http.MethodGet, s.URL()+"/_test/events", nil)); r.status != 200 {
		t.Errorf("/_test/events under hang = %d", r.status)
	}
	if r := send(t, newReq(t, http.MethodHead, s.URL()+"/", nil)); r.status != 200 {
		t.Errorf("HEAD / under hang = %d", r.status)
	}
	if err := s.SetFaults(Faults{ResetNext: 1, ProbeFaults: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := trySend(newReq(t, http.MethodHead, s.URL()+"/", nil)); err == nil {
		t.Error("HEAD / with ProbeFaults and a reset answered")
	}
	if r := send(t, newReq(t, http.MethodHead, s.URL()+"/", nil)); r.status != 200 {
		t.Errorf("HEAD / after the reset = %d", r.status)
	}
}

func TestFaultFractions(t *testing.T) {
	run := func(seed uint64, f Faults) (pattern string) {
		s := NewTest(t, Options{Seed: seed})
		tok := login(t, s, DefaultUser.ID).AccessToken
		if err := s.SetFaults(f); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for range 40 {
			switch r, err := me(s, tok); {
			case err != nil:
				b.WriteByte('x')
			case r.status == 500:
				b.WriteByte('5')
			case r.status == 200:
				b.WriteByte('.')
			default:
				t.Fatalf("unexpected %d %s", r.status, r.body)
			}
		}
		return b.String()
	}
	half := Faults{ErrorFraction: 0.5}
	a, b := run(1, half), run(1, half)
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "5") || !strings.Contains(a, ".") {
		t.Errorf("error_fraction 0.5 gave %s", a)
	}
	if c := run(1, Faults{ErrorFraction: 0.5, Seed: 99}); c == a {
		t.Errorf("Faults.Seed did not reseed: %s", c)
	}
	if got := run(1, Faults{ErrorFraction: 1}); got != strings.Repeat("5", 40) {
		t.Errorf("error_fraction 1 = %s", got)
	}
	resets := run(2, Faults{ResetFraction: 0.5})
	if !strings.Contains(resets, "x") || !strings.Contains(resets, ".") {
		t.Errorf("reset_fraction 0.5 gave %s", resets)
	}
}

func TestFaultLatency(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	if err := s.SetFaults(Faults{Latency: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := apiReq(s, http.MethodGet, "/api/v1/me", tok, nil)
	if _, err := trySend(req.WithContext(ctx)); err == nil {
		t.Error("a request under a one-minute latency answered within the client's deadline")
	}
	if err := s.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if r, err := me(s, tok); err != nil || r.status != 200 {
		t.Errorf("without latency = %v %d", err, r.status)
	}
}

func TestFaultsControlEndpoint(t *testing.T) {
	s := NewTest(t, Options{})
	post := func(body string) resp {
		return send(t, newReq(t, http.MethodPost, s.URL()+"/_test/faults", strings.NewReader(body), "Content-Type", "application/json"))
	}
	r := post(`{"latency_ms":250,"error_fraction":0.25,"too_many_requests":3,"retry_after_seconds":2,"reset_fraction":0.1,
		"reset_next":1,"hang_next":1,"unauthorized_next":4,"html_next":5,"truncated_json_next":6,"redirect_next":7,
		"redirect_to":"http://127.0.0.3:9","probe_faults":true,"seed":5,"hang":false}`)
	if r.status != 200 {
		t.Fatalf("POST /_test/faults = %d %s", r.status, r.body)
	}
	want := Faults{
		Latency: 250 * time.Millisecond, ErrorFraction: 0.25, TooManyRequests: 3, RetryAfter: 2, ResetFraction: 0.1,
		ResetNext: 1, HangNext: 1, UnauthorizedNext: 4, HTMLNext: 5, TruncatedJSONNext: 6, RedirectNext: 7,
		RedirectTo: "http://127.0.0.3:9", ProbeFaults: true, Seed: 5,
	}
	if diff := cmp.Diff(want, s.CurrentFaults()); diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
	var echoed Faults
	send(t, newReq(t, http.MethodGet, s.URL()+"/_test/faults", nil)).json(t, &echoed)
	if diff := cmp.Diff(want, echoed); diff != "" {
		t.Errorf("GET /_test/faults (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"too_many":1}`, `{"error_fraction":2}`, `{"reset_next":-1}`, `not json`} {
		if r := post(bad); r.status != 400 || r.errorCode(t) != "invalid_faults" {
			t.Errorf("POST %s = %d %s", bad, r.status, r.body)
		}
	}
	if diff := cmp.Diff(want, s.CurrentFaults()); diff != "" {
		t.Errorf("a refused POST changed the faults (-want +got):\n%s", diff)
	}
	if r := post(`{}`); r.status != 200 || s.CurrentFaults() != (Faults{}) {
		t.Errorf("clearing = %d %+v", r.status, s.CurrentFaults())
	}
}

// serverGoroutines lists goroutines still inside this package's handlers or
// net/http's connection servers.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "hostedtest.(*Server).ServeHTTP") || strings.Contains(g, "net/http.(*conn).serve") ||
			strings.Contains(g, "net/http.(*Server).Serve(") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseEndsHungRequests(t *testing.T) {
	s := New(Options{})
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	tok := login(t, s, DefaultUser.ID).AccessToken
	if err := s.SetFaults(Faults{Hang: true}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for _, path := range []string{"/api/v1/me", "/oauth/token", "/api/v1/events/batch/"} {
		req, _ := apiReq(s, http.MethodPost, path, tok, map[string]string{"a": "b"})
		go func() {
			_, err := trySend(req) // no deadline: only Close can end it
			errs <- err
		}()
	}
	// Wait until all three handlers are hanging.
	for deadline := time.Now().Add(5 * time.Second); s.FaultCount(FaultHang) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests hung", s.FaultCount(FaultHang))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	for range 3 {
		if err := <-errs; err == nil {
			t.Error("a hung request got an answer")
		}
	}
	s.Close() // idempotent
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if left = serverGoroutines(); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("%d server goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

func TestHangEndsWhenClientGivesUp(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	if err := s.SetFaults(Faults{HangNext: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := apiReq(s, http.MethodGet, "/api/v1/me", tok, nil)
	if _, err := trySend(req.WithContext(ctx)); err == nil {
		t.Fatal("a hung request answered")
	}
	// The handler notices the client leaving; the server does not need Close.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		if !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "hostedtest.(*Server).applyFault") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hung handler is still running after the client gave up")
		}
	}
	if r, err := me(s, tok); err != nil || r.status != 200 {
		t.Errorf("next request = %v %d", err, r.status)
	}
}
