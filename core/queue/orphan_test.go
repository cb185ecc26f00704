package queue

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReleaseOrphaned: leases of a holder that is gone come back at once;
// leases of a live holder and of this process stay.
func TestReleaseOrphaned(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queue.db")
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	q, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, id := range []string{"a", "b", "c", "d"} {
		if _, err := q.Enqueue(ctx, Item{EventID: id, EventType: "T", Data: []byte(`{"event_id":"` + id + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// Three drainers: a dead one (pid 999991), a live one (999992), us.
	open := func(pid int) *Queue {
		o, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		o.holder = pid
		t.Cleanup(func() { o.Close() })
		return o
	}
	dead, live := open(999991), open(999992)
	if l, _ := dead.Lease(ctx, now, 2, 0, time.Minute); len(l) != 2 {
		t.Fatalf("dead holder leased %d", len(l))
	}
	if l, _ := live.Lease(ctx, now, 1, 0, time.Minute); len(l) != 1 {
		t.Fatalf("live holder leased %d", len(l))
	}
	if l, _ := q.Lease(ctx, now, 1, 0, time.Minute); len(l) != 1 {
		t.Fatalf("we leased %d", len(l))
	}
	alive := func(pid int) bool { return pid != 999991 }
	n, err := q.ReleaseOrphaned(ctx, now, alive)
	if err != nil || n != 2 {
		t.Fatalf("released %d, %v; want the dead holder's 2", n, err)
	}
	got, err := q.Lease(ctx, now, 10, 0, time.Minute)
	if err != nil || len(got) != 2 || got[0].EventID != "a" || got[1].EventID != "b" {
		t.Errorf("after release leased %+v, %v; want a and b again", got, err)
	}
	if n, _ := q.ReleaseOrphaned(ctx, now, func(int) bool { return false }); n != 1 {
		t.Errorf("second pass released %d, want only the other holder's 1 (never our own)", n)
	}
}

// TestReadOnly: a read-only open creates nothing, sees the data, refuses
// writes, and fails on a missing database without creating it.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "queue.db")
	if _, err := Open(ctx, path, Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing db: %v, want ErrNotExist", err)
	}
	q, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q.Enqueue(ctx, Item{EventID: "a", EventType: "T", Data: []byte(`{}`)})
	q.Close() // the last writer closes: its WAL is checkpointed away

	before, _ := os.ReadDir(dir)
	r, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Stats(ctx)
	if err != nil || st.Depth != 1 {
		t.Errorf("stats %+v, %v; want depth 1", st, err)
	}
	if _, err := r.Enqueue(ctx, Item{EventID: "b", EventType: "T", Data: []byte(`{}`)}); err == nil {
		t.Error("a read-only queue accepted a write")
	}
	r.Close()
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("files before %v, after %v: the read-only open created files", names(before), names(after))
	}
}

func names(es []os.DirEntry) []string {
	var s []string
	for _, e := range es {
		s = append(s, e.Name())
	}
	return s
}

func TestRequeue(t *testing.T) {
	ctx := context.Background()
	q, err := Open(ctx, filepath.Join(t.TempDir(), "queue.db"), Options{MaxSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, id := range []string{"a", "b", "c"} {
		q.Enqueue(ctx, Item{EventID: id, EventType: "T", Data: []byte(`{}`)})
		if err := q.DeadLetter(ctx, id, "rejected"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := q.Requeue(ctx, "b"); err != nil || n != 1 {
		t.Fatalf("Requeue(b) = %d, %v", n, err)
	}
	q.Enqueue(ctx, Item{EventID: "x", EventType: "T", Data: []byte(`{}`)}, Item{EventID: "y", EventType: "T", Data: []byte(`{}`)})
	// b, x, y queued: the two other dead letters do not fit max_queue_size 3.
	if _, err := q.Requeue(ctx); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Requeue over the limit = %v, want ErrQueueFull", err)
	}
	if dead, _ := q.DeadLetters(ctx, 0); len(dead) != 2 {
		t.Errorf("a refused requeue changed the dead letters: %d left", len(dead))
	}
	l, _ := q.Lease(ctx, time.Now(), 10, 0, time.Minute)
	var ids []string
	for _, e := range l {
		ids = append(ids, e.EventID)
		if e.EventID == "b" && e.RetryCount != 0 {
			t.Errorf("requeued event keeps retry count %d", e.RetryCount)
		}
	}
	q.Ack(ctx, ids...)
	if n, err := q.Requeue(ctx); err != nil || n != 2 {
		t.Fatalf("Requeue() = %d, %v; want the 2 left", n, err)
	}
	if st, _ := q.Stats(ctx); st.Depth != 2 || st.DeadLetters != 0 {
		t.Errorf("stats after requeue: %+v", st)
	}
}
