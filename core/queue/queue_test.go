package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openTest(t *testing.T, opts Options) *Queue {
	t.Helper()
	q, err := Open(t.Context(), filepath.Join(t.TempDir(), "queue.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func envelope(id string) []byte {
	return fmt.Appendf(nil, `{"event_id":%q,"event_type":"WPStatusChanged","payload":{"wp_id":"WP01"}}`, id)
}

func item(id string) Item {
	return Item{EventID: id, EventType: "WPStatusChanged", Data: envelope(id)}
}

func items(prefix string, n int) []Item {
	out := make([]Item, n)
	for i := range out {
		out[i] = item(fmt.Sprintf("%s%05d", prefix, i))
	}
	return out
}

// queuedIDs lists the event ids in the queue table in id order.
func queuedIDs(t *testing.T, q *Queue) []string {
	t.Helper()
	return column(t, q.db, `SELECT event_id FROM queue ORDER BY id`)
}

func column(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func leasedIDs(ls []Leased) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.EventID)
	}
	return out
}

func TestOpen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "odd dir ?#%", "queue.db")

	if _, err := Open(ctx, path, Options{MustExist: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("MustExist on a missing db: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := Open(ctx, path, Options{}); err == nil {
		t.Fatal("Open created a missing directory without CreateDir")
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("directory exists after failed opens: %v", err)
	}
	q, err := Open(ctx, path, Options{CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, item("a")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %v, want 0600", filepath.Base(f), perm)
		}
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("created dir mode = %v, want 0700", fi.Mode().Perm())
	}

	// Every pooled connection carries the settings.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = q.db.Conn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		var mode string
		var busy, sync int
		if err := c.QueryRowContext(ctx, `SELECT * FROM pragma_journal_mode, pragma_busy_timeout, pragma_synchronous`).Scan(&mode, &busy, &sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || busy < 5000 || sync != 1 {
			t.Errorf("conn %d: journal_mode=%s busy_timeout=%d synchronous=%d, want wal, >=5000, 1 (NORMAL)", i, mode, busy, sync)
		}
		c.Close()
	}

	type col struct {
		Name, Type string
		NotNull    bool
		Default    string
		PK         bool
	}
	rows, err := q.db.QueryContext(ctx, `SELECT name, type, "notnull", COALESCE(dflt_value, ''), pk FROM pragma_table_info('queue') ORDER BY cid`)
	if err != nil {
		t.Fatal(err)
	}
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.Default, &c.PK); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	want := []col{
		{"id", "INTEGER", false, "", true},
		{"event_id", "TEXT", true, "", false},
		{"event_type", "TEXT", true, "", false},
		{"data", "TEXT", true, "", false},
		{"timestamp", "INTEGER", true, "", false},
		{"retry_count", "INTEGER", false, "0", false},
		{"coalesce_key", "TEXT", false, "", false},
		{"next_attempt_at", "INTEGER", false, "", false},
		{"last_error", "TEXT", false, "", false},
		{"last_attempt_at", "INTEGER", false, "", false},
		{"leased_until", "INTEGER", false, "", false},
		{"leased_by", "INTEGER", false, "", false},
	}
	if diff := cmp.Diff(want, cols); diff != "" {
		t.Errorf("queue columns (-want +got):\n%s", diff)
	}
	sqlText := column(t, q.db, `SELECT sql FROM sqlite_master WHERE name = 'queue'`)
	if len(sqlText) != 1 || !strings.HasPrefix(sqlText[0], strings.Replace(pythonQueueTable[:len(pythonQueueTable)-1], "IF NOT EXISTS ", "", 1)) {
		t.Errorf("queue table sql = %q, want it to start with the Python layout", sqlText)
	}
	if got := column(t, q.db, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`); len(got) != len(migrations) {
		t.Errorf("schema_migrations = %q", got)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening applies nothing twice and keeps the data.
	q, err = Open(ctx, path, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if diff := cmp.Diff([]string{"a"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
	if got := column(t, q.db, `SELECT COUNT(*) FROM schema_migrations`); got[0] != fmt.Sprint(len(migrations)) {
		t.Errorf("schema_migrations rows = %s after reopen", got[0])
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.db.Exec(`INSERT INTO schema_migrations VALUES (99, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if _, err := Open(t.Context(), path, Options{}); err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") {
		t.Fatalf("err = %v, want a clear refusal of a newer schema", err)
	}
}

func TestEnqueue(t *testing.T) {
	bad := item("bad")
	bad.Data = []byte(`{"event_id":`)
	tests := []struct {
		name      string
		before    []Item // enqueued first
		dead      []string
		add       []Item
		wantAdded int
		wantErr   string
		wantIDs   []string
	}{
		{name: "new items", add: items("e", 3), wantAdded: 3, wantIDs: []string{"e00000", "e00001", "e00002"}},
		{name: "nothing", add: nil, wantAdded: 0},
		{name: "known ids are skipped", before: items("e", 2), add: items("e", 3), wantAdded: 1, wantIDs: []string{"e00000", "e00001", "e00002"}},
		{name: "duplicate in one batch", add: []Item{item("x"), item("x")}, wantAdded: 1, wantIDs: []string{"x"}},
		{name: "dead-lettered ids are skipped", before: []Item{item("d"), item("k")}, dead: []string{"d"}, add: []Item{item("d"), item("n")}, wantAdded: 1, wantIDs: []string{"k", "n"}},
		{name: "empty id refuses the batch", add: []Item{item("ok"), {EventType: "T", Data: []byte(`{}`)}}, wantErr: "item 1: empty event_id"},
		{name: "empty type refuses the batch", add: []Item{item("ok"), {EventID: "z", Data: []byte(`{}`)}}, wantErr: "item 1 (z): empty event_type"},
		{name: "invalid data refuses the batch", add: []Item{item("ok"), bad}, wantErr: "item 1 (bad): data is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			q := openTest(t, Options{})
			if _, err := q.Enqueue(ctx, tt.before...); err != nil {
				t.Fatal(err)
			}
			for _, id := range tt.dead {
				if err := q.DeadLetter(ctx, id, "rejected"); err != nil {
					t.Fatal(err)
				}
			}
			added, err := q.Enqueue(ctx, tt.add...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if added != 0 || len(queuedIDs(t, q)) != len(tt.before) {
					t.Fatalf("a refused batch added %d, queue %v", added, queuedIDs(t, q))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if added != tt.wantAdded {
				t.Errorf("added = %d, want %d", added, tt.wantAdded)
			}
			if diff := cmp.Diff(tt.wantIDs, queuedIDs(t, q)); diff != "" {
				t.Errorf("queue (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnqueueStoresItem(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	q := openTest(t, Options{Now: clk.Now})
	it := item("a")
	it.CoalesceKey = "k1"
	explicit := item("b")
	explicit.QueuedAt = time.Unix(1700000000, 900e6)
	if _, err := q.Enqueue(ctx, it, explicit); err != nil {
		t.Fatal(err)
	}
	got := column(t, q.db, `SELECT event_id || '|' || event_type || '|' || data || '|' || timestamp || '|' || retry_count || '|' || COALESCE(coalesce_key, 'NULL') FROM queue ORDER BY id`)
	want := []string{
		"a|WPStatusChanged|" + string(envelope("a")) + fmt.Sprintf("|%d|0|k1", clk.Now().Unix()),
		"b|WPStatusChanged|" + string(envelope("b")) + "|1700000000|0|NULL",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestEnqueueMaxSize(t *testing.T) {
	ctx := t.Context()
	q := openTest(t, Options{MaxSize: 5})
	steps := []struct {
		name      string
		add       []Item
		wantAdded int
		wantFull  bool
		wantDepth int
	}{
		{"fill to 3", items("a", 3), 3, false, 3},
		{"3 more is too many", items("b", 3), 0, true, 3},
		{"2 more fit exactly", items("b", 2), 2, false, 5},
		{"known ids are not refused when full", items("a", 3), 0, false, 5},
		{"one more is refused", []Item{item("c")}, 0, true, 5},
	}
	for _, s := range steps {
		added, err := q.Enqueue(ctx, s.add...)
		if s.wantFull {
			if !errors.Is(err, ErrQueueFull) {
				t.Fatalf("%s: err = %v, want ErrQueueFull", s.name, err)
			}
			for _, want := range []string{"max_queue_size 5", "spec-kitty sync run"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not name %q", s.name, err, want)
				}
			}
		} else if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if added != s.wantAdded {
			t.Errorf("%s: added = %d, want %d", s.name, added, s.wantAdded)
		}
		st, err := q.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Depth != s.wantDepth {
			t.Errorf("%s: depth = %d, want %d", s.name, st.Depth, s.wantDepth)
		}
	}
	// A full queue stores no cursor either.
	c := Cursor{Repo: "/r", Path: "f", Offset: 10}
	if _, err := q.Import(ctx, c, item("d")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Import on a full queue: err = %v", err)
	}
	if _, ok, _ := q.Cursor(ctx, "/r", "f"); ok {
		t.Error("cursor stored although its events were refused")
	}
	if got := q.MaxSize(); got != 5 {
		t.Errorf("MaxSize() = %d", got)
	}
	if got := openTest(t, Options{}).MaxSize(); got != DefaultMaxSize {
		t.Errorf("default MaxSize() = %d, want %d", got, DefaultMaxSize)
	}
}

func TestLease(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	size := len(envelope("e00000"))
	tests := []struct {
		name     string
		setup    func(t *testing.T, q *Queue) // after e00000..e00004 are queued
		at       time.Time
		max      int
		maxBytes int
		want     []string
	}{
		{name: "oldest first up to max", max: 3, want: []string{"e00000", "e00001", "e00002"}},
		{name: "zero max", max: 0, want: nil},
		{name: "byte limit", max: 10, maxBytes: 2*size + 1, want: []string{"e00000", "e00001"}},
		{name: "first item even when over the byte limit", max: 10, maxBytes: 1, want: []string{"e00000"}},
		{
			name: "leased items are skipped until the lease ends",
			setup: func(t *testing.T, q *Queue) {
				if _, err := q.Lease(ctx, now, 2, 0, time.Minute); err != nil {
					t.Fatal(err)
				}
			},
			max:  10,
			want: []string{"e00002", "e00003", "e00004"},
		},
		{
			name: "an expired lease frees the items",
			setup: func(t *testing.T, q *Queue) {
				if _, err := q.Lease(ctx, now.Add(-2*time.Minute), 2, 0, time.Minute); err != nil {
					t.Fatal(err)
				}
			},
			max:  10,
			want: []string{"e00000", "e00001", "e00002", "e00003", "e00004"},
		},
		{
			name: "released items come back",
			setup: func(t *testing.T, q *Queue) {
				if _, err := q.Lease(ctx, now, 2, 0, time.Hour); err != nil {
					t.Fatal(err)
				}
				if err := q.Release(ctx, "e00001"); err != nil {
					t.Fatal(err)
				}
			},
			max:  10,
			want: []string{"e00001", "e00002", "e00003", "e00004"},
		},
		{
			name: "items waiting for a retry are not due",
			setup: func(t *testing.T, q *Queue) {
				if err := q.Retry(ctx, "e00000", now.Add(time.Second), "boom"); err != nil {
					t.Fatal(err)
				}
				if err := q.Retry(ctx, "e00001", now, "due again"); err != nil {
					t.Fatal(err)
				}
			},
			max:  10,
			want: []string{"e00001", "e00002", "e00003", "e00004"},
		},
		{
			name: "a retry becomes due",
			setup: func(t *testing.T, q *Queue) {
				if err := q.Retry(ctx, "e00000", now.Add(time.Second), "boom"); err != nil {
					t.Fatal(err)
				}
			},
			at:   now.Add(time.Second),
			max:  1,
			want: []string{"e00000"},
		},
		{
			name: "rows that are not JSON go to the dead letters",
			setup: func(t *testing.T, q *Queue) {
				if _, err := q.db.Exec(`UPDATE queue SET data = '{oops' WHERE event_id = 'e00001'`); err != nil {
					t.Fatal(err)
				}
			},
			max:  3,
			want: []string{"e00000", "e00002"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := openTest(t, Options{})
			if _, err := q.Enqueue(ctx, items("e", 5)...); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, q)
			}
			at := tt.at
			if at.IsZero() {
				at = now
			}
			got, err := q.Lease(ctx, at, tt.max, tt.maxBytes, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, leasedIDs(got)); diff != "" {
				t.Errorf("leased (-want +got):\n%s", diff)
			}
			for _, l := range got {
				if !l.LeasedUntil.Equal(at.Add(30*time.Second)) || string(l.Data) != string(envelope(l.EventID)) || l.EventType != "WPStatusChanged" {
					t.Errorf("leased item %+v", l)
				}
			}
			// What was leased is not leased again before the lease ends.
			again, err := q.Lease(ctx, at.Add(29*time.Second), 100, 0, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range leasedIDs(again) {
				for _, l := range got {
					if l.EventID == id {
						t.Errorf("%s leased twice", id)
					}
				}
			}
		})
	}
	t.Run("invalid JSON row is dead-lettered with a reason", func(t *testing.T) {
		q := openTest(t, Options{})
		if _, err := q.Enqueue(ctx, items("e", 2)...); err != nil {
			t.Fatal(err)
		}
		if _, err := q.db.Exec(`UPDATE queue SET data = '{oops' WHERE event_id = 'e00000'`); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Lease(ctx, now, 10, 0, time.Second); err != nil {
			t.Fatal(err)
		}
		dead, err := q.DeadLetters(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 || dead[0].EventID != "e00000" || dead[0].Reason != "data is not valid JSON" || string(dead[0].Data) != "{oops" {
			t.Errorf("dead letters = %+v", dead)
		}
	})
	t.Run("non-positive lease is refused", func(t *testing.T) {
		q := openTest(t, Options{})
		if _, err := q.Lease(ctx, now, 1, 0, 0); err == nil {
			t.Fatal("lease of 0 accepted")
		}
	})
}

func TestAckRetryDeadLetter(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	q := openTest(t, Options{Now: clk.Now})
	if _, err := q.Enqueue(ctx, items("e", 4)...); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Lease(ctx, clk.Now(), 4, 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(ctx, "e00000", "unknown"); err != nil {
		t.Fatal(err)
	}
	next := clk.Now().Add(10 * time.Second)
	if err := q.Retry(ctx, "e00001", next, "503 from host"); err != nil {
		t.Fatal(err)
	}
	if err := q.Retry(ctx, "e00001", next, "503 again"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if err := q.DeadLetter(ctx, "e00002", "rejected: missing field payload"); err != nil {
		t.Fatal(err)
	}
	if err := q.Retry(ctx, "e00000", next, "x"); !errors.Is(err, ErrNotQueued) {
		t.Errorf("Retry of an acked event: err = %v, want ErrNotQueued", err)
	}
	if err := q.DeadLetter(ctx, "e00000", "x"); !errors.Is(err, ErrNotQueued) {
		t.Errorf("DeadLetter of an acked event: err = %v, want ErrNotQueued", err)
	}
	if diff := cmp.Diff([]string{"e00001", "e00003"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}
	got := column(t, q.db, `SELECT retry_count || '|' || next_attempt_at || '|' || last_error || '|' || COALESCE(leased_until, 'free') FROM queue WHERE event_id = 'e00001'`)
	if want := fmt.Sprintf("2|%d|503 again|free", next.UnixMilli()); got[0] != want {
		t.Errorf("retried row = %s, want %s", got[0], want)
	}
	dead, err := q.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Dead{{EventID: "e00002", EventType: "WPStatusChanged", Data: envelope("e00002"), Reason: "rejected: missing field payload", FailedAt: clk.Now()}}
	if diff := cmp.Diff(want, dead); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	// A dead letter is never queued again.
	if added, err := q.Enqueue(ctx, item("e00002")); err != nil || added != 0 {
		t.Errorf("re-enqueue of a dead letter: added %d, err %v", added, err)
	}
}

func TestSettle(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	q := openTest(t, Options{Now: clk.Now})
	if _, err := q.Enqueue(ctx, items("e", 6)...); err != nil {
		t.Fatal(err)
	}
	batch, err := q.Lease(ctx, clk.Now(), 6, 0, time.Minute)
	if err != nil || len(batch) != 6 {
		t.Fatalf("lease: %d, %v", len(batch), err)
	}
	next := clk.Now().Add(time.Minute)
	got, err := q.Settle(ctx, Results{
		Ack:   []string{"e00000", "e00001", "gone"},
		Retry: []RetryAt{{EventID: "e00002", NextAttempt: next, Error: "429"}, {EventID: "gone2", NextAttempt: next}},
		Dead:  []Reject{{EventID: "e00003", Reason: "schema"}, {EventID: "gone3", Reason: "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Settled{Acked: 2, Retried: 1, Dead: 1, Missing: 3}, got); diff != "" {
		t.Errorf("Settled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"e00002", "e00004", "e00005"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DeadLetters != 1 || st.Retried != 1 || st.LastError != "429" || !st.NextAttemptAt.Equal(next) || st.Leased != 2 {
		t.Errorf("stats after settle = %+v", st)
	}

	// A cancelled settle changes nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := q.Settle(cctx, Results{Ack: []string{"e00004"}}); err == nil {
		t.Error("Settle with a cancelled context succeeded")
	}
	if diff := cmp.Diff([]string{"e00002", "e00004", "e00005"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("queue after a cancelled settle (-want +got):\n%s", diff)
	}
	if s, err := q.Settle(ctx, Results{}); err != nil || s != (Settled{}) {
		t.Errorf("empty settle = %+v, %v", s, err)
	}
}

func TestStats(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	q := openTest(t, Options{Now: clk.Now, MaxSize: 50})
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Stats{MaxSize: 50}, st); diff != "" {
		t.Errorf("empty stats (-want +got):\n%s", diff)
	}
	// One row as the Python CLI writes it (seconds, an hour ago), one with a
	// millisecond timestamp (two hours ago), ours.
	if _, err := q.db.Exec(`INSERT INTO queue (event_id, event_type, data, timestamp) VALUES ('py', 'T', '{}', ?), ('ms', 'T', '{}', ?)`,
		clk.Now().Add(-time.Hour).Unix(), clk.Now().Add(-2*time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, items("e", 3)...); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Lease(ctx, clk.Now(), 1, 0, time.Minute); err != nil { // leases "py"
		t.Fatal(err)
	}
	if err := q.Retry(ctx, "e00000", clk.Now().Add(5*time.Minute), "first"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if err := q.Retry(ctx, "e00001", clk.Now().Add(2*time.Minute), "latest"); err != nil {
		t.Fatal(err)
	}
	if err := q.DeadLetter(ctx, "e00002", "bad"); err != nil {
		t.Fatal(err)
	}
	st, err = q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		Depth:         4,
		Leased:        1,
		Retried:       2,
		DeadLetters:   1,
		OldestAge:     2*time.Hour + time.Second,
		NextAttemptAt: clk.Now().Add(2 * time.Minute),
		LastError:     "latest",
		MaxSize:       50,
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestLamport(t *testing.T) {
	ctx := t.Context()
	q := openTest(t, Options{})
	for want := int64(1); want <= 3; want++ {
		got, err := q.NextLamport(ctx)
		if err != nil || got != want {
			t.Fatalf("NextLamport = %d, %v, want %d", got, err, want)
		}
	}
	first, err := q.ReserveLamport(ctx, 10)
	if err != nil || first != 4 {
		t.Fatalf("ReserveLamport(10) = %d, %v, want 4", first, err)
	}
	if got, _ := q.NextLamport(ctx); got != 14 {
		t.Fatalf("NextLamport after a reservation = %d, want 14", got)
	}
	if _, err := q.ReserveLamport(ctx, 0); err == nil {
		t.Error("ReserveLamport(0) accepted")
	}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				v, err := q.NextLamport(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[v] {
					t.Errorf("lamport %d handed out twice", v)
				}
				seen[v] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for v := int64(15); v < 15+200; v++ {
		if !seen[v] {
			t.Fatalf("lamport %d skipped", v)
		}
	}
}

func TestNodeID(t *testing.T) {
	ctx := t.Context()
	q := openTest(t, Options{})
	if _, err := q.NodeID(ctx, func() (string, error) { return "", errors.New("no entropy") }); err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Fatalf("generator error not returned: %v", err)
	}
	calls := 0
	gen := func() (string, error) { calls++; return fmt.Sprintf("node-%d", calls), nil }
	for range 3 {
		id, err := q.NodeID(ctx, gen)
		if err != nil || id != "node-1" {
			t.Fatalf("NodeID = %q, %v, want node-1", id, err)
		}
	}
	if calls != 1 {
		t.Errorf("generator called %d times, want 1", calls)
	}
}

func TestRepos(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	q := openTest(t, Options{Now: clk.Now})
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, s := range []struct {
		path string
		want bool
	}{{a, true}, {b, true}, {a + string(filepath.Separator), false}} {
		added, err := q.RegisterRepo(ctx, s.path)
		if err != nil || added != s.want {
			t.Fatalf("RegisterRepo(%s) = %v, %v, want %v", s.path, added, err, s.want)
		}
		clk.Add(time.Second)
	}
	if _, err := q.RegisterRepo(ctx, "relative/repo"); err == nil {
		t.Error("relative repo path accepted")
	}
	if err := q.SetCursor(ctx, Cursor{Repo: a, Path: "f", Offset: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := q.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := newClock().Now()
	want := []Repo{{a, start}, {b, start.Add(time.Second)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("repos (-want +got):\n%s", diff)
	}
	if removed, err := q.UnregisterRepo(ctx, a); err != nil || !removed {
		t.Fatalf("UnregisterRepo = %v, %v", removed, err)
	}
	if removed, _ := q.UnregisterRepo(ctx, a); removed {
		t.Error("second UnregisterRepo reported a removal")
	}
	if cs, _ := q.Cursors(ctx, a); len(cs) != 0 {
		t.Errorf("cursors of an unregistered repo remain: %+v", cs)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	junk := []byte(strings.Repeat("this is not a sqlite database\n", 200))
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a database") {
		t.Fatalf("err = %v, want one naming %s and saying it is not a database", err, path)
	}
	if got, _ := os.ReadFile(path); string(got) != string(junk) {
		t.Error("Open changed a file that is not a database")
	}
}

// TestConcurrentInProcess: goroutines of one process enqueue while others
// drain; every event is delivered exactly once.
func TestConcurrentInProcess(t *testing.T) {
	ctx := t.Context()
	q := openTest(t, Options{})
	const writers, perWriter = 6, 150
	var mu sync.Mutex
	delivered := map[string]int{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for _, it := range items(fmt.Sprintf("w%d-", w), perWriter) {
				if _, err := q.Enqueue(ctx, it); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	var drainers sync.WaitGroup
	for range 2 {
		drainers.Go(func() {
			for {
				batch, err := q.Lease(ctx, time.Now(), 50, 0, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(batch) == 0 {
					select {
					case <-stop:
						return
					default:
						time.Sleep(time.Millisecond) // polling for work, not a timing assertion
						continue
					}
				}
				mu.Lock()
				for _, l := range batch {
					delivered[l.EventID]++
				}
				mu.Unlock()
				if _, err := q.Settle(ctx, Results{Ack: leasedIDs(batch)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	drainers.Wait()
	if len(delivered) != writers*perWriter {
		t.Errorf("delivered %d distinct events, want %d", len(delivered), writers*perWriter)
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	if ids := queuedIDs(t, q); len(ids) != 0 {
		t.Errorf("left in the queue: %d", len(ids))
	}
}

func TestWriteHonoursContext(t *testing.T) {
	q := openTest(t, Options{})
	q.wsem <- struct{}{} // another writer of this process holds the turn
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err := q.Enqueue(ctx, item("a"))
	<-q.wsem
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if ids := queuedIDs(t, q); len(ids) != 0 {
		t.Errorf("queued despite the error: %v", ids)
	}
}

// TestLeaseSteps: a lease of more than one step (leaseStep rows) takes
// the due, unleased rows in drain order across the steps, skipping rows
// leased by another batch and rows not due, however they interleave.
func TestLeaseSteps(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	q := openTest(t, Options{Now: clk.Now, MaxSize: 10_000})
	n := 3*leaseStep + 7
	if _, err := q.Enqueue(ctx, items("e", n)...); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	// Another batch holds a run of rows inside the second step; every
	// 50th row waits for a retry.
	held := column(t, q.db, `SELECT event_id FROM queue ORDER BY id LIMIT 100 OFFSET 600`)
	if _, err := q.db.ExecContext(ctx, `INSERT INTO queue_lease (id, until, holder)
		SELECT id, ?, 1 FROM queue ORDER BY id LIMIT 100 OFFSET 600`, unixMS(now.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE queue SET next_attempt_at = ? WHERE id % 50 = 0`, unixMS(now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	skip := map[string]bool{}
	for _, id := range held {
		skip[id] = true
	}
	for _, id := range column(t, q.db, `SELECT event_id FROM queue WHERE id % 50 = 0`) {
		skip[id] = true
	}
	var want []string
	for _, it := range items("e", n) {
		if !skip[it.EventID] {
			want = append(want, it.EventID)
		}
	}
	var got []string
	for {
		batch, err := q.Lease(ctx, now, 2*leaseStep+3, 0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, l := range batch {
			got = append(got, l.EventID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("leased %d events, want %d in drain order", len(got), len(want))
	}
}
