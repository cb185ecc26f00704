// Package local wires the local readiness checks of CONTRACTS §4 — the
// rollout gate, the stored session for the resolved host, and host
// resolution (rows 1–3) — into readiness.Probes. They read the environment,
// config values and session storage only.
//
// It links no HTTP client: the tray evaluates readiness through it without
// becoming a hosted client (ADR 0009). core/probe adds the reachability
// check on top for the CLI and the daemon.
package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosturl"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// Config is what the probes read.
type Config struct {
	Getenv func(string) string
	// ServerURL returns [sync].server_url ("" when unset); nil means unset.
	// It is called only when a check needs the host.
	ServerURL func() (string, error)
	// Store is the session storage; nil means no session can exist.
	Store *session.Store
	Now   func() time.Time
}

// New returns the local probes for cfg: Gate, Host and Auth. Reach and
// Binding are nil.
func New(cfg Config) readiness.Probes {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return readiness.Probes{
		Gate: func() bool { return rollout.Enabled(cfg.Getenv) },
		Host: func(ctx context.Context) (string, error) {
			h, err := ResolveHost(cfg.Getenv, cfg.ServerURL)
			if errors.Is(err, hosturl.ErrNoHost) {
				return "", nil
			}
			var he *hosturl.Error
			if errors.As(err, &he) {
				// The readiness message already says the URL is invalid.
				return "", fmt.Errorf("%s: %s", he.Host, strings.TrimPrefix(he.Message, hosturl.InvalidHostPrefix))
			}
			if err != nil {
				return "", err
			}
			return h.URL, nil
		},
		Auth: func(ctx context.Context, host string) (bool, error) {
			return HasSession(ctx, cfg.Store, host, now()), nil
		},
	}
}

// ResolveHost is hosturl.Resolve with the config value read lazily.
func ResolveHost(getenv func(string) string, serverURL func() (string, error)) (hosturl.Host, error) {
	cfgURL := ""
	if serverURL != nil && (getenv == nil || strings.TrimSpace(getenv(paths.SaaSURLEnv)) == "") {
		v, err := serverURL()
		if err != nil {
			return hosturl.Host{}, err
		}
		cfgURL = v
	}
	return hosturl.Resolve(getenv, cfgURL)
}

// HasSession reports whether store holds a readable session whose refresh
// token is not known to be expired and, when host is not "", that was issued
// by host.
func HasSession(ctx context.Context, store *session.Store, host string, now time.Time) bool {
	_, err := CheckSession(ctx, store, host, now)
	return err == nil
}

// ErrSessionExpired: the stored session's refresh token has expired.
var ErrSessionExpired = errors.New("the stored session has expired")

// OtherHostError: the stored session was issued by another host than the
// resolved one (a token is only ever sent to the host that issued it).
type OtherHostError struct{ Stored, Host string }

func (e *OtherHostError) Error() string {
	return fmt.Sprintf("the stored session belongs to %s, not %s", e.Stored, e.Host)
}

// CheckSession is the session check of readiness row 2 with its reason: the
// stored session (nil when none could be read) and nil when it counts, else
// session.ErrNoSession (none stored, or no store), the storage's error, an
// *OtherHostError (only when host is not "") or ErrSessionExpired.
func CheckSession(ctx context.Context, store *session.Store, host string, now time.Time) (*session.Session, error) {
	if store == nil {
		return nil, session.ErrNoSession
	}
	s, err := store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if host != "" && s.Host != host {
		return s, &OtherHostError{Stored: s.Host, Host: host}
	}
	if s.RefreshExpired(now) {
		return s, ErrSessionExpired
	}
	return s, nil
}
