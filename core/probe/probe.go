// Package probe wires the real readiness checks of CONTRACTS §4 into
// readiness.Probes: the rollout gate (core/rollout), the stored session
// (core/auth), host resolution and the reachability request (core/hosted).
//
// It owns only the wiring. It never writes anything, never refreshes a token
// and never sends one: the auth check reads storage, the reachability check
// is one unauthenticated HEAD. The Binding probe is repo-specific and left to
// the caller.
package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

// Config is what the probes read.
type Config struct {
	Getenv func(string) string
	// ServerURL returns [sync].server_url ("" when unset); nil means unset.
	// It is called only when a check needs the host.
	ServerURL func() (string, error)
	// Store is the session storage; nil means no session can exist.
	Store *auth.Store
	Now   func() time.Time
}

// New returns the probes for cfg. Binding is nil (a failing check): callers
// that ask for RequireBinding set it.
func New(cfg Config) readiness.Probes {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var (
		mu      sync.Mutex
		clients = map[string]*hosted.Client{}
	)
	client := func(h hosted.Host) *hosted.Client {
		mu.Lock()
		defer mu.Unlock()
		c, ok := clients[h.URL]
		if !ok {
			c = hosted.New(h, nil)
			clients[h.URL] = c
		}
		return c
	}
	return readiness.Probes{
		Gate: func() bool { return rollout.Enabled(cfg.Getenv) },
		Host: func(ctx context.Context) (string, error) {
			h, err := ResolveHost(cfg.Getenv, cfg.ServerURL)
			if errors.Is(err, hosted.ErrNoHost) {
				return "", nil
			}
			var he *hosted.Error
			if errors.As(err, &he) && he.Kind == hosted.KindConfig {
				// The readiness message already says the URL is invalid.
				return "", fmt.Errorf("%s: %s", he.Host, strings.TrimPrefix(he.Message, hosted.InvalidHostPrefix))
			}
			if err != nil {
				return "", err
			}
			return h.URL, nil
		},
		Auth: func(ctx context.Context, host string) (bool, error) {
			return HasSession(ctx, cfg.Store, host, now()), nil
		},
		Reach: func(ctx context.Context, host string) error {
			h, err := hosted.ParseHost(host)
			if err != nil {
				return err
			}
			return client(h).Probe(ctx)
		},
	}
}

// ResolveHost is hosted.ResolveHost with the config value read lazily.
func ResolveHost(getenv func(string) string, serverURL func() (string, error)) (hosted.Host, error) {
	cfgURL := ""
	if serverURL != nil && (getenv == nil || strings.TrimSpace(getenv(paths.SaaSURLEnv)) == "") {
		v, err := serverURL()
		if err != nil {
			return hosted.Host{}, err
		}
		cfgURL = v
	}
	return hosted.ResolveHost(getenv, cfgURL)
}

// HasSession reports whether store holds a readable session whose refresh
// token is not known to be expired and, when host is not "", that was issued
// by host.
func HasSession(ctx context.Context, store *auth.Store, host string, now time.Time) bool {
	if store == nil {
		return false
	}
	s, err := store.Load(ctx)
	if err != nil {
		return false
	}
	if host != "" && s.Host != host {
		return false
	}
	return !s.RefreshExpired(now)
}
