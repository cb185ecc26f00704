package hosted

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

// clock is a manual clock shared by the server and the client's Sleep, so
// poll intervals and Retry-After waits pass without real waiting.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return nil
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// env is one hostedtest server and a client for it.
type env struct {
	srv   *hostedtest.Server
	clk   *clock
	host  Host
	c     *Client
	toks  *tokens
	token Token // the signed-in tokens
}

// tokens is a TokenSource over a token pair that refreshes through the
// client itself, counting refreshes.
type tokens struct {
	mu        sync.Mutex
	c         *Client
	host      Host
	team      string
	tok       Token
	refreshes int
}

func (ts *tokens) Token(context.Context) (Credentials, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return Credentials{Host: ts.host.URL, AccessToken: ts.tok.AccessToken, Team: ts.team}, nil
}

func (ts *tokens) Refresh(ctx context.Context, rejected Secret) (Credentials, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.refreshes++
	if ts.tok.AccessToken != rejected {
		return Credentials{Host: ts.host.URL, AccessToken: ts.tok.AccessToken, Team: ts.team}, nil
	}
	nt, err := ts.c.RefreshToken(ctx, ts.tok.RefreshToken)
	if err != nil {
		return Credentials{}, err
	}
	ts.tok = nt
	return Credentials{Host: ts.host.URL, AccessToken: nt.AccessToken, Team: ts.team}, nil
}

// newEnv starts hostedtest and signs in through the device flow.
func newEnv(t *testing.T, opts hostedtest.Options) *env {
	t.Helper()
	clk := newClock()
	opts.Now = clk.Now
	srv := hostedtest.NewTest(t, opts)
	h, err := ParseHost(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := New(h, nil)
	c.Now, c.Sleep, c.Timeout = clk.Now, clk.Sleep, 5*time.Second
	c.Rand = func() float64 { return 0.5 }
	t.Cleanup(c.CloseIdleConnections)
	e := &env{srv: srv, clk: clk, host: h, c: c}
	e.token = e.signIn(t)
	e.toks = &tokens{c: c, host: h, team: hostedtest.DefaultUser.DefaultTeamID, tok: e.token}
	c.Tokens = e.toks
	return e
}

func (e *env) signIn(t *testing.T) Token {
	t.Helper()
	ctx := context.Background()
	dc, err := e.c.RequestDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Approve(dc.UserCode); err != nil {
		t.Fatal(err)
	}
	_ = e.clk.Sleep(ctx, time.Duration(dc.Interval)*time.Second)
	tok, err := e.c.PollDeviceToken(ctx, dc.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) faults(t *testing.T, f hostedtest.Faults) {
	t.Helper()
	if err := e.srv.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// secretsOf lists every token value the test saw, to prove none leaks.
func (e *env) secrets() []string {
	out := []string{e.token.AccessToken.Reveal(), e.token.RefreshToken.Reveal()}
	if e.toks != nil {
		e.toks.mu.Lock()
		out = append(out, e.toks.tok.AccessToken.Reveal(), e.toks.tok.RefreshToken.Reveal())
		e.toks.mu.Unlock()
	}
	return out
}

func assertNoSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Fatalf("a token leaked into %q", text)
		}
	}
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T) is not a *hosted.Error", err, err)
	}
	return he
}

// playBrowser GETs an authorize URL like a browser would, without following
// the redirect, and returns the code and state of the Location.
func playBrowser(t *testing.T, authURL string) (code, state string) {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}
