package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/service/daemon"
)

// uploadFirstBudget bounds how long a tracker operation waits for the
// queue to drain before it reports the events still waiting.
const uploadFirstBudget = 60 * time.Second

// uploadStall ends the wait early when the queue stops shrinking (events
// waiting for their retry time, a daemon whose uploads fail).
const uploadStall = 5 * time.Second

// uploadPendingFirst makes sure the host has this repo's events before an
// operation that works from them (push, run, publish): right after sign-in
// the daemon has not uploaded them yet, and a push would report "pushed 0"
// as a success. New lines of repo are queued, the queue is uploaded in the
// foreground (a running daemon drains alongside: leases keep them apart),
// and when events are still waiting at the end the operation is not run.
func uploadPendingFirst(ctx context.Context, env *Env, repo string, op hosted.SyncOp) error {
	q, err := openQueue(ctx, env, true)
	if err != nil {
		return err
	}
	defer q.Close()
	eng := newEngine(env, q, nil)
	if _, err := eng.ImportRepo(ctx, repo); err != nil && !errors.Is(err, queue.ErrQueueFull) {
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: reading this repo's events: %s\n", err)
	}
	st, err := q.Stats(ctx)
	if err != nil || st.Depth == 0 {
		return err
	}
	fmt.Fprintf(env.Stderr, "uploading %s first, so the %s sees this repo's work packages\n", plural(st.Depth, "queued event", "queued events"), op)
	deadline := time.Now().Add(uploadFirstBudget)
	stalled, last := time.Now(), st.Depth
	var uerr error
	for {
		var rep daemon.Report
		uerr = eng.Upload(ctx, &rep)
		if st, err = q.Stats(ctx); err != nil {
			return err
		}
		if st.Depth == 0 {
			return nil
		}
		if st.Depth < last {
			stalled, last = time.Now(), st.Depth
		}
		if uerr != nil || ctx.Err() != nil || time.Now().After(deadline) || time.Since(stalled) > uploadStall {
			break
		}
		// What is left is leased by the daemon's batch in flight, or waits
		// for its retry time: give it a moment.
		if err := hosted.Sleep(ctx, 250*time.Millisecond); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	why := "the host has not confirmed them yet"
	if st.LastError != "" {
		why = st.LastError
	}
	if uerr != nil {
		why = uerr.Error()
	}
	return withHint(failf("%s still waiting for upload (%s); %s did not run, since it would miss their work packages",
		plural(st.Depth, "event is", "events are"), why, op),
		"run `spec-kitty sync run`, then this command again")
}
