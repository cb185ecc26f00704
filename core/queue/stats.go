package queue

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Stats describes the queue for `sync status`, doctor and the tray.
type Stats struct {
	Depth         int           // events queued
	Leased        int           // of those, held by a drainer right now
	Retried       int           // of those, failed at least once
	DeadLetters   int           // events given up on
	OldestAge     time.Duration // age of the oldest queued event; 0 when empty
	NextAttemptAt time.Time     // earliest future retry; zero when none waits
	LastError     string        // error of the most recent retry still queued
	MaxSize       int           // max_queue_size in force
	// Unmigrated: the database has only the Python CLI's layout (read-only
	// open, see Queue.Unmigrated); its events are all kept.
	Unmigrated bool
}

// Stats reads the figures in one statement (one consistent snapshot). It
// costs the same at any queue depth: the counts come from queue_counts and
// the other figures from partial indexes that hold only leased, retried and
// failed rows (a database written before those existed is counted the slow
// way; the next writer adds them).
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	now := q.now()
	if q.unmigrated {
		return q.pythonStats(ctx, now)
	}
	nowMS := unixMS(now)
	var (
		s                 = Stats{MaxSize: q.maxSize}
		oldestS, oldestMS sql.NullInt64
		next              sql.NullInt64
		lastErr           sql.NullString
	)
	counts := `(SELECT queued FROM queue_counts WHERE id = 1), (SELECT dead FROM queue_counts WHERE id = 1),`
	if q.noCounts {
		counts = `(SELECT COUNT(*) FROM queue), (SELECT COUNT(*) FROM dead_letter),`
	}
	// Seconds and milliseconds (see fromQueuedAt) are two index ranges of
	// idx_timestamp; a MIN over a CASE would read every row.
	leased := `(SELECT COUNT(*) FROM queue_lease l WHERE l.until > ?1 AND EXISTS (SELECT 1 FROM queue q WHERE q.id = l.id)),`
	if q.noLeaseTable {
		leased = `(SELECT COUNT(*) FROM queue WHERE leased_until > ?1),`
	}
	err := q.db.QueryRowContext(ctx, `SELECT `+counts+leased+`
			(SELECT COUNT(*) FROM queue WHERE retry_count > 0),
			(SELECT MIN(timestamp) FROM queue WHERE timestamp < ?2),
			(SELECT MIN(timestamp) FROM queue WHERE timestamp >= ?2),
			(SELECT MIN(next_attempt_at) FROM queue WHERE next_attempt_at > ?1),
			(SELECT last_error FROM queue WHERE last_attempt_at IS NOT NULL AND last_error IS NOT NULL
				ORDER BY last_attempt_at DESC, id DESC LIMIT 1)`,
		nowMS, msThreshold).Scan(&s.Depth, &s.DeadLetters, &s.Leased, &s.Retried, &oldestS, &oldestMS, &next, &lastErr)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: queue %s: %w", q.path, err)
	}
	s.Depth, s.DeadLetters = max(s.Depth, 0), max(s.DeadLetters, 0)
	if oldestS.Valid {
		s.OldestAge = max(0, now.Sub(time.Unix(oldestS.Int64, 0)))
	}
	if oldestMS.Valid {
		s.OldestAge = max(s.OldestAge, now.Sub(time.UnixMilli(oldestMS.Int64)))
	}
	if next.Valid {
		s.NextAttemptAt = fromMS(next.Int64)
	}
	s.LastError = lastErr.String
	return s, nil
}

// depth is the number of queued events, inside a write transaction.
func depth(ctx context.Context, tx *sql.Tx) (queued, dead int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT queued, dead FROM queue_counts WHERE id = 1`).Scan(&queued, &dead)
	return max(queued, 0), max(dead, 0), err
}

// pythonStats reads the figures of a queue in the Python CLI's layout,
// which has only its own columns and no dead letters.
func (q *Queue) pythonStats(ctx context.Context, now time.Time) (Stats, error) {
	s := Stats{MaxSize: q.maxSize, Unmigrated: true}
	if q.noQueueTable {
		return s, nil
	}
	var oldest sql.NullInt64
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN retry_count > 0 THEN 1 END),
			MIN(CASE WHEN timestamp >= ?1 THEN CAST(timestamp AS INTEGER) ELSE CAST(timestamp AS INTEGER) * 1000 END)
		FROM queue`, msThreshold).Scan(&s.Depth, &s.Retried, &oldest)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: queue %s: %w", q.path, err)
	}
	if oldest.Valid {
		s.OldestAge = max(0, now.Sub(time.UnixMilli(oldest.Int64)))
	}
	return s, nil
}

// Dead is one dead letter.
type Dead struct {
	EventID    string
	EventType  string
	Data       []byte
	Reason     string
	FailedAt   time.Time
	RetryCount int
}

// DeadLetters lists up to limit dead letters, newest first (limit <= 0: all).
func (q *Queue) DeadLetters(ctx context.Context, limit int) ([]Dead, error) {
	if q.unmigrated {
		return nil, nil // the Python layout has no dead letters
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := q.db.QueryContext(ctx, `SELECT event_id, event_type, data, reason, failed_at, retry_count
		FROM dead_letter ORDER BY failed_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("dead letters: queue %s: %w", q.path, err)
	}
	defer rows.Close()
	var out []Dead
	for rows.Next() {
		var d Dead
		var failed int64
		if err := rows.Scan(&d.EventID, &d.EventType, &d.Data, &d.Reason, &failed, &d.RetryCount); err != nil {
			return nil, fmt.Errorf("dead letters: queue %s: %w", q.path, err)
		}
		d.FailedAt = fromMS(failed)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dead letters: queue %s: %w", q.path, err)
	}
	return out, nil
}

// Requeue moves dead letters back into the queue, with a fresh retry count,
// so they are sent again (after whatever made the host refuse them was
// fixed). ids selects them; none means every dead letter. It returns how
// many were requeued and refuses, changing nothing, when they would pass
// max_queue_size.
func (q *Queue) Requeue(ctx context.Context, ids ...string) (int, error) {
	where, args := "", []any{}
	if len(ids) > 0 {
		where = " WHERE event_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	n := 0
	err := q.write(ctx, "requeue", func(tx *sql.Tx) error {
		n = 0
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dead_letter`+where, args...).Scan(&count); err != nil {
			return err
		}
		depth, _, err := depth(ctx, tx)
		if err != nil {
			return err
		}
		if depth+count > q.maxSize {
			return fmt.Errorf("%w: %d events queued, %d dead letters would pass max_queue_size %d; run `spec-kitty sync run` first",
				ErrQueueFull, depth, count, q.maxSize)
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO queue (event_id, event_type, data, timestamp, retry_count)
			SELECT event_id, event_type, data, ?, 0 FROM dead_letter`+where, append([]any{q.now().Unix()}, args...)...)
		if err != nil {
			return err
		}
		c, _ := res.RowsAffected()
		n = int(c)
		_, err = tx.ExecContext(ctx, `DELETE FROM dead_letter`+where, args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("requeue: queue %s: %w", q.path, err)
	}
	return n, nil
}
