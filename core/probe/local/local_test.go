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
