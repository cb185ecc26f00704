package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/version"
	"github.com/spec-kitty/spec-kitty-sync/service/daemon"
	"github.com/spec-kitty/spec-kitty-sync/service/launch"
	"github.com/spec-kitty/spec-kitty-sync/service/svcmgr"
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
		Commands: []*Command{
			newServiceInstallCmd(env), newServiceUninstallCmd(env), newServiceStartCmd(env),
			newServiceStopCmd(env), newServiceRestartCmd(env), newServiceStatusCmd(env), newServiceRunCmd(env),
		},
	}
}

func newServiceRunCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty service run [--background] [--once] [--env-file PATH]",
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
	// Applied by Main before the command tree is built (withEnvFile): the
	// gate may come from the file.
	c.Flags().String("env-file", "", "read SPEC_KITTY_* variables from this file first (the Windows logon task uses it)")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("service run takes no arguments")
		}
		return svcmgr.RunService(ctx, func(ctx context.Context) error {
			return runDaemon(ctx, env, *background, *once)
		})
	}
	return c
}

func runDaemon(ctx context.Context, env *Env, background, once bool) error {
	if !rollout.Enabled(env.Getenv) {
		// CONTRACTS §2: exit 0 at once, one log line, nothing written.
		fmt.Fprintln(env.Stderr, rollout.ServiceRunLine)
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
	if !cfg.Policy().Background() && !once {
		fmt.Fprintln(env.Stderr, "spec-kitty: background sync is in manual mode; the sync daemon does not run")
		return nil
	}
	limitEngineMemory(env)
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
	host, _ := resolveHost(env)

	// The daemon's own warnings (e.g. the auth.json fallback) go to its log.
	// It also reads config.toml afresh each time: the policy may change.
	denv := *env.live()
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
		Once: once,
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

// serviceConfig is the service definition for this user (or the machine).
func serviceConfig(env *Env, system bool) (svcmgr.Config, error) {
	exe, err := env.Executable()
	if err != nil {
		return svcmgr.Config{}, failf("find the spec-kitty executable: %s", err)
	}
	vars, err := svcmgr.EnvFromGetenv(env.Getenv)
	if err != nil {
		return svcmgr.Config{}, failf("%s", err)
	}
	home := ""
	if env.UserHome != nil {
		home, _ = env.UserHome()
	}
	exe = daemonExecutable(runtime.GOOS, system, exe, fileExists, filepath.EvalSymlinks)
	return svcmgr.Config{System: system, Executable: exe, Env: vars, HomeDir: home}, nil
}

func serviceManager(env *Env, system bool) (svcmgr.Manager, error) {
	cfg, err := serviceConfig(env, system)
	if err != nil {
		return nil, err
	}
	m, err := svcmgr.New(cfg)
	if err != nil {
		return nil, failf("service manager: %s", err)
	}
	return m, nil
}

// installedService is the per-user OS service for EnsureRunning: it is
// looked up only when a start is actually needed (never for a skipped
// decision), and counts as not installed when this machine has no service
// manager, so the daemon is then spawned.
func installedService(env *Env) launch.Service { return &managedService{env: env} }

type managedService struct {
	env *Env
	m   svcmgr.Manager
}

func (s *managedService) Installed(ctx context.Context) bool {
	m, err := serviceManager(s.env, false)
	if err != nil {
		return false
	}
	st, err := m.Status(ctx)
	if err != nil || !st.Installed {
		return false
	}
	s.m = m
	return true
}

func (s *managedService) Start(ctx context.Context) error {
	if s.m == nil {
		return svcmgr.ErrNotInstalled
	}
	return s.m.Start(ctx)
}

func newServiceInstallCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty service install [--system] [--dry-run]",
		Short:     "install the sync daemon as an OS service",
		Long: `Service install writes the service definition and registers it with the
service manager: a systemd --user unit with WantedBy=default.target on Linux,
a LaunchAgent on macOS, a logon task on Windows. It records
SPEC_KITTY_ENABLE_SAAS_SYNC, SPEC_KITTY_SAAS_URL, SPEC_KITTY_HOME and
SPEC_KITTY_KEYCHAIN (each when set) from this shell. Installing again replaces the definition. Under the "auto" policy the
service is started at once.

--system installs a machine-wide service instead (root / administrator): it
runs with a machine-wide state home and cannot use your keychain, so sign in
with 'auth login --with-token' for that home.
--dry-run prints the files it would write and the commands it would run, and
changes nothing. It prints them even on a machine without the platform's
service manager (a Linux box without systemd), saying it cannot be
installed there.`,
	}
	system := c.Flags().Bool("system", false, "install a machine-wide service instead of a per-user one")
	dry := c.Flags().Bool("dry-run", false, "print what would be written and run; change nothing")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("service install takes no arguments")
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		if *dry {
			// A dry run shows the definition even where it cannot be
			// installed (no systemd here): that is what it is for.
			cfg, err := serviceConfig(env, *system)
			if err != nil {
				return err
			}
			p, unsupported, err := svcmgr.DryRun(ctx, cfg)
			if err != nil {
				return serviceError(err)
			}
			printPlan(env, p)
			if unsupported != nil {
				fmt.Fprintf(env.Stdout, "\nnote: this cannot be installed on this machine: %s\n", unsupported)
			}
			return nil
		}
		m, err := serviceManager(env, *system)
		if err != nil {
			return err
		}
		warnings, err := m.Install(ctx)
		for _, w := range warnings {
			fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s\n", w)
		}
		if err != nil {
			return serviceError(err)
		}
		st, _ := m.Status(ctx)
		fmt.Fprintf(env.Stdout, "installed %s (%s) at %s\n", svcmgr.Name, st.Manager, st.UnitPath)
		return startUnderPolicy(ctx, env, m)
	}
	return c
}

func printPlan(env *Env, p svcmgr.Plan) {
	w := env.Stdout
	fmt.Fprintf(w, "service manager: %s\n", p.Manager)
	for _, r := range p.Remove {
		fmt.Fprintf(w, "\nwould remove %s\n", r)
	}
	for _, f := range p.Files {
		fmt.Fprintf(w, "\nwould write %s (mode %04o):\n%s", f.Path, f.Mode.Perm(), f.Content)
		if !strings.HasSuffix(f.Content, "\n") {
			fmt.Fprintln(w)
		}
	}
	if len(p.Commands) > 0 {
		fmt.Fprintf(w, "\nwould run:\n")
		for _, c := range p.Commands {
			fmt.Fprintf(w, "  %s\n", strings.Join(c, " "))
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	for _, n := range p.Warnings {
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s\n", n)
	}
}

// startUnderPolicy starts the service only under the auto policy; under
// manual it prints the manual-mode notice and starts nothing.
func startUnderPolicy(ctx context.Context, env *Env, m svcmgr.Manager) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	if !cfg.Policy().Background() {
		fmt.Fprint(env.Stdout, policy.ManualNotice)
		return nil
	}
	if err := m.Start(ctx); err != nil {
		return serviceError(err)
	}
	fmt.Fprintf(env.Stdout, "started %s\n", svcmgr.Name)
	return nil
}

func serviceError(err error) error {
	switch {
	case errors.Is(err, svcmgr.ErrRolloutDisabled):
		return failf("%s", readiness.DisabledMessage())
	case errors.Is(err, svcmgr.ErrNotInstalled):
		return withHint(failf("the %s service is not installed", svcmgr.Name), "run `spec-kitty service install`")
	}
	return failf("%s", err)
}

// serviceVerb builds start/stop/restart/uninstall.
func serviceVerb(env *Env, verb, short, long string, do func(ctx context.Context, m svcmgr.Manager) error) *Command {
	c := &Command{UsageLine: "spec-kitty service " + verb + " [--system]", Short: short, Long: long}
	system := c.Flags().Bool("system", false, "act on the machine-wide service")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("service %s takes no arguments", verb)
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		m, err := serviceManager(env, *system)
		if err != nil {
			return err
		}
		return do(ctx, m)
	}
	return c
}

func newServiceUninstallCmd(env *Env) *Command {
	return serviceVerb(env, "uninstall", "stop and remove the OS service",
		"Service uninstall stops the service and removes its definition. Queued events stay queued.",
		func(ctx context.Context, m svcmgr.Manager) error {
			if err := m.Uninstall(ctx); err != nil {
				if errors.Is(err, svcmgr.ErrNotInstalled) {
					fmt.Fprintf(env.Stdout, "%s is not installed\n", svcmgr.Name)
					return nil
				}
				return serviceError(err)
			}
			fmt.Fprintf(env.Stdout, "uninstalled %s\n", svcmgr.Name)
			return nil
		})
}

func newServiceStartCmd(env *Env) *Command {
	c := serviceVerb(env, "start", "start the OS service (policy auto only)",
		`Service start starts the installed service through the service manager.
Under the manual policy it prints the manual-mode notice and starts nothing.`,
		func(ctx context.Context, m svcmgr.Manager) error { return startUnderPolicy(ctx, env, m) })
	run := c.Run
	c.Run = func(ctx context.Context, args []string) error {
		// The policy decides before any service manager is looked at.
		if rollout.Enabled(env.Getenv) {
			cfg, err := loadConfig(env)
			if err != nil {
				return err
			}
			if !cfg.Policy().Background() {
				if len(args) > 0 {
					return usagef("service start takes no arguments")
				}
				fmt.Fprint(env.Stdout, policy.ManualNotice)
				return nil
			}
		}
		return run(ctx, args)
	}
	return c
}

func newServiceStopCmd(env *Env) *Command {
	return serviceVerb(env, "stop", "stop the OS service", "Service stop stops the service; it starts again at the next login unless uninstalled.",
		func(ctx context.Context, m svcmgr.Manager) error {
			if err := m.Stop(ctx); err != nil {
				return serviceError(err)
			}
			fmt.Fprintf(env.Stdout, "stopped %s\n", svcmgr.Name)
			return nil
		})
}

func newServiceRestartCmd(env *Env) *Command {
	return serviceVerb(env, "restart", "restart the OS service (policy auto only)", "Service restart stops and starts the service; under the manual policy it only stops it.",
		func(ctx context.Context, m svcmgr.Manager) error {
			cfg, err := loadConfig(env)
			if err != nil {
				return err
			}
			if !cfg.Policy().Background() {
				if err := m.Stop(ctx); err != nil {
					return serviceError(err)
				}
				fmt.Fprint(env.Stdout, policy.ManualNotice)
				return nil
			}
			if err := m.Restart(ctx); err != nil {
				return serviceError(err)
			}
			fmt.Fprintf(env.Stdout, "restarted %s\n", svcmgr.Name)
			return nil
		})
}

// serviceStatus is `service status --json`; fields are only ever added.
type serviceStatus struct {
	svcmgr.Status
	Policy string `json:"policy"`
	Error  string `json:"error,omitempty"`
}

func newServiceStatusCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty service status [--system] [--json]",
		Short:     "show whether the OS service is installed and running",
	}
	system := c.Flags().Bool("system", false, "show the machine-wide service")
	asJSON := c.Flags().Bool("json", false, "print the status as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("service status takes no arguments")
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		cfg, err := loadConfig(env)
		if err != nil {
			return err
		}
		out := serviceStatus{Policy: string(cfg.Policy())}
		if m, merr := serviceManager(env, *system); merr != nil {
			// No supported service manager here (e.g. no systemd): a fact
			// to report, not a failure of this read command.
			out.Status = svcmgr.Status{State: svcmgr.State("unsupported")}
			out.Error = merr.Error()
		} else {
			st, err := m.Status(ctx)
			if err != nil {
				return serviceError(err)
			}
			out.Status = st
		}
		if *asJSON {
			return writeJSON(env.Stdout, out)
		}
		if out.Error != "" {
			fmt.Fprintf(env.Stdout, "service:  %s (unsupported here: %s)\npolicy:   %s\n", svcmgr.Name, out.Error, out.Policy)
			return nil
		}
		st := out.Status
		fmt.Fprintf(env.Stdout, "service:  %s (%s)\nmanager:  %s\nunit:     %s\npolicy:   %s\n", svcmgr.Name, st.State, st.Manager, st.UnitPath, out.Policy)
		return nil
	}
	return c
}
