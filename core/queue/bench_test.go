package queue

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchData is an envelope of realistic size (~900 bytes, like a lane
// transition line of the fixture wrapped in its envelope).
func benchData(id string) []byte {
	payload := fmt.Sprintf(`{"actor": "claude", "at": "2026-06-30T20:18:52.828090+00:00", "event_id": %q, "evidence": null, "execution_mode": "worktree", "force": false, "from_lane": "planned", "mission_id": "01KWD0V560PCDYFGXYY8WNNJH0", "mission_slug": "reliability-papercut-sweep-01KWD0V5", "policy_metadata": null, "reason": "%s", "review_ref": null, "review_result": null, "to_lane": "claimed", "wp_id": "WP01"}`,
		id, strings.Repeat("x", 200))
	return fmt.Appendf(nil, `{"event_id":%q,"event_type":"WPStatusChanged","aggregate_id":"reliability-papercut-sweep-01KWD0V5/WP01","aggregate_type":"WorkPackage","schema_version":"3.0.0","payload":%s,"node_id":"d036a097a835","lamport_clock":1,"timestamp":"2026-06-30T20:18:52.82809Z","project_uuid":"8a4a7da6-a97c-4bb4-893a-b31664abfee4","project_slug":"spec-kitty","team_slug":"team"}`,
		id, payload)
}

func benchItems(prefix string, n int) []Item {
	out := make([]Item, n)
	for i := range out {
		id := fmt.Sprintf("%s%020d", prefix, i)
		out[i] = Item{EventID: id, EventType: "WPStatusChanged", Data: benchData(id)}
	}
	return out
}

func benchOpen(b *testing.B) *Queue {
	q, err := Open(b.Context(), filepath.Join(b.TempDir(), "queue.db"), Options{MaxSize: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	return q
}

// BenchmarkEnqueueBatched: 100,000 events into an empty queue in batches of
// 1,000 (an importer catching up). Target: >= 50,000 events/s.
func BenchmarkEnqueueBatched(b *testing.B) {
	const total, batch = 100_000, 1000
	all := benchItems("01BENCH", total)
	runs := 0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		q := benchOpen(b)
		b.StartTimer()
		start := processCPU()
		for i := 0; i < total; i += batch {
			if _, err := q.Enqueue(b.Context(), all[i:i+batch]...); err != nil {
				b.Fatal(err)
			}
		}
		cpu += processCPU() - start
		b.StopTimer()
		q.Close()
		b.StartTimer()
		runs++
	}
	reportRates(b, total*runs, cpu)
}

// BenchmarkEnqueueSingle: one event per transaction (`status emit`).
func BenchmarkEnqueueSingle(b *testing.B) {
	q := benchOpen(b)
	defer q.Close()
	n := 0
	start := processCPU()
	for b.Loop() {
		id := fmt.Sprintf("01SINGLE%018d", n)
		if _, err := q.Enqueue(b.Context(), Item{EventID: id, EventType: "WPStatusChanged", Data: benchData(id)}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRates(b, n, processCPU()-start)
}

// BenchmarkLeaseAck: the uploader's cycle — lease 1,000 due events, settle
// them all as acked in one transaction.
func BenchmarkLeaseAck(b *testing.B) {
	const fill, batch = 100_000, 1000
	q := benchOpen(b)
	defer q.Close()
	refills := 0
	refill := func() {
		if _, err := q.Enqueue(b.Context(), benchItems(fmt.Sprintf("01R%03d", refills), fill)...); err != nil {
			b.Fatal(err)
		}
		refills++
	}
	refill()
	now := time.Now()
	events := 0
	var cpu time.Duration
	for b.Loop() {
		start := processCPU()
		leased, err := q.Lease(b.Context(), now, batch, 4<<20, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if len(leased) == 0 {
			b.StopTimer()
			refill()
			b.StartTimer()
			continue
		}
		ids := make([]string, len(leased))
		rows := make([]int64, len(leased))
		for i, l := range leased {
			ids[i], rows[i] = l.EventID, l.ID
		}
		if _, err := q.Settle(b.Context(), Results{Ack: ids, AckRows: rows}); err != nil {
			b.Fatal(err)
		}
		events += len(leased)
		cpu += processCPU() - start
	}
	reportRates(b, events, cpu)
}

// reportRates reports events per wall-clock second and, where measured, per
// second of this process's CPU time.
func reportRates(b *testing.B, events int, cpu time.Duration) {
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkStats1M: Stats over a queue of 1,000,000 events, some leased,
// retried and dead-lettered (`sync status` while a daemon drains a large
// backlog). Target: <= 20 ms.
func BenchmarkStats1M(b *testing.B) {
	q := benchOpen(b)
	defer q.Close()
	// Filled by SQLite itself: a million Enqueue calls would take the
	// benchmark's time, and Stats does not read the data.
	if _, err := q.db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
		INSERT INTO queue (event_id, event_type, data, timestamp) SELECT printf('01STATS%019d', i), 'WPStatusChanged', '{}', 1780000000 + i FROM n`); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	if _, err := q.Lease(b.Context(), now, 3000, 0, time.Minute); err != nil {
		b.Fatal(err)
	}
	if _, err := q.Settle(b.Context(), Results{Retry: []RetryAt{{EventID: fmt.Sprintf("01STATS%019d", 1), NextAttempt: now.Add(time.Minute), Error: "x"}},
		Dead: []Reject{{EventID: fmt.Sprintf("01STATS%019d", 2), Reason: "bad"}}}); err != nil {
		b.Fatal(err)
	}
	var st Stats
	for b.Loop() {
		var err error
		if st, err = q.Stats(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	if st.Depth != 999_999 || st.DeadLetters != 1 || st.Retried != 1 {
		b.Fatalf("stats = %+v", st)
	}
}
