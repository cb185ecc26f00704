package queue

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// openSchema4 creates a queue.db at path the way the version before the
// lease table (schema 4) did, with leases in the queue rows.
func openSchema4(t *testing.T, path string, now time.Time) {
	t.Helper()
	all := migrations
	migrations = all[:4]
	defer func() { migrations = all }()
	q, err := Open(t.Context(), path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.Enqueue(t.Context(), items("e", 6)...); err != nil {
		t.Fatal(err)
	}
	// e00000 and e00001 leased by a live drainer, e00002 by one that died,
	// e00003 by a lease that ran out; e00004 and e00005 free.
	live, expired := now.Add(time.Minute).UnixMilli(), now.Add(-time.Minute).UnixMilli()
	for _, s := range []string{
		`UPDATE queue SET leased_until = ?, leased_by = 999992 WHERE event_id IN ('e00000', 'e00001')`,
		`UPDATE queue SET leased_until = ?, leased_by = 999991 WHERE event_id = 'e00002'`,
	} {
		if _, err := q.db.Exec(s, live); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.db.Exec(`UPDATE queue SET leased_until = ?, leased_by = 999992 WHERE event_id = 'e00003'`, expired); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateLeaseTable: a queue.db of the previous schema (leases in the
// queue rows) keeps every event and every live lease when this version
// opens it, and its read-only readers see the leases before it does.
func TestMigrateLeaseTable(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "queue.db")
	openSchema4(t, path, now)
	clock := func() time.Time { return now }

	// A status display reads the old layout as it is.
	r, err := Open(ctx, path, Options{ReadOnly: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Stats(ctx)
	r.Close()
	if err != nil || st.Depth != 6 || st.Leased != 3 {
		t.Fatalf("read-only Stats of the old layout = %+v, %v; want 6 queued, 3 leased", st, err)
	}

	q, err := Open(ctx, path, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if diff := cmp.Diff([]string{"e00000", "e00001", "e00002", "e00003", "e00004", "e00005"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("queue after migration (-want +got):\n%s", diff)
	}
	if got := column(t, q.db, `SELECT COUNT(*) FROM queue WHERE leased_until IS NOT NULL OR leased_by IS NOT NULL`); got[0] != "0" {
		t.Errorf("%s rows still hold lease columns", got[0])
	}
	if got := column(t, q.db, `SELECT name FROM sqlite_master WHERE name = 'idx_queue_leased'`); len(got) != 0 {
		t.Error("idx_queue_leased survived the migration")
	}
	if st, err := q.Stats(ctx); err != nil || st.Depth != 6 || st.Leased != 3 {
		t.Errorf("Stats = %+v, %v; want 6 queued, 3 leased", st, err)
	}
	// The live leases hold; the expired one is free again.
	l, err := q.Lease(ctx, now, 10, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e00003", "e00004", "e00005"}, leasedIDs(l)); diff != "" {
		t.Errorf("leased after migration (-want +got):\n%s", diff)
	}
	// The dead drainer's lease is handed back.
	if n, err := q.ReleaseOrphaned(ctx, now, func(pid int) bool { return pid != 999991 }); err != nil || n != 1 {
		t.Errorf("ReleaseOrphaned = %d, %v; want the dead drainer's 1", n, err)
	}
	if l, err := q.Lease(ctx, now, 10, 0, time.Minute); err != nil || len(l) != 1 || l[0].EventID != "e00002" {
		t.Errorf("after ReleaseOrphaned leased %v, %v; want e00002", leasedIDs(l), err)
	}
	// Every event is delivered once its lease runs out.
	if _, err := q.Settle(ctx, Results{Ack: []string{"e00002", "e00003", "e00004", "e00005"}}); err != nil {
		t.Fatal(err)
	}
	l, err = q.Lease(ctx, now.Add(2*time.Minute), 10, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e00000", "e00001"}, leasedIDs(l)); diff != "" {
		t.Errorf("leased after the old leases ran out (-want +got):\n%s", diff)
	}
	if _, err := q.Settle(ctx, Results{Ack: leasedIDs(l)}); err != nil {
		t.Fatal(err)
	}
	if n := leaseCount(t, q); n != 0 {
		t.Errorf("%d leases left after every event was acked", n)
	}
}

// TestLeasesOfRowsGoneOrChanged: acks with their row ids delete the rows
// and their leases; a row whose event_id changed since it was leased (the
// Python CLI coalesced another event into it) stays queued, only due again;
// a row deleted behind the lease table's back (the Python CLI's drain)
// leaves a lease that no figure counts and Compact removes.
func TestLeasesOfRowsGoneOrChanged(t *testing.T) {
	ctx := t.Context()
	q, now, l := leasedQueue(t, 4)
	for _, s := range []string{pyCoalesce("e00002", "e00009", now.Unix()), `DELETE FROM queue WHERE event_id = 'e00003'`} {
		if _, err := q.db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := q.Stats(ctx); err != nil || st.Leased != 3 {
		t.Errorf("Stats = %+v, %v; want 3 leased", st, err)
	}
	var r Results
	for _, x := range l[:3] {
		r.Ack, r.AckRows = append(r.Ack, x.EventID), append(r.AckRows, x.ID)
	}
	s, err := q.Settle(ctx, r)
	if err != nil || s.Acked != 2 || s.Missing != 1 {
		t.Fatalf("Settle = %+v, %v; want 2 acked, 1 missing", s, err)
	}
	if diff := cmp.Diff([]string{"e00009"}, queuedIDs(t, q)); diff != "" {
		t.Errorf("queue (-want +got):\n%s", diff)
	}
	if n := leaseCount(t, q); n != 1 {
		t.Errorf("%d leases, want the deleted row's 1", n)
	}
	if l, err := q.Lease(ctx, now, 10, 0, time.Minute); err != nil || len(l) != 1 || l[0].EventID != "e00009" {
		t.Errorf("leased %v, %v; want the coalesced e00009", leasedIDs(l), err)
	}
	if _, err := q.Settle(ctx, Results{Ack: []string{"e00009"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if n := leaseCount(t, q); n != 0 {
		t.Errorf("%d leases after Compact of an empty queue", n)
	}
}

// leasedQueue is a new queue holding n events, all leased at now.
func leasedQueue(t *testing.T, n int) (*Queue, time.Time, []Leased) {
	t.Helper()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	q := openTest(t, Options{Now: func() time.Time { return now }})
	if _, err := q.Enqueue(t.Context(), items("e", n)...); err != nil {
		t.Fatal(err)
	}
	l, err := q.Lease(t.Context(), now, 10, 0, time.Minute)
	if err != nil || len(l) != n {
		t.Fatalf("lease: %v, %v", l, err)
	}
	return q, now, l
}

// leaseCount is the number of rows of queue_lease.
func leaseCount(t *testing.T, q *Queue) int {
	t.Helper()
	var n int
	if err := q.db.QueryRow(`SELECT COUNT(*) FROM queue_lease`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
