package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

func TestDeviceLogin(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, hostedtest.Options{AutoApproveAfterPolls: 2})
	s, err := w.login().Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := hostedtest.DefaultUser
	if s.Host != w.host.URL || s.UserID != u.ID || s.Email != u.Email || s.Name != u.Name ||
		s.DefaultTeamID != u.DefaultTeamID || len(s.Teams) != 1 || s.AuthMethod != session.MethodDevice ||
		s.SessionID == "" || !s.AccessTokenExpiresAt.Equal(w.clk.Now().Add(time.Hour)) || s.RefreshTokenExpiresAt.IsZero() {
		t.Fatalf("session = %+v", s)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}, w.clk.Sleeps()); diff != "" {
		t.Errorf("polls (-want +got):\n%s", diff)
	}
	out := w.out.String()
	for _, want := range []string{"To sign in, open http://127.0.0.1:", "/device and enter the code ", "Waiting for approval"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	assertNoSecret(t, out, s.AccessToken, s.RefreshToken)
	stored, err := w.store.Load(ctx)
	if err != nil || stored.AccessToken != s.AccessToken {
		t.Fatalf("stored = %+v, %v", stored, err)
	}
}

// TestDevicePrompt: Prompt gets the page and the code once, after the lines
// for a person and before the first poll (a program can show them while the
// flow waits).
func TestDevicePrompt(t *testing.T) {
	w := newWorld(t, hostedtest.Options{AutoApproveAfterPolls: 1})
	l := w.login()
	var prompts []DevicePrompt
	l.Prompt = func(p DevicePrompt) {
		if n := len(w.clk.Sleeps()); n != 0 {
			t.Errorf("prompt after %d polls", n)
		}
		if !strings.Contains(w.out.String(), "enter the code "+p.UserCode) {
			t.Errorf("prompt before the lines for a person: %q", w.out.String())
		}
		prompts = append(prompts, p)
	}
	if _, err := l.Device(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(prompts) != 1 {
		t.Fatalf("%d prompts, want 1", len(prompts))
	}
	p := prompts[0]
	if p.VerificationURI != w.host.URL+"/device" || len(p.UserCode) != 9 || p.ExpiresIn <= 0 {
		t.Errorf("prompt %+v", p)
	}
}

// TestDeviceLoginSlowDown: a poll that comes too early gets slow_down and
// the interval grows by 5 s.
func TestDeviceLoginSlowDown(t *testing.T) {
	w := newWorld(t, hostedtest.Options{AutoApproveAfterPolls: 3})
	// The second wait only lets half the interval pass on the host's clock.
	w.clk.advance = func(n int, d time.Duration) time.Duration {
		if n == 1 {
			return d / 2
		}
		return d
	}
	if _, err := w.login().Device(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	if diff := cmp.Diff(want, w.clk.Sleeps()); diff != "" {
		t.Errorf("polls (-want +got):\n%s", diff)
	}
}

func TestDeviceLoginFailures(t *testing.T) {
	tests := []struct {
		name    string
		opts    hostedtest.Options
		faults  hostedtest.Faults
		setup   func(w *world, l *Login)
		wantErr string
	}{
		{
			name: "denied",
			setup: func(w *world, l *Login) {
				l.Sleep = func(ctx context.Context, d time.Duration) error {
					for _, c := range w.srv.PendingUserCodes() {
						_ = w.srv.Deny(c)
					}
					return w.clk.Sleep(ctx, d)
				}
			},
			wantErr: "sign-in was denied",
		},
		{name: "expired", opts: hostedtest.Options{DeviceExpiresIn: 12 * time.Second}, wantErr: "the device code expired"},
		{
			name: "canceled",
			setup: func(w *world, l *Login) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				l.Sleep = func(_ context.Context, d time.Duration) error { return w.clk.Sleep(ctx, d) }
			},
			wantErr: "context canceled",
		},
		{name: "html", faults: hostedtest.Faults{HTMLNext: 1}, wantErr: "POST /oauth/device: answered HTML instead of JSON"},
		{name: "truncated", faults: hostedtest.Faults{TruncatedJSONNext: 1}, wantErr: "POST /oauth/device: answered truncated JSON"},
		{name: "redirect", faults: hostedtest.Faults{RedirectNext: 1}, wantErr: "POST /oauth/device: redirect to another host refused"},
		{
			name: "token endpoint hangs",
			setup: func(w *world, l *Login) {
				w.c.Timeout = 200 * time.Millisecond
				l.Sleep = func(ctx context.Context, d time.Duration) error {
					_ = w.srv.SetFaults(hostedtest.Faults{Hang: true})
					return w.clk.Sleep(ctx, d)
				}
			},
			wantErr: "POST /oauth/token: no response within 200ms (timeout)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.opts)
			if err := w.srv.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			l := w.login()
			if tt.setup != nil {
				tt.setup(w, l)
			}
			_, err := l.Device(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if tt.name != "canceled" && !strings.Contains(err.Error(), w.host.URL) {
				t.Errorf("error %q does not name the host", err)
			}
			mustNoSession(t, w.store)
		})
	}
}

// tokensFor signs in on the host directly and returns a --with-token
// document for the tokens (the session is not stored).
func tokensFor(t *testing.T, w *world) (string, hosted.Token) {
	t.Helper()
	ctx := context.Background()
	dc, err := w.c.RequestDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Approve(dc.UserCode); err != nil {
		t.Fatal(err)
	}
	tok, err := w.c.PollDeviceToken(ctx, dc.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"access_token":"` + tok.AccessToken.Reveal() + `","refresh_token":"` + tok.RefreshToken.Reveal() +
		`","expires_in":3600,"session_id":"` + tok.SessionID + `"}`
	return doc, tok
}

func TestWithToken(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, hostedtest.Options{})
	doc, tok := tokensFor(t, w)
	s, err := w.login().WithToken(ctx, strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.AuthMethod != session.MethodToken || s.AccessToken != tok.AccessToken || s.UserID != hostedtest.DefaultUser.ID ||
		!s.AccessTokenExpiresAt.Equal(w.clk.Now().Add(time.Hour)) || s.SessionID != tok.SessionID {
		t.Fatalf("session = %+v", s)
	}
	if _, err := w.store.Load(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWithTokenFailures(t *testing.T) {
	tests := []struct {
		name    string
		doc     func(valid string) string
		faults  hostedtest.Faults
		wantErr string
	}{
		{name: "empty", doc: func(string) string { return "" }, wantErr: "read token from stdin: no input"},
		{name: "not json", doc: func(string) string { return "at_plain_token_text" }, wantErr: "read token from stdin: not valid JSON"},
		{name: "no refresh", doc: func(string) string { return `{"access_token":"a","expires_in":5}` }, wantErr: `missing field "refresh_token"`},
		{name: "no expiry", doc: func(string) string { return `{"access_token":"a","refresh_token":"r"}` }, wantErr: `missing field "expires_in"`},
		{name: "unknown token", doc: func(string) string { return `{"access_token":"a","refresh_token":"r","expires_in":60}` }, wantErr: "GET /api/v1/me: HTTP 401 unauthorized"},
		{name: "me html", doc: func(v string) string { return v }, faults: hostedtest.Faults{HTMLNext: 1}, wantErr: "GET /api/v1/me: answered HTML instead of JSON"},
		{name: "me truncated", doc: func(v string) string { return v }, faults: hostedtest.Faults{TruncatedJSONNext: 1}, wantErr: "GET /api/v1/me: answered truncated JSON"},
		{name: "me redirect", doc: func(v string) string { return v }, faults: hostedtest.Faults{RedirectNext: 1}, wantErr: "GET /api/v1/me: redirect to another host refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, hostedtest.Options{})
			valid, tok := tokensFor(t, w)
			if err := w.srv.SetFaults(tt.faults); err != nil {
				t.Fatal(err)
			}
			_, err := w.login().WithToken(context.Background(), strings.NewReader(tt.doc(valid)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			assertNoSecret(t, err.Error(), tok.AccessToken, tok.RefreshToken)
			if strings.Contains(err.Error(), "at_plain_token_text") {
				t.Fatalf("error quotes the input: %v", err)
			}
			mustNoSession(t, w.store)
		})
	}
}

func TestParseTokenInput(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	in, err := ParseTokenInput([]byte(`{"access_token":"a","refresh_token":"r","access_token_expires_at":"2026-03-01T13:00:00Z",
		"refresh_token_expires_at":"2026-04-01T00:00:00Z","session_id":"s"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if in.Token.ExpiresIn != time.Hour || !in.AccessTokenExpiresAt.Equal(now.Add(time.Hour)) ||
		in.Token.RefreshTokenExpiresAt.IsZero() || in.Token.SessionID != "s" {
		t.Fatalf("input = %+v", in)
	}
	for name, doc := range map[string]string{
		"two values":   `{"access_token":"a","refresh_token":"r","expires_in":1}{}`,
		"negative":     `{"access_token":"a","refresh_token":"r","expires_in":-1}`,
		"fraction":     `{"access_token":"a","refresh_token":"r","expires_in":1.5}`,
		"bad time":     `{"access_token":"a","refresh_token":"r","access_token_expires_at":"soon"}`,
		"token number": `{"access_token":12,"refresh_token":"r","expires_in":1}`,
		"array":        `["access_token"]`,
	} {
		if _, err := ParseTokenInput([]byte(doc), now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseTokenInput(f *testing.F) {
	f.Add([]byte(`{"access_token":"a","refresh_token":"r","expires_in":3600}`))
	f.Add([]byte(`{"access_token":"a","refresh_token":"r","access_token_expires_at":"2026-03-01T13:00:00Z"}`))
	f.Add([]byte(`{"access_token":"SECRETVALUE","refresh_token":`))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := ParseTokenInput(b, now)
		if err != nil {
			if strings.Contains(err.Error(), "SECRETVALUE") {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		if in.Token.AccessToken.IsZero() || in.Token.RefreshToken.IsZero() || in.AccessTokenExpiresAt.IsZero() {
			t.Fatalf("accepted an incomplete input: %+v", in)
		}
	})
}

// TestBrowserLogin plays the browser: a stray callback with a wrong state
// first (ignored, answered with a page), then the real authorize round trip.
func TestBrowserLogin(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, hostedtest.Options{})
	l := w.login()
	strayStatus := make(chan int, 1)
	l.OpenBrowser = func(authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		q := u.Query()
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" {
			t.Errorf("authorize query = %v", q)
		}
		go func() {
			cb, _ := url.Parse(q.Get("redirect_uri"))
			if cb.Hostname() != "127.0.0.1" || cb.Path != "/callback" {
				t.Errorf("redirect_uri = %v", cb)
			}
			stray, err := http.Get(cb.String() + "?code=evil&state=wrong")
			if err != nil {
				t.Error(err)
				strayStatus <- 0
				return
			}
			stray.Body.Close()
			strayStatus <- stray.StatusCode
			// The browser follows the host's 302 to the loopback callback.
			resp, err := http.Get(authURL)
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), "Signed in") {
				t.Errorf("callback page = %s", body)
			}
		}()
		return nil
	}
	s, err := l.Browser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.AuthMethod != session.MethodBrowser || s.UserID != hostedtest.DefaultUser.ID {
		t.Fatalf("session = %+v", s)
	}
	if got := <-strayStatus; got != http.StatusBadRequest {
		t.Fatalf("stray callback answered %d", got)
	}
}

func TestBrowserLoginDenied(t *testing.T) {
	w := newWorld(t, hostedtest.Options{})
	w.srv.SetBrowserDenied(true)
	l := w.login()
	l.OpenBrowser = func(authURL string) error {
		go func() {
			if resp, err := http.Get(authURL); err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	_, err := l.Browser(context.Background())
	if err == nil || !strings.Contains(err.Error(), "access_denied") || !strings.Contains(err.Error(), w.host.URL) {
		t.Fatalf("err = %v", err)
	}
	mustNoSession(t, w.store)
}

func TestBrowserLoginTimeout(t *testing.T) {
	w := newWorld(t, hostedtest.Options{})
	l := w.login()
	l.BrowserTimeout = 50 * time.Millisecond
	l.OpenBrowser = func(string) error { return nil }
	_, err := l.Browser(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not complete within 50ms") {
		t.Fatalf("err = %v", err)
	}
	mustNoSession(t, w.store)
}

// TestBrowserFallsBackToDevice: no browser can be opened.
func TestBrowserFallsBackToDevice(t *testing.T) {
	w := newWorld(t, hostedtest.Options{AutoApproveAfterPolls: 1})
	l := w.login()
	l.OpenBrowser = func(string) error { return errors.New("no graphical display") }
	s, err := l.Browser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.AuthMethod != session.MethodDevice {
		t.Errorf("method = %q", s.AuthMethod)
	}
	out := w.out.String()
	if !strings.Contains(out, "Could not open a browser (no graphical display); using device code sign-in.") ||
		!strings.Contains(out, "enter the code") {
		t.Errorf("output = %q", out)
	}
}
