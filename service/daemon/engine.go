package daemon

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// Upload limits (CONTRACTS.md §8.3: ≤ 1000 events and ≤ 4 MiB per batch).
// Leasing by uncompressed size keeps the gzip body under the limit.
const (
	BatchEvents = hosted.MaxBatchEvents
	BatchBytes  = hosted.MaxBatchBytes
	LeaseFor    = 2 * time.Minute
	importChunk = 1000 // lines per import transaction
)

// ErrNotSignedIn ends the upload half of a cycle when there is no usable
// session or host; importing still happens.
var ErrNotSignedIn = errors.New("not signed in")

// Conn is what an upload needs from the hosted side, resolved per cycle so a
// session written by another process is picked up without a restart.
type Conn struct {
	Client *hosted.Client
	Team   string
}

// Engine imports event lines into the queue and uploads the queue. The
// daemon runs it on every cycle; `spec-kitty sync run` runs it once in the
// foreground.
type Engine struct {
	Queue *queue.Queue
	// Connect returns the hosted connection, or an error wrapping
	// ErrNotSignedIn when there is no usable session or host.
	Connect func(ctx context.Context) (Conn, error)
	Now     func() time.Time
	Log     *slog.Logger
	// Rand drives backoff jitter.
	Rand *mrand.Rand
	// Progress, when set, is told after every uploaded batch.
	Progress func(Report)
	// Step, when set, is told where a cycle is, for a progress display:
	// PhaseRead with repos done of total, PhaseQueue with the events one
	// import chunk queued (total 0), PhaseUpload when an upload starts,
	// with the queue depth as total (done then comes through Progress).
	Step func(p Phase, done, total int)
}

// Phase names a step of a cycle for Engine.Step.
type Phase string

// The phases of a cycle, in the words a progress display shows.
const (
	PhaseRead   Phase = "reading repos"
	PhaseQueue  Phase = "queueing"
	PhaseUpload Phase = "uploading"
)

func (e *Engine) step(p Phase, done, total int) {
	if e.Step != nil {
		e.Step(p, done, total)
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Cycle uploads what is queued, imports new lines, then uploads again until
// nothing is due or a batch fails.
func (e *Engine) Cycle(ctx context.Context) (Report, error) {
	var rep Report
	// What is queued already (e.g. the event `status emit` just queued)
	// goes first, so a large import cannot delay it.
	if err := e.Upload(ctx, &rep); err != nil {
		if st, serr := e.Queue.Stats(ctx); serr == nil {
			rep.QueueDepth, rep.DeadLetters = st.Depth, st.DeadLetters
		}
		// Still import: lines must reach the queue even while offline.
		n, warns, _ := e.importAll(ctx, "")
		rep.Imported, rep.RepoWarnings = n, warns
		return rep, err
	}
	var ierr, uerr error
	for {
		var n int
		var warns []string
		n, warns, ierr = e.importAll(ctx, "")
		rep.Imported += n
		rep.RepoWarnings = warns
		if ierr != nil && ctx.Err() == nil {
			e.log().Warn("import", "error", ierr.Error())
		}
		sent := rep.Delivered + rep.Duplicates + rep.DeadLettered
		uerr = e.Upload(ctx, &rep)
		// A full queue was imported up to its limit: while uploading makes
		// room, import the rest — one `sync run` drains a large backlog
		// even with a small max_queue_size.
		progress := rep.Delivered+rep.Duplicates+rep.DeadLettered > sent
		if uerr != nil || !errors.Is(ierr, queue.ErrQueueFull) || !progress || ctx.Err() != nil {
			break
		}
	}
	if st, err := e.Queue.Stats(ctx); err == nil {
		rep.QueueDepth, rep.DeadLetters = st.Depth, st.DeadLetters
	}
	if uerr != nil {
		return rep, uerr
	}
	return rep, ierr
}

// ImportAll imports new lines of every registered repo (only `only` when
// non-empty) and returns how many events were newly queued. One broken repo
// never fails the others or the cycle: a repo that vanished (no directory,
// or no kitty-specs/ nor .kittify/ any more) is dropped from the registry,
// and a repo that cannot be imported (an invalid .kittify/config.yaml, an
// unreadable file) is logged and reported in Report.RepoWarnings by Cycle.
// Only a full queue and the end of ctx are errors.
func (e *Engine) ImportAll(ctx context.Context, only string) (int, error) {
	n, _, err := e.importAll(ctx, only)
	return n, err
}

func (e *Engine) importAll(ctx context.Context, only string) (int, []string, error) {
	repos, err := e.Queue.Repos(ctx)
	if err != nil {
		return 0, nil, err
	}
	total := 0
	var warns []string
	for i, r := range repos {
		if only != "" && r.Path != only {
			continue
		}
		if Vanished(r.Path) {
			if _, err := e.Queue.UnregisterRepo(ctx, r.Path); err == nil {
				e.log().Warn("repo gone; dropped from the registry", "repo", r.Path)
			}
			continue
		}
		e.step(PhaseRead, i, len(repos))
		n, err := e.ImportRepo(ctx, r.Path)
		total += n
		if ctx.Err() != nil {
			return total, warns, ctx.Err()
		}
		if errors.Is(err, queue.ErrQueueFull) {
			return total, warns, err
		}
		if err != nil {
			e.log().Warn("import skipped a repo", "repo", r.Path, "error", err.Error())
			warns = append(warns, err.Error())
		}
	}
	if only == "" {
		e.step(PhaseRead, len(repos), len(repos))
	}
	return total, warns, nil
}

// Vanished reports whether a registered repo is gone: its directory no
// longer exists or no longer holds kitty-specs/ or .kittify/.
func Vanished(repo string) bool {
	for _, m := range []string{paths.SpecsDir, paths.KittifyDir} {
		if _, err := os.Stat(filepath.Join(repo, m)); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}

// ImportRepo queues the new lines of every mission's events file in repo,
// resuming each file at its cursor. Malformed lines are counted in the
// cursor and skipped.
func (e *Engine) ImportRepo(ctx context.Context, repo string) (int, error) {
	files, err := filepath.Glob(filepath.Join(repo, paths.SpecsDir, "*", paths.EventsFileName))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, nil
	}
	sort.Strings(files)
	return e.ImportFiles(ctx, repo, files...)
}

// project reads (creating when missing: importing is a hosted action) the
// repo's project identity.
func (e *Engine) project(repo string) (event.Project, error) {
	p, _, err := binding.EnsureProject(repo, e.now, rand.Reader)
	if err != nil {
		return event.Project{}, fmt.Errorf("project identity of %s: %w", repo, err)
	}
	return event.Project{UUID: p.UUID, Slug: p.Slug, NodeID: p.NodeID, BuildID: p.BuildID}, nil
}

func (e *Engine) importFile(ctx context.Context, repo, path string, cur queue.Cursor, proj event.Project, team string, room *int) (int, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && unchanged(cur, fi) {
		// The common idle case: nothing appended since the last import.
		// Skipping the open and the fingerprint keeps an idle tick over
		// hundreds of files cheap.
		return 0, nil
	}
	// A repository is untrusted: only a regular file inside its real
	// kitty-specs/ is read (CONTRACTS §10), never through a symlink out.
	f, fi, err := mission.OpenFile(repo, path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	offset, line, err := cur.Resume(f, fi.Size())
	if err != nil {
		return 0, err
	}
	if offset == 0 {
		// Fresh start or a rewritten file: restart the tallies too.
		cur.Malformed, cur.NoEventID, cur.LastError = 0, 0, ""
	}
	if offset == fi.Size() && offset == cur.Offset {
		return 0, nil
	}
	if _, err := f.Seek(offset, 0); err != nil {
		return 0, err
	}
	sc := event.NewScanner(f, path, offset, line)
	fallback := fi.ModTime()
	added := 0
	var items []queue.Item
	var lines []event.Line
	flush := func(offset int64, number int) error {
		if len(lines) > 0 {
			first, err := e.Queue.ReserveLamport(ctx, len(lines))
			if err != nil {
				return err
			}
			for i, l := range lines {
				it, err := item(l, event.Origin{Project: proj, TeamSlug: team, Lamport: first + int64(i), Fallback: fallback})
				if err != nil {
					cur.Malformed++
					cur.LastError = err.Error()
					continue
				}
				items = append(items, it)
			}
		}
		cur.Repo, cur.Path = repo, path
		cur.Offset, cur.Line = offset, number
		cur.Size, cur.ModTime = fi.Size(), fi.ModTime()
		fp, err := queue.Fingerprint(f, cur.Offset)
		if err != nil {
			return err
		}
		cur.Fingerprint = fp
		n, err := e.Queue.Import(ctx, cur, items...)
		added += n
		if n > 0 {
			e.step(PhaseQueue, n, 0)
		}
		items, lines = items[:0], lines[:0]
		return err
	}
	for {
		before, beforeLine := sc.Offset(), sc.Number()
		if !sc.Scan() {
			break
		}
		l, err := sc.Line()
		switch {
		case err != nil:
			cur.Malformed++
			cur.LastError = err.Error()
		case !l.Synced():
			cur.NoEventID++
		case *room <= 0:
			// No room left: stop before this line; it is read again
			// next time.
			if err := flush(before, beforeLine); err != nil {
				return added, err
			}
			return added, queue.ErrQueueFull
		default:
			lines = append(lines, l)
			*room--
		}
		if len(lines) >= importChunk {
			if err := flush(sc.Offset(), sc.Number()); err != nil {
				return added, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return added, err
	}
	return added, flush(sc.Offset(), sc.Number())
}

// unchanged reports whether the file still has the size and modification
// time it had when cur was stored, with everything imported.
func unchanged(cur queue.Cursor, fi os.FileInfo) bool {
	return cur.Fingerprint != "" && cur.Offset == fi.Size() && cur.Size == fi.Size() &&
		cur.ModTime.UnixMilli() == fi.ModTime().UnixMilli()
}

// item builds the queue item (the envelope) of one synced line.
func item(l event.Line, o event.Origin) (queue.Item, error) {
	env, err := event.Build(l, o)
	if err != nil {
		return queue.Item{}, err
	}
	data, err := env.MarshalJSON()
	if err != nil {
		return queue.Item{}, err
	}
	return queue.Item{EventID: env.EventID, EventType: env.EventType, Data: data}, nil
}

// ImportFiles imports the new lines of the named events files of repo (the
// `status emit` upload path: the line just appended is queued at once, by the
// same cursor the daemon uses, so the daemon never queues it a second time).
func (e *Engine) ImportFiles(ctx context.Context, repo string, files ...string) (int, error) {
	proj, err := e.project(repo)
	if err != nil {
		return 0, err
	}
	team := e.team(ctx)
	cursors, err := e.Queue.Cursors(ctx, repo)
	if err != nil {
		return 0, err
	}
	byPath := make(map[string]queue.Cursor, len(cursors))
	for _, c := range cursors {
		byPath[c.Path] = c
	}
	st, err := e.Queue.Stats(ctx)
	if err != nil {
		return 0, err
	}
	// room is how many more events max_queue_size admits; a file is
	// imported up to it and its cursor stops there, so the rest follows
	// once uploads made room (nothing is evicted, nothing skipped).
	room := st.MaxSize - st.Depth
	total := 0
	var errs []error
	for _, f := range files {
		n, err := e.importFile(ctx, repo, f, byPath[f], proj, team, &room)
		total += n
		if errors.Is(err, queue.ErrQueueFull) {
			return total, fmt.Errorf("%w: %d events queued, max_queue_size %d; the rest of the new lines wait in their files; run `spec-kitty sync run` to upload and import them",
				queue.ErrQueueFull, st.Depth+total, st.MaxSize)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// team is the session's default team, "" when not signed in.
func (e *Engine) team(ctx context.Context) string {
	if e.Connect == nil {
		return ""
	}
	c, err := e.Connect(ctx)
	if err != nil {
		return ""
	}
	return c.Team
}

// UploadWorkers is how many batches are in flight at once: leasing, gzip
// and the host's answer overlap, so draining is not one round trip at a time.
const UploadWorkers = 3

// Upload drains due events in batches until none is due, the context ends,
// or a batch fails as a whole (then the error is returned after the batch's
// events were rescheduled; batches already in flight finish first).
func (e *Engine) Upload(ctx context.Context, rep *Report) error {
	if e.Connect == nil {
		return ErrNotSignedIn
	}
	conn, err := e.Connect(ctx)
	if err != nil {
		if errors.Is(err, ErrNotSignedIn) {
			rep.AuthMissing = true
		}
		return err
	}
	if conn.Client == nil {
		return fmt.Errorf("%w: no hosted client", ErrNotSignedIn)
	}
	// A drainer killed mid-batch (kill -9, power loss) left leases behind:
	// hand them back now instead of waiting LeaseFor.
	if n, err := e.Queue.ReleaseOrphaned(ctx, e.now(), localapi.Alive); err != nil {
		e.log().Warn("release orphaned leases", "error", err.Error())
	} else if n > 0 {
		e.log().Info("released the leases of a drainer that is gone", "events", n)
	}
	if e.Step != nil {
		if st, err := e.Queue.Stats(ctx); err == nil && st.Depth > 0 {
			e.step(PhaseUpload, 0, st.Depth)
		}
	}
	var (
		mu      sync.Mutex
		firstEr error
		wg      sync.WaitGroup
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return firstEr != nil }
	for range UploadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && !failed() {
				batch, err := e.Queue.Lease(ctx, e.now(), BatchEvents, BatchBytes, LeaseFor)
				if err == nil && len(batch) == 0 {
					return
				}
				var local Report
				if err == nil {
					err = e.uploadBatch(ctx, conn, batch, &local)
				}
				mu.Lock()
				rep.add(local)
				if err != nil && firstEr == nil {
					firstEr = err
				}
				if e.Progress != nil {
					e.Progress(*rep)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstEr != nil {
		return firstEr
	}
	return ctx.Err()
}

// add accumulates the counters of r.
func (rep *Report) add(r Report) {
	rep.Delivered += r.Delivered
	rep.Duplicates += r.Duplicates
	rep.Retried += r.Retried
	rep.DeadLettered += r.DeadLettered
	rep.AuthMissing = rep.AuthMissing || r.AuthMissing
}

func (e *Engine) uploadBatch(ctx context.Context, conn Conn, batch []queue.Leased, rep *Report) error {
	payload := make([]json.RawMessage, len(batch))
	ids := make([]string, len(batch))
	for i, l := range batch {
		payload[i] = l.Data
		ids[i] = l.EventID
	}
	results, err := conn.Client.PostEvents(ctx, payload)
	if err != nil {
		return e.batchFailed(ctx, conn, batch, ids, err, rep)
	}
	var res queue.Results
	byID := make(map[string]hosted.EventResult, len(results))
	for _, r := range results {
		byID[r.EventID] = r
	}
	now := e.now()
	for _, l := range batch {
		r, ok := byID[l.EventID]
		switch {
		case !ok:
			res.Retry = append(res.Retry, queue.RetryAt{EventID: l.EventID, NextAttempt: queue.NextAttempt(l.RetryCount, 0, now, e.Rand), Error: "host returned no result for this event"})
		case r.Status == hosted.EventSuccess:
			res.Ack = append(res.Ack, l.EventID)
			rep.Delivered++
		case r.Status == hosted.EventDuplicate:
			res.Ack = append(res.Ack, l.EventID)
			rep.Duplicates++
		case r.Status == hosted.EventRejected:
			reason := r.Error
			if reason == "" {
				reason = "rejected by the host"
			}
			res.Dead = append(res.Dead, queue.Reject{EventID: l.EventID, Reason: reason})
			rep.DeadLettered++
		default:
			res.Retry = append(res.Retry, queue.RetryAt{EventID: l.EventID, NextAttempt: queue.NextAttempt(l.RetryCount, 0, now, e.Rand), Error: fmt.Sprintf("unknown result status %q", r.Status)})
		}
	}
	rep.Retried += len(res.Retry)
	// Settle even when ctx is ending: the host has answered, so the outcome
	// must be recorded or the events would be sent again.
	_, err = e.Queue.Settle(context.WithoutCancel(ctx), res)
	return err
}

// batchFailed reschedules a batch the host did not answer per event.
func (e *Engine) batchFailed(ctx context.Context, conn Conn, batch []queue.Leased, ids []string, cause error, rep *Report) error {
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		// Abandoned by a stop: hand the events back untouched.
		e.Queue.Release(bg, ids...)
		return ctx.Err()
	}
	kind := hosted.KindOf(cause)
	refused := refusedBatch(cause)
	if kind == hosted.KindAuthExpired {
		rep.AuthMissing = true
		e.Queue.Release(bg, ids...)
		return fmt.Errorf("%w: %v", ErrNotSignedIn, cause)
	}
	if refused && len(batch) > 1 {
		// The host refused the batch as a whole: send the events one by one
		// so a single bad event is dead-lettered alone and cannot hold the
		// others back.
		var errs []error
		for _, l := range batch {
			if err := e.uploadBatch(ctx, conn, []queue.Leased{l}, rep); err != nil && !refusedBatch(err) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	var after time.Duration
	var he *hosted.Error
	if errors.As(cause, &he) {
		after = he.RetryAfter
	}
	now := e.now()
	var res queue.Results
	for _, l := range batch {
		if refused && len(batch) == 1 {
			res.Dead = append(res.Dead, queue.Reject{EventID: l.EventID, Reason: cause.Error()})
			rep.DeadLettered++
			continue
		}
		res.Retry = append(res.Retry, queue.RetryAt{EventID: l.EventID, NextAttempt: queue.NextAttempt(l.RetryCount, after, now, e.Rand), Error: cause.Error()})
	}
	rep.Retried += len(res.Retry)
	if _, err := e.Queue.Settle(bg, res); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// refusedBatch reports a batch the host understood and refused as a whole
// (400, 413, 422), or one the client cannot send at all (too large): the content is at fault, so retrying it unchanged cannot
// help. Anything else — no answer, 5xx, a garbage or redirected answer — is
// the transport's or the host's problem and is retried.
func refusedBatch(err error) bool {
	if errors.Is(err, hosted.ErrBatchTooLarge) {
		return true
	}
	var he *hosted.Error
	if !errors.As(err, &he) || he.Kind != hosted.KindPermanent {
		return false
	}
	switch he.Status {
	case 400, 413, 422:
		return true
	}
	return false
}
