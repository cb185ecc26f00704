// Package queue owns the offline event queue `<home>/queue.db` (CONTRACTS §9):
// a SQLite database shared by every spec-kitty process on the machine — and
// by the Python CLI, whose `queue` table layout it keeps — holding the events
// waiting for upload, the dead letters, the per-file import cursors, the
// registered repos and the lamport clock.
//
// It stores and hands out opaque envelope JSON; it never builds envelopes,
// reads repos, talks to the network or decides what a host answer means
// (the uploader passes Settle its verdicts). It never creates directories
// unless asked (Options.CreateDir): the caller runs paths.Home.EnsureHome.
//
// Every write runs in a BEGIN IMMEDIATE transaction (`_txlock=immediate`):
// with deferred transactions two processes get SQLITE_BUSY at once instead of
// waiting out busy_timeout.
package queue

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofrs/flock"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Defaults for Options.
const (
	DefaultMaxSize     = 100000
	DefaultBusyTimeout = 10 * time.Second
	MinBusyTimeout     = 5 * time.Second
)

// Errors callers test with errors.Is.
var (
	// ErrQueueFull: enqueueing would pass max_queue_size. Nothing was added.
	ErrQueueFull = errors.New("queue full")
	// ErrNotQueued: the event is not (or no longer) in the queue.
	ErrNotQueued = errors.New("event not queued")
)

// Options tune Open. The zero value is usable.
type Options struct {
	// MaxSize is max_queue_size: Enqueue refuses to grow the queue past it.
	// 0 means DefaultMaxSize.
	MaxSize int
	// BusyTimeout is how long a statement waits for another process's lock.
	// 0 means DefaultBusyTimeout; values below MinBusyTimeout are raised to it.
	BusyTimeout time.Duration
	// Now is the clock for queued-at times, dead-letter and cursor stamps and
	// Stats; nil means time.Now.
	Now func() time.Time
	// CreateDir makes Open create the database's directory (0700) if missing.
	CreateDir bool
	// ReadOnly opens an existing database for reading only (SQLite
	// mode=ro, no migration, nothing created): for status displays, which
	// may not write in the state home. It implies MustExist; writes fail.
	ReadOnly bool
	// MustExist makes Open fail (wrapping fs.ErrNotExist) instead of creating
	// a missing database, for read-mostly callers like `sync status`.
	MustExist bool
}

// Queue is an open queue database. It is safe for concurrent use.
type Queue struct {
	db      *sql.DB
	path    string
	maxSize int
	now     func() time.Time
	// wsem admits one writer of this process at a time. SQLite allows one
	// anyway; queueing here is fairer and quicker than its busy-sleep loop,
	// which remains for writers in other processes.
	wsem chan struct{}
	// wconn is the connection every write of this process uses (taken
	// from the pool at the first write, guarded by wsem): SQLite drops a
	// connection's page cache whenever another connection wrote, so
	// writes that took turns on several connections each started cold.
	wconn *sql.Conn
	// holder identifies this process's leases (its PID).
	holder int
	// waiting is the advisory lock file `queue.db-wait` (see yield): a
	// writer that finds the write lock taken holds it shared until its
	// transaction ends; bulk writers give way while anyone does.
	waiting *flock.Flock
	// busy is how long a write waits for another process's write lock.
	busy time.Duration
	// unmigrated: a read-only open of a database this program never
	// migrated (the Python CLI's layout); noQueueTable: not even its
	// queue table exists.
	unmigrated, noQueueTable bool
	// noCounts: a read-only open of a database from before queue_counts
	// (schema version 4); Stats counts rows instead.
	noCounts bool
	// noLeaseTable: a read-only open of a database from before queue_lease
	// (schema version 5), whose leases are in the queue rows.
	noLeaseTable bool
	// stmts are the statements prepared once (see prepared).
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
}

// Open opens the queue at path, creating the file 0600 if it does not exist,
// and brings its schema up to date. A database created by the Python CLI
// (only its `queue` table) is migrated in place, additively.
func Open(ctx context.Context, path string, opts Options) (*Queue, error) {
	if path == "" {
		return nil, errors.New("open queue: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", path, err)
	}
	if opts.CreateDir {
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, fmt.Errorf("open queue %s: %w", path, err)
		}
	}
	if opts.MustExist || opts.ReadOnly {
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("open queue %s: %w", path, err)
		}
	}
	fresh := false
	if !opts.MustExist && !opts.ReadOnly {
		// SQLite would create the file 0644; create it first so it is 0600
		// (SQLite gives the -wal and -shm files the database's mode).
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open queue %s: %w", path, err)
		}
		if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
			fresh = true
		}
		f.Close()
	}
	busy := opts.BusyTimeout
	if busy == 0 {
		busy = DefaultBusyTimeout
	}
	busy = max(busy, MinBusyTimeout)
	db, err := sql.Open("sqlite", dsn(abs, busy, opts.ReadOnly))
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", path, err)
	}
	// SQLite has one writer at a time anyway; a few connections let reads
	// (Stats) run beside a write.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	q := &Queue{db: db, path: abs, maxSize: opts.MaxSize, now: opts.Now, wsem: make(chan struct{}, 1), holder: os.Getpid(), busy: busy}
	if !opts.ReadOnly {
		q.waiting = flock.New(abs+"-wait", flock.SetPermissions(0o600))
	}
	if q.maxSize <= 0 {
		q.maxSize = DefaultMaxSize
	}
	if q.now == nil {
		q.now = time.Now
	}
	if opts.ReadOnly {
		if err := q.checkReadable(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open queue %s: %w", path, err)
		}
		return q, nil
	}
	if fresh {
		// Incremental auto-vacuum (see Compact) can only be chosen before
		// the first table. Only here: on an existing database the pragma
		// takes the write lock, and every short-lived command would wait
		// for it behind a draining daemon.
		// The pragma holds for its connection only until VACUUM (instant
		// on an empty file) writes it into the database.
		if _, err := db.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL; VACUUM`); err != nil && !isBusy(err) {
			db.Close()
			return nil, fmt.Errorf("open queue %s: %w", path, err)
		}
	}
	if err := q.migrateRetrying(ctx, busy); err != nil {
		db.Close()
		return nil, fmt.Errorf("open queue %s: %w", path, err)
	}
	return q, nil
}

// checkReadable makes sure a read-only open sees a queue this program can
// read. A database only the Python CLI has written (no schema_migrations,
// just its `queue` table) is read as it is: a read-only command may not
// migrate it (CONTRACTS §1), and its rows are all still there for the next
// writer, which migrates it additively. Readers then see the Python columns
// only (no dead letters, cursors or repos yet).
func (q *Queue) checkReadable(ctx context.Context) error {
	tables, err := q.tableNames(ctx)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	latest := migrations[len(migrations)-1].version
	v := 0
	if tables["schema_migrations"] {
		if err := q.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
	}
	if v > latest {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): upgrade spec-kitty", v, latest)
	}
	// Version 2 added every table the readers use (3 only a lease column).
	if v < 2 {
		q.unmigrated = true
		q.noQueueTable = !tables["queue"]
	}
	q.noCounts = !tables["queue_counts"]
	q.noLeaseTable = !tables["queue_lease"]
	return nil
}

// tableNames lists the database's tables.
func (q *Queue) tableNames(ctx context.Context) (map[string]bool, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, rows.Err()
}

// Unmigrated reports a read-only queue this program has not migrated yet
// (written by the Python CLI alone): every event in it is kept and is
// uploaded by the next hosted command that writes the queue.
func (q *Queue) Unmigrated() bool { return q.unmigrated }

// migrateRetrying runs migrate until it stops meeting SQLITE_BUSY or busy
// passes. Processes opening a brand-new database together race for the
// switch to WAL, and SQLite answers that race with an immediate BUSY that
// its busy handler does not cover.
func (q *Queue) migrateRetrying(ctx context.Context, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	delay := 5 * time.Millisecond
	for {
		err := q.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay + time.Duration(rand.Int64N(int64(delay)))):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// IsDiskFull reports an error caused by a full disk (SQLITE_FULL, ENOSPC):
// nothing of the failed write was kept, and freeing space is the cure.
func IsDiskFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()&0xff == 13 // SQLITE_FULL
	}
	return strings.Contains(err.Error(), "SQLITE_FULL") || strings.Contains(err.Error(), "database or disk is full")
}

// DiskFullCause names the cause of a disk-full error in a user's words,
// without the step that hit it: "no space left on device (ENOSPC)" or
// "the database or disk is full (SQLITE_FULL)"; "" when err is not one.
func DiskFullCause(err error) string {
	switch {
	case !IsDiskFull(err):
		return ""
	case errors.Is(err, syscall.ENOSPC):
		return "no space left on device (ENOSPC)"
	}
	return "the database or disk is full (SQLITE_FULL)"
}

// isBusy reports SQLITE_BUSY (and its extended codes).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()&0xff == 5
	}
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}

// dsn builds a file: URI (so any byte of the path survives) with the
// connection settings every connection of the pool gets.
func dsn(abs string, busy time.Duration, readOnly bool) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: /C:/...
	}
	u := url.URL{Scheme: "file", Path: p}
	if readOnly {
		mode := "mode=ro"
		if _, err := os.Stat(abs + "-wal"); err != nil {
			// No writer has the database open (the last one checkpointed
			// and removed its WAL): read the file as it is, so SQLite
			// creates no -wal/-shm files for this reader. A writer that
			// starts meanwhile can at worst make this read fail, never
			// change what it wrote.
			mode = "immutable=1"
		}
		return u.String() + "?" + mode + "&_pragma=" + url.QueryEscape("busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")") +
			"&_pragma=" + url.QueryEscape("query_only(1)")
	}
	// journal_size_limit makes
	// SQLite cut the WAL back to 64 MiB whenever it starts it over; a
	// checkpoint every 16 MiB of WAL instead of 4 copies a page that a
	// drain rewrites again and again (the queue's index pages) less often.
	q := "_txlock=immediate" +
		"&_pragma=" + url.QueryEscape("busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")") +
		"&_pragma=" + url.QueryEscape("journal_mode(WAL)") +
		"&_pragma=" + url.QueryEscape("journal_size_limit("+strconv.Itoa(walLimit)+")") +
		"&_pragma=" + url.QueryEscape("wal_autocheckpoint("+strconv.Itoa(walCheckpointPages)+")") +
		"&_pragma=" + url.QueryEscape("synchronous(NORMAL)") +
		// A statement that writes many rows under a trigger (a settle's
		// DELETE, an import's INSERT) keeps a statement journal; on disk
		// (the default past 64 KiB) that is a write syscall a page.
		"&_pragma=" + url.QueryEscape("temp_store(MEMORY)")
	return u.String() + "?" + q
}

// Path is the database file.
func (q *Queue) Path() string { return q.path }

// MaxSize is the max_queue_size in force.
func (q *Queue) MaxSize() int { return q.maxSize }

// Close closes the database.
func (q *Queue) Close() error {
	if q.waiting != nil {
		q.waiting.Close()
	}
	q.wsem <- struct{}{}
	if q.wconn != nil {
		q.wconn.Close()
		q.wconn = nil
	}
	<-q.wsem
	q.closeStmts()
	if err := q.db.Close(); err != nil {
		return fmt.Errorf("close queue %s: %w", q.path, err)
	}
	return nil
}

// write runs fn in one IMMEDIATE transaction; what names the operation in
// errors.
func (q *Queue) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	return q.writeTx(ctx, what, false, fn)
}

// writeBulk is write for one step of a drain or a large import: it first
// gives way to writers of other processes waiting for the lock (yield).
func (q *Queue) writeBulk(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	return q.writeTx(ctx, what, true, fn)
}

func (q *Queue) writeTx(ctx context.Context, what string, bulk bool, fn func(tx *sql.Tx) error) (err error) {
	select {
	case q.wsem <- struct{}{}:
		defer func() { <-q.wsem }()
	case <-ctx.Done():
		return fmt.Errorf("%s: queue %s: %w", what, q.path, ctx.Err())
	}
	if bulk {
		q.yield(ctx)
	}
	conn, err := q.writer(ctx)
	if err != nil {
		return fmt.Errorf("%s: queue %s: %w", what, q.path, err)
	}
	defer q.keepWriter(&err)
	tx, waited, err := q.begin(ctx, conn, !bulk)
	if waited {
		// Until this transaction ends: bulk writers elsewhere hold back.
		defer q.waiting.Unlock()
	}
	if err != nil {
		return fmt.Errorf("%s: queue %s: %w", what, q.path, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		if errors.Is(err, ErrQueueFull) || errors.Is(err, ErrNotQueued) {
			return err
		}
		return fmt.Errorf("%s: queue %s: %w", what, q.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: queue %s: commit: %w", what, q.path, err)
	}
	return nil
}

// writer returns the write connection; the caller holds wsem.
func (q *Queue) writer(ctx context.Context) (*sql.Conn, error) {
	if q.wconn == nil {
		c, err := q.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		q.wconn = c
	}
	return q.wconn, nil
}

// keepWriter gives the write connection back to the pool after a write that
// failed with it broken, so the next write takes a fresh one; the caller
// holds wsem.
func (q *Queue) keepWriter(err *error) {
	if *err != nil && q.wconn != nil && (errors.Is(*err, driver.ErrBadConn) || errors.Is(*err, sql.ErrConnDone)) {
		q.wconn.Close()
		q.wconn = nil
	}
}

// Waits between two tries of a write lock another process holds.
const (
	beginRetryMin = 500 * time.Microsecond
	beginRetryMax = 2 * time.Millisecond
)

// begin starts an IMMEDIATE transaction on conn, retrying every
// millisecond or so while another process holds the write lock, for up to
// q.busy. SQLite's own busy handler sleeps 1, 2, 5, 10 … 100 ms between
// tries, so a short-lived writer (`status emit`) beside a draining daemon,
// whose transactions follow each other closely, mostly sleeps through the
// gaps: it waited seconds. The busy timeout is off only while this loop
// runs; statements inside the transaction hold the lock already.
//
// A writer that announce allows and that finds the lock taken says it waits
// (a shared lock on queue.db-wait, waited true; the caller releases it when
// its transaction ends), so a draining daemon's bulk steps hold back until it
// is through (yield): without that, a daemon whose steps follow each other
// back to back leaves a `status emit` only the rare gap between two of them.
func (q *Queue) begin(ctx context.Context, conn *sql.Conn, announce bool) (tx *sql.Tx, waited bool, err error) {
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return nil, false, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA busy_timeout = `+strconv.FormatInt(q.busy.Milliseconds(), 10))
	deadline := time.Now().Add(q.busy)
	for {
		tx, err := conn.BeginTx(ctx, nil)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return tx, waited, err
		}
		if announce && !waited && q.waiting != nil {
			waited, _ = q.waiting.TryRLock() // a hint: a failure only costs fairness
		}
		t := time.NewTimer(beginRetryMin + time.Duration(rand.Int64N(int64(beginRetryMax-beginRetryMin))))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, waited, ctx.Err()
		case <-t.C:
		}
	}
}

// How long a bulk write gives way to waiting writers at most (so a waiter
// that hangs cannot stall a drain), and how often it looks again.
const (
	yieldMax   = 100 * time.Millisecond
	yieldCheck = 250 * time.Microsecond
)

// yield waits, up to yieldMax, while a writer of another process waits for
// the write lock (holds queue.db-wait shared). It costs one lock attempt
// when nobody waits.
func (q *Queue) yield(ctx context.Context) {
	if q.waiting == nil {
		return
	}
	deadline := time.Now().Add(yieldMax)
	for {
		free, err := q.waiting.TryLock()
		if free {
			q.waiting.Unlock()
		}
		if free || err != nil || time.Now().After(deadline) {
			return
		}
		t := time.NewTimer(yieldCheck)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Time columns: queue.timestamp is Unix seconds, as the Python CLI writes it
// (its readers call datetime.fromtimestamp on it); every column this package
// added holds Unix milliseconds.

func unixMS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// fromQueuedAt reads queue.timestamp: seconds, or milliseconds when a writer
// used them (values past year 5138 as seconds).
func fromQueuedAt(v int64) time.Time {
	if v >= msThreshold {
		return time.UnixMilli(v).UTC()
	}
	return time.Unix(v, 0).UTC()
}

const msThreshold = 100_000_000_000
