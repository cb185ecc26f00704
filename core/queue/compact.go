package queue

import (
	"context"
	"database/sql"
	"fmt"
	"os"
)

// walLimit is the size the WAL is cut back to after a checkpoint;
// walCheckpointPages (4 KiB pages) the WAL size at which a commit
// checkpoints it.
const (
	walLimit           = 64 << 20
	walCheckpointPages = 4096
	// walTruncateMin: Compact leaves a WAL smaller than this as it is.
	walTruncateMin = 4 << 20
)

// Compaction thresholds: free space worth giving back, how many pages one
// incremental step frees (one short write transaction each, so a
// `status emit` waits at most one step), and the queue depth up to which a
// database without incremental auto-vacuum is rebuilt by VACUUM (its cost is
// the live data, small then).
const (
	compactFreeBytes   = 4 << 20
	compactStepPages   = 512
	vacuumMaxDepth     = 10_000
	vacuumMaxLiveBytes = 64 << 20
)

// Compacted says what Compact did.
type Compacted struct {
	FreedBytes int64 // file space given back to the file system
	Vacuumed   bool  // the database was rebuilt (and is now incremental)
}

// Compact gives the space of delivered events back to the file system and
// empties the WAL, so queue.db shrinks to its live data once a backlog has
// drained instead of keeping its peak size (1.4 GB after 1M events). The
// daemon and `sync run` call it at the end of a cycle; it does nothing when
// little is free. A database created before auto_vacuum was set is rebuilt
// once by VACUUM when its queue is small.
func (q *Queue) Compact(ctx context.Context) (Compacted, error) {
	var c Compacted
	if q.unmigrated {
		return c, nil
	}
	var pageSize, free, pages, mode int64
	if err := q.db.QueryRowContext(ctx, `SELECT (SELECT page_size FROM pragma_page_size), (SELECT freelist_count FROM pragma_freelist_count),
		(SELECT page_count FROM pragma_page_count), (SELECT auto_vacuum FROM pragma_auto_vacuum)`).Scan(&pageSize, &free, &pages, &mode); err != nil {
		return c, fmt.Errorf("compact: queue %s: %w", q.path, err)
	}
	if err := q.dropStaleLeases(ctx); err != nil {
		return c, err
	}
	if free*pageSize >= compactFreeBytes {
		if mode == 2 {
			for free > 0 && ctx.Err() == nil {
				err := q.writeBulk(ctx, "compact", func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, compactStepPages))
					return err
				})
				if err != nil {
					return c, err
				}
				step := min(free, compactStepPages)
				c.FreedBytes += step * pageSize
				free -= step
			}
		} else if live := (pages - free) * pageSize; live <= vacuumMaxLiveBytes {
			st, err := q.Stats(ctx)
			if err != nil {
				return c, err
			}
			if st.Depth <= vacuumMaxDepth {
				if err := q.vacuum(ctx); err != nil {
					return c, err
				}
				c.Vacuumed, c.FreedBytes = true, free*pageSize
			}
		}
	}
	// Empty the WAL; busy readers only make this a partial checkpoint.
	// A TRUNCATE checkpoint holds the write lock while it copies and waits
	// for readers, so it runs only when the WAL is worth cutting (a daemon
	// that drains a trickle of emitted events ends every cycle here), and
	// a PASSIVE one (no lock) copies the WAL first: TRUNCATE then only
	// resets it, and writers (`status emit`) are not held up by the copy.
	if fi, err := os.Stat(q.path + "-wal"); err != nil || fi.Size() < walTruncateMin {
		return c, nil
	}
	if _, err := q.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		return c, fmt.Errorf("compact: queue %s: checkpoint: %w", q.path, err)
	}
	if _, err := q.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return c, fmt.Errorf("compact: queue %s: checkpoint: %w", q.path, err)
	}
	return c, nil
}

// vacuum rebuilds the database under the process's write semaphore (VACUUM
// cannot run inside a transaction; SQLite takes its own write lock).
func (q *Queue) vacuum(ctx context.Context) (err error) {
	select {
	case q.wsem <- struct{}{}:
		defer func() { <-q.wsem }()
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := q.writer(ctx)
	if err != nil {
		return err
	}
	defer q.keepWriter(&err)
	if _, err = conn.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("compact: queue %s: %w", q.path, err)
	}
	if _, err = conn.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("compact: queue %s: vacuum: %w", q.path, err)
	}
	return nil
}

// dropStaleLeases deletes the leases of rows no longer queued (rows the
// Python CLI deleted; every other writer deletes a row's lease with it).
// A read first: a queue without such leases costs no write lock.
func (q *Queue) dropStaleLeases(ctx context.Context) error {
	const stale = `FROM queue_lease WHERE NOT EXISTS (SELECT 1 FROM queue WHERE queue.id = queue_lease.id)`
	var found bool
	if err := q.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 `+stale+`)`).Scan(&found); err != nil {
		return fmt.Errorf("compact: queue %s: %w", q.path, err)
	}
	if !found {
		return nil
	}
	return q.write(ctx, "compact", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE `+stale)
		return err
	})
}
