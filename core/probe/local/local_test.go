package local

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// TestLocalProbes reaches every state the local checks decide, through the
// real storage and host resolution. There is no reachability check to run.
func TestLocalProbes(t *testing.T) {
	ctx := context.Background()
	home := paths.Home{Dir: filepath.Join(t.TempDir(), "home")}
	store := session.NewStore(home, nil, nil)
	now := time.Now()
	const host = "https://sync.example.com"
	if err := store.Save(ctx, &session.Session{Host: host, UserID: "u", AccessToken: session.NewSecret("a"),
		RefreshToken: session.NewSecret("r"), IssuedAt: now, AccessTokenExpiresAt: now.Add(time.Hour), AuthMethod: session.MethodToken}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, gate, env, config string
		want                    readiness.State
	}{
		{"gate off", "", host, "", readiness.RolloutDisabled},
		{"no host", "1", "", "", readiness.MissingHostConfig},
		{"bad host", "1", "http://sync.example.com", "", readiness.MissingHostConfig},
		{"session of another host", "1", "https://other.example.com", "", readiness.MissingAuth},
		{"ready from config", "1", "", host + "/", readiness.Ready},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				switch k {
				case "SPEC_KITTY_ENABLE_SAAS_SYNC":
					return tt.gate
				case paths.SaaSURLEnv:
					return tt.env
				}
				return ""
			}
			p := New(Config{Getenv: getenv, ServerURL: func() (string, error) { return tt.config, nil }, Store: store})
			if p.Reach != nil {
				t.Fatal("local probes carry a reachability check")
			}
			r := readiness.Evaluate(ctx, readiness.Options{RequireAuth: true, RequireHost: true}, p)
			if r.State != tt.want {
				t.Errorf("state %s, want %s (%+v)", r.State, tt.want, r)
			}
		})
	}
}

// TestCheckSession: each reason a stored session does not count, as doctor
// words it, and HasSession agreeing with it.
func TestCheckSession(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	const host = "https://sync.example.com"
	tests := []struct {
		name   string
		stored *session.Session // nil: nothing stored
		host   string
		want   string // the error's text; "" when the session counts
	}{
		{"nothing stored", nil, host, session.ErrNoSession.Error()},
		{"ready", &session.Session{Host: host}, host, ""},
		{"any host when none resolves", &session.Session{Host: host}, "", ""},
		{"another host", &session.Session{Host: "https://other.example.com"}, host, "the stored session belongs to https://other.example.com, not " + host},
		{"expired", &session.Session{Host: host, RefreshTokenExpiresAt: now.Add(-time.Minute)}, host, ErrSessionExpired.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := paths.Home{Dir: filepath.Join(t.TempDir(), "home")}
			store := session.NewStore(home, nil, nil)
			if tt.stored != nil {
				s := *tt.stored
				s.UserID, s.AccessToken, s.RefreshToken, s.IssuedAt, s.AccessTokenExpiresAt, s.AuthMethod =
					"u", session.NewSecret("a"), session.NewSecret("r"), now, now.Add(time.Hour), session.MethodToken
				if err := store.Save(ctx, &s); err != nil {
					t.Fatal(err)
				}
			}
			_, err := CheckSession(ctx, store, tt.host, now)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("CheckSession: %q, want %q", got, tt.want)
			}
			if HasSession(ctx, store, tt.host, now) != (tt.want == "") {
				t.Errorf("HasSession disagrees with CheckSession (%q)", got)
			}
		})
	}
	if _, err := CheckSession(ctx, nil, host, now); err != session.ErrNoSession {
		t.Errorf("no store: %v", err)
	}
}
