package queue

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// Cursor is how far the importer has read one events file. The intended
// loop, per file: load the Cursor, ask Resume where to start, scan from there
// with event.NewScanner, build envelopes (lamport values from
// ReserveLamport), then Import the items together with the new Cursor
// (Offset = scanner Offset, Fingerprint = Fingerprint(file, Offset)).
type Cursor struct {
	Repo string // repo root, as registered
	Path string // the events file (the importer decides relative or absolute)

	Offset int64 // bytes consumed: the next read starts here
	Line   int   // lines consumed, for line numbers in messages

	// What the file looked like at Offset, to notice truncation and rewrites
	// (see Resume).
	Size        int64
	ModTime     time.Time
	Inode       uint64
	Fingerprint string // Fingerprint(file, Offset)

	// Tallies of the lines passed over so far, for `sync status`/doctor.
	Malformed int
	NoEventID int
	LastError string // the latest malformed line's error

	UpdatedAt time.Time // set by the queue
}

func (c Cursor) validate() error {
	switch {
	case c.Repo == "" || c.Path == "":
		return errors.New("cursor needs a repo and a path")
	case c.Offset < 0 || c.Line < 0:
		return fmt.Errorf("cursor %s: negative offset or line", c.Path)
	}
	return nil
}

// FingerprintWindow is how many bytes at each end of the consumed part of a
// file Fingerprint hashes.
const FingerprintWindow = 4096

// Fingerprint hashes the first and the last FingerprintWindow bytes before
// offset of r (all of them when offset is smaller), with the offset: any
// truncation, and a rewrite that touches either end, changes it.
func Fingerprint(r io.ReaderAt, offset int64) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", offset)
	head := min(offset, FingerprintWindow)
	tailStart := max(head, offset-FingerprintWindow)
	for _, part := range [][2]int64{{0, head}, {tailStart, offset}} {
		n := part[1] - part[0]
		if _, err := io.CopyN(h, io.NewSectionReader(r, part[0], n), n); err != nil {
			return "", fmt.Errorf("fingerprint of %d bytes: %w", offset, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Resume says where to continue importing a file that is now size bytes,
// readable through r: the cursor's Offset and Line when the file still holds
// what was imported, else 0, 0 (it was truncated or rewritten; re-enqueueing
// from the start is harmless, enqueue skips known event ids).
func (c Cursor) Resume(r io.ReaderAt, size int64) (offset int64, line int, err error) {
	if c.Offset == 0 || c.Fingerprint == "" || size < c.Offset {
		return 0, 0, nil
	}
	fp, err := Fingerprint(r, c.Offset)
	if err != nil {
		return 0, 0, err
	}
	if fp != c.Fingerprint {
		return 0, 0, nil
	}
	return c.Offset, c.Line, nil
}

// Cursor returns the stored cursor of repo's file path; ok is false if none.
func (q *Queue) Cursor(ctx context.Context, repo, path string) (c Cursor, ok bool, err error) {
	if q.unmigrated {
		return Cursor{}, false, nil // the Python layout has no cursors
	}
	rows, err := q.db.QueryContext(ctx, cursorSelect+` WHERE repo = ? AND path = ?`, repo, path)
	if err != nil {
		return Cursor{}, false, fmt.Errorf("cursor %s: queue %s: %w", path, q.path, err)
	}
	cs, err := scanCursors(rows)
	if err != nil {
		return Cursor{}, false, fmt.Errorf("cursor %s: queue %s: %w", path, q.path, err)
	}
	if len(cs) == 0 {
		return Cursor{}, false, nil
	}
	return cs[0], true, nil
}

// Cursors lists the cursors of repo, or of every repo when repo is "".
func (q *Queue) Cursors(ctx context.Context, repo string) ([]Cursor, error) {
	if q.unmigrated {
		return nil, nil
	}
	rows, err := q.db.QueryContext(ctx, cursorSelect+` WHERE ?1 = '' OR repo = ?1 ORDER BY repo, path`, repo)
	if err != nil {
		return nil, fmt.Errorf("cursors: queue %s: %w", q.path, err)
	}
	cs, err := scanCursors(rows)
	if err != nil {
		return nil, fmt.Errorf("cursors: queue %s: %w", q.path, err)
	}
	return cs, nil
}

// SetCursor stores c (use Import to store it with the events it covers).
func (q *Queue) SetCursor(ctx context.Context, c Cursor) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("set cursor: %w", err)
	}
	return q.write(ctx, "set cursor", func(tx *sql.Tx) error {
		return setCursor(ctx, tx, c, q.now())
	})
}

// DeleteCursor forgets repo's file path (the file is gone).
func (q *Queue) DeleteCursor(ctx context.Context, repo, path string) error {
	return q.write(ctx, "delete cursor", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM import_cursor WHERE repo = ? AND path = ?`, repo, path)
		return err
	})
}

const cursorSelect = `SELECT repo, path, byte_offset, line, size, COALESCE(mtime, 0), COALESCE(inode, 0),
	COALESCE(fingerprint, ''), malformed, no_event_id, COALESCE(last_error, ''), updated_at FROM import_cursor`

func scanCursors(rows *sql.Rows) ([]Cursor, error) {
	defer rows.Close()
	var out []Cursor
	for rows.Next() {
		var c Cursor
		var mtime, inode, updated int64
		if err := rows.Scan(&c.Repo, &c.Path, &c.Offset, &c.Line, &c.Size, &mtime, &inode,
			&c.Fingerprint, &c.Malformed, &c.NoEventID, &c.LastError, &updated); err != nil {
			return nil, err
		}
		if mtime != 0 {
			c.ModTime = time.Unix(0, mtime).UTC()
		}
		c.Inode = uint64(inode)
		c.UpdatedAt = fromMS(updated)
		out = append(out, c)
	}
	return out, rows.Err()
}

func setCursor(ctx context.Context, tx *sql.Tx, c Cursor, now time.Time) error {
	var mtime int64
	if !c.ModTime.IsZero() {
		mtime = c.ModTime.UnixNano()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO import_cursor
			(repo, path, byte_offset, line, size, mtime, inode, fingerprint, malformed, no_event_id, last_error, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (repo, path) DO UPDATE SET
			byte_offset = excluded.byte_offset, line = excluded.line, size = excluded.size,
			mtime = excluded.mtime, inode = excluded.inode, fingerprint = excluded.fingerprint,
			malformed = excluded.malformed, no_event_id = excluded.no_event_id,
			last_error = excluded.last_error, updated_at = excluded.updated_at`,
		c.Repo, c.Path, c.Offset, c.Line, c.Size, mtime, int64(c.Inode), c.Fingerprint,
		c.Malformed, c.NoEventID, nullString(c.LastError), unixMS(now))
	if err != nil {
		return fmt.Errorf("store cursor %s: %w", c.Path, err)
	}
	return nil
}
