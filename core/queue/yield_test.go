package queue

import (
	"database/sql"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// TestWaitingWriterHoldsBulkBack: a writer of another process that finds the
// write lock taken says so (queue.db-wait held shared) until its transaction
// ends, and a bulk step (a drain's lease or settle) gives way meanwhile.
func TestWaitingWriterHoldsBulkBack(t *testing.T) {
	ctx := t.Context()
	drainer := openTest(t, Options{})
	emitter, err := Open(ctx, drainer.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emitter.Close()
	probe := flock.New(drainer.Path() + "-wait")
	defer probe.Close()
	waiting := func() bool {
		free, err := probe.TryLock()
		if err != nil {
			t.Fatal(err)
		}
		if free {
			probe.Unlock()
		}
		return !free
	}

	held, release := make(chan struct{}), make(chan struct{})
	go drainer.writeBulk(ctx, "hold", func(*sql.Tx) error { close(held); <-release; return nil })
	<-held
	emitted := make(chan error, 1)
	go func() { _, err := emitter.Enqueue(ctx, item("e1")); emitted <- err }()
	deadline := time.Now().Add(5 * time.Second)
	for !waiting() {
		if time.Now().After(deadline) {
			t.Fatal("the emitter never said it waits")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-emitted; err != nil {
		t.Fatal(err)
	}
	if waiting() {
		t.Error("queue.db-wait still held after the emitter's transaction ended")
	}

	// While someone waits, a bulk step holds back (up to yieldMax).
	if ok, err := probe.TryRLock(); !ok || err != nil {
		t.Fatalf("shared lock: %v, %v", ok, err)
	}
	start := time.Now()
	drainer.yield(ctx)
	if d := time.Since(start); d < yieldMax {
		t.Errorf("yield returned after %v while a writer waited, want %v", d, yieldMax)
	}
	probe.Unlock()
	start = time.Now()
	drainer.yield(ctx)
	if d := time.Since(start); d > yieldMax/2 {
		t.Errorf("yield took %v with nobody waiting", d)
	}
}
