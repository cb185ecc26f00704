package queue

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one numbered, additive schema step. Steps are written to be
// re-runnable (IF NOT EXISTS, column checks) because the Python CLI may have
// created some of the same objects without recording them.
type migration struct {
	version int
	name    string
	apply   func(ctx context.Context, tx *sql.Tx) error
}

// pythonQueueTable is the Python CLI's layout, kept byte for byte.
const pythonQueueTable = `CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL, timestamp INTEGER NOT NULL, retry_count INTEGER DEFAULT 0, coalesce_key TEXT)`

var migrations = []migration{
	{1, "python queue layout", func(ctx context.Context, tx *sql.Tx) error {
		if err := execAll(ctx, tx,
			pythonQueueTable,
			// The Python CLI creates these two; same names so neither tool
			// duplicates them.
			`CREATE INDEX IF NOT EXISTS idx_timestamp ON queue(timestamp)`,
			`CREATE INDEX IF NOT EXISTS idx_retry ON queue(retry_count)`,
		); err != nil {
			return err
		}
		// Older Python versions created the table without coalesce_key.
		return addColumn(ctx, tx, "queue", "coalesce_key", "TEXT")
	}},
	{2, "retry, lease, dead letter, cursors, repos, meta", func(ctx context.Context, tx *sql.Tx) error {
		for _, c := range [][2]string{
			{"next_attempt_at", "INTEGER"}, // Unix ms; NULL: due now
			{"last_error", "TEXT"},
			{"last_attempt_at", "INTEGER"}, // Unix ms of the last Retry
			{"leased_until", "INTEGER"},    // Unix ms; NULL or past: free
		} {
			if err := addColumn(ctx, tx, "queue", c[0], c[1]); err != nil {
				return err
			}
		}
		return execAll(ctx, tx,
			`CREATE TABLE IF NOT EXISTS dead_letter (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				event_id TEXT UNIQUE NOT NULL,
				event_type TEXT NOT NULL,
				data TEXT NOT NULL,
				reason TEXT NOT NULL,
				failed_at INTEGER NOT NULL,
				retry_count INTEGER NOT NULL DEFAULT 0)`,
			`CREATE TABLE IF NOT EXISTS import_cursor (
				repo TEXT NOT NULL,
				path TEXT NOT NULL,
				byte_offset INTEGER NOT NULL,
				line INTEGER NOT NULL DEFAULT 0,
				size INTEGER NOT NULL DEFAULT 0,
				mtime INTEGER,
				inode INTEGER,
				fingerprint TEXT,
				malformed INTEGER NOT NULL DEFAULT 0,
				no_event_id INTEGER NOT NULL DEFAULT 0,
				last_error TEXT,
				updated_at INTEGER NOT NULL,
				PRIMARY KEY (repo, path))`,
			`CREATE TABLE IF NOT EXISTS repos (
				path TEXT PRIMARY KEY,
				registered_at INTEGER NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS meta (
				key TEXT PRIMARY KEY,
				value TEXT NOT NULL)`,
		)
	}},
	{3, "lease holder", func(ctx context.Context, tx *sql.Tx) error {
		// The PID of the process holding a lease, so a drainer that died
		// (kill -9) can have its leases handed back at once instead of
		// after they expire.
		return addColumn(ctx, tx, "queue", "leased_by", "INTEGER")
	}},
	{4, "counters and indexes for O(1) statistics", func(ctx context.Context, tx *sql.Tx) error {
		// queue_counts keeps the number of queued events and of dead
		// letters, maintained by triggers, so that `sync status`, the
		// importer's room check and Enqueue's max_queue_size check read
		// one row instead of counting a table (1.5 s at 327k events).
		// Triggers also count the rows the Python CLI writes. They count
		// before the insert and only a new event_id, so an insert that
		// turns out a no-op (ON CONFLICT DO NOTHING) or replaces a row
		// (the Python CLI's INSERT OR REPLACE, whose implicit delete fires
		// no trigger) leaves the count right.
		// The partial indexes cover the other figures of Stats; they hold
		// only the rows that are leased, waiting for a retry or failed.
		return execAll(ctx, tx,
			`CREATE TABLE IF NOT EXISTS queue_counts (
				id INTEGER PRIMARY KEY CHECK (id = 1),
				queued INTEGER NOT NULL,
				dead INTEGER NOT NULL)`,
			`INSERT OR REPLACE INTO queue_counts (id, queued, dead)
				VALUES (1, (SELECT COUNT(*) FROM queue), (SELECT COUNT(*) FROM dead_letter))`,
			`CREATE TRIGGER IF NOT EXISTS queue_counts_insert BEFORE INSERT ON queue
				WHEN NOT EXISTS (SELECT 1 FROM queue WHERE event_id = NEW.event_id) BEGIN UPDATE queue_counts SET queued = queued + 1 WHERE id = 1; END`,
			`CREATE TRIGGER IF NOT EXISTS queue_counts_delete AFTER DELETE ON queue
				BEGIN UPDATE queue_counts SET queued = queued - 1 WHERE id = 1; END`,
			`CREATE TRIGGER IF NOT EXISTS dead_counts_insert BEFORE INSERT ON dead_letter
				WHEN NOT EXISTS (SELECT 1 FROM dead_letter WHERE event_id = NEW.event_id) BEGIN UPDATE queue_counts SET dead = dead + 1 WHERE id = 1; END`,
			`CREATE TRIGGER IF NOT EXISTS dead_counts_delete AFTER DELETE ON dead_letter
				BEGIN UPDATE queue_counts SET dead = dead - 1 WHERE id = 1; END`,
			`CREATE INDEX IF NOT EXISTS idx_queue_leased ON queue(leased_until) WHERE leased_until IS NOT NULL`,
			`CREATE INDEX IF NOT EXISTS idx_queue_next_attempt ON queue(next_attempt_at) WHERE next_attempt_at IS NOT NULL`,
			`CREATE INDEX IF NOT EXISTS idx_queue_last_attempt ON queue(last_attempt_at) WHERE last_attempt_at IS NOT NULL`,
		)
	}},
	{5, "lease table", func(ctx context.Context, tx *sql.Tx) error {
		// Leases move out of the queue rows into a narrow table keyed by
		// the row id: leasing a batch used to rewrite every ~1 KB row
		// (and the partial index on leased_until), now it inserts 1,000
		// rows of three integers. The queue's lease columns stay (NULL)
		// so the Python layout's additive columns never shrink. Whoever
		// settles an event deletes its lease in the same transaction; a
		// lease left by a row the Python CLI deleted only runs out (row
		// ids are never reused) and Compact removes it.
		return execAll(ctx, tx,
			`CREATE TABLE IF NOT EXISTS queue_lease (
				id INTEGER PRIMARY KEY,
				until INTEGER NOT NULL,
				holder INTEGER)`,
			`INSERT OR REPLACE INTO queue_lease (id, until, holder)
				SELECT id, leased_until, leased_by FROM queue WHERE leased_until IS NOT NULL`,
			`UPDATE queue SET leased_until = NULL, leased_by = NULL WHERE leased_until IS NOT NULL`,
			`DROP INDEX IF EXISTS idx_queue_leased`,
		)
	}},
}

// migrate applies the missing migrations in one IMMEDIATE transaction, so
// processes opening a new database at the same time apply them once. A
// database already up to date is only read: every short-lived command
// (`status emit`) opens the queue, and a write lock per open would queue
// it behind a draining daemon's transactions.
func (q *Queue) migrate(ctx context.Context) error {
	var current int
	if err := q.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT MAX(version) FROM schema_migrations), 0)
		WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations')`).Scan(&current); err == nil &&
		current == migrations[len(migrations)-1].version {
		return nil
	}
	return q.write(ctx, "migrate", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > migrations[len(migrations)-1].version {
			return fmt.Errorf("schema version %d is newer than this program knows (%d): upgrade spec-kitty",
				current, migrations[len(migrations)-1].version)
		}
		for _, m := range migrations {
			if m.version <= current {
				continue
			}
			if err := m.apply(ctx, tx); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, unixMS(q.now())); err != nil {
				return err
			}
		}
		return nil
	})
}

func execAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// addColumn adds table.column unless it exists.
func addColumn(ctx context.Context, tx *sql.Tx, table, column, decl string) error {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if name == column {
			return rows.Close()
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	_, err = tx.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+column+` `+decl)
	return err
}
