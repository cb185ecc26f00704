package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/probe"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/version"
	"github.com/spec-kitty/spec-kitty-sync/service/daemon"
)

// Log rotation of <home>/logs/sync-daemon.log.
const (
	logMaxBytes = 5 << 20
	logKeep     = 3
)

func newServiceCmd(env *Env) *Command {
	return &Command{
		UsageLine: "spec-kitty service <command>",
		Short:     "run or manage the background sync daemon as an OS service",
		Long: `Service manages the spec-kitty-sync OS service: a per-user systemd unit,
launchd agent or Windows logon task that runs 'spec-kitty service run'.
The service starts only under the "auto" background-daemon policy.`,
		Commands: []*Command{newServiceRunCmd(env)},
	}
}

func newServiceRunCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty service run [--background] [--once]",
		Short:     "run the sync daemon in this process (what the OS service runs)",
		Long: `Service run is the background sync daemon. It exits 0 at once when the
rollout gate is off or the policy is manual (unless --once), and when another
daemon already runs for this state home. Otherwise it holds
<home>/sync-daemon.lock, serves the local API on <home>/sync-daemon.sock,
imports and uploads events every minute or when woken, and stops cleanly on
SIGTERM or Ctrl-C. It logs to <home>/logs/sync-daemon.log.`,
	}
	background := c.Flags().Bool("background", false, "log only to the log file (set when spawned detached)")
	once := c.Flags().Bool("once", false, "run one import/upload cycle and exit, under either policy")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("service run takes no arguments")
		}
		return runDaemon(ctx, env, *background, *once)
	}
	return c
}

func runDaemon(ctx context.Context, env *Env, background, once bool) error {
	if !rollout.Enabled(env.Getenv) {
		// CONTRACTS §2: exit 0 at once, one log line, nothing written.
		fmt.Fprintln(env.Stderr, "spec-kitty: rollout disabled; the sync daemon does not run")
		return nil
	}
	home, err := env.Home()
	if err != nil {
		return failf("%s", err)
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	if cfg.Policy() == policy.Manual && !once {
		fmt.Fprintln(env.Stderr, "spec-kitty: background sync is in manual mode; the sync daemon does not run")
		return nil
	}
	if err := home.EnsureDir(home.Logs()); err != nil {
		return failf("%s", err)
	}
	lf, err := daemon.OpenLog(home.DaemonLog(), logMaxBytes, logKeep)
	if err != nil {
		return failf("%s", err)
	}
	defer lf.Close()
	var out io.Writer = lf
	if !background {
		out = io.MultiWriter(lf, env.Stderr)
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	host, _ := probe.ResolveHost(env.Getenv, configServerURL(env))

	// The daemon's own warnings (e.g. the auth.json fallback) go to its log.
	denv := *env
	denv.Stderr = out
	err = daemon.Run(ctx, daemon.Options{
		Home:    home,
		Getenv:  env.Getenv,
		Now:     env.Now,
		Logger:  log,
		Version: version.String(),
		Host:    host.URL,
		Policy: func() (policy.Policy, error) {
			c, err := loadConfig(&denv)
			if err != nil {
				return "", err
			}
			return c.Policy(), nil
		},
		Readiness: func(ctx context.Context) readiness.Result { return localReadiness(ctx, &denv) },
		Open: func(ctx context.Context) (daemon.Worker, func() error, error) {
			q, err := openQueue(ctx, &denv, true)
			if err != nil {
				return nil, nil, err
			}
			return newEngine(&denv, q, log), q.Close, nil
		},
		Once:       once,
		ConfigPath: home.Config(),
	})
	if errors.Is(err, daemon.ErrAlreadyRunning) {
		fmt.Fprintf(env.Stderr, "spec-kitty: %s\n", err)
		return nil
	}
	if err != nil && ctx.Err() == nil {
		log.Error("sync daemon failed", "error", err.Error())
		return failf("%s", err)
	}
	return nil
}

// installedService is the OS service when it is installed, for
// EnsureRunning to start through the service manager.
func installedService(env *Env) serviceStarter { return nil }

type serviceStarter = interface {
	Installed(ctx context.Context) bool
	Start(ctx context.Context) error
}
