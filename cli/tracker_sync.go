package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

// Waiting for an accepted (202) operation: the first poll at once, then
// pollFirst, doubling up to pollMax between polls, for at most waitBudget.
const (
	pollFirst  = 100 * time.Millisecond
	pollMax    = 10 * time.Second
	waitBudget = 5 * time.Minute
)

var trackerSyncOps = []struct {
	op    hosted.SyncOp
	short string
	long  string
}{
	{hosted.SyncPull, "bring tracker changes into the mapped work packages",
		"Pull reads the items of the bound tracker resource and updates the work\npackages they are mapped to."},
	{hosted.SyncPush, "push work package changes to the tracker",
		"Push sends the work packages the host has seen in this project's events to\nthe bound tracker resource: mapped ones are updated, the others are created\nthere and mapped."},
	{hosted.SyncRun, "push, then pull",
		"Run is a push followed by a pull."},
	{hosted.SyncPublish, "publish the mission's lane snapshot to the tracker",
		"Publish sends the current lane of every mapped work package to the bound\ntracker resource; unmapped ones are skipped."},
}

const trackerSyncCommon = `

It needs sign-in, a reachable host and a binding. Like every command that
needs the network it makes sure the background sync daemon runs, so this
repo's events reach the host; under the manual policy
([sync].background_daemon = "manual") it prints how to sync by hand and
exits 0 without running the operation. The operation itself runs in the
foreground: push, run and publish first upload the events still queued
(so the host knows every work package; when some cannot be uploaded the
operation does not run), then its summary (pulled, pushed, created, updated, skipped) is
printed when the host reports it done. When the host queues the operation
(HTTP 202), the command polls it with backoff for up to 5 minutes; Ctrl-C
stops waiting (the operation continues on the host, and running the same
command again resumes waiting for it). --no-wait prints the operation id
instead of waiting.

--limit N caps how many items the operation handles. --json prints
{operation, status ("completed", "failed" or, with --no-wait, "accepted"),
operation_id, summary: {pulled, pushed, created, updated, skipped}, error}.
A failed operation exits 1.`

func newTrackerSyncCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker sync <operation>",
		Short:     "run a tracker sync operation (pull, push, run, publish)",
		Long: `Tracker sync runs one sync operation between this repository's work packages
and the bound tracker resource, on the hosted service.` + trackerSyncCommon,
	}
	for _, o := range trackerSyncOps {
		c.Commands = append(c.Commands, newTrackerSyncOpCmd(env, o.op, o.short, o.long))
	}
	return c
}

// syncOpJSON is the --json output of `tracker sync OP`; fields are only
// ever added.
type syncOpJSON struct {
	Operation   string         `json:"operation"`
	Status      string         `json:"status"`
	OperationID string         `json:"operation_id,omitempty"`
	Summary     hosted.Summary `json:"summary"`
	Error       string         `json:"error,omitempty"`
}

func newTrackerSyncOpCmd(env *Env, op hosted.SyncOp, short, long string) *Command {
	c := &Command{
		UsageLine: fmt.Sprintf("spec-kitty tracker sync %s [--limit N] [--json] [--no-wait]", op),
		Short:     short,
		Long:      long + trackerSyncCommon,
	}
	fs := c.Flags()
	limit := fs.Int("limit", 0, "handle at most N items")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	noWait := fs.Bool("no-wait", false, "print the operation id instead of waiting when the host queues it")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("tracker sync %s takes no arguments", op)
		}
		if fs.Changed("limit") && *limit < 1 {
			return usagef("--limit must be at least 1, got %d", *limit)
		}
		s := &trackerSyncer{env: env, op: op, limit: *limit, asJSON: *asJSON, noWait: *noWait}
		return s.run(ctx)
	}
	return c
}

// trackerSyncer carries one `tracker sync OP`.
type trackerSyncer struct {
	env    *Env
	op     hosted.SyncOp
	limit  int
	asJSON bool
	noWait bool
}

func (s *trackerSyncer) run(ctx context.Context) error {
	env := s.env
	if err := hostedGate(env); err != nil {
		return err
	}
	repo, err := loadTrackerRepo(env)
	if err != nil {
		return err
	}
	client, err := trackerSession(ctx, env, repo, readiness.Options{Probe: true, RequireBinding: true})
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()

	registerForUpload(ctx, env, repo.root)
	out := trackerSyncLaunch(ctx, env)
	if out.SkippedReason == policy.ReasonManual {
		_, err := fmt.Fprint(env.Stdout, policy.ManualNotice)
		return err
	}
	if why, failed := strings.CutPrefix(out.SkippedReason, policy.ReasonStartFailed+": "); failed {
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: the sync daemon did not start (%s); new events are uploaded by `spec-kitty sync run`\n", why)
	} else if err := reportOutcome(env, out, env.Stderr); err != nil {
		return err
	}
	if s.op != hosted.SyncPull {
		if err := uploadPendingFirst(ctx, env, repo.root, s.op); err != nil {
			return err
		}
	}

	t, _ := repo.cfg.Binding()
	slug := t.ProjectSlug
	if slug == "" {
		p, _, err := binding.EnsureProject(repo.root, env.Now, rand.Reader)
		if err != nil {
			return failf("%s", err)
		}
		slug = p.Slug
	}
	req := hosted.SyncRequest{Provider: t.Provider, BindingRef: t.BindingRef, Limit: s.limit, ProjectSlug: slug}
	pending, err := newPendingStore(env)
	if err != nil {
		return err
	}
	rec, err := pending.acquire(string(s.op), client.Host.URL, repo.root, req)
	if err != nil {
		return err
	}
	res, err := client.StartSync(ctx, s.op, rec.IdempotencyKey, req)
	if err != nil {
		pending.settle(rec, err)
		return trackerError(err, t.Provider)
	}
	if !res.Accepted() {
		pending.done(rec)
		return s.report(syncOpJSON{Operation: string(s.op), Status: string(res.Status), Summary: res.Summary, Error: res.Error}, client.Host.URL)
	}
	opID := printable(res.OperationID) // for people; the raw id goes back to the host
	if s.noWait {
		fmt.Fprintf(env.Stderr, "%s queued %s as operation %s; it runs there without this command\n", term.Sanitize(client.Host.URL), s.op, term.Sanitize(opID))
		if s.asJSON {
			return writeJSON(env.Stdout, syncOpJSON{Operation: string(s.op), Status: "accepted", OperationID: res.OperationID})
		}
		_, err := fmt.Fprintln(env.Stdout, opID)
		return err
	}
	fmt.Fprintf(env.Stderr, "%s queued %s as operation %s; waiting for it (Ctrl-C stops waiting, not the operation)\n", term.Sanitize(client.Host.URL), s.op, term.Sanitize(opID))
	st, err := s.wait(ctx, opID, func(ctx context.Context) (hosted.OperationState, error) {
		return client.Operation(ctx, res.OperationID)
	})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(env.Stderr, "stopped waiting; operation %s continues on the host (run the same command again to wait for it)\n", term.Sanitize(opID))
			return ctx.Err()
		}
		var w waitTimeout
		if errors.As(err, &w) {
			return withHint(failf("operation %s on %s is still %s after %s", opID, client.Host.URL, printable(string(w.status)), waitBudget),
				"run the same command again to keep waiting for it")
		}
		pending.settle(rec, err)
		return trackerError(err, t.Provider)
	}
	pending.done(rec)
	return s.report(syncOpJSON{Operation: string(s.op), Status: string(st.Status), OperationID: st.OperationID, Summary: st.Summary, Error: st.Error}, client.Host.URL)
}

// trackerSyncLaunch is the `tracker sync pull|push|run|publish` call site of
// EnsureRunning (CONTRACTS §6): these commands need the network, so the
// daemon that uploads this repo's events should run, policy permitting.
func trackerSyncLaunch(ctx context.Context, env *Env) policy.Outcome {
	return newLauncher(env).EnsureRunning(ctx, policy.RemoteRequired)
}

// registerForUpload adds the repo to the importer's list so the daemon
// uploads its events; failing that is a warning, the operation still runs.
func registerForUpload(ctx context.Context, env *Env, repo string) {
	q, err := openQueue(ctx, env, true)
	if err == nil {
		_, err = q.RegisterRepo(ctx, repo)
		q.Close()
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: the repo is not registered for event upload: %s\n", err)
	}
}

// report prints a finished operation; a failed one exits 1.
func (s *trackerSyncer) report(r syncOpJSON, host string) error {
	if s.asJSON {
		if err := writeJSON(s.env.Stdout, r); err != nil {
			return err
		}
	} else if r.Status == string(hosted.OpCompleted) {
		sum := r.Summary
		fmt.Fprintf(s.env.Stdout, "%s completed: pulled %d, pushed %d, created %d, updated %d, skipped %d\n",
			r.Operation, sum.Pulled, sum.Pushed, sum.Created, sum.Updated, sum.Skipped)
	}
	if r.Status == string(hosted.OpCompleted) {
		return nil
	}
	why := printable(r.Error)
	if why == "" {
		why = "no reason given"
	}
	if r.Status != string(hosted.OpFailed) {
		why = fmt.Sprintf("unexpected status %q (%s)", printable(r.Status), why)
	}
	return failf("%s on %s failed: %s", r.Operation, host, why)
}

// waitTimeout: the operation did not finish within waitBudget.
type waitTimeout struct{ status hosted.OpStatus }

func (w waitTimeout) Error() string { return "operation still " + string(w.status) }

// wait polls until the operation is completed or failed, the budget is
// spent (waitTimeout) or ctx ends (ctx.Err()). Polls back off from pollFirst
// to pollMax; a progress line is kept on a terminal only.
func (s *trackerSyncer) wait(ctx context.Context, id string, poll func(context.Context) (hosted.OperationState, error)) (hosted.OperationState, error) {
	wctx, cancel := context.WithTimeout(ctx, waitBudget)
	defer cancel()
	start := time.Now()
	delay := pollFirst
	last := hosted.OpPending
	progress := s.env.StderrTTY && !s.asJSON
	defer func() {
		if progress {
			fmt.Fprintln(s.env.Stderr)
		}
	}()
	for {
		st, err := poll(wctx)
		if err == nil && st.Status.Done() {
			return st, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			if wctx.Err() != nil {
				return st, waitTimeout{last}
			}
			return st, err
		}
		last = st.Status
		if progress {
			fmt.Fprintf(s.env.Stderr, "\roperation %s: %s (%s)   ", term.Sanitize(id), printable(string(st.Status)), time.Since(start).Round(time.Second))
		}
		if err := hosted.Sleep(wctx, delay); err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			return st, waitTimeout{last}
		}
		delay = min(2*delay, pollMax)
	}
}
