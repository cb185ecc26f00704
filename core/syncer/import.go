package syncer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// An import reads files in one goroutine (scan, parse, build envelopes) and
// writes the queue in another, so on two cores the parsing hides behind
// SQLite. Lines of many files share one transaction of up to importChunk
// events (a repository of small files costs a transaction per 1,000 events,
// not one per file), committed together with the cursors of every file they
// came from: a compare-and-set (queue.ImportBatch), so two importers of one
// file — `status emit` and the daemon — never both queue its lines.

// importBatch is one transaction's worth: the items and the cursor moves of
// the files they came from.
type importBatch struct {
	// items carry lamport value 0 until the write transaction stamps them
	// (stamp) with values it reserves: the reader never waits for the
	// write lock, and an emitted line costs one write. Their data are
	// slices of one buffer per batch.
	items []queue.Item
	// lamports are where each item's lamport digits are.
	lamports []lamportDigits
	moves    []queue.CursorMove
	// buf is the buffer the items' data were last cut from, handed back
	// to the reader (with items and lamports) once the batch is written.
	buf []byte
}

// lamportDigits locates an item's lamport_clock digits in its data: at, n
// bytes long (1 for the 0 the reader writes).
type lamportDigits struct{ at, n int }

// importRetries bounds how often ImportFiles starts over after another
// importer moved a cursor under it.
const importRetries = 5

// ImportFiles imports the new lines of the named events files of repo (the
// `status emit` upload path: the line just appended is queued at once, by the
// same cursor the daemon uses, so the daemon never queues it a second time).
func (e *Engine) ImportFiles(ctx context.Context, repo string, files ...string) (int, error) {
	total := 0
	for attempt := 0; ; attempt++ {
		n, err := e.importFiles(ctx, repo, files)
		total += n
		if !errors.Is(err, queue.ErrCursorMoved) || attempt == importRetries {
			return total, err
		}
		// Another importer got there first: what it queued is queued;
		// read its cursors and go on from them.
	}
}

func (e *Engine) importFiles(ctx context.Context, repo string, files []string) (int, error) {
	proj, err := e.project(repo)
	if err != nil {
		return 0, err
	}
	team := e.team(ctx)
	byPath, err := e.cursors(ctx, repo, files)
	if err != nil {
		return 0, err
	}
	st, err := e.Queue.Stats(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan importBatch, 1)
	// Written batches go back to the reader for reuse: the queue keeps
	// nothing of an item once ImportBatchStamped has returned.
	written := make(chan importBatch, 2)
	r := &importReader{e: e, ctx: ctx, repo: repo, origin: event.Origin{Project: proj, TeamSlug: team},
		out: batches, written: written, room: st.MaxSize - st.Depth, open: mission.Opener(repo)}
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- r.run(files, byPath)
	}()
	added := 0
	var werr error
	for b := range batches {
		if werr != nil {
			continue // drain after a failed write
		}
		n, err := e.Queue.ImportBatchStamped(ctx, b.moves, b.items, b.stamp)
		select {
		case written <- b:
		default:
		}
		added += n
		if n > 0 {
			e.step(PhaseQueue, n, 0)
		}
		if err != nil {
			werr = err
			cancel()
		}
	}
	rerr := <-readErr
	switch {
	case werr != nil:
		return added, werr
	case errors.Is(rerr, queue.ErrQueueFull):
		return added, fmt.Errorf("%w: %d events queued, max_queue_size %d; the rest of the new lines wait in their files; run `spec-kitty sync run` to upload and import them",
			queue.ErrQueueFull, st.Depth+added, st.MaxSize)
	}
	return added, rerr
}

// fewFiles is up to how many files an import looks their cursors up one by
// one instead of reading all the repository's.
const fewFiles = 8

// cursors returns the cursors of files by path: looked up one by one for a
// few files (`status emit`'s file, a daemon wake naming it), so that their
// import costs the same whatever the number of missions; else all of
// repo's at once.
func (e *Engine) cursors(ctx context.Context, repo string, files []string) (map[string]queue.Cursor, error) {
	byPath := make(map[string]queue.Cursor, len(files))
	if len(files) <= fewFiles {
		for _, f := range files {
			c, ok, err := e.Queue.Cursor(ctx, repo, f)
			if err != nil {
				return nil, err
			}
			if ok {
				byPath[f] = c
			}
		}
		return byPath, nil
	}
	cursors, err := e.Queue.Cursors(ctx, repo)
	if err != nil {
		return nil, err
	}
	for _, c := range cursors {
		byPath[c.Path] = c
	}
	return byPath, nil
}

// importReader is the reading half of an import.
type importReader struct {
	e       *Engine
	ctx     context.Context
	repo    string
	origin  event.Origin
	out     chan<- importBatch
	written <-chan importBatch // batches to reuse
	// room is how many more events max_queue_size admits; a file is
	// imported up to it and its cursor stops there, so the rest follows
	// once uploads made room (nothing is evicted, nothing skipped).
	room int
	open func(path string) (*os.File, os.FileInfo, error) // mission.Opener(repo)
	sc   *event.Scanner                                   // reused for every file

	// The pending batch: items built as their lines are read (so the
	// scanner's buffers are reused, not copied per line), their data cut
	// from buf.
	items    []queue.Item
	lamports []lamportDigits
	buf      []byte
	moves    []queue.CursorMove
}

// run reads every file; errors of single files are joined, the others end
// the run.
func (r *importReader) run(files []string, cursors map[string]queue.Cursor) error {
	var errs []error
	for _, path := range files {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		err := r.file(path, cursors[path])
		if errors.Is(err, queue.ErrQueueFull) {
			if ferr := r.flush(); ferr != nil {
				return ferr
			}
			return err
		}
		if err != nil {
			if r.ctx.Err() != nil {
				return r.ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	if err := r.flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// file reads the new lines of one file into the pending batch, handing
// batches over as they fill.
func (r *importReader) file(path string, prev queue.Cursor) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && unchanged(prev, fi) {
		// The common idle case: nothing appended since the last import.
		// Skipping the open and the fingerprint keeps an idle tick over
		// hundreds of files cheap.
		return nil
	}
	// A repository is untrusted: only a regular file inside its real
	// kitty-specs/ is read (CONTRACTS §10), never through a symlink out.
	f, fi, err := r.open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	offset, line, err := prev.Resume(f, fi.Size())
	if err != nil {
		return err
	}
	cur := prev
	if offset == 0 {
		// Fresh start or a rewritten file: restart the tallies too.
		cur.Malformed, cur.NoEventID, cur.LastError = 0, 0, ""
	}
	// move records the cursor at (offset, number) in the pending batch.
	move := func(offset int64, number int) error {
		next := cur
		next.Repo, next.Path = r.repo, path
		next.Offset, next.Line = offset, number
		next.Size, next.ModTime = fi.Size(), fi.ModTime()
		fp, err := queue.Fingerprint(f, offset)
		if err != nil {
			return err
		}
		next.Fingerprint = fp
		r.moves = append(r.moves, queue.CursorMove{Prev: prev, Next: next})
		prev, cur = next, next
		return nil
	}
	if offset == fi.Size() && offset == prev.Offset {
		// Nothing new, but the size or time changed (a touch): store them
		// so the next tick skips the file on its stat alone.
		if err := move(offset, line); err != nil {
			return err
		}
		return r.flushIfFull()
	}
	if _, err := f.Seek(offset, 0); err != nil {
		return err
	}
	if r.sc == nil {
		r.sc = event.NewScanner(f, path, offset, line)
		r.sc.Borrow() // each line's envelope is built before the next scan
	} else {
		r.sc.Reset(f, path, offset, line)
	}
	sc := r.sc
	fallback := fi.ModTime()
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
		case r.room <= 0:
			// No room left: stop before this line; it is read again
			// next time.
			if err := move(before, beforeLine); err != nil {
				return err
			}
			return queue.ErrQueueFull
		default:
			if err := r.add(l, fallback); err != nil {
				cur.Malformed++
				cur.LastError = err.Error()
			} else {
				r.room--
			}
		}
		if len(r.items) >= importChunk {
			if err := move(sc.Offset(), sc.Number()); err != nil {
				return err
			}
			if err := r.flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := move(sc.Offset(), sc.Number()); err != nil {
		return err
	}
	return r.flushIfFull()
}

// flushIfFull hands the pending batch over when it has many cursor moves
// (a repository of many small files, or of touched ones).
func (r *importReader) flushIfFull() error {
	if len(r.moves) >= importChunk {
		return r.flush()
	}
	return nil
}

// flush hands the pending batch to the writer.
func (r *importReader) flush() error {
	if len(r.items) == 0 && len(r.moves) == 0 {
		return nil
	}
	b := importBatch{items: r.items, lamports: r.lamports, moves: r.moves, buf: r.buf}
	// The writer owns the batch now, buf included: the next one reuses a
	// written batch's slices, or starts afresh, sized like this one.
	used := len(r.buf)
	r.items, r.lamports, r.moves, r.buf = nil, nil, nil, nil
	if len(b.items) > 0 {
		select {
		case old := <-r.written:
			r.items, r.lamports, r.buf = old.items[:0], old.lamports[:0], old.buf[:0]
			clear(old.items[:cap(old.items)]) // drop the old event ids
		default:
			r.items = make([]queue.Item, 0, importChunk)
			r.lamports = make([]lamportDigits, 0, importChunk)
			r.buf = make([]byte, 0, used+used/8)
		}
	}
	select {
	case r.out <- b:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// lamportRoom is how many bytes an item's data keeps free after it for its
// lamport digits: up to 20 ("-9223372036854775808") replace the one 0.
const lamportRoom = 19

// add builds the envelope of a synced line, lamport value 0 (see stamp),
// into the pending batch.
func (r *importReader) add(l event.Line, fallback time.Time) error {
	o := r.origin
	o.Lamport, o.Fallback = 0, fallback
	env, err := event.Build(l, o)
	if err != nil {
		return err
	}
	start := len(r.buf)
	var at int
	r.buf, at = env.AppendJSONLamport(r.buf)
	end := len(r.buf)
	r.buf = append(r.buf, make([]byte, lamportRoom)...)
	r.items = append(r.items, queue.Item{EventID: env.EventID, EventType: env.EventType,
		Data: r.buf[start:end:len(r.buf)]})
	r.lamports = append(r.lamports, lamportDigits{at: at - start, n: 1})
	return nil
}

// stamp gives the batch's items the lamport values first, first+1, … in
// place of the digits they carry (queue.ImportBatchStamped calls it inside
// the transaction that reserved them; a retried transaction stamps again).
func (b *importBatch) stamp(items []queue.Item, first int64) error {
	if len(items) != len(b.lamports) {
		return fmt.Errorf("stamp %d items, %d built", len(items), len(b.lamports))
	}
	var num [20]byte
	for i := range items {
		d, at, old := items[i].Data, b.lamports[i].at, b.lamports[i].n
		v := strconv.AppendInt(num[:0], first+int64(i), 10)
		// In place: add left room for the digits after the data.
		n := len(d) - old + len(v)
		if n > len(d) {
			d = d[:n]
			copy(d[at+len(v):], d[at+old:n-len(v)+old])
		} else {
			copy(d[at+len(v):], d[at+old:])
			d = d[:n]
		}
		copy(d[at:], v)
		items[i].Data = d
		b.lamports[i].n = len(v)
	}
	return nil
}

// unchanged reports whether the file still has the size and modification
// time it had when cur was stored, with everything imported.
func unchanged(cur queue.Cursor, fi os.FileInfo) bool {
	return cur.Fingerprint != "" && cur.Offset == fi.Size() && cur.Size == fi.Size() &&
		cur.ModTime.UnixMilli() == fi.ModTime().UnixMilli()
}
