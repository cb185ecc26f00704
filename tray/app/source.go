package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/probe/local"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/tray"
)

// Snapshot is what one refresh learns from the machine: the model's inputs
// apart from the clock, the error track and the action state.
type Snapshot struct {
	Gate      bool
	Policy    policy.Policy
	ConfigErr string
	Readiness readiness.Result
	Daemon    tray.Daemon
	Queue     tray.Queue
	// LastSync is when the last one-shot sync (`sync run`) succeeded.
	LastSync time.Time
}

// Reader produces snapshots; Source is the real one.
type Reader interface {
	Read(ctx context.Context) Snapshot
	// AuthChanged drops what the reader remembers about the session.
	AuthChanged()
}

// DefaultAuthTTL is how long a session check is trusted. Sessions live in
// the OS keychain, whose calls can be slow (macOS runs a program per call),
// so the tray does not ask on every refresh; a login from the tray itself
// drops the cached answer at once.
const DefaultAuthTTL = time.Minute

// Source reads the snapshot from the state home: the gate from the
// environment, the policy and server URL from config.toml, the daemon from
// its state file, and local readiness (gate, session, host; never the
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
func (s *Source) Read(ctx context.Context) Snapshot {
	var snap Snapshot
	snap.Gate = s.Probes.Gate != nil && s.Probes.Gate()
	cfg, err := config.Load(s.Home.Config(), logWriter{s.Log})
	if err != nil {
		snap.ConfigErr = configProblem(err)
	} else {
		snap.Policy = cfg.Policy()
	}
	s.serverURL = cfg.ServerURL
	probes := s.Probes
	probes.Auth = s.session
	probes.Reach = nil // local readiness only: the tray never probes the host (local.New sets none)
	snap.Readiness = readiness.Evaluate(ctx, readiness.Options{RequireAuth: true, RequireHost: true}, probes)

	st, running, err := localapi.ReadState(s.Home.DaemonState())
	msg := ""
	if err != nil {
		msg = err.Error()
		if msg != s.stateErr {
			s.Log.Warn("daemon state file unreadable; treating the daemon as stopped", "error", msg)
		}
	}
	s.stateErr = msg
	snap.Daemon = tray.Daemon{Running: running, State: st}
	snap.Queue = tray.Queue{Depth: st.QueueDepth, DeadLetters: st.DeadLetters}
	if ls, err := localapi.ReadLastSync(s.Home.LastSync()); err == nil {
		snap.LastSync = ls.At
	}
	return snap
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
