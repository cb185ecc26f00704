package syncer

import (
	"context"
	"database/sql"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// The corpus benchmarks measure `sync run` (one Engine.Cycle: import every
// line of a repository, upload everything to hostedtest on loopback) and
// the import alone, each beside floors measured in the same run, so the
// ratios hold on a busy machine:
//
//   - floor-ms: inserting the same rows (event_id, event_type, data,
//     timestamp) into a fresh queue.db with the same schema, through a plain
//     prepared INSERT in 1,000-row transactions — what SQLite itself costs;
//   - enqueue-ms: the same rows through queue.Enqueue in batches of 1,000
//     (the Enqueue benchmark's path).
//
// Run with -benchtime 1x; the figures are x-floor (sync run / floor) and
// import-x-enqueue (import rate / Enqueue rate).

// BenchmarkSyncRunCorpus: `sync run` over the default generated corpus.
func BenchmarkSyncRunCorpus(b *testing.B) {
	src, _, err := fixture.Corpus(corpus.Default)
	if err != nil {
		b.Fatal(err)
	}
	benchSyncRun(b, src)
}

// BenchmarkSyncRunReal: `sync run` over the real spec-kitty corpus, when
// present.
func BenchmarkSyncRunReal(b *testing.B) {
	benchSyncRun(b, fixture.SkipWithoutReal(b))
}

// BenchmarkImportCorpus: the import alone (no host) over the default
// generated corpus, against queue.Enqueue of the same rows.
func BenchmarkImportCorpus(b *testing.B) {
	src, _, err := fixture.Corpus(corpus.Default)
	if err != nil {
		b.Fatal(err)
	}
	var imp, enq, impCPU, enqCPU time.Duration
	events := 0
	for b.Loop() {
		b.StopTimer()
		_, q := benchRepo(b, src)
		eng := &Engine{Queue: q}
		runtime.GC()
		b.StartTimer()
		start, cpu := time.Now(), selfCPU()
		n, err := eng.ImportAll(context.Background(), "")
		imp += time.Since(start)
		impCPU += selfCPU() - cpu
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		rows := queueRows(b, q)
		q.Close()
		runtime.GC()
		cpu = selfCPU()
		enq += enqueueRows(b, rows)
		enqCPU += selfCPU() - cpu
		events += n
		b.StartTimer()
	}
	b.ReportMetric(float64(events)/imp.Seconds(), "events/s")
	b.ReportMetric(float64(events)/enq.Seconds(), "enqueue-events/s")
	b.ReportMetric(enq.Seconds()/imp.Seconds(), "import-x-enqueue")
	if impCPU > 0 {
		b.ReportMetric(float64(impCPU.Microseconds())/float64(events), "import-cpu-µs/event")
		b.ReportMetric(float64(enqCPU.Microseconds())/float64(events), "enqueue-cpu-µs/event")
	}
}

func benchSyncRun(b *testing.B, src string) {
	var run, floor time.Duration
	events := 0
	for b.Loop() {
		b.StopTimer()
		_, q := benchRepo(b, src)
		eng := benchEngine(b, q)
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		rep, err := eng.Cycle(context.Background())
		run += time.Since(start)
		b.StopTimer()
		if err != nil || rep.QueueDepth != 0 {
			b.Fatalf("cycle: %+v, %v", rep, err)
		}
		q.Close()
		events += rep.Delivered

		// The floor: the same rows, imported again (untimed) and inserted
		// into a fresh queue.db by plain SQL.
		_, q2 := benchRepo(b, src)
		if _, err := (&Engine{Queue: q2}).ImportAll(context.Background(), ""); err != nil {
			b.Fatal(err)
		}
		rows := queueRows(b, q2)
		q2.Close()
		floor += insertFloor(b, rows)
		b.StartTimer()
	}
	b.ReportMetric(float64(events)/run.Seconds(), "events/s")
	b.ReportMetric(float64(run.Milliseconds())/float64(b.N), "run-ms")
	b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "floor-ms")
	b.ReportMetric(run.Seconds()/floor.Seconds(), "x-floor")
}

// benchRepo copies src into a fresh repo, registered in a fresh queue.
func benchRepo(b testing.TB, src string) (string, *queue.Queue) {
	b.Helper()
	dir := b.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := fixture.CopyMissions(src, repo); err != nil {
		b.Fatal(err)
	}
	fixture.CopyKittify(src, repo) // absent in the generated corpus: created on import
	q, err := queue.Open(context.Background(), filepath.Join(dir, "home", "queue.db"), queue.Options{CreateDir: true, MaxSize: 10_000_000})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := q.RegisterRepo(context.Background(), repo); err != nil {
		b.Fatal(err)
	}
	return repo, q
}

// benchEngine is an engine signed in to a fresh hostedtest server.
func benchEngine(t testing.TB, q *queue.Queue) *Engine {
	t.Helper()
	eng, _ := benchEngineHost(t, q)
	return eng
}

// benchEngineHost is benchEngine and its server.
func benchEngineHost(t testing.TB, q *queue.Queue) (*Engine, *hostedtest.Server) {
	t.Helper()
	srv := hostedtest.NewTest(t, hostedtest.Options{})
	client := signedInClient(t, srv)
	return &Engine{Queue: q, Connect: func(context.Context) (Conn, error) { return Conn{Client: client, Team: "team-dev"}, nil }}, srv
}

type row struct {
	id, typ string
	data    []byte
	ts      int64
}

// queueRows reads every queued row of q, in queue order.
func queueRows(b *testing.B, q *queue.Queue) []row {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+q.Path()+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query(`SELECT event_id, event_type, data, timestamp FROM queue ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.typ, &r.data, &r.ts); err != nil {
			b.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// freshQueue creates an empty queue.db with the current schema and returns
// its path.
func freshQueue(b *testing.B) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "queue.db")
	q, err := queue.Open(context.Background(), path, queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	q.Close()
	return path
}

// insertFloor times inserting rows into a fresh queue.db by plain SQL in
// 1,000-row transactions, with the queue's connection settings.
func insertFloor(b *testing.B, rows []row) time.Duration {
	b.Helper()
	path := freshQueue(b)
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	start := time.Now()
	for i := 0; i < len(rows); i += 1000 {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.Prepare(`INSERT INTO queue (event_id, event_type, data, timestamp) VALUES (?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rows[i:min(i+1000, len(rows))] {
			if _, err := st.Exec(r.id, r.typ, string(r.data), r.ts); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// enqueueRows times queue.Enqueue of rows into a fresh queue in batches of
// 1,000.
func enqueueRows(b *testing.B, rows []row) time.Duration {
	b.Helper()
	q, err := queue.Open(context.Background(), freshQueue(b), queue.Options{MaxSize: 10_000_000})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	items := make([]queue.Item, len(rows))
	for i, r := range rows {
		items[i] = queue.Item{EventID: r.id, EventType: r.typ, Data: r.data, QueuedAt: time.Unix(r.ts, 0)}
	}
	start := time.Now()
	for i := 0; i < len(items); i += 1000 {
		if _, err := q.Enqueue(context.Background(), items[i:min(i+1000, len(items))]...); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}
