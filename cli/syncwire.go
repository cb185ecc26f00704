package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
	"github.com/spec-kitty/spec-kitty-sync/service/launch"
)

// engineConnect resolves the host and the stored session on every call, so
// the daemon picks up a sign-in made by another process on its next cycle.
func engineConnect(env *Env) func(ctx context.Context) (syncer.Conn, error) {
	return func(ctx context.Context) (syncer.Conn, error) {
		host, err := resolveHost(env)
		if errors.Is(err, hosted.ErrNoHost) {
			return syncer.Conn{}, fmt.Errorf("%w: no SaaS host URL is configured", syncer.ErrNotSignedIn)
		}
		if err != nil {
			return syncer.Conn{}, err
		}
		store, err := sessionStore(env)
		if err != nil {
			return syncer.Conn{}, err
		}
		c, m := auth.NewClient(host, store)
		c.Timeout = hosted.TimeoutFromEnv(env.Getenv)
		m.Now = env.Now
		sess, err := m.Session(ctx)
		if err != nil {
			return syncer.Conn{}, fmt.Errorf("%w: %v", syncer.ErrNotSignedIn, err)
		}
		team := ""
		if t, ok := sess.DefaultTeam(); ok {
			team = t.ID
		}
		return syncer.Conn{Client: c, Team: team}, nil
	}
}

// openQueue opens the offline queue; create makes the state home and the
// database when missing (hosted write paths only).
func openQueue(ctx context.Context, env *Env, create bool) (*queue.Queue, error) {
	home, err := env.Home()
	if err != nil {
		return nil, failf("%s", err)
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return nil, err
	}
	// Reads (sync status, doctor) open read-only: a local-only command
	// writes nothing in the state home (CONTRACTS §1).
	opts := queue.Options{MaxSize: cfg.MaxQueueSize, Now: env.Now, ReadOnly: !create}
	if create {
		if err := home.EnsureHome(); err != nil {
			return nil, failf("%s", err)
		}
	}
	q, err := queue.Open(ctx, home.Queue(), opts)
	if err != nil {
		return nil, err
	}
	return q, nil
}

// limitEngineMemory gives a process that runs the sync engine (`sync run`,
// `service run`) the Go heap limit syncer.MemoryLimit, unless the user set
// GOMEMLIMIT, which then stands.
func limitEngineMemory(env *Env) {
	if env.SetMemoryLimit != nil && env.Getenv("GOMEMLIMIT") == "" {
		env.SetMemoryLimit(syncer.MemoryLimit)
	}
}

// newEngine builds the import/upload engine over q.
func newEngine(env *Env, q *queue.Queue, log *slog.Logger) *syncer.Engine {
	return &syncer.Engine{Queue: q, Connect: engineConnect(env), Now: env.Now, Log: log}
}

// newLauncher is the CLI's EnsureRunning front: it spawns this very binary.
func newLauncher(env *Env) *launch.Launcher {
	return &launch.Launcher{
		Getenv: env.Getenv,
		Home:   env.Home,
		Policy: func() (policy.Policy, error) {
			cfg, err := loadConfig(env)
			if err != nil {
				return "", err
			}
			return cfg.Policy(), nil
		},
		Executable: env.Executable,
		Service:    installedService(env),
	}
}

// localReadiness evaluates auth and host without touching the network (the
// checks a status display may run).
func localReadiness(ctx context.Context, env *Env) readiness.Result {
	store, err := sessionStore(env)
	if err != nil {
		return readiness.Result{State: readiness.MissingAuth}
	}
	return readiness.Evaluate(ctx, readiness.Options{RequireAuth: true, RequireHost: true}, hostedProbes(env, store))
}
