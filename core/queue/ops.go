package queue

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
)

// Item is one event to enqueue.
type Item struct {
	EventID   string
	EventType string
	// Data is the envelope JSON, uploaded as stored. Enqueue checks only
	// that it looks like an object; Lease dead-letters it if it is not JSON.
	Data []byte
	// QueuedAt defaults to Options.Now. Stored in whole seconds.
	QueuedAt    time.Time
	CoalesceKey string // stored for the Python CLI's sake; "" is NULL
}

func (it Item) validate(i int) error {
	switch {
	case it.EventID == "":
		return fmt.Errorf("item %d: empty event_id", i)
	case it.EventType == "":
		return fmt.Errorf("item %d (%s): empty event_type", i, it.EventID)
	case !objectShaped(it.Data):
		return fmt.Errorf("item %d (%s): data is not a JSON object", i, it.EventID)
	}
	return nil
}

// objectShaped is Enqueue's cheap check that data is a JSON object: a full
// parse would cost a fifth of an import's time. Lease checks data in full
// and dead-letters what is not JSON, so nothing bad reaches an upload.
func objectShaped(data []byte) bool {
	data = bytes.TrimSpace(data)
	return len(data) >= 2 && data[0] == '{' && data[len(data)-1] == '}'
}

// Enqueue adds items in one transaction and reports how many were new. An
// event_id already queued or dead-lettered is skipped. If the new ones would
// take the queue past MaxSize, nothing is added and the error wraps
// ErrQueueFull; nothing queued is ever evicted.
func (q *Queue) Enqueue(ctx context.Context, items ...Item) (added int, err error) {
	return q.enqueue(ctx, nil, items)
}

// Import enqueues items and stores the cursor c in the same transaction, so
// an importer never records a position whose events are not queued. On
// ErrQueueFull neither happens. It does not check what the cursor was
// before; importers use ImportBatch, which does.
func (q *Queue) Import(ctx context.Context, c Cursor, items ...Item) (added int, err error) {
	if err := c.validate(); err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	return q.enqueue(ctx, []CursorMove{{Next: c, Force: true}}, items)
}

// ErrCursorMoved: ImportBatch found a cursor that is no longer where the
// importer read it (another process imported the same lines meanwhile).
// Nothing was written; reload the cursor and import from there.
var ErrCursorMoved = errors.New("import cursor moved")

// CursorMove advances one file's cursor from Prev (as the importer loaded
// it; the zero Cursor when there was none) to Next.
type CursorMove struct {
	Prev, Next Cursor
	// Force stores Next whatever the stored cursor is.
	Force bool
}

// ImportBatch enqueues items and advances every cursor of moves in one
// transaction: a compare-and-set, so two importers of the same file never
// both queue its lines (the second would queue again what the first had
// queued and perhaps already delivered). When a stored cursor is not the
// move's Prev (offset and fingerprint), nothing is written and the error
// wraps ErrCursorMoved. On ErrQueueFull nothing is written either.
func (q *Queue) ImportBatch(ctx context.Context, moves []CursorMove, items []Item) (added int, err error) {
	for _, m := range moves {
		if err := m.Next.validate(); err != nil {
			return 0, fmt.Errorf("import: %w", err)
		}
	}
	return q.enqueue(ctx, moves, items)
}

// ImportBatchStamped is ImportBatch for items that still need their
// lamport values (ReserveLamport): inside the transaction it reserves one
// per item and calls stamp with the first, which writes them into the
// items' data. Reserving and importing then take one write, and whoever
// builds the items never waits for the write lock (a `status emit` waits
// for it once, not twice). stamp should be quick.
func (q *Queue) ImportBatchStamped(ctx context.Context, moves []CursorMove, items []Item, stamp func(items []Item, first int64) error) (added int, err error) {
	for _, m := range moves {
		if err := m.Next.validate(); err != nil {
			return 0, fmt.Errorf("import: %w", err)
		}
	}
	return q.enqueueStamped(ctx, moves, items, stamp)
}

// insertRows is how many rows one INSERT statement of enqueue carries:
// fewer statements cost less in database/sql and the driver than the
// SQL they run.
const insertRows = 64

func (q *Queue) enqueue(ctx context.Context, moves []CursorMove, items []Item) (int, error) {
	return q.enqueueStamped(ctx, moves, items, nil)
}

// enqueueStamped is enqueue; when stamp is set it reserves a lamport value
// per item inside the transaction and has stamp write them into the items.
func (q *Queue) enqueueStamped(ctx context.Context, moves []CursorMove, items []Item, stamp func(items []Item, first int64) error) (int, error) {
	for i, it := range items {
		if err := it.validate(i); err != nil {
			return 0, fmt.Errorf("enqueue: %w", err)
		}
	}
	if len(items) == 0 && len(moves) == 0 {
		return 0, nil
	}
	now := q.now()
	added := 0
	write := q.write
	if len(items) > insertRows {
		write = q.writeBulk // an import's batch, not one emitted event
	}
	err := write(ctx, "enqueue", func(tx *sql.Tx) error {
		added = 0
		if err := checkCursors(ctx, tx, moves); err != nil {
			return err
		}
		if stamp != nil && len(items) > 0 {
			first, err := reserveLamport(ctx, tx, len(items))
			if err != nil {
				return err
			}
			if err := stamp(items, first); err != nil {
				return err
			}
		}
		if len(items) > 0 {
			depth, hasDead, err := depth(ctx, tx)
			if err != nil {
				return err
			}
			if hasDead > 0 {
				added, err = insertCheckingDead(ctx, tx, items, now)
			} else {
				added, err = insertRowsOf(ctx, tx, items, now)
			}
			if err != nil {
				return err
			}
			if added > 0 && depth+added > q.maxSize {
				n := added
				added = 0
				return fmt.Errorf("%w: %d events queued, %d more would pass max_queue_size %d; run `spec-kitty sync run` to upload them",
					ErrQueueFull, depth, n, q.maxSize)
			}
		}
		for _, m := range moves {
			if err := setCursor(ctx, tx, m.Next, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// checkCursors fails with ErrCursorMoved unless every stored cursor of
// moves is still its Prev.
func checkCursors(ctx context.Context, tx *sql.Tx, moves []CursorMove) error {
	var stmt *sql.Stmt
	for _, m := range moves {
		if m.Force {
			continue
		}
		if stmt == nil {
			var err error
			if stmt, err = tx.PrepareContext(ctx, `SELECT byte_offset, COALESCE(fingerprint, '') FROM import_cursor WHERE repo = ? AND path = ?`); err != nil {
				return err
			}
			defer stmt.Close()
		}
		var off int64
		var fp string
		err := stmt.QueryRowContext(ctx, m.Next.Repo, m.Next.Path).Scan(&off, &fp)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			off, fp = 0, ""
		case err != nil:
			return err
		}
		if off != m.Prev.Offset || fp != m.Prev.Fingerprint {
			return fmt.Errorf("%w: %s is at byte %d, the importer read it at %d", ErrCursorMoved, m.Next.Path, off, m.Prev.Offset)
		}
	}
	return nil
}

// insertRowsOf inserts items insertRows at a time (known event_ids are
// skipped) and returns how many were new.
func insertRowsOf(ctx context.Context, tx *sql.Tx, items []Item, now time.Time) (int, error) {
	// Per-statement calls run without cancellation: with a cancellable
	// context the driver starts a watcher goroutine for every call, which
	// costs more than the insert. ctx is checked between statements and
	// still ends the transaction.
	rowCtx := context.WithoutCancel(ctx)
	const head = `INSERT INTO queue (event_id, event_type, data, timestamp, coalesce_key) VALUES `
	values := func(n int) string {
		return head + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?),", n), ",") + ` ON CONFLICT (event_id) DO NOTHING`
	}
	var full *sql.Stmt
	args := make([]any, 0, 5*insertRows)
	added := 0
	for chunk := range slices.Chunk(items, insertRows) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		args = args[:0]
		for _, it := range chunk {
			at := it.QueuedAt
			if at.IsZero() {
				at = now
			}
			args = append(args, it.EventID, it.EventType, unsafeString(it.Data), at.Unix(), nullString(it.CoalesceKey))
		}
		var res sql.Result
		var err error
		if len(chunk) == insertRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, values(insertRows)); err != nil {
					return 0, err
				}
				defer full.Close()
			}
			res, err = full.ExecContext(rowCtx, args...)
		} else {
			res, err = tx.ExecContext(rowCtx, values(len(chunk)), args...)
		}
		if err != nil {
			return 0, fmt.Errorf("insert %s…: %w", chunk[0].EventID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		added += int(n)
	}
	return added, nil
}

// insertCheckingDead inserts items one by one, skipping event_ids already
// queued or dead-lettered; for queues with dead letters.
func insertCheckingDead(ctx context.Context, tx *sql.Tx, items []Item, now time.Time) (int, error) {
	rowCtx := context.WithoutCancel(ctx) // see insertRowsOf
	insert, err := tx.PrepareContext(ctx, `INSERT INTO queue (event_id, event_type, data, timestamp, coalesce_key)
		SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM dead_letter WHERE event_id = ?1)
		ON CONFLICT (event_id) DO NOTHING`)
	if err != nil {
		return 0, err
	}
	defer insert.Close()
	added := 0
	for i, it := range items {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		at := it.QueuedAt
		if at.IsZero() {
			at = now
		}
		res, err := insert.ExecContext(rowCtx, it.EventID, it.EventType, unsafeString(it.Data), at.Unix(), nullString(it.CoalesceKey))
		if err != nil {
			return 0, fmt.Errorf("insert %s: %w", it.EventID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		added += int(n)
	}
	return added, nil
}

// unsafeString views b as a string without copying, for a statement
// argument the driver copies into SQLite before the call returns.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Leased is an event handed to one drainer until LeasedUntil.
type Leased struct {
	ID          int64 // row id: the queue order
	EventID     string
	EventType   string
	Data        []byte // read only: it may share memory with a string
	QueuedAt    time.Time
	RetryCount  int
	CoalesceKey string
	LeasedUntil time.Time
}

// Lease hands out up to max due events (next_attempt_at unset or <= now) that
// no one else holds, in the Python CLI's drain order (queue.py drain_queue:
// ORDER BY timestamp ASC, id ASC), and holds them until now+leaseFor; a
// drainer that dies without settling loses them when the lease runs out.
// maxBytes (0: no limit) bounds the sum of their data, but the first event is
// always returned so an oversized one can be dead-lettered rather than block
// the queue. A row whose data is not JSON (written by another tool) would
// spoil a whole batch upload: it is moved to the dead letters instead.
//
// That order is insertion order for rows this package wrote (timestamp is
// the enqueue time, ties broken by id); a row the Python CLI coalesced
// (_try_coalesce rewrites event_id, data and timestamp in place, keeping
// the id) goes where its last merge put it, as Python would send it.
func (q *Queue) Lease(ctx context.Context, now time.Time, max int, maxBytes int, leaseFor time.Duration) ([]Leased, error) {
	return q.LeaseDue(ctx, now, now, max, maxBytes, leaseFor)
}

// LeaseDue is Lease of the events due by dueBy (>= now) rather than now:
// an uploader that has just seen the host recover sends what the outage
// held back without waiting out each event's backoff.
func (q *Queue) LeaseDue(ctx context.Context, now, dueBy time.Time, max int, maxBytes int, leaseFor time.Duration) ([]Leased, error) {
	if max <= 0 {
		return nil, nil
	}
	if leaseFor <= 0 {
		return nil, fmt.Errorf("lease: queue %s: lease duration %v is not positive", q.path, leaseFor)
	}
	nowMS := unixMS(now)
	until := now.Add(leaseFor)
	// Each step reads the rows and records their leases in the narrow
	// queue_lease (three integers a row: the ~1 KB rows are not
	// rewritten); checking the data is JSON waits until it committed, so
	// the write lock is held for the reads and inserts alone, leaseStep
	// rows at a time, giving way to other processes' writers in between.
	out := make([]Leased, 0, min(max, 1000))
	size := 0
	var err error
	// A step after the first starts after the last row the step before
	// took, rather than reading again past what it leased (and past the
	// leases of other batches in flight ahead of it): every row before
	// that one was leased or not due a moment ago. One that became due
	// since (a lease handed back) waits for the next call.
	afterTS, afterID := int64(math.MinInt64), int64(0)
	for len(out) < max {
		before := len(out)
		err = q.writeBulk(ctx, "lease", func(tx *sql.Tx) error {
			out = out[:before]
			n := min(max-before, leaseStep)
			rowCtx := context.WithoutCancel(ctx) // see insertRowsOf
			stmt, err := q.prepared(rowCtx, tx, leaseQuery)
			if err != nil {
				return err
			}
			rows, err := stmt.QueryContext(rowCtx, nowMS, n, unixMS(dueBy), afterTS, afterID)
			if err != nil {
				return err
			}
			stepSize := 0
			var lastTS int64
			for rows.Next() {
				var l Leased
				var queuedAt int64
				var data string
				if err := rows.Scan(&l.ID, &l.EventID, &l.EventType, &data, &queuedAt, &l.RetryCount, &l.CoalesceKey); err != nil {
					rows.Close()
					return err
				}
				// The driver's string is a fresh copy that nothing else
				// holds: viewing it as bytes saves Scan a second copy of
				// every payload (Leased.Data is read only).
				l.Data = unsafe.Slice(unsafe.StringData(data), len(data))
				if maxBytes > 0 && len(out) > 0 && size+stepSize+len(l.Data) > maxBytes {
					break
				}
				stepSize += len(l.Data)
				l.QueuedAt, lastTS = fromQueuedAt(queuedAt), queuedAt
				l.LeasedUntil = until.UTC()
				out = append(out, l)
			}
			if err := rows.Err(); err != nil {
				rows.Close()
				return err
			}
			rows.Close()
			ids := make([]int64, len(out)-before)
			for i, l := range out[before:] {
				ids[i] = l.ID
			}
			if err := q.insertLeases(rowCtx, tx, ids, unixMS(until)); err != nil {
				return err
			}
			size += stepSize
			if len(out) > before {
				afterTS, afterID = lastTS, out[len(out)-1].ID
			}
			return nil
		})
		if err != nil {
			out = out[:before]
			break
		}
		if len(out)-before < min(max-before, leaseStep) {
			break // nothing more is due, or the bytes are used up
		}
	}
	if err != nil && len(out) > 0 {
		// Steps already leased are handed back rather than left to expire.
		ids := make([]int64, len(out))
		for i, l := range out {
			ids[i] = l.ID
		}
		q.write(context.WithoutCancel(ctx), "lease", func(tx *sql.Tx) error { return q.dropLeases(ctx, tx, ids) })
		return nil, err
	}
	if err != nil || len(out) == 0 {
		return nil, err
	}
	// A row whose data is not JSON (written by another tool) would spoil
	// a whole batch upload: it goes to the dead letters instead.
	var bad []string
	good := out[:0]
	for _, l := range out {
		if jsonscan.Std.Valid(l.Data) {
			good = append(good, l)
		} else {
			bad = append(bad, l.EventID)
		}
	}
	if len(bad) > 0 {
		err := q.write(context.WithoutCancel(ctx), "lease", func(tx *sql.Tx) error {
			for _, id := range bad {
				if _, err := q.deadLetter(ctx, tx, id, "data is not valid JSON", nowMS); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return good, nil
}

// leaseQuery reads up to ?2 rows due by ?3 (Unix ms) that no lease held
// after ?1 covers, in drain order, after the row (?4 timestamp, ?5 id).
// A timestamp CAST to an integer from a fraction (a foreign writer's)
// makes the cursor only take in rows already leased again, which the
// lease check skips.
const leaseQuery = `SELECT q.id, q.event_id, q.event_type, q.data, CAST(q.timestamp AS INTEGER),
		COALESCE(q.retry_count, 0), COALESCE(q.coalesce_key, '')
	FROM queue q
	WHERE (q.timestamp, q.id) > (?4, ?5)
	  AND NOT EXISTS (SELECT 1 FROM queue_lease l WHERE l.id = q.id AND l.until > ?1)
	  AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= ?3)
	ORDER BY q.timestamp, q.id LIMIT ?2`

// leaseStep and settleStep are how many events one transaction of Lease
// and Settle handles: a drain holds the write lock a few milliseconds at a
// time.
const (
	leaseStep  = 500
	settleStep = 500
)

// insertLeases records leases until untilMS of the rows ids, held by this
// process.
func (q *Queue) insertLeases(ctx context.Context, tx *sql.Tx, ids []int64, untilMS int64) error {
	if len(ids) == 0 {
		return nil
	}
	stmt, err := q.prepared(ctx, tx, `INSERT OR REPLACE INTO queue_lease (id, until, holder) SELECT value, ?, ? FROM json_each(?)`)
	if err != nil {
		return err
	}
	_, err = stmt.ExecContext(ctx, untilMS, q.holder, jsonInts(ids))
	return err
}

// Release gives leased events back without counting a retry (a drainer that
// stops before sending them).
func (q *Queue) Release(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return q.write(ctx, "release", func(tx *sql.Tx) error {
		return eachID(ctx, tx, `DELETE FROM queue_lease WHERE id = (SELECT id FROM queue WHERE event_id = ?)`, ids, nil)
	})
}

// ReleaseOrphaned hands back the live leases of holders that alive says are
// gone (a drainer killed mid-batch), so their events are sent again now
// rather than when the leases expire. It returns how many were released.
// A reused PID only makes it wait for the expiry, as before.
func (q *Queue) ReleaseOrphaned(ctx context.Context, now time.Time, alive func(pid int) bool) (int, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT DISTINCT holder FROM queue_lease
		WHERE holder IS NOT NULL AND until > ?`, unixMS(now))
	if err != nil {
		return 0, fmt.Errorf("release orphaned leases: queue %s: %w", q.path, err)
	}
	var dead []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return 0, err
		}
		if pid != int64(q.holder) && !alive(int(pid)) {
			dead = append(dead, pid)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(dead) == 0 {
		return 0, err
	}
	n := 0
	err = q.write(ctx, "release orphaned leases", func(tx *sql.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM queue_lease
			WHERE holder IN (`+intList(dead)+`) AND until > ?`, unixMS(now))
		if err != nil {
			return err
		}
		c, _ := res.RowsAffected()
		n = int(c)
		return nil
	})
	return n, err
}

// Ack removes delivered events (host answered success or duplicate). Ids no
// longer queued are ignored.
func (q *Queue) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return q.write(ctx, "ack", func(tx *sql.Tx) error {
		_, err := q.deleteIDs(ctx, tx, ids)
		return err
	})
}

// Retry records a transient failure: retry_count+1, not due before
// nextAttempt, errMsg kept as last_error, lease dropped. ErrNotQueued if the
// event is gone.
func (q *Queue) Retry(ctx context.Context, id string, nextAttempt time.Time, errMsg string) error {
	return q.write(ctx, "retry", func(tx *sql.Tx) error {
		n, err := q.retryAll(ctx, tx, []RetryAt{{EventID: id, NextAttempt: nextAttempt, Error: errMsg}}, unixMS(q.now()))
		if err == nil && n == 0 {
			err = fmt.Errorf("retry %s: %w", id, ErrNotQueued)
		}
		return err
	})
}

// DeadLetter moves an event to the dead letters with reason (a permanent
// rejection). ErrNotQueued if the event is gone.
func (q *Queue) DeadLetter(ctx context.Context, id, reason string) error {
	return q.write(ctx, "dead-letter", func(tx *sql.Tx) error {
		n, err := q.deadLetter(ctx, tx, id, reason, unixMS(q.now()))
		if err == nil && n == 0 {
			err = fmt.Errorf("dead-letter %s: %w", id, ErrNotQueued)
		}
		return err
	})
}

// RetryAt is a transient failure of one event.
type RetryAt struct {
	EventID     string
	NextAttempt time.Time
	Error       string
}

// Reject is a permanent failure of one event.
type Reject struct {
	EventID string
	Reason  string
}

// Results is the verdict on one uploaded batch.
type Results struct {
	Ack []string // success or duplicate
	// AckRows, when set, are the row ids (Leased.ID) of Ack in the same
	// order: Settle then drops their leases by id instead of looking the
	// rows up again.
	AckRows []int64
	Retry   []RetryAt
	Dead    []Reject
}

// Settled counts what Settle did. Missing counts events no longer queued
// (settled by another drainer after a lease ran out): they are skipped.
type Settled struct {
	Acked, Retried, Dead, Missing int
}

// Settle applies a batch's verdicts in transactions of up to settleStep
// events (each verdict is applied once and on its own, so a crash between
// two only leaves events to be sent again). On an error, the Settled of
// the steps already committed is returned with it.
func (q *Queue) Settle(ctx context.Context, r Results) (Settled, error) {
	var total Settled
	for len(r.Ack)+len(r.Retry)+len(r.Dead) > 0 {
		var part Results
		room := settleStep
		take := func(n int) int { n = min(n, room); room -= n; return n }
		n := take(len(r.Ack))
		part.Ack, r.Ack = r.Ack[:n], r.Ack[n:]
		if len(r.AckRows) >= n {
			part.AckRows, r.AckRows = r.AckRows[:n], r.AckRows[n:]
		}
		n = take(len(r.Retry))
		part.Retry, r.Retry = r.Retry[:n], r.Retry[n:]
		n = take(len(r.Dead))
		part.Dead, r.Dead = r.Dead[:n], r.Dead[n:]
		s, err := q.settle(ctx, part)
		total.Acked += s.Acked
		total.Retried += s.Retried
		total.Dead += s.Dead
		total.Missing += s.Missing
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// settle applies verdicts in one transaction.
func (q *Queue) settle(ctx context.Context, r Results) (Settled, error) {
	var s Settled
	nowMS := unixMS(q.now())
	err := q.writeBulk(ctx, "settle", func(tx *sql.Tx) error {
		s = Settled{}
		var acked int
		var err error
		if len(r.AckRows) == len(r.Ack) {
			acked, err = q.deleteAcked(ctx, tx, r.Ack, r.AckRows)
		} else {
			acked, err = q.deleteIDs(ctx, tx, r.Ack)
		}
		if err != nil {
			return err
		}
		s.Acked, s.Missing = acked, len(r.Ack)-acked
		retried, err := q.retryAll(ctx, tx, r.Retry, nowMS)
		if err != nil {
			return err
		}
		s.Retried, s.Missing = retried, s.Missing+len(r.Retry)-retried
		rowCtx := context.WithoutCancel(ctx) // see eachID
		for _, d := range r.Dead {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := q.deadLetter(rowCtx, tx, d.EventID, d.Reason, nowMS)
			if err != nil {
				return err
			}
			if n > 0 {
				s.Dead++
			} else {
				s.Missing++
			}
		}
		return nil
	})
	if err != nil {
		return Settled{}, err
	}
	return s, nil
}

// retryAll records the transient failures rs with one prepared statement
// and drops their leases in one, and returns how many were still queued.
func (q *Queue) retryAll(ctx context.Context, tx *sql.Tx, rs []RetryAt, nowMS int64) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE queue SET retry_count = COALESCE(retry_count, 0) + 1,
			next_attempt_at = ?, last_error = ?, last_attempt_at = ?
		WHERE event_id = ? RETURNING id`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	rowCtx := context.WithoutCancel(ctx) // see insertRowsOf
	ids := make([]int64, 0, len(rs))
	for i, r := range rs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		var id int64
		err := stmt.QueryRowContext(rowCtx, unixMS(r.NextAttempt), r.Error, nowMS, r.EventID).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, fmt.Errorf("retry %s: %w", r.EventID, err)
		default:
			ids = append(ids, id)
		}
	}
	if err := q.dropLeases(ctx, tx, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

func (q *Queue) deadLetter(ctx context.Context, tx *sql.Tx, id, reason string, nowMS int64) (int64, error) {
	// An upsert, not INSERT OR REPLACE: a replace's implicit delete would
	// bypass the dead-letter count (queue_counts).
	res, err := tx.ExecContext(ctx, `INSERT INTO dead_letter (event_id, event_type, data, reason, failed_at, retry_count)
		SELECT event_id, event_type, data, ?, ?, COALESCE(retry_count, 0) FROM queue WHERE event_id = ?
		ON CONFLICT (event_id) DO UPDATE SET event_type = excluded.event_type, data = excluded.data,
			reason = excluded.reason, failed_at = excluded.failed_at, retry_count = excluded.retry_count`, reason, nowMS, id)
	if err != nil {
		return 0, fmt.Errorf("dead-letter %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return n, err
	}
	if _, err := q.deleteIDs(ctx, tx, []string{id}); err != nil {
		return 0, fmt.Errorf("dead-letter %s: %w", id, err)
	}
	return n, nil
}

// eachID runs the one-parameter statement for every id, reporting rows
// affected to counted (may be nil). Like enqueue, the per-row calls run
// without a cancellation watcher; ctx is checked between them.
func eachID(ctx context.Context, tx *sql.Tx, query string, ids []string, counted func(int64)) error {
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	rowCtx := context.WithoutCancel(ctx)
	for i, id := range ids {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		res, err := stmt.ExecContext(rowCtx, id)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if counted != nil {
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			counted(n)
		}
	}
	return nil
}

// deleteIDs deletes the queued events among ids and their leases, a chunk
// per statement, and returns how many there were.
func (q *Queue) deleteIDs(ctx context.Context, tx *sql.Tx, ids []string) (int, error) {
	deleted := 0
	args := make([]any, 0, min(len(ids), 500))
	var rows []int64
	for chunk := range slices.Chunk(ids, 500) {
		args = args[:0]
		for _, id := range chunk {
			args = append(args, id)
		}
		rs, err := tx.QueryContext(ctx, `DELETE FROM queue WHERE event_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`) RETURNING id`, args...)
		if err != nil {
			return deleted, err
		}
		rows = rows[:0]
		for rs.Next() {
			var id int64
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return deleted, err
			}
			rows = append(rows, id)
		}
		if err := rs.Close(); err != nil {
			return deleted, err
		}
		if err := rs.Err(); err != nil {
			return deleted, err
		}
		deleted += len(rows)
		if err := q.dropLeases(ctx, tx, rows); err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// deleteAcked deletes the queued events among ids and the leases of rows,
// their row ids, and returns how many events there were. A row whose
// event_id changed meanwhile (the Python CLI coalesced another event into
// it) stays queued; losing its lease only makes it due again sooner.
func (q *Queue) deleteAcked(ctx context.Context, tx *sql.Tx, ids []string, rows []int64) (int, error) {
	deleted := 0
	args := make([]any, 0, min(len(ids), ackChunk))
	for chunk := range slices.Chunk(ids, ackChunk) {
		args = args[:0]
		for _, id := range chunk {
			args = append(args, id)
		}
		query := `DELETE FROM queue WHERE event_id IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		var res sql.Result
		var err error
		if len(chunk) == ackChunk {
			// The whole chunks of a drain share one prepared statement.
			var stmt *sql.Stmt
			if stmt, err = q.prepared(ctx, tx, query); err == nil {
				res, err = stmt.ExecContext(ctx, args...)
			}
		} else {
			res, err = tx.ExecContext(ctx, query, args...)
		}
		if err != nil {
			return deleted, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return deleted, err
		}
		deleted += int(n)
	}
	return deleted, q.dropLeases(ctx, tx, rows)
}

// ackChunk is how many event ids one DELETE of deleteAcked names.
const ackChunk = 500

// dropLeases deletes the leases of the rows ids.
func (q *Queue) dropLeases(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	stmt, err := q.prepared(ctx, tx, `DELETE FROM queue_lease WHERE id IN (SELECT value FROM json_each(?))`)
	if err != nil {
		return err
	}
	_, err = stmt.ExecContext(ctx, jsonInts(ids))
	return err
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func intList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}
