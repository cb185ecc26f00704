package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/probe/local"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
)

// Reader reads the sync status the tray shows; Source is the real one.
type Reader interface {
	Read(ctx context.Context) status.Status
	// AuthChanged drops what the reader remembers about the session.
	AuthChanged()
}

// DefaultAuthTTL is how long a session check is trusted. Sessions live in
// the OS keychain, whose calls can be slow (macOS runs a program per call),
// so the tray does not ask on every refresh; a login from the tray itself
// drops the cached answer at once.
const DefaultAuthTTL = time.Minute

// Source reads the sync status from the state home: the gate from the
// environment, the policy and server URL from config.toml, the daemon, its
// queue figures and the last one-shot sync from their files
// (status.HomeSources), and local readiness (gate, session, host; never the
// network probe). It writes nothing and never talks to the daemon or a host.
type Source struct {
	Home paths.Home
	// Probes are the readiness checks; Reach is never called.
	Probes  readiness.Probes
	AuthTTL time.Duration
	Now     func() time.Time
	Log     *slog.Logger

	serverURL string // from the config of the current Read

	mu       sync.Mutex
	authHost string
	authOK   bool
	authErr  error
	authAt   time.Time
	authSet  bool
	stateErr string // last state-file error logged, to log each once
}

// NewSource wires the shared local readiness checks (core/probe/local, which
// links no HTTP client) to a session store.
func NewSource(home paths.Home, getenv func(string) string, store *session.Store, now func() time.Time, log *slog.Logger) *Source {
	s := &Source{Home: home, Now: now, Log: log}
	s.Probes = local.New(local.Config{
		Getenv:    getenv,
		ServerURL: func() (string, error) { return s.serverURL, nil },
		Store:     store,
		Now:       now,
	})
	return s
}

// Read implements Reader.
func (s *Source) Read(ctx context.Context) status.Status {
	cfg, cfgErr := config.Load(s.Home.Config(), logWriter{s.Log})
	s.serverURL = cfg.ServerURL
	src := status.HomeSources(s.Home)
	src.Gate = func() bool { return s.Probes.Gate != nil && s.Probes.Gate() }
	src.Policy = func() (policy.Policy, error) {
		if cfgErr != nil {
			return "", errors.New(configProblem(cfgErr))
		}
		return cfg.Policy(), nil
	}
	src.Readiness = func(ctx context.Context) readiness.Result {
		probes := s.Probes
		probes.Auth = s.session
		probes.Reach = nil // local readiness only: the tray never probes the host (local.New sets none)
		return readiness.Evaluate(ctx, readiness.Options{RequireAuth: true, RequireHost: true}, probes)
	}
	st := status.Build(ctx, src)
	if st.Daemon.Err != s.stateErr && st.Daemon.Err != "" {
		s.Log.Warn("daemon state file unreadable; treating the daemon as stopped", "error", st.Daemon.Err)
	}
	s.stateErr = st.Daemon.Err
	return st
}

// session is the readiness Auth check, its answer kept for AuthTTL per host.
func (s *Source) session(ctx context.Context, host string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ttl := s.AuthTTL
	if ttl <= 0 {
		ttl = DefaultAuthTTL
	}
	now := s.Now()
	if s.authSet && s.authHost == host && !now.Before(s.authAt) && now.Sub(s.authAt) < ttl {
		return s.authOK, s.authErr
	}
	if s.Probes.Auth == nil {
		return false, nil
	}
	ok, err := s.Probes.Auth(ctx, host)
	s.authHost, s.authOK, s.authErr, s.authAt, s.authSet = host, ok, err, now, true
	return ok, err
}

// AuthChanged implements Reader.
func (s *Source) AuthChanged() {
	s.mu.Lock()
	s.authSet = false
	s.mu.Unlock()
}

// configProblem turns a config load error into a short status text.
func configProblem(err error) string {
	var fe *config.FileError
	if errors.As(err, &fe) {
		e := *fe
		e.Path = "config.toml"
		return e.Error()
	}
	return err.Error()
}

// logWriter turns config's warning lines into log records.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.log != nil {
		for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
			p = p[:len(p)-1]
		}
		w.log.Warn(string(p))
	}
	return n, nil
}
