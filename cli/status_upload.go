package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

// uploadEmitted hands a line that `status emit` just appended to the hosted
// sync path (CONTRACTS §6, §9): envelope → queue → EnsureRunning with intent
// remote_required. It runs after the line is safely written. With the
// rollout gate off it does nothing at all: no state home, no queue, no
// daemon. When a prerequisite is missing the event stays queued and the
// missing step is named; it is uploaded once the prerequisite is met.
func uploadEmitted(ctx context.Context, env *Env, repo string, line mission.Line) error {
	if !rollout.Enabled(env.Getenv) {
		return nil
	}
	// The line is written: whatever fails from here on says so and is a
	// warning, not a failure (exit 0) — the change is recorded, and a caller
	// that retried on an error would record it twice. The line stays in its
	// file; the next import (the daemon's or `sync run`'s) queues it.
	notQueued := func(err error) error {
		cause := term.Sanitize(err.Error())
		if dc := queue.DiskFullCause(err); dc != "" {
			cause = "the disk is full: " + dc
		}
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: event written to %s (the line is kept) but not queued for upload: %s\n", line.Path, cause)
		switch {
		case errors.Is(err, queue.ErrQueueFull):
			// The error already names the size and `spec-kitty sync run`.
		case queue.IsDiskFull(err):
			fmt.Fprintf(env.Stderr, "spec-kitty: hint: free some disk space, then run `spec-kitty sync run`: it imports the line from its file and uploads it\n")
		default:
			fmt.Fprintf(env.Stderr, "spec-kitty: hint: the next sync imports the line from its file; run `spec-kitty sync run` to upload it now\n")
		}
		return nil
	}
	q, err := openQueue(ctx, env, true)
	if err != nil {
		return notQueued(err)
	}
	defer q.Close()
	if _, err := q.RegisterRepo(ctx, repo); err != nil {
		return notQueued(err)
	}
	eng := newEngine(env, q, nil)
	if _, err := eng.ImportFiles(ctx, repo, line.Path); err != nil {
		return notQueued(err)
	}
	if res := localReadiness(ctx, env); !res.OK() {
		fmt.Fprintf(env.Stderr, "spec-kitty: event queued; it will be uploaded once this is fixed:\n%s\n\n%s\n", term.Lines(res.Message), term.Lines(res.NextAction))
		return nil
	}
	// A running daemon is told which file to import: its woken cycle then
	// reads that file alone, not every mission of every repository.
	l := newLauncher(env)
	l.Wake = localapi.SyncRequest{Repo: repo, Files: []string{line.Path}}
	out := l.EnsureRunning(ctx, policy.RemoteRequired)
	if why, failed := strings.CutPrefix(out.SkippedReason, policy.ReasonStartFailed+": "); failed {
		// The event is written and queued: a daemon that cannot start is a
		// warning here, not a failure of the emit.
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: event queued, but the sync daemon did not start: %s\n", why)
		fmt.Fprintf(env.Stderr, "spec-kitty: hint: run `spec-kitty sync run` to upload it now\n")
		return nil
	}
	return reportOutcome(env, out, env.Stderr)
}
