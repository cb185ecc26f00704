package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/cli/dashboard"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

const dashboardLong = `Dashboard serves a local web page with the missions of this repository and
their work packages, lane by lane, read from kitty-specs/. It listens on
127.0.0.1 only (--port, else a free port), prints the URL on stdout and serves
until Ctrl-C or 'spec-kitty dashboard --stop'.

It records itself in a private file under the state home (<home>/dashboards/,
mode 0600; never in the repository), so running 'spec-kitty dashboard' again
prints the URL of the one already running instead of starting another. The
record holds a secret the running dashboard proves it knows before it is
trusted; a listener that cannot is ignored. --open also opens the page in
your browser when one can be opened. --stop asks the running dashboard to
stop, proving the same secret (or removes the record of one that is gone).

The page only reads files under kitty-specs/. The dashboard connects to
nothing beyond 127.0.0.1.`

// dashboardHostedNote describes the sync panel; it is only shown with the
// rollout gate on, where the hosted commands exist.
const dashboardHostedNote = `

On this machine (opted in to hosted sync) the page also shows a sync panel:
readiness, the daemon, the queue and a "Sync now" button that starts or wakes
the daemon under the "auto" background-daemon policy; under "manual" it
tells you to run 'spec-kitty sync run'. Nothing else starts the daemon.

--recent serves the repository around the working directory or, outside one,
the repository most recently added to hosted sync (a repository is added the
first time an event is emitted in it, it is bound or it is synced); the
tray's "Open dashboard" uses it.`

func newDashboardCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty dashboard [--port N] [--open] [--stop] [--repo DIR]",
		Short:     "serve a local web page of missions and their lanes",
		Long:      dashboardLong,
	}
	if rollout.Enabled(env.Getenv) {
		c.Long += dashboardHostedNote
	}
	port := c.Flags().Int("port", 0, "port on 127.0.0.1 to listen on (0: any free port)")
	open := c.Flags().Bool("open", false, "open the dashboard in the browser")
	stop := c.Flags().Bool("stop", false, "stop the running dashboard of this repository")
	repoDir := c.Flags().String("repo", "", "serve this repository instead of the one around the working directory")
	// --recent reads the sync queue's list of repositories: it exists only
	// with the gate on, like everything hosted.
	recent := new(bool)
	if rollout.Enabled(env.Getenv) {
		c.UsageLine += " [--recent]"
		recent = c.Flags().Bool("recent", false, "outside a repository, serve the one hosted sync registered last")
	}
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", args[0])
		}
		if *port < 0 || *port > 65535 {
			return usagef("--port %d: want a port number from 0 to 65535", *port)
		}
		if *stop && (*open || c.Flags().Changed("port")) {
			return usagef("--stop cannot be combined with --port or --open")
		}
		if *recent && *repoDir != "" {
			return usagef("--recent cannot be combined with --repo")
		}
		denv := env
		if *repoDir != "" {
			e := *env
			e.Dir = *repoDir
			denv = &e
		}
		repo, err := findRepo(denv)
		if err != nil && *recent {
			if home, herr := env.Home(); herr == nil {
				if last := recentRepo(ctx, home); last != "" {
					// A registered repository that is gone keeps the
					// ordinary error, about the working directory.
					e := *env
					e.Dir = last
					if r, rerr := findRepo(&e); rerr == nil {
						repo, err = r, nil
					}
				}
			}
		}
		if err != nil {
			return err
		}
		home, err := env.Home()
		if err != nil {
			return failf("%s", err)
		}
		rec := dashboard.RecordPath(home, repo)
		if *stop {
			return stopDashboard(ctx, env, rec)
		}
		return runDashboard(ctx, env, home, repo, rec, *port, *open)
	}
	return c
}

// recentRepo is the repository the sync queue registered last — the one the
// user most recently worked on with hosted sync — or "" when there is none.
// It opens the queue read-only and never creates it.
func recentRepo(ctx context.Context, home paths.Home) string {
	q, err := queue.Open(ctx, home.Queue(), queue.Options{ReadOnly: true})
	if err != nil {
		return ""
	}
	defer q.Close()
	repos, err := q.Repos(ctx)
	if err != nil || len(repos) == 0 {
		return ""
	}
	latest := repos[0]
	for _, r := range repos[1:] {
		if r.RegisteredAt.After(latest.RegisteredAt) {
			latest = r
		}
	}
	return latest.Path
}

// runDashboard reuses the running dashboard of repo, or serves a new one
// until ctx ends.
func runDashboard(ctx context.Context, env *Env, home paths.Home, repo, recPath string, port int, open bool) error {
	// The server outlives this command's first read: it reads config.toml
	// afresh for every request.
	env = env.live()
	if r, ok, err := runningDashboard(ctx, env, recPath); err != nil {
		return err
	} else if ok {
		return reuseDashboard(env, r, port, open)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if port != 0 {
			return withHint(failf("listen on 127.0.0.1:%d: %s", port, errText(err)), "use another --port, or --port 0 for any free one")
		}
		return failf("listen on 127.0.0.1: %s", errText(err))
	}
	defer ln.Close()
	bound := ln.Addr().(*net.TCPAddr).Port
	secret, err := dashboard.NewSecret(nil)
	if err != nil {
		return failf("dashboard secret: %s", err)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := dashboard.New(dashboard.Config{
		Repo:     repo,
		Addr:     ln.Addr().String(),
		Getenv:   env.Getenv,
		Home:     env.Home,
		Launcher: newLauncher(env),
		Policy: func() (policy.Policy, error) {
			cfg, err := loadConfig(env)
			if err != nil {
				return "", err
			}
			return cfg.Policy(), nil
		},
		Readiness: func(ctx context.Context) readiness.Result { return localReadiness(ctx, env) },
		Now:       env.Now,
		Log:       log,
		Secret:    secret,
	})
	if err != nil {
		return failf("%s", err)
	}
	defer srv.Close()

	me := dashboard.Record{PID: os.Getpid(), URL: srv.URL(), Port: bound, StartedAt: env.Now().UTC().Truncate(time.Second),
		Repo: repo, Secret: secret}
	// The record lives under the state home: the one write a local command
	// makes there besides config set/unset (CONTRACTS §1 and §10).
	if err := home.EnsureHome(); err != nil {
		return failf("%s", err)
	}
	for attempt := 0; ; attempt++ {
		err = dashboard.ClaimRecord(recPath, me)
		if err == nil {
			break
		}
		if !errors.Is(err, dashboard.ErrRecordExists) || attempt > 0 {
			return failf("%s", err)
		}
		// Another dashboard started at the same time and won the record.
		if r, ok, cerr := runningDashboard(ctx, env, recPath); cerr != nil {
			return cerr
		} else if ok {
			ln.Close()
			return reuseDashboard(env, r, port, open)
		}
	}
	defer dashboard.RemoveRecord(recPath, me.PID)

	// Stop on Ctrl-C and SIGTERM even when the caller's ctx does not watch
	// signals, so the record is always removed. `dashboard --stop` asks
	// through an authenticated request instead (Serve returns).
	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	fmt.Fprintln(env.Stdout, me.URL)
	fmt.Fprintf(env.Stderr, "Serving the missions of %s at %s (Ctrl-C or 'spec-kitty dashboard --stop' to stop).\n", term.Sanitize(repo), term.Sanitize(me.URL))
	if open {
		browserOpener(env)(me.URL) //nolint:errcheck // no browser: the URL is printed
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return failf("serve dashboard: %s", err)
	}
	fmt.Fprintln(env.Stderr, "Dashboard stopped.")
	return nil
}

// runningDashboard checks the record: a live dashboard is returned; a stale
// record (dead or foreign PID, nobody answering) is removed.
func runningDashboard(ctx context.Context, env *Env, recPath string) (dashboard.Record, bool, error) {
	r, state, err := dashboard.Check(ctx, recPath)
	if err != nil {
		return r, false, failf("%s", err)
	}
	switch state {
	case dashboard.RecordRunning:
		return r, true, nil
	case dashboard.RecordStale:
		if _, err := dashboard.RemoveRecord(recPath, r.PID); err != nil {
			return r, false, failf("%s", err)
		}
		if r.PID != 0 {
			fmt.Fprintf(env.Stderr, "spec-kitty: removed the record of a dashboard that is gone (pid %d)\n", r.PID)
		} else {
			fmt.Fprintf(env.Stderr, "spec-kitty: removed an unreadable dashboard record %s\n", term.Sanitize(recPath))
		}
	}
	return r, false, nil
}

func reuseDashboard(env *Env, r dashboard.Record, port int, open bool) error {
	if port != 0 && port != r.Port {
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: the dashboard already runs on port %d (pid %d); --port %d ignored\n", r.Port, r.PID, port)
	} else {
		fmt.Fprintf(env.Stderr, "The dashboard already runs (pid %d).\n", r.PID)
	}
	fmt.Fprintln(env.Stdout, r.URL)
	if open {
		browserOpener(env)(r.URL) //nolint:errcheck // no browser: the URL is printed
	}
	return nil
}

// stopDashboard stops the running dashboard of the repo, or cleans up the
// record of one that is gone.
func stopDashboard(ctx context.Context, env *Env, recPath string) error {
	r, state, err := dashboard.Check(ctx, recPath)
	if err != nil {
		return failf("%s", err)
	}
	switch state {
	case dashboard.RecordNone:
		fmt.Fprintln(env.Stdout, "No dashboard is running.")
		return nil
	case dashboard.RecordStale:
		if _, err := dashboard.RemoveRecord(recPath, r.PID); err != nil {
			return failf("%s", err)
		}
		fmt.Fprintln(env.Stdout, "No dashboard is running; removed its stale record.")
		return nil
	}
	// Never a bare kill of a PID: the dashboard is asked, over loopback,
	// with a proof of the secret only it and this user know.
	if err := dashboard.Stop(ctx, r); err != nil {
		return failf("stop dashboard (pid %d): %s", r.PID, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !dashboard.WaitExit(wctx, r.PID) {
		return failf("dashboard (pid %d) did not stop within 5s", r.PID)
	}
	if _, err := dashboard.RemoveRecord(recPath, r.PID); err != nil {
		return failf("%s", err)
	}
	fmt.Fprintf(env.Stdout, "Stopped the dashboard at %s (pid %d).\n", term.Sanitize(r.URL), r.PID)
	return nil
}

// errText is the cause of a net error without the "listen tcp ..:" prefix.
func errText(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}
