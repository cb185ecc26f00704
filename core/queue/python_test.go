package queue

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The Python CLI's queue layouts: before and after it gained coalesce_key.
const (
	pythonOldLayout = `CREATE TABLE IF NOT EXISTS queue (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT UNIQUE NOT NULL,
                    event_type TEXT NOT NULL,
                    data TEXT NOT NULL,
                    timestamp INTEGER NOT NULL,
                    retry_count INTEGER DEFAULT 0
                );
CREATE INDEX IF NOT EXISTS idx_timestamp ON queue(timestamp);
CREATE INDEX IF NOT EXISTS idx_retry ON queue(retry_count);`
	pythonNewLayout = `CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL, timestamp INTEGER NOT NULL, retry_count INTEGER DEFAULT 0, coalesce_key TEXT);`
)

// pythonRow is what OfflineQueue.queue_event writes: json.dumps of the
// envelope (", " and ": " separators, ASCII only) and int(time()) seconds.
type pythonRow struct {
	id, typ, data string
	ts            int64
	retries       int
}

func pythonRows(now time.Time) []pythonRow {
	var rows []pythonRow
	for i := range 5 {
		id := fmt.Sprintf("01PY%022d", i)
		data := fmt.Sprintf(`{"event_id": %q, "event_type": "WPStatusChanged", "aggregate_id": "m/WP0%d", "payload": {"wp_id": "WP0%d", "reason": "caf\u00e9"}, "lamport_clock": %d, "timestamp": "2026-06-30T20:18:52.828090+00:00"}`, id, i, i, i+1)
		rows = append(rows, pythonRow{id, "WPStatusChanged", data, now.Add(-time.Duration(5-i) * time.Minute).Unix(), i % 2})
	}
	return rows
}

func pythonSQL(layout string, rows []pythonRow) string {
	var b strings.Builder
	b.WriteString(layout + "\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "INSERT OR REPLACE INTO queue (event_id, event_type, data, timestamp, retry_count) VALUES ('%s', '%s', '%s', %d, %d);\n",
			r.id, r.typ, strings.ReplaceAll(r.data, "'", "''"), r.ts, r.retries)
	}
	return b.String()
}

// sqlite3CLI returns the sqlite3 binary; the test fails under CI without it.
func sqlite3CLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sqlite3 CLI not found (apt-get install sqlite3)")
		}
		t.Skip("sqlite3 CLI not found")
	}
	return p
}

func runCLI(t *testing.T, cli, db, script string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), cli, "-batch", "-cmd", ".timeout 10000", db)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s: %v\n%s", db, err, out)
	}
	return string(out)
}

func TestPythonLayout(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	creators := []struct {
		name   string
		create func(t *testing.T, path, script string)
	}{
		{"sqlite3 CLI", func(t *testing.T, path, script string) {
			runCLI(t, sqlite3CLI(t), path, script)
		}},
		{"raw SQL", func(t *testing.T, path, script string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for stmt := range strings.SplitSeq(script, ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := db.Exec(stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
		}},
	}
	layouts := []struct{ name, sql string }{{"old layout", pythonOldLayout}, {"coalesce_key layout", pythonNewLayout}}
	for _, cr := range creators {
		for _, lay := range layouts {
			t.Run(cr.name+"/"+lay.name, func(t *testing.T) {
				ctx := t.Context()
				path := filepath.Join(t.TempDir(), "queue.db")
				rows := pythonRows(now)
				cr.create(t, path, pythonSQL(lay.sql, rows))

				q, err := Open(ctx, path, Options{Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				defer q.Close()
				st, err := q.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if st.Depth != 5 || st.Retried != 2 || st.OldestAge != 5*time.Minute {
					t.Errorf("stats of the Python queue = %+v", st)
				}
				indexes := column(t, q.db, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'queue' AND name LIKE 'idx_%' ORDER BY name`)
				if diff := cmp.Diff([]string{"idx_queue_last_attempt", "idx_queue_next_attempt", "idx_retry", "idx_timestamp"}, indexes); diff != "" {
					t.Errorf("indexes (-want +got):\n%s", diff)
				}

				// We queue one; the Python CLI (played by raw SQL on another
				// connection) queues one more and reads ours back.
				if _, err := q.Enqueue(ctx, item("01GO")); err != nil {
					t.Fatal(err)
				}
				more := pythonRow{"01PYLATE", "MissionCreated", `{"event_id": "01PYLATE", "event_type": "MissionCreated", "payload": {}}`, now.Unix(), 0}
				other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				if _, err := other.Exec(`INSERT OR REPLACE INTO queue (event_id, event_type, data, timestamp) VALUES (?, ?, ?, ?)`, more.id, more.typ, more.data, more.ts); err != nil {
					t.Fatal(err)
				}
				pyView := column(t, other, `SELECT event_id || ' ' || data FROM queue ORDER BY timestamp ASC, id ASC`)
				if !slices.Contains(pyView, "01GO "+string(envelope("01GO"))) {
					t.Errorf("the Python drain query does not see our event: %q", pyView)
				}

				// Drain everything, two at a time, as the uploader would.
				want := map[string]string{"01GO": string(envelope("01GO")), more.id: more.data}
				for _, r := range rows {
					want[r.id] = r.data
				}
				got := map[string]string{}
				for {
					batch, err := q.Lease(ctx, now, 2, 0, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if len(batch) == 0 {
						break
					}
					var acks []string
					for _, l := range batch {
						got[l.EventID] = string(l.Data)
						acks = append(acks, l.EventID)
					}
					if s, err := q.Settle(ctx, Results{Ack: acks}); err != nil || s.Acked != len(acks) {
						t.Fatalf("Settle = %+v, %v", s, err)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("drained (-want +got):\n%s", diff)
				}
				if ids := queuedIDs(t, q); len(ids) != 0 {
					t.Errorf("left in the queue: %v", ids)
				}
			})
		}
	}
}

// TestPythonReadsOurQueue: a database this package created is one the
// Python CLI can open (its CREATE ... IF NOT EXISTS statements are no-ops)
// and drain with its own queries.
func TestPythonReadsOurQueue(t *testing.T) {
	cli := sqlite3CLI(t)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, items("e", 3)...); err != nil {
		t.Fatal(err)
	}
	if err := q.Retry(ctx, "e00001", time.Now().Add(time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	q.Close()
	out := runCLI(t, cli, path, pythonOldLayout+`
SELECT event_id, data FROM queue ORDER BY timestamp ASC, id ASC LIMIT 1000;
SELECT COUNT(*) FROM queue WHERE retry_count > 0;
DELETE FROM queue WHERE event_id IN ('e00000');
PRAGMA integrity_check;`)
	want := fmt.Sprintf("e00000|%s\ne00001|%s\ne00002|%s\n1\nok\n", envelope("e00000"), envelope("e00001"), envelope("e00002"))
	if out != want {
		t.Errorf("sqlite3 output:\n%s\nwant:\n%s", out, want)
	}
	q, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if diff := cmp.Diff([]string{"e00001", "e00002"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("queue after the Python drain (-want +got):\n%s", diff)
	}
}
