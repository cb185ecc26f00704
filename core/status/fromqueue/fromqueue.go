// Package fromqueue fills the queue figures of core/status from the offline
// queue itself (<home>/queue.db): depth, retries, dead letters, malformed
// lines per events file and the registered repositories an import cannot
// read. The CLI and the dashboard use it; the tray, which links no SQLite,
// never does (it takes the figures from the daemon's state file).
//
// It opens the queue read-only and never creates it: a status read writes
// nothing in the state home.
package fromqueue

import (
	"context"
	"errors"
	"io/fs"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
)

// Source is a status.Sources Queue reading the queue at path; opts is used
// read-only whatever it says. A missing queue.db is no error: nothing was
// ever queued.
func Source(path string, opts queue.Options) func(context.Context, status.Daemon) status.Queue {
	opts.ReadOnly = true
	return func(ctx context.Context, _ status.Daemon) status.Queue {
		q, err := queue.Open(ctx, path, opts)
		if errors.Is(err, fs.ErrNotExist) {
			return status.Queue{}
		}
		if err != nil {
			return status.Queue{Err: err}
		}
		defer q.Close()
		return Read(ctx, q)
	}
}

// Read reads the figures of an open queue. A failure leaves what was read
// and sets Err.
func Read(ctx context.Context, q *queue.Queue) status.Queue {
	out := status.Queue{Present: true}
	qs, err := q.Stats(ctx)
	if err != nil {
		out.Err = err
		return out
	}
	out.Depth, out.Retried, out.DeadLetters = qs.Depth, qs.Retried, qs.DeadLetters
	out.OldestAge, out.NextAttemptAt, out.LastError, out.Unmigrated = qs.OldestAge, qs.NextAttemptAt, qs.LastError, qs.Unmigrated
	dead, err := q.DeadLetters(ctx, status.DeadListMax)
	if err != nil {
		out.Err = err
		return out
	}
	for _, d := range dead {
		out.Dead = append(out.Dead, status.DeadLetter{EventID: d.EventID, Type: d.EventType, Reason: d.Reason, FailedAt: d.FailedAt})
	}
	repos, err := q.Repos(ctx)
	if err != nil {
		out.Err = err
		return out
	}
	out.RepoWarnings = repoWarnings(repos)
	for _, r := range repos {
		cs, err := q.Cursors(ctx, r.Path)
		if err != nil {
			out.Err = err
			return out
		}
		for _, c := range cs {
			if c.Malformed > 0 {
				out.Malformed += c.Malformed
				out.Files = append(out.Files, status.MalformedFile{Path: c.Path, Malformed: c.Malformed, LastError: c.LastError})
			}
		}
	}
	return out
}

// repoWarnings checks every registered repo the way an import would meet it:
// one that vanished, or whose .kittify/config.yaml does not load, is a
// warning for that repo only.
func repoWarnings(repos []queue.Repo) []string {
	var out []string
	for _, r := range repos {
		if syncer.Vanished(r.Path) {
			out = append(out, r.Path+": gone (dropped from the registry at the next sync)")
			continue
		}
		if _, err := binding.Load(r.Path); err != nil {
			out = append(out, r.Path+": "+err.Error())
		}
	}
	return out
}
