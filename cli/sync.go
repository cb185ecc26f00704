package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/core/status/fromqueue"
	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
	"github.com/spec-kitty/spec-kitty-sync/service/daemon"
)

func newSyncCmd(env *Env) *Command {
	return &Command{
		UsageLine: "spec-kitty sync <command>",
		Short:     "upload queued events to the hosted service",
		Long: `Sync moves the events of kitty-specs/*/status.events.jsonl to the hosted service.

Events are queued locally in <home>/queue.db and uploaded by the background
daemon (policy "auto") or by 'spec-kitty sync run' (any policy). Nothing is
lost while offline: events stay queued until the host confirms them.`,
		Commands: []*Command{newSyncRunCmd(env), newSyncStatusCmd(env), newSyncStartCmd(env), newSyncStopCmd(env), newSyncRetryCmd(env)},
	}
}

// syncSummary is the result of `sync run`; fields are only ever added.
type syncSummary struct {
	Imported     int `json:"imported"`
	Synced       int `json:"synced"`
	Duplicates   int `json:"duplicates"`
	Failed       int `json:"failed"`
	DeadLettered int `json:"dead_lettered"`
	QueueDepth   int `json:"queue_depth"`
	DeadLetters  int `json:"dead_letters"`
}

func newSyncRunCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty sync run [--json] [--quiet]",
		Short:     "import and upload every queued event now, in the foreground",
		Long: `Sync run is a one-shot remote sync: it imports new event lines of every
registered repository (and of the current one, which it registers), uploads
the whole queue in batches, and prints a summary. It never starts the
background daemon and works under either policy.

On a terminal, stderr shows the progress (reading repos, queueing,
uploading, with counts, rate and time left); --quiet, --json or a stderr
that is not a terminal show only the summary.

Exit status 1 when events could not be delivered (they stay queued) or the
host refused some for good (dead letters: see 'spec-kitty sync status' and
'spec-kitty sync retry').`,
	}
	asJSON := c.Flags().Bool("json", false, "print the summary as JSON")
	quiet := c.Flags().BoolP("quiet", "q", false, "no progress display, only the summary")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("sync run takes no arguments")
		}
		if _, err := hostedSession(ctx, env, readiness.Options{Probe: true}, nil); err != nil {
			return err
		}
		limitEngineMemory(env)
		q, err := openQueue(ctx, env, true)
		if err != nil {
			return err
		}
		defer q.Close()
		if repo, err := mission.FindRepo(env.Dir, env.Getenv); err == nil {
			if _, err := q.RegisterRepo(ctx, repo); err != nil {
				return err
			}
		}
		eng := newEngine(env, q, nil)
		var progress *syncProgress
		if env.StderrTTY && !*asJSON && !*quiet {
			progress = newSyncProgress(env)
			progress.attach(eng)
		}
		rep, runErr := eng.Cycle(ctx)
		if progress != nil {
			progress.done()
		}
		for _, w := range rep.RepoWarnings {
			for _, l := range strings.Split(w, "\n") {
				fmt.Fprintf(env.Stderr, "spec-kitty: warning: not imported: %s\n", term.Sanitize(l))
			}
		}
		sum := syncSummary{Imported: rep.Imported, Synced: rep.Delivered, Duplicates: rep.Duplicates,
			Failed: rep.Retried, DeadLettered: rep.DeadLettered, QueueDepth: rep.QueueDepth, DeadLetters: rep.DeadLetters}
		if *asJSON {
			if err := writeJSON(env.Stdout, sum); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(env.Stdout, "synced %d, duplicates %d, failed %d, dead-lettered %d\n", sum.Synced, sum.Duplicates, sum.Failed, sum.DeadLettered)
		}
		if runErr == nil {
			recordLastSync(env, sum.Synced+sum.Duplicates)
		}
		if runErr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(runErr, syncer.ErrNotSignedIn) {
				return withHint(failf("%s", runErr), "run `spec-kitty auth login`")
			}
			if cause := queue.DiskFullCause(runErr); cause != "" {
				return diskFullError(ctx, eng, cause, sum.QueueDepth)
			}
			return withHint(failf("%s", runErr), fmt.Sprintf("%d events stay queued; run `spec-kitty sync run` again later", sum.QueueDepth))
		}
		if sum.DeadLettered > 0 {
			return withHint(failf("the host refused %d events for good; they are kept as dead letters", sum.DeadLettered),
				"run `spec-kitty sync status` to see why, and `spec-kitty sync retry --all` once it is fixed")
		}
		return nil
	}
	return c
}

// diskFullError is the failure of a `sync run` stopped by a full disk: it
// names the cause (not the step that hit it) and what was kept — the queued
// events, and the lines left in their files, not imported — and the cure.
func diskFullError(ctx context.Context, eng *syncer.Engine, cause string, queued int) error {
	kept := fmt.Sprintf("%d events stay queued", queued)
	if n, err := eng.UnimportedLines(ctx); err == nil {
		kept += fmt.Sprintf(" and %d new lines stay in their files, not imported yet", n)
	} else {
		kept += " and the lines not imported yet stay in their files"
	}
	return withHint(failf("the disk is full: %s; nothing is lost: %s", cause, kept),
		"free disk space and run `spec-kitty sync run` again")
}

// syncStatusJSON is `sync status --json`; fields are only ever added.
type syncStatusJSON struct {
	Policy        string           `json:"policy"`
	Readiness     readiness.Result `json:"readiness"`
	Daemon        daemonJSON       `json:"daemon"`
	QueueDepth    int              `json:"queue_depth"`
	Retried       int              `json:"retried"`
	DeadLetters   int              `json:"dead_letters"`
	OldestAge     string           `json:"oldest_age,omitempty"`
	NextAttemptAt time.Time        `json:"next_attempt_at,omitzero"`
	LastError     string           `json:"last_error,omitempty"`
	Malformed     int              `json:"malformed_lines"`
	// QueueUnmigrated: queue.db has only the Python CLI's layout; its
	// events are all kept and the next hosted writer migrates it.
	QueueUnmigrated bool `json:"queue_unmigrated,omitempty"`
	// LastOneShot is the last successful `sync run` (also the tray's Sync
	// now under the manual policy); absent when there was none.
	LastOneShot  *localapi.LastSync     `json:"last_one_shot_sync,omitempty"`
	Dead         []status.DeadLetter    `json:"dead_letter_events,omitempty"`
	Files        []status.MalformedFile `json:"files_with_malformed_lines,omitempty"`
	RepoWarnings []string               `json:"repo_warnings,omitempty"`
}

type daemonJSON struct {
	Running             bool      `json:"running"`
	PID                 int       `json:"pid,omitempty"`
	StartedAt           time.Time `json:"started_at,omitzero"`
	LastSyncAt          time.Time `json:"last_sync_at,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
}

// syncStatusWire renders st as `sync status --json`.
func syncStatusWire(st status.Status) syncStatusJSON {
	q := st.Queue
	out := syncStatusJSON{Policy: string(st.Policy), Readiness: st.Readiness, Daemon: daemonJSON{Running: st.Daemon.Running},
		QueueDepth: q.Depth, Retried: q.Retried, DeadLetters: q.DeadLetters, NextAttemptAt: q.NextAttemptAt, LastError: q.LastError,
		Malformed: q.Malformed, QueueUnmigrated: q.Unmigrated, Dead: q.Dead, Files: q.Files, RepoWarnings: q.RepoWarnings}
	if d := st.Daemon.State; st.Daemon.Running {
		out.Daemon.PID, out.Daemon.StartedAt = d.PID, d.StartedAt
		out.Daemon.LastSyncAt, out.Daemon.LastError, out.Daemon.ConsecutiveFailures = d.LastSyncAt, d.LastError, d.ConsecutiveFailures
	}
	if q.OldestAge > 0 {
		out.OldestAge = q.OldestAge.Round(time.Second).String()
	}
	if !st.LastSync.At.IsZero() {
		ls := st.LastSync
		out.LastOneShot = &ls
	}
	return out
}

func newSyncStatusCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty sync status [--json]",
		Short:     "show the daemon, the queue, dead letters and malformed lines",
		Long: `Sync status reads the daemon's state file, the offline queue and the local
readiness checks. It never touches the network and never starts the daemon.`,
	}
	asJSON := c.Flags().Bool("json", false, "print the status as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("sync status takes no arguments")
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		st, err := collectSyncStatus(ctx, env)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(env.Stdout, syncStatusWire(st))
		}
		printSyncStatus(env, st)
		return nil
	}
	return c
}

// statusSources wires core/status to this process: the config already
// loaded, ready as the readiness check, the state home's files and the
// queue (read-only).
func statusSources(env *Env, home paths.Home, cfg config.Config, ready func(context.Context) readiness.Result) status.Sources {
	src := status.HomeSources(home)
	src.Gate = func() bool { return rollout.Enabled(env.Getenv) }
	src.Policy = func() (policy.Policy, error) { return cfg.Policy(), nil }
	src.Readiness = ready
	src.Queue = fromqueue.Source(home.Queue(), queue.Options{MaxSize: cfg.MaxQueueSize, Now: env.Now})
	src.Now = env.Now
	return src
}

// collectSyncStatus builds the status `sync status` shows: local readiness,
// never the network. An unreadable config, state file or queue fails it.
func collectSyncStatus(ctx context.Context, env *Env) (status.Status, error) {
	cfg, err := loadConfig(env)
	if err != nil {
		return status.Status{}, err
	}
	home, err := env.Home()
	if err != nil {
		return status.Status{}, failf("%s", err)
	}
	st := status.Build(ctx, statusSources(env, home, cfg, func(ctx context.Context) readiness.Result { return localReadiness(ctx, env) }))
	if st.Daemon.Err != "" {
		return st, failf("%s", st.Daemon.Err)
	}
	if st.Queue.Err != nil {
		return st, st.Queue.Err
	}
	return st, nil
}

func printSyncStatus(env *Env, st status.Status) {
	w := env.Stdout
	fmt.Fprintf(w, "policy:        %s\n", st.Policy)
	if st.Readiness.OK() {
		fmt.Fprintf(w, "readiness:     ready\n")
	} else {
		fmt.Fprintf(w, "readiness:     %s %s\n", term.Sanitize(st.Readiness.Message), term.Sanitize(st.Readiness.NextAction))
	}
	if d := st.Daemon.State; st.Daemon.Running {
		fmt.Fprintf(w, "daemon:        running (pid %d)\n", d.PID)
		if !d.LastSyncAt.IsZero() {
			fmt.Fprintf(w, "last sync:     %s\n", d.LastSyncAt.Local().Format(time.RFC3339))
		}
		if d.LastError != "" {
			fmt.Fprintf(w, "last error:    %s (%d consecutive failures)\n", term.Sanitize(d.LastError), d.ConsecutiveFailures)
		}
	} else {
		fmt.Fprintf(w, "daemon:        stopped\n")
	}
	if st.OneShotNewer() {
		fmt.Fprintf(w, "last sync run: %s (%d events)\n", st.LastSync.At.Local().Format(time.RFC3339), st.LastSync.Synced)
	}
	q := st.Queue
	fmt.Fprintf(w, "queued:        %d", q.Depth)
	if q.Retried > 0 {
		fmt.Fprintf(w, " (%d retrying", q.Retried)
		if !q.NextAttemptAt.IsZero() {
			fmt.Fprintf(w, ", next attempt %s", q.NextAttemptAt.Local().Format(time.RFC3339))
		}
		fmt.Fprintf(w, ")")
	}
	fmt.Fprintln(w)
	if q.Unmigrated {
		fmt.Fprintf(w, "               %s\n", status.UnmigratedNote)
	}
	if q.LastError != "" {
		fmt.Fprintf(w, "queue error:   %s\n", term.Sanitize(q.LastError))
	}
	fmt.Fprintf(w, "dead letters:  %d\n", q.DeadLetters)
	for _, d := range q.Dead {
		fmt.Fprintf(w, "  %s %s: %s\n", term.Sanitize(d.EventID), term.Sanitize(d.Type), term.Sanitize(d.Reason))
	}
	if q.DeadLetters > 0 {
		fmt.Fprintf(w, "  (once the cause is fixed: spec-kitty sync retry --all)\n")
	}
	for _, r := range q.RepoWarnings {
		fmt.Fprintf(w, "repo warning:  %s\n", term.Sanitize(r))
	}
	fmt.Fprintf(w, "malformed:     %d lines skipped\n", q.Malformed)
	for _, f := range q.Files {
		fmt.Fprintf(w, "  %s: %d (%s)\n", term.Sanitize(f.Path), f.Malformed, term.Sanitize(f.LastError))
	}
}

func newSyncStartCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty sync start",
		Short:     "start the background sync daemon (policy auto only)",
		Long: `Sync start makes sure the background daemon runs and asks it to sync now.
Under the manual policy it prints how to sync by hand and starts nothing.
When the OS service is installed it is started through the service manager.`,
	}
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("sync start takes no arguments")
		}
		if _, err := hostedSession(ctx, env, readiness.Options{Probe: true}, nil); err != nil {
			return err
		}
		return runSyncStart(ctx, env)
	}
	return c
}

// runSyncStart is the `sync start` call site of EnsureRunning (CONTRACTS §6).
func runSyncStart(ctx context.Context, env *Env) error {
	out := newLauncher(env).EnsureRunning(ctx, policy.RemoteRequired)
	return reportOutcome(env, out, env.Stdout)
}

// reportOutcome prints an EnsureRunning outcome of a remote-required
// command on w: stdout when the outcome is the command's result (sync
// start), stderr when the command has another result (status emit, tracker
// sync).
func reportOutcome(env *Env, out policy.Outcome, w io.Writer) error {
	switch {
	case out.Started:
		fmt.Fprintf(w, "sync daemon started (pid %d)\n", out.PID)
	case out.AlreadyRunning:
		fmt.Fprintf(w, "sync daemon running (pid %d); asked it to sync now\n", out.PID)
	case out.SkippedReason == policy.ReasonManual:
		fmt.Fprint(w, policy.ManualNotice)
	case strings.HasPrefix(out.SkippedReason, policy.ReasonConfigError+": "):
		// The launcher failed closed on a broken config.toml, as the daemon
		// would: the command fails naming the file, line and column (§5).
		return failf("%s", strings.TrimPrefix(out.SkippedReason, policy.ReasonConfigError+": "))
	case strings.HasPrefix(out.SkippedReason, policy.ReasonStartFailed):
		return withHint(failf("could not start the sync daemon: %s", strings.TrimPrefix(out.SkippedReason, policy.ReasonStartFailed+": ")),
			"run `spec-kitty sync run` to sync in the foreground")
	}
	return nil
}

func newSyncStopCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty sync stop",
		Short:     "stop the background sync daemon",
		Long: `Sync stop asks a running daemon to finish its current batch and exit.
Queued events stay queued.`,
	}
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("sync stop takes no arguments")
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		home, err := env.Home()
		if err != nil {
			return failf("%s", err)
		}
		st, running, err := localapi.ReadState(home.DaemonState())
		if err != nil {
			return failf("%s", err)
		}
		if !running {
			fmt.Fprintln(env.Stdout, "sync daemon is not running")
			return nil
		}
		if err := localapi.NewClient(home.DaemonSocket()).Shutdown(ctx); err != nil {
			return failf("stop sync daemon (pid %d): %s", st.PID, err)
		}
		deadline := time.Now().Add(daemon.StopBudget + time.Second)
		for localapi.Alive(st.PID) {
			if time.Now().After(deadline) {
				return failf("sync daemon (pid %d) did not stop within %s", st.PID, daemon.StopBudget+time.Second)
			}
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Fprintf(env.Stdout, "sync daemon stopped (pid %d)\n", st.PID)
		return nil
	}
	return c
}

func newSyncRetryCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty sync retry (--all | EVENT_ID...)",
		Short:     "put dead-lettered events back in the queue",
		Long: `Sync retry moves events the host refused for good (the dead letters listed
by 'spec-kitty sync status') back into the queue with a fresh retry count,
once what made the host refuse them is fixed. They are uploaded by the
daemon's next cycle or by 'spec-kitty sync run'. It contacts nothing and
starts nothing.`,
	}
	all := c.Flags().Bool("all", false, "requeue every dead letter")
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if *all == (len(args) > 0) {
			return usagef("name the events to retry, or --all")
		}
		home, err := env.Home()
		if err != nil {
			return failf("%s", err)
		}
		if _, err := os.Stat(home.Queue()); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintln(env.Stdout, "requeued 0 events (nothing was ever queued)")
			return nil
		}
		q, err := openQueue(ctx, env, true)
		if err != nil {
			return err
		}
		defer q.Close()
		n, err := q.Requeue(ctx, args...)
		if err != nil {
			return failf("%s", err)
		}
		fmt.Fprintf(env.Stdout, "requeued %d events\n", n)
		if len(args) > n {
			return failf("%d of the named events are not dead letters", len(args)-n)
		}
		return nil
	}
	return c
}
