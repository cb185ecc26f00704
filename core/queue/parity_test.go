package queue

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pythonInitDB is what the Python CLI's OfflineQueue._init_db runs on a new
// database (src/specify_cli/sync/queue.py: the queue table and its three
// indexes, then ensure_body_queue_schema's _BODY_QUEUE_SCHEMA), statement
// for statement.
var pythonInitDB = []string{
	`CREATE TABLE IF NOT EXISTS queue (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT UNIQUE NOT NULL,
                    event_type TEXT NOT NULL,
                    data TEXT NOT NULL,
                    timestamp INTEGER NOT NULL,
                    retry_count INTEGER DEFAULT 0,
                    coalesce_key TEXT
                )`,
	`CREATE INDEX IF NOT EXISTS idx_timestamp ON queue(timestamp)`,
	`CREATE INDEX IF NOT EXISTS idx_retry ON queue(retry_count)`,
	`CREATE INDEX IF NOT EXISTS idx_coalesce_key ON queue(coalesce_key)`,
	`CREATE TABLE IF NOT EXISTS body_upload_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_uuid TEXT NOT NULL,
    mission_slug TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    mission_type TEXT NOT NULL,
    manifest_version TEXT NOT NULL,
    artifact_path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    hash_algorithm TEXT NOT NULL DEFAULT 'sha256',
    content_body TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    retry_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0.0,
    created_at REAL NOT NULL,
    last_error TEXT,
    UNIQUE(project_uuid, mission_slug, target_branch, mission_type, manifest_version, artifact_path, content_hash)
)`,
	`CREATE INDEX IF NOT EXISTS idx_body_queue_next_attempt ON body_upload_queue(next_attempt_at)`,
	`CREATE INDEX IF NOT EXISTS idx_body_queue_namespace ON body_upload_queue(project_uuid, mission_slug, target_branch)`,
	`CREATE TABLE IF NOT EXISTS body_upload_failure_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_uuid TEXT NOT NULL,
    mission_slug TEXT NOT NULL,
    target_branch TEXT NOT NULL,
    mission_type TEXT NOT NULL,
    manifest_version TEXT NOT NULL,
    artifact_path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    hash_algorithm TEXT NOT NULL DEFAULT 'sha256',
    size_bytes INTEGER NOT NULL,
    failure_reason TEXT NOT NULL,
    failure_count INTEGER NOT NULL DEFAULT 1,
    first_failed_at REAL NOT NULL,
    last_failed_at REAL NOT NULL,
    UNIQUE(project_uuid, mission_slug, target_branch, mission_type, manifest_version, artifact_path, content_hash, failure_reason)
)`,
	`CREATE INDEX IF NOT EXISTS idx_body_failure_last_failed_at ON body_upload_failure_log(last_failed_at DESC)`,
}

// pythonQueueDB creates path as the Python CLI would and runs more
// statements on it (its queue_event / _try_coalesce writes), through a
// plain connection in the default rollback-journal mode, as Python's
// sqlite3 module leaves it.
func pythonQueueDB(t *testing.T, path string, more ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append(append([]string(nil), pythonInitDB...), more...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// pyInsert is queue_event's INSERT of one envelope queued at ts (seconds).
func pyInsert(id string, ts int64, coalesceKey string) string {
	key := "NULL"
	if coalesceKey != "" {
		key = "'" + coalesceKey + "'"
	}
	return fmt.Sprintf(`INSERT OR REPLACE INTO queue (event_id, event_type, data, timestamp, coalesce_key) VALUES ('%s', 'MissionDossierSnapshotComputed', '{"event_id": "%s", "event_type": "MissionDossierSnapshotComputed", "payload": {"mission_slug": "m"}}', %d, %s)`,
		id, id, ts, key)
}

// pyCoalesce is _try_coalesce's in-place UPDATE: new event_id, data and
// timestamp, same row id.
func pyCoalesce(oldID, newID string, ts int64) string {
	return fmt.Sprintf(`UPDATE queue SET event_id = '%s', data = '{"event_id": "%s", "event_type": "MissionDossierSnapshotComputed", "payload": {"mission_slug": "m"}}', timestamp = %d WHERE id = (SELECT id FROM queue WHERE event_id = '%s')`,
		newID, newID, ts, oldID)
}

// TestReadOnlyPythonQueue (issue 16 item 1): a read-only open of a queue
// only the Python CLI has written (no schema_migrations) reads its events
// without migrating or creating anything; a writer then migrates it and
// drains every event.
func TestReadOnlyPythonQueue(t *testing.T) {
	ctx := t.Context()
	now := time.Unix(1_780_000_000, 0).UTC()
	dir := t.TempDir()
	path := filepath.Join(dir, "queue.db")
	pythonQueueDB(t, path,
		pyInsert("01PYA", now.Add(-3*time.Minute).Unix(), ""),
		pyInsert("01PYB", now.Add(-2*time.Minute).Unix(), ""),
		pyInsert("01PYC", now.Add(-time.Minute).Unix(), "MissionDossierSnapshotComputed|p|m"),
		`UPDATE queue SET retry_count = 2 WHERE event_id = '01PYB'`,
	)
	sum := func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%x", b)
	}
	before, beforeSum := dirNames(t, dir), sum()

	r, err := Open(ctx, path, Options{ReadOnly: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("read-only open of a Python queue: %v", err)
	}
	if !r.Unmigrated() {
		t.Error("Unmigrated() = false for a Python-only queue")
	}
	st, err := r.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Depth: 3, Retried: 1, OldestAge: 3 * time.Minute, MaxSize: DefaultMaxSize, Unmigrated: true}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if dead, err := r.DeadLetters(ctx, 0); err != nil || len(dead) != 0 {
		t.Errorf("DeadLetters = %v, %v; want none", dead, err)
	}
	if repos, err := r.Repos(ctx); err != nil || len(repos) != 0 {
		t.Errorf("Repos = %v, %v; want none", repos, err)
	}
	if cs, err := r.Cursors(ctx, ""); err != nil || len(cs) != 0 {
		t.Errorf("Cursors = %v, %v; want none", cs, err)
	}
	r.Close()
	if after := dirNames(t, dir); !cmp.Equal(before, after) || sum() != beforeSum {
		t.Errorf("the read-only open changed the state home: files %v -> %v", before, after)
	}

	// A writer migrates it in place and drains all three.
	q, err := Open(ctx, path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l, err := q.Lease(ctx, now, 10, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range l {
		got = append(got, x.EventID)
	}
	if diff := cmp.Diff([]string{"01PYA", "01PYB", "01PYC"}, got); diff != "" {
		t.Errorf("leased after migration (-want +got):\n%s", diff)
	}
	if r2, err := Open(ctx, path, Options{ReadOnly: true}); err != nil || r2.Unmigrated() {
		t.Errorf("read-only open after migration: unmigrated=%v, err %v", r2 != nil && r2.Unmigrated(), err)
	} else {
		r2.Close()
	}
}

// TestReadOnlyEmptyPythonDB: a database file with no queue table at all
// reads as an empty unmigrated queue.
func TestReadOnlyEmptyPythonDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE other (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r, err := Open(t.Context(), path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if st, err := r.Stats(t.Context()); err != nil || st.Depth != 0 || !st.Unmigrated {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

// TestLeaseOrderPythonCoalesced (issue 16 item 6): rows go out in the
// Python CLI's drain order, ORDER BY timestamp, id (queue.py drain_queue):
// insertion order, except that a row Python coalesced moves to where its
// last merge (new timestamp, same id) put it.
func TestLeaseOrderPythonCoalesced(t *testing.T) {
	ctx := t.Context()
	now := time.Unix(1_780_000_000, 0).UTC()
	path := filepath.Join(t.TempDir(), "queue.db")
	key := "MissionDossierSnapshotComputed|p|m"
	pythonQueueDB(t, path,
		pyInsert("01A", now.Add(-50*time.Second).Unix(), key),
		pyInsert("01B", now.Add(-40*time.Second).Unix(), ""),
		pyInsert("01C", now.Add(-30*time.Second).Unix(), ""),
		// A new snapshot for the same key merges into 01A's row.
		pyCoalesce("01A", "01A2", now.Add(-20*time.Second).Unix()),
	)
	// The Python drain query's own answer, for reference.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	pyOrder := column(t, db, `SELECT event_id FROM queue ORDER BY timestamp ASC, id ASC`)
	db.Close()

	q, err := Open(ctx, path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	// Ours, enqueued after: insertion order among themselves, after Python's.
	if _, err := q.Enqueue(ctx, item("01X"), item("01Y")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		l, err := q.Lease(ctx, now, 2, 0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 0 {
			break
		}
		var ids []string
		for _, x := range l {
			got = append(got, x.EventID)
			ids = append(ids, x.EventID)
		}
		if _, err := q.Settle(ctx, Results{Ack: ids}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"01B", "01C", "01A2", "01X", "01Y"}
	if diff := cmp.Diff(want[:3], pyOrder); diff != "" {
		t.Fatalf("the Python drain order itself (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upload order (-want +got):\n%s", diff)
	}
}

func dirNames(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names(es), ",")
}
