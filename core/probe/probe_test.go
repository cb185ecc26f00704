package probe

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// silentHost is a loopback listener that accepts connections and never
// answers.
func silentHost(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	conns := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	return "http://" + ln.Addr().String()
}

func closedHost(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// panicKeychain fails the test if anything touches the keychain.
type panicKeychain struct{ t *testing.T }

func (k panicKeychain) Get(string, string) (string, error) {
	k.t.Error("keychain touched")
	return "", nil
}
func (k panicKeychain) Set(string, string, string) error { k.t.Error("keychain touched"); return nil }
func (k panicKeychain) Delete(string, string) error      { k.t.Error("keychain touched"); return nil }

func storedSession(host string, refreshExp time.Time) *session.Session {
	now := time.Now()
	return &session.Session{Host: host, UserID: "u_1", Email: "dev@example.test",
		AccessToken: hosted.NewSecret("at"), RefreshToken: hosted.NewSecret("rt"),
		IssuedAt: now, AccessTokenExpiresAt: now.Add(time.Hour), RefreshTokenExpiresAt: refreshExp, AuthMethod: session.MethodToken}
}

// TestRealProbes reaches every state the auth, host and reachability probes
// decide, through the real storage, host resolution and network.
func TestRealProbes(t *testing.T) {
	srv := hostedtest.NewTest(t, hostedtest.Options{})
	live := srv.URL()
	silent, closed := silentHost(t), closedHost(t)
	future, past := time.Now().Add(24*time.Hour), time.Now().Add(-time.Minute)
	full := readiness.Options{RequireAuth: true, RequireHost: true, Probe: true}
	tests := []struct {
		name      string
		gate      string
		env       string // SPEC_KITTY_SAAS_URL
		config    string // [sync].server_url
		configErr error
		stored    *session.Session
		opts      readiness.Options
		deadline  time.Duration
		want      readiness.State
		detail    string
	}{
		{name: "gate off", gate: "0", env: live, stored: storedSession(live, future), opts: full, want: readiness.RolloutDisabled},
		{name: "no session", gate: "1", env: live, opts: full, want: readiness.MissingAuth},
		{name: "session of another host", gate: "1", env: live, stored: storedSession("https://other.example.com", future), opts: full, want: readiness.MissingAuth},
		{name: "refresh token expired", gate: "1", env: live, stored: storedSession(live, past), opts: full, want: readiness.MissingAuth},
		{name: "no host, session present", gate: "1", stored: storedSession(live, future), opts: full, want: readiness.MissingHostConfig},
		{name: "no host, no session", gate: "1", opts: full, want: readiness.MissingAuth},
		{name: "invalid host", gate: "1", env: "http://sync.example.com", stored: storedSession(live, future), opts: full,
			want: readiness.MissingHostConfig, detail: `http://sync.example.com: https is required`},
		{name: "config unreadable", gate: "1", configErr: errors.New("config.toml:3:1: bad"), stored: storedSession(live, future),
			opts: full, want: readiness.MissingHostConfig, detail: "config.toml:3:1: bad"},
		{name: "host from config", gate: "1", config: live + "/", stored: storedSession(live, future), opts: full, want: readiness.Ready},
		{name: "env wins over config", gate: "1", env: closed, config: live, stored: storedSession(closed, future), opts: full,
			want: readiness.HostUnreachable, detail: "connection refused"},
		{name: "closed port", gate: "1", env: closed, stored: storedSession(closed, future), opts: full,
			want: readiness.HostUnreachable, detail: "connection refused"},
		{name: "never answers", gate: "1", env: silent, stored: storedSession(silent, future), opts: full, deadline: 300 * time.Millisecond,
			want: readiness.HostUnreachable, detail: "timeout"},
		{name: "never answers, not probed", gate: "1", env: silent, stored: storedSession(silent, future),
			opts: readiness.Options{RequireAuth: true, RequireHost: true}, want: readiness.Ready},
		{name: "ready", gate: "1", env: live, stored: storedSession(live, time.Time{}), opts: full, want: readiness.Ready},
		{name: "auth login row: host only", gate: "1", env: live, opts: readiness.Options{RequireHost: true}, want: readiness.Ready},
		{name: "auth login row: no host", gate: "1", opts: readiness.Options{RequireHost: true}, want: readiness.MissingHostConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := paths.Home{Dir: filepath.Join(t.TempDir(), "home")}
			if tt.stored != nil {
				if err := session.NewStore(home, nil, nil).Save(context.Background(), tt.stored); err != nil {
					t.Fatal(err)
				}
			}
			var kc session.Keychain
			if tt.gate == "0" {
				kc = panicKeychain{t}
			}
			env := map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": tt.gate, "SPEC_KITTY_SAAS_URL": tt.env}
			p := New(Config{
				Getenv:    func(k string) string { return env[k] },
				ServerURL: func() (string, error) { return tt.config, tt.configErr },
				Store:     session.NewStore(home, kc, nil),
			})
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			res := readiness.Evaluate(ctx, tt.opts, p)
			if res.State != tt.want {
				t.Fatalf("state = %q (%+v), want %q", res.State, res, tt.want)
			}
			if tt.detail != "" && !strings.Contains(res.Details["error"], tt.detail) {
				t.Errorf("details = %q, want %q", res.Details, tt.detail)
			}
			if res.State == readiness.HostUnreachable && !strings.Contains(res.NextAction, tt.env) {
				t.Errorf("next action %q does not name %s", res.NextAction, tt.env)
			}
		})
	}
}

// BenchmarkReachSilent: host_unreachable against a listener that never
// answers, through readiness.Evaluate (target: <= 2.1 s).
func BenchmarkReachSilent(b *testing.B) {
	benchReach(b, silentHost(b), readiness.HostUnreachable)
}

// BenchmarkReachHostedtest: the full auth + host + probe evaluation against a
// live loopback host (target: <= 5 ms median).
func BenchmarkReachHostedtest(b *testing.B) {
	srv := hostedtest.NewTest(b, hostedtest.Options{})
	benchReach(b, srv.URL(), readiness.Ready)
}

func benchReach(b *testing.B, host string, want readiness.State) {
	home := paths.Home{Dir: filepath.Join(b.TempDir(), "home")}
	if err := session.NewStore(home, nil, nil).Save(context.Background(), storedSession(host, time.Time{})); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": host}
	p := New(Config{Getenv: func(k string) string { return env[k] }, Store: session.NewStore(home, nil, nil)})
	opts := readiness.Options{RequireAuth: true, RequireHost: true, Probe: true}
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if res := readiness.Evaluate(context.Background(), opts, p); res.State != want {
			b.Fatalf("state %q, want %q (%v)", res.State, want, res.Details)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "worst-ms")
}
