package auth

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// clock is shared by hostedtest and the code under test, so poll intervals
// pass without real waiting.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
	// advance, when set, decides how far a Sleep(d) moves the clock.
	advance func(n int, d time.Duration) time.Duration
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	adv := d
	if c.advance != nil {
		adv = c.advance(len(c.sleeps), d)
	}
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(adv)
	return nil
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// world is one hostedtest server, a state home with a file-only store, and
// a client for the server.
type world struct {
	srv   *hostedtest.Server
	clk   *clock
	host  hosted.Host
	home  paths.Home
	store *session.Store
	warn  *bytes.Buffer
	out   *bytes.Buffer
	c     *hosted.Client
}

func newWorld(t *testing.T, opts hostedtest.Options) *world {
	t.Helper()
	clk := newClock()
	opts.Now = clk.Now
	srv := hostedtest.NewTest(t, opts)
	h, err := hosted.ParseHost(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{srv: srv, clk: clk, host: h, home: paths.Home{Dir: t.TempDir() + "/home"},
		warn: &bytes.Buffer{}, out: &bytes.Buffer{}}
	w.store = session.NewStore(w.home, nil, w.warn)
	w.c = hosted.New(h, nil)
	w.c.Now, w.c.Sleep, w.c.Timeout = clk.Now, clk.Sleep, 5*time.Second
	t.Cleanup(w.c.CloseIdleConnections)
	return w
}

func (w *world) login() *Login {
	return &Login{Client: w.c, Store: w.store, Out: w.out, Now: w.clk.Now, Sleep: w.clk.Sleep}
}

// signIn stores a session obtained through the device flow.
func (w *world) signIn(t *testing.T) *session.Session {
	t.Helper()
	l := w.login()
	l.Sleep = w.approvingSleep
	s, err := l.Device(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// approvingSleep approves every pending device code, then sleeps: the user
// approves while the CLI waits.
func (w *world) approvingSleep(ctx context.Context, d time.Duration) error {
	for _, code := range w.srv.PendingUserCodes() {
		_ = w.srv.Approve(code)
	}
	return w.clk.Sleep(ctx, d)
}

func (w *world) manager() (*hosted.Client, *Manager) {
	c, m := NewClient(w.host, w.store)
	c.Now, c.Sleep, c.Timeout = w.clk.Now, w.clk.Sleep, 5*time.Second
	m.Now = w.clk.Now
	m.Client = c
	return c, m
}

func assertNoSecret(t *testing.T, text string, secrets ...hosted.Secret) {
	t.Helper()
	for _, s := range secrets {
		if !s.IsZero() && strings.Contains(text, s.Reveal()) {
			t.Fatalf("a token leaked into %q", text)
		}
	}
}

func mustNoSession(t *testing.T, st *session.Store) {
	t.Helper()
	if s, err := st.Load(context.Background()); err != session.ErrNoSession {
		t.Fatalf("storage holds %+v, %v; want nothing", s, err)
	}
}
