package syncer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// MemoryLimit is the soft Go heap limit (debug.SetMemoryLimit) a process
// running the engine sets. The engine's live heap stays near 25 MB at any
// backlog (batches and import chunks are bounded); with no limit the
// collector lets the heap grow to twice its live size: a 1,000,000-line
// `sync run` peaked at 69 MB RSS, with this limit at 58 MB in the same 26 s
// (issue 18's target: <= 64 MB). A soft limit only makes the collector run
// sooner; it never fails an allocation.
const MemoryLimit = 32 << 20

// MinWake is the shortest pause a loop driving Cycle takes before a
// cycle that Report.NextAttemptAt asks for, so a retry storm cannot spin.
const MinWake = 200 * time.Millisecond

// importUploadPoll is how often the upload looks for newly imported events
// while an import runs.
const importUploadPoll = 20 * time.Millisecond

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
	// import transaction queued (total 0), PhaseUpload when an upload
	// starts, with the queue depth as total (done then comes through
	// Progress).
	Step func(p Phase, done, total int)

	// What the last batches said about the host, for the next cycle.
	mu sync.Mutex
	// hostDown: the last batch failed for the host's or the network's
	// sake (no answer, 5xx, garbage): the next cycle probes with one
	// event before sending the rest.
	hostDown bool
	// holdUntil: the host asked to wait (Retry-After) until then.
	holdUntil time.Time
}

// Report summarises one cycle.
type Report struct {
	Imported     int
	Delivered    int
	Duplicates   int
	Retried      int
	DeadLettered int
	QueueDepth   int
	DeadLetters  int
	// AuthMissing: the host refused the session and a refresh did not help.
	AuthMissing bool
	// RepoWarnings names the registered repos the import skipped (one
	// broken repo is a warning, never a failed cycle).
	RepoWarnings []string
	// NextAttemptAt, when set, is when the next cycle is due before the
	// tick: the earliest retry of a queued event, or the next probe of a
	// host that failed.
	NextAttemptAt time.Time
}

// Phase names a step of a cycle for Engine.Step.
type Phase string

// The phases of a cycle, in the words a progress display shows.
const (
	PhaseRead   Phase = "reading repos"
	PhaseQueue  Phase = "queueing"
	PhaseUpload Phase = "uploading"
)

// RegisterRepo adds repo to the repositories every cycle imports (the
// daemon's side of POST /v1/sync with a repo); added is false when it was
// registered already.
func (e *Engine) RegisterRepo(ctx context.Context, repo string) (added bool, err error) {
	return e.Queue.RegisterRepo(ctx, repo)
}

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

// Cycle uploads what is queued, then imports new lines while uploading
// what the import queued, until nothing is due or a batch fails.
func (e *Engine) Cycle(ctx context.Context) (Report, error) {
	var rep Report
	// What is queued already (e.g. the event `status emit` just queued)
	// goes first, so a large import cannot delay it.
	if err := e.Upload(ctx, &rep); err != nil {
		// Still import: lines must reach the queue even while offline.
		n, warns, _ := e.importAll(ctx, "")
		rep.Imported, rep.RepoWarnings = n, warns
		e.finish(ctx, &rep)
		return rep, err
	}
	var ierr, uerr error
	for {
		sent := rep.Delivered + rep.Duplicates + rep.DeadLettered
		// Upload while the import runs: what it has committed is sent
		// while it reads on (a large first import overlaps its upload).
		var (
			n     int
			warns []string
		)
		importDone := make(chan struct{})
		go func() {
			defer close(importDone)
			n, warns, ierr = e.importAll(ctx, "")
		}()
		for uerr == nil {
			if uerr = e.Upload(ctx, &rep); uerr != nil {
				break
			}
			select {
			case <-importDone:
			case <-time.After(importUploadPoll):
				continue
			}
			break
		}
		<-importDone
		rep.Imported += n
		rep.RepoWarnings = warns
		if ierr != nil && ctx.Err() == nil {
			e.log().Warn("import", "error", ierr.Error())
		}
		if uerr == nil {
			uerr = e.Upload(ctx, &rep) // the import's last lines
		}
		// A full queue was imported up to its limit: while uploading makes
		// room, import the rest — one `sync run` drains a large backlog
		// even with a small max_queue_size.
		progress := rep.Delivered+rep.Duplicates+rep.DeadLettered > sent
		if uerr != nil || !errors.Is(ierr, queue.ErrQueueFull) || !progress || ctx.Err() != nil {
			break
		}
	}
	e.finish(ctx, &rep)
	if uerr != nil {
		return rep, uerr
	}
	return rep, ierr
}

// CycleFiles is a cycle that imports only the named events files (by
// repository) instead of every mission of every registered repository: the
// daemon runs it when a wake request names the file just appended, so its
// cost does not grow with the number of missions. It uploads what is queued,
// imports the files, and uploads what they added.
func (e *Engine) CycleFiles(ctx context.Context, files map[string][]string) (Report, error) {
	var rep Report
	uerr := e.Upload(ctx, &rep)
	repos := make([]string, 0, len(files))
	for repo := range files {
		repos = append(repos, repo)
	}
	sort.Strings(repos)
	var ierr error
	for _, repo := range repos {
		n, err := e.ImportFiles(ctx, repo, files[repo]...)
		rep.Imported += n
		if err != nil && ctx.Err() == nil {
			e.log().Warn("import", "repo", repo, "error", err.Error())
			ierr = errors.Join(ierr, err)
		}
	}
	if uerr == nil && rep.Imported > 0 {
		uerr = e.Upload(ctx, &rep)
	}
	e.finish(ctx, &rep)
	if uerr != nil {
		return rep, uerr
	}
	return rep, ierr
}

// finish fills the report's queue figures and the time the next cycle is
// due, and gives back the space of a drained queue (queue.Compact).
func (e *Engine) finish(ctx context.Context, rep *Report) {
	st, err := e.Queue.Stats(ctx)
	if err != nil {
		return
	}
	rep.QueueDepth, rep.DeadLetters = st.Depth, st.DeadLetters
	rep.NextAttemptAt = st.NextAttemptAt
	e.mu.Lock()
	down, hold := e.hostDown, e.holdUntil
	e.mu.Unlock()
	if down && st.Depth > 0 {
		// Probe again soon: the events' own backoff may be minutes, but
		// delivery must resume within seconds of the host coming back.
		probe := e.now().Add(ProbeEvery)
		if rep.NextAttemptAt.IsZero() || probe.Before(rep.NextAttemptAt) {
			rep.NextAttemptAt = probe
		}
	}
	if !rep.NextAttemptAt.IsZero() && hold.After(rep.NextAttemptAt) {
		rep.NextAttemptAt = hold
	}
	if st.Depth == 0 && ctx.Err() == nil {
		if c, err := e.Queue.Compact(ctx); err != nil {
			e.log().Warn("compact queue", "error", err.Error())
		} else if c.FreedBytes > 0 {
			e.log().Info("gave back the space of delivered events", "bytes", c.FreedBytes, "vacuumed", c.Vacuumed)
		}
	}
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
		if errors.Is(err, queue.ErrQueueFull) || queue.IsDiskFull(err) {
			// A full disk fails every repo alike: a cycle error (the
			// daemon's state shows it), not a warning about this one.
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

// UnimportedLines counts the lines of every registered repo's events files
// that lie beyond their import cursors: kept in their files, not queued yet
// (e.g. when a full disk stopped the import). It only reads, so it works on
// a full disk.
func (e *Engine) UnimportedLines(ctx context.Context) (int, error) {
	repos, err := e.Queue.Repos(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, r := range repos {
		files, err := filepath.Glob(filepath.Join(r.Path, paths.SpecsDir, "*", paths.EventsFileName))
		if err != nil {
			return total, err
		}
		cursors, err := e.Queue.Cursors(ctx, r.Path)
		if err != nil {
			return total, err
		}
		at := make(map[string]int64, len(cursors))
		for _, c := range cursors {
			at[c.Path] = c.Offset
		}
		for _, f := range files {
			n, err := linesFrom(f, at[f])
			if err != nil {
				continue // unreadable: the import says why
			}
			total += n
		}
	}
	return total, nil
}

// linesFrom counts the lines of path from byte offset on (a last line
// without a newline included).
func linesFrom(path string, offset int64) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() < offset {
		return 0, err // a truncated file is re-read from the start by the import
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	n, last := 0, byte('\n')
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte{'\n'})
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
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

// Upload pacing after failures.
const (
	// ProbeEvery is how often a host that failed is tried again (one
	// event), whatever the queued events' own backoff says.
	ProbeEvery = 5 * time.Second
	// failStreak failed batches in a row end an upload: the host is down
	// rather than flaky, and the events wait for their retry times.
	failStreak = 3
)

// Upload drains due events in batches until none is due, the context ends,
// or failStreak batches in a row failed as a whole. A failed batch's events
// are rescheduled (their backoff, or the host's Retry-After) and the other
// due events still go; the first error is returned at the end. After the
// host failed, one event is sent first as a probe; when it is delivered,
// the events the outage held back are sent at once instead of at their
// retry times — and so are those a failure parked earlier in this upload,
// once a later batch is delivered (a flaky host, not a down one), unless
// the host asked to wait (Retry-After).
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
	// The upload phase is announced with the first batch: an upload that
	// starts on an empty queue drains what an import beside it queues.
	var announce sync.Once
	announceUpload := func() {
		announce.Do(func() {
			if st, err := e.Queue.Stats(ctx); err == nil && st.Depth > 0 {
				e.step(PhaseUpload, 0, st.Depth)
			}
		})
	}
	now := e.now()
	e.mu.Lock()
	down, hold := e.hostDown, e.holdUntil
	e.mu.Unlock()
	if now.Before(hold) {
		// The daemon wakes at holdUntil (Report.NextAttemptAt).
		return fmt.Errorf("the host asked to wait until %s (Retry-After)", hold.UTC().Format(time.RFC3339))
	}
	dueBy := now
	if down {
		// Probe with the oldest event, due or not.
		batch, err := e.Queue.LeaseDue(ctx, now, now.Add(queue.MaxRetryAfter), 1, BatchBytes, LeaseFor)
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			var local Report
			err := e.uploadBatch(ctx, conn, batch, &local)
			rep.add(local)
			if err != nil {
				return err
			}
		}
		// The host is back: what the outage parked is due now.
		dueBy = now.Add(queue.MaxRetryAfter)
	}
	var (
		mu      sync.Mutex
		firstEr error
		streak  int
		failed  bool // a batch of this upload failed
		wg      sync.WaitGroup
	)
	stop := func() bool { mu.Lock(); defer mu.Unlock(); return streak >= failStreak }
	due := func() time.Time { mu.Lock(); defer mu.Unlock(); return dueBy }
	for range UploadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && !stop() {
				batch, err := e.Queue.LeaseDue(ctx, e.now(), due(), BatchEvents, BatchBytes, LeaseFor)
				if err == nil && len(batch) == 0 {
					return
				}
				if e.Step != nil {
					announceUpload()
				}
				var local Report
				if err == nil {
					err = e.uploadBatch(ctx, conn, batch, &local)
				}
				mu.Lock()
				rep.add(local)
				switch {
				case err == nil:
					streak = 0
					if failed && !e.held() {
						// The host answers again: what the failures of this
						// upload parked goes now, as after a probe, rather
						// than in a later cycle at each event's backoff.
						dueBy = e.now().Add(queue.MaxRetryAfter)
					}
				case errors.Is(err, ErrNotSignedIn) || ctx.Err() != nil:
					streak = failStreak // no point in going on
				default:
					streak++
					failed = true
				}
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

// held reports whether the host asked to wait (Retry-After) until later.
func (e *Engine) held() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now().Before(e.holdUntil)
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
	// Lease checked every event is JSON.
	results, err := conn.Client.PostEventBatch(ctx, payload, ids)
	if err != nil {
		return e.batchFailed(ctx, conn, batch, ids, err, rep)
	}
	e.mu.Lock()
	e.hostDown = false
	e.mu.Unlock()
	// PostEventBatch answers one result per event, in the batch's order
	// (it checked their event ids).
	res := queue.Results{Ack: make([]string, 0, len(batch)), AckRows: make([]int64, 0, len(batch))}
	now := e.now()
	for i, l := range batch {
		var r hosted.EventResult
		ok := i < len(results) && results[i].EventID == l.EventID
		if ok {
			r = results[i]
		}
		switch {
		case !ok:
			res.Retry = append(res.Retry, queue.RetryAt{EventID: l.EventID, NextAttempt: e.nextAttempt(l.RetryCount, 0, now), Error: "host returned no result for this event"})
		case r.Status == hosted.EventSuccess:
			res.Ack, res.AckRows = append(res.Ack, l.EventID), append(res.AckRows, l.ID)
			rep.Delivered++
		case r.Status == hosted.EventDuplicate:
			res.Ack, res.AckRows = append(res.Ack, l.EventID), append(res.AckRows, l.ID)
			rep.Duplicates++
		case r.Status == hosted.EventRejected:
			reason := r.Error
			if reason == "" {
				reason = "rejected by the host"
			}
			res.Dead = append(res.Dead, queue.Reject{EventID: l.EventID, Reason: reason})
			rep.DeadLettered++
		default:
			res.Retry = append(res.Retry, queue.RetryAt{EventID: l.EventID, NextAttempt: e.nextAttempt(l.RetryCount, 0, now), Error: fmt.Sprintf("unknown result status %q", r.Status)})
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
	if !refused {
		e.mu.Lock()
		e.hostDown = true
		if after > 0 {
			e.holdUntil = now.Add(min(after, queue.MaxRetryAfter))
		}
		e.mu.Unlock()
	}
	var res queue.Results
	for _, l := range batch {
		if refused && len(batch) == 1 {
			res.Dead = append(res.Dead, queue.Reject{EventID: l.EventID, Reason: cause.Error()})
			rep.DeadLettered++
			continue
		}
		res.Retry = append(res.Retry, queue.RetryAt{EventID: l.EventID, NextAttempt: e.nextAttempt(l.RetryCount, after, now), Error: cause.Error()})
	}
	rep.Retried += len(res.Retry)
	if _, err := e.Queue.Settle(bg, res); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// nextAttempt is queue.NextAttempt with the engine's Rand, which upload
// workers share (a *rand.Rand is not safe for concurrent use).
func (e *Engine) nextAttempt(retryCount int, retryAfter time.Duration, now time.Time) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return queue.NextAttempt(retryCount, retryAfter, now, e.Rand)
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
