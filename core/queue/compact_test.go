package queue

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bulky is n items of about 2 KB each.
func bulky(prefix string, n int) []Item {
	out := items(prefix, n)
	pad := strings.Repeat("x", 2000)
	for i := range out {
		out[i].Data = []byte(`{"event_id":"` + out[i].EventID + `","pad":"` + pad + `"}`)
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// drainAll leases and acks everything queued.
func drainAll(t *testing.T, q *Queue) {
	t.Helper()
	for {
		l, err := q.Lease(t.Context(), time.Now(), 1000, 0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) == 0 {
			return
		}
		ids := make([]string, len(l))
		for i, e := range l {
			ids[i] = e.EventID
		}
		if _, err := q.Settle(t.Context(), Results{Ack: ids}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCompactGivesSpaceBack: after a backlog drained, one Compact brings
// queue.db back near its empty size and empties the WAL, for a new database
// (incremental auto-vacuum) and for one created without it (rebuilt once).
func TestCompactGivesSpaceBack(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := map[bool]string{false: "incremental", true: "created without auto_vacuum"}[legacy]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "queue.db")
			if legacy {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(pythonQueueTable); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			q, err := Open(t.Context(), path, Options{MaxSize: 100_000})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			for i := range 5 {
				if _, err := q.Enqueue(t.Context(), bulky(string(rune('a'+i)), 2000)...); err != nil {
					t.Fatal(err)
				}
			}
			drainAll(t, q)
			if _, err := q.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				t.Fatal(err)
			}
			before := fileSize(t, path)
			c, err := q.Compact(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			after := fileSize(t, path)
			if after > 1<<20 || before < 10<<20 {
				t.Errorf("queue.db %d bytes before Compact, %d after (%+v); want > 10 MB then < 1 MB", before, after, c)
			}
			if c.Vacuumed != legacy {
				t.Errorf("vacuumed = %v, want %v", c.Vacuumed, legacy)
			}
			if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() != 0 {
				t.Errorf("WAL is %d bytes after Compact, want 0", wal.Size())
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			// Still a working queue.
			if _, err := q.Enqueue(t.Context(), items("z", 3)...); err != nil {
				t.Fatal(err)
			}
			if st, err := q.Stats(t.Context()); err != nil || st.Depth != 3 {
				t.Errorf("stats after Compact = %+v, %v; want depth 3", st, err)
			}
		})
	}
}

// TestCountsFollowEveryWriter: the queue_counts figures Stats reads stay
// equal to the rows, whoever writes them (our inserts and duplicates, the
// Python CLI's INSERT OR REPLACE, acks, dead letters and requeues).
func TestCountsFollowEveryWriter(t *testing.T) {
	ctx := t.Context()
	q := openTest(t, Options{MaxSize: 1000})
	check := func(step string) {
		t.Helper()
		var queued, dead int
		if err := q.db.QueryRow(`SELECT (SELECT COUNT(*) FROM queue), (SELECT COUNT(*) FROM dead_letter)`).Scan(&queued, &dead); err != nil {
			t.Fatal(err)
		}
		st, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Depth != queued || st.DeadLetters != dead {
			t.Errorf("%s: stats say %d queued, %d dead; the tables hold %d, %d", step, st.Depth, st.DeadLetters, queued, dead)
		}
	}
	if _, err := q.Enqueue(ctx, items("a", 100)...); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, items("a", 150)...); err != nil { // 100 known
		t.Fatal(err)
	}
	check("enqueue")
	if _, err := q.db.Exec(`INSERT OR REPLACE INTO queue (event_id, event_type, data, timestamp) VALUES ('a00001', 'T', '{}', 1), ('py1', 'T', '{}', 1)`); err != nil {
		t.Fatal(err)
	}
	check("python insert or replace")
	if err := q.DeadLetter(ctx, "a00002", "bad"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, items("a", 3)...); err != nil { // a00002 is dead: skipped
		t.Fatal(err)
	}
	check("dead letter")
	if err := q.Ack(ctx, "a00003", "a00004", "gone"); err != nil {
		t.Fatal(err)
	}
	check("ack")
	if _, err := q.Requeue(ctx); err != nil {
		t.Fatal(err)
	}
	check("requeue")
}

// TestImportBatchComparesCursors: an importer whose cursor another importer
// moved meanwhile writes nothing, so lines are never queued twice.
func TestImportBatchComparesCursors(t *testing.T) {
	ctx := t.Context()
	q := openTest(t, Options{})
	first := Cursor{Repo: "/r", Path: "/r/a.jsonl", Offset: 100, Fingerprint: "f100"}
	if _, err := q.ImportBatch(ctx, []CursorMove{{Next: first}}, items("a", 2)); err != nil {
		t.Fatal(err)
	}
	// A second importer that read the file before the first one wrote.
	stale := CursorMove{Prev: Cursor{}, Next: Cursor{Repo: "/r", Path: "/r/a.jsonl", Offset: 200, Fingerprint: "f200"}}
	if _, err := q.ImportBatch(ctx, []CursorMove{stale}, items("b", 2)); !errors.Is(err, ErrCursorMoved) {
		t.Fatalf("stale import: err = %v, want ErrCursorMoved", err)
	}
	if got := queuedIDs(t, q); len(got) != 2 {
		t.Errorf("queued %v after a refused import, want the first two only", got)
	}
	next := CursorMove{Prev: first, Next: Cursor{Repo: "/r", Path: "/r/a.jsonl", Offset: 200, Fingerprint: "f200"}}
	if n, err := q.ImportBatch(ctx, []CursorMove{next}, items("b", 2)); err != nil || n != 2 {
		t.Fatalf("import from the current cursor = %d, %v", n, err)
	}
	c, _, err := q.Cursor(ctx, "/r", "/r/a.jsonl")
	if err != nil || c.Offset != 200 {
		t.Errorf("cursor = %+v, %v; want offset 200", c, err)
	}
}

// TestIsDiskFull recognises SQLite's own "database or disk is full" (here
// from a page limit) and ENOSPC, and nothing else.
func TestIsDiskFull(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "full.db")+"?_pragma=max_page_count(8)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE t (v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
		INSERT INTO t SELECT printf('%0500d', i) FROM n`)
	if !IsDiskFull(err) {
		t.Errorf("IsDiskFull(%v) = false, want true", err)
	}
	if !IsDiskFull(fmt.Errorf("write: %w", syscall.ENOSPC)) {
		t.Error("IsDiskFull(ENOSPC) = false")
	}
	if IsDiskFull(ErrQueueFull) || IsDiskFull(nil) {
		t.Error("IsDiskFull of a full queue or nil = true")
	}
}
