// Package probe wires the real readiness checks of CONTRACTS §4 into
// readiness.Probes: the local checks of core/probe/local (rollout gate,
// stored session, host resolution) plus the reachability request
// (core/hosted).
//
// It owns only the wiring. It never writes anything, never refreshes a token
// and never sends one: the auth check reads storage, the reachability check
// is one unauthenticated HEAD. The Binding probe is repo-specific and left to
// the caller.
package probe

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/probe/local"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// Config is what the probes read: the local probes' configuration, the
// reachability request needing nothing more.
type Config = local.Config

// New returns the probes for cfg: the local checks of core/probe/local plus
// the reachability request. Binding is nil (a failing check): callers that
// ask for RequireBinding set it.
func New(cfg Config) readiness.Probes {
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
	p := local.New(local.Config(cfg))
	p.Reach = func(ctx context.Context, host string) error {
		h, err := hosted.ParseHost(host)
		if err != nil {
			return err
		}
		return client(h).Probe(ctx)
	}
	return p
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
// by host (see core/probe/local).
func HasSession(ctx context.Context, store *session.Store, host string, now time.Time) bool {
	return local.HasSession(ctx, store, host, now)
}
