package syncer

import (
	"context"
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

// TestRecoveryIgnoresOutageBackoff: after the host failed every batch, the
// cycle asks to run again within ProbeEvery (not at the events' backoff or
// the next tick), and once the host answers, the next cycle delivers every
// event the outage held back, although none of their retry times has come.
func TestRecoveryIgnoresOutageBackoff(t *testing.T) {
	r := newRig(t, someMissions(t, 10)...)
	want := syncedIDs(t, r.repo)
	if err := r.srv.SetFaults(hostedtest.Faults{ErrorFraction: 1}); err != nil {
		t.Fatal(err)
	}
	rep, err := r.eng.Cycle(context.Background())
	if err == nil || rep.QueueDepth != len(want) {
		t.Fatalf("cycle against a failing host = %+v, %v; want an error and everything queued", rep, err)
	}
	if rep.NextAttemptAt.IsZero() || rep.NextAttemptAt.After(r.clock.Now().Add(ProbeEvery)) {
		t.Errorf("next attempt at %v, want within %v of %v", rep.NextAttemptAt, ProbeEvery, r.clock.Now())
	}
	// A failing host is probed with one event, not sent the whole queue.
	r.clock.Advance(ProbeEvery)
	before := r.srv.FaultCount(hostedtest.FaultServerError)
	if _, err := r.eng.Cycle(context.Background()); err == nil {
		t.Error("cycle against a host still failing succeeded")
	}
	if n := r.srv.FaultCount(hostedtest.FaultServerError) - before; n != 1 {
		t.Errorf("%d batches sent to a host still failing, want 1 (the probe)", n)
	}

	if err := r.srv.SetFaults(hostedtest.Faults{}); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(ProbeEvery) // far less than the events' backoff
	rep, err = r.eng.Cycle(context.Background())
	if err != nil || rep.QueueDepth != 0 {
		t.Fatalf("cycle after the host came back = %+v, %v; want everything delivered", rep, err)
	}
	if diff := r.srv.DiffEventIDs(want); diff != "" {
		t.Errorf("host events: %s", diff)
	}
}

// TestFlakyHostFailureResentInTheSameCycle: a batch the host failed (a reset
// connection) while it delivered others is sent again within the same cycle
// once a later batch was delivered, not at its events' backoff in a later
// cycle (the clock does not move here: no backoff ever runs out).
func TestFlakyHostFailureResentInTheSameCycle(t *testing.T) {
	r := newRig(t)
	want := syncedIDs(t, r.repo)
	if err := r.srv.SetFaults(hostedtest.Faults{ResetNext: 1}); err != nil {
		t.Fatal(err)
	}
	rep, _ := r.eng.Cycle(context.Background())
	if rep.Retried == 0 || rep.QueueDepth != 0 {
		t.Fatalf("cycle = %+v; want a retried batch and nothing left queued", rep)
	}
	if diff := r.srv.DiffEventIDs(want); diff != "" {
		t.Errorf("host events: %s", diff)
	}
}
