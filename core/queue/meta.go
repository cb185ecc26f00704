package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

const (
	metaLamport = "lamport_clock"
	metaNodeID  = "node_id"
)

// NextLamport atomically advances the machine's lamport clock and returns
// the new value (1 on a new database). Every process sharing the database
// shares the clock.
func (q *Queue) NextLamport(ctx context.Context) (int64, error) {
	return q.ReserveLamport(ctx, 1)
}

// ReserveLamport advances the clock by n (>= 1) at once and returns the first
// of the n values reserved, for stamping an import batch in one write.
func (q *Queue) ReserveLamport(ctx context.Context, n int) (first int64, err error) {
	if n < 1 {
		return 0, fmt.Errorf("reserve lamport: count %d is not positive", n)
	}
	err = q.write(ctx, "lamport clock", func(tx *sql.Tx) error {
		first, err = reserveLamport(ctx, tx, n)
		return err
	})
	if err != nil {
		return 0, err
	}
	return first, nil
}

// reserveLamport is ReserveLamport inside the transaction tx.
func reserveLamport(ctx context.Context, tx *sql.Tx, n int) (first int64, err error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO meta (key, value) VALUES (?1, ?2)
			ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + ?2
			RETURNING CAST(value AS INTEGER)`, metaLamport, n).Scan(&last); err != nil {
		return 0, err
	}
	return last - int64(n) + 1, nil
}

// NodeID returns the node id stored in the database, storing generate()'s
// answer first if there is none, so every process on the machine agrees.
func (q *Queue) NodeID(ctx context.Context, generate func() (string, error)) (string, error) {
	var id string
	err := q.write(ctx, "node id", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaNodeID).Scan(&id)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if id, err = generate(); err != nil {
			return err
		}
		if id == "" {
			return errors.New("generated node id is empty")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, metaNodeID, id)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// Repo is a repository registered for import.
type Repo struct {
	Path         string
	RegisteredAt time.Time
}

// RegisterRepo records an absolute repo root; added is false if it was known.
func (q *Queue) RegisterRepo(ctx context.Context, path string) (added bool, err error) {
	if !filepath.IsAbs(path) {
		return false, fmt.Errorf("register repo %q: path is not absolute", path)
	}
	path = filepath.Clean(path)
	// Known already (every emit registers its repo): a read, not a write.
	var known bool
	if err := q.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM repos WHERE path = ?)`, path).Scan(&known); err == nil && known {
		return false, nil
	}
	err = q.write(ctx, "register repo", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO repos (path, registered_at) VALUES (?, ?) ON CONFLICT (path) DO NOTHING`,
			path, unixMS(q.now()))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		added = n > 0
		return err
	})
	return added, err
}

// UnregisterRepo forgets a repo and its cursors; removed is false if it was
// not registered.
func (q *Queue) UnregisterRepo(ctx context.Context, path string) (removed bool, err error) {
	path = filepath.Clean(path)
	err = q.write(ctx, "unregister repo", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM repos WHERE path = ?`, path)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		removed = n > 0
		_, err = tx.ExecContext(ctx, `DELETE FROM import_cursor WHERE repo = ?`, path)
		return err
	})
	return removed, err
}

// Repos lists the registered repos in registration order.
func (q *Queue) Repos(ctx context.Context) ([]Repo, error) {
	if q.unmigrated {
		return nil, nil // the Python layout registers no repos
	}
	rows, err := q.db.QueryContext(ctx, `SELECT path, registered_at FROM repos ORDER BY registered_at, path`)
	if err != nil {
		return nil, fmt.Errorf("repos: queue %s: %w", q.path, err)
	}
	defer rows.Close()
	var out []Repo
	for rows.Next() {
		var r Repo
		var at int64
		if err := rows.Scan(&r.Path, &at); err != nil {
			return nil, fmt.Errorf("repos: queue %s: %w", q.path, err)
		}
		r.RegisteredAt = fromMS(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repos: queue %s: %w", q.path, err)
	}
	return out, nil
}
