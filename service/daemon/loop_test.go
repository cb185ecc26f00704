package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
)

// The work loop is tested inside synctest bubbles (STYLE.md rule 7): time
// is the bubble's fake clock, so a 60 s tick takes no real time and
// synctest.Wait says exactly when the loop has nothing left to do. The
// daemon here is the real one minus process set-up: no lock, no socket,
// no queue; its state file lives in a temporary home.

// loopWorker is a scripted worker: each cycle records the time it ran and
// answers with next (a report and an error); gate, when set, holds a cycle
// until the test releases it or its ctx ends.
type loopWorker struct {
	mu    sync.Mutex
	at    []time.Time
	files []map[string][]string // per cycle: the files of CycleFiles, nil for Cycle
	next  func(n int) (Report, error)
	gate  chan struct{}
	ended []error // ctx.Err() of cycles that ended while held
}

func (w *loopWorker) Cycle(ctx context.Context) (Report, error) {
	return w.cycle(ctx, nil)
}

func (w *loopWorker) CycleFiles(ctx context.Context, files map[string][]string) (Report, error) {
	return w.cycle(ctx, files)
}

func (w *loopWorker) cycle(ctx context.Context, files map[string][]string) (Report, error) {
	w.mu.Lock()
	w.at = append(w.at, time.Now())
	w.files = append(w.files, files)
	n := len(w.at)
	gate, next := w.gate, w.next
	w.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			w.mu.Lock()
			w.ended = append(w.ended, ctx.Err())
			w.mu.Unlock()
			return Report{}, ctx.Err()
		}
	}
	if next == nil {
		return Report{}, nil
	}
	return next(n)
}

func (w *loopWorker) cycles() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.at)
}

func (w *loopWorker) times() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.at...)
}

// loopRig is a daemon built without Run's set-up, with its loop running in
// the current bubble.
type loopRig struct {
	t      *testing.T
	d      *daemon
	worker *loopWorker
	pol    policy.Policy
	polMu  sync.Mutex
	start  time.Time
	cancel context.CancelFunc
	done   chan error
}

// newLoopRig must be called inside synctest.Test; edit opts before start.
func newLoopRig(t *testing.T) *loopRig {
	home := paths.Home{Dir: t.TempDir()}
	r := &loopRig{t: t, worker: &loopWorker{}, pol: policy.Auto, start: time.Now()}
	r.d = newDaemon(Options{
		Home:   home,
		Now:    time.Now,
		Tick:   DefaultTick,
		Worker: r.worker,
		Policy: func() (policy.Policy, error) {
			r.polMu.Lock()
			defer r.polMu.Unlock()
			return r.pol, nil
		},
	}, slog.New(slog.DiscardHandler))
	return r
}

func (r *loopRig) setPolicy(p policy.Policy) {
	r.polMu.Lock()
	r.pol = p
	r.polMu.Unlock()
}

func (r *loopRig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.d.loop(ctx) }()
	r.t.Cleanup(func() {
		cancel()
		<-r.done
	})
}

// exited reports whether the loop has returned, after the bubble settles.
func (r *loopRig) exited() (bool, error) {
	synctest.Wait()
	select {
	case err := <-r.done:
		r.done <- err // keep it for Cleanup
		return true, err
	default:
		return false, nil
	}
}

// wantCycles checks the number of cycles once the bubble settles.
func (r *loopRig) wantCycles(n int, when string) {
	r.t.Helper()
	synctest.Wait()
	if got := r.worker.cycles(); got != n {
		r.t.Fatalf("%s: %d cycles, want %d", when, got, n)
	}
}

// sleepTo advances the fake clock to start+d.
func (r *loopRig) sleepTo(d time.Duration) {
	time.Sleep(time.Until(r.start.Add(d)))
}

func TestLoopTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		r.run()
		r.wantCycles(1, "at start")
		r.sleepTo(DefaultTick - time.Nanosecond)
		r.wantCycles(1, "just before the first tick")
		r.sleepTo(DefaultTick)
		r.wantCycles(2, "at the first tick")
		r.sleepTo(3 * DefaultTick)
		r.wantCycles(4, "after three ticks")
		for i, at := range r.worker.times() {
			if want := r.start.Add(time.Duration(i) * DefaultTick); !at.Equal(want) {
				t.Errorf("cycle %d at +%v, want +%v", i+1, at.Sub(r.start), want.Sub(r.start))
			}
		}
	})
}

func TestLoopWakeRunsAtOnceAndCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		r.worker.gate = make(chan struct{})
		r.run()
		r.wantCycles(1, "at start")
		// Three wakes while the first cycle is in flight make one cycle.
		for range 3 {
			r.d.requestWake()
		}
		r.worker.gate <- struct{}{}
		r.wantCycles(2, "after the wakes")
		r.worker.gate <- struct{}{}
		r.wantCycles(2, "once the woken cycle is done")

		// A wake while idle runs a cycle at once, and the tick restarts
		// from it.
		r.sleepTo(10 * time.Second)
		r.d.requestWake()
		r.wantCycles(3, "woken while idle")
		if at := r.worker.times()[2]; !at.Equal(r.start.Add(10 * time.Second)) {
			t.Errorf("woken cycle at +%v, want +10s", at.Sub(r.start))
		}
		r.worker.gate <- struct{}{}
		r.sleepTo(10*time.Second + DefaultTick - time.Nanosecond)
		r.wantCycles(3, "before the tick counted from the woken cycle")
		r.sleepTo(10*time.Second + DefaultTick)
		r.wantCycles(4, "at the tick counted from the woken cycle")
		r.worker.gate <- struct{}{}
	})
}

func TestLoopNextAttemptBeforeTheTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		retry := r.start.Add(7 * time.Second)
		r.worker.next = func(n int) (Report, error) {
			if n == 1 {
				return Report{QueueDepth: 1, NextAttemptAt: retry}, errors.New("host answered 503")
			}
			return Report{}, nil
		}
		r.run()
		r.wantCycles(1, "at start")
		r.sleepTo(7*time.Second - time.Nanosecond)
		r.wantCycles(1, "before the retry is due")
		r.sleepTo(7 * time.Second)
		r.wantCycles(2, "when the retry is due")
		// Nothing waits now: back to the tick.
		r.sleepTo(7*time.Second + DefaultTick - time.Nanosecond)
		r.wantCycles(2, "before the next tick")
		r.sleepTo(7*time.Second + DefaultTick)
		r.wantCycles(3, "at the next tick")
	})
}

func TestLoopOverdueRetryWaitsMinWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		r.worker.next = func(n int) (Report, error) {
			return Report{NextAttemptAt: r.start.Add(-time.Hour)}, nil
		}
		r.run()
		r.wantCycles(1, "at start")
		r.sleepTo(minWake - time.Nanosecond)
		r.wantCycles(1, "before minWake")
		r.sleepTo(minWake)
		r.wantCycles(2, "at minWake")
		r.d.requestStop("test")
	})
}

func TestLoopSwitchToManualAtTheTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		r.worker.gate = make(chan struct{})
		r.run()
		r.wantCycles(1, "at start")
		// Manual while a batch is in flight: the batch finishes, no other
		// starts, and the loop ends at the next policy check.
		r.setPolicy(policy.Manual)
		r.worker.gate <- struct{}{}
		if done, _ := r.exited(); done {
			t.Fatal("loop ended before the next policy check")
		}
		if n := len(r.worker.ended); n != 0 {
			t.Fatalf("%d cycles abandoned, want the batch finished", n)
		}
		r.sleepTo(DefaultTick)
		done, err := r.exited()
		if !done || err != nil {
			t.Fatalf("loop at the tick under manual: exited=%v err=%v", done, err)
		}
		r.wantCycles(1, "after the switch")
		if reason := r.d.stopReason; reason != "policy_manual" {
			t.Errorf("stop reason %q, want policy_manual", reason)
		}
		if st := r.d.snapshot(); st.Policy != string(policy.Manual) {
			t.Errorf("state policy %q, want manual", st.Policy)
		}
	})
}

// TestLoopReloadToManualExits: the daemon does not watch config.toml (an
// idle daemon makes no system call between cycles); `config set` and
// `config unset` send POST /v1/reload, on which the loop re-reads the
// policy at once and, now manual, exits — long before the tick.
func TestLoopReloadToManualExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		r.run()
		r.wantCycles(1, "at start")
		r.sleepTo(5 * time.Second)
		r.setPolicy(policy.Manual)
		r.sleepTo(30 * time.Second)
		if done, _ := r.exited(); done {
			t.Fatal("loop ended before a reload request or the tick")
		}
		rec := httptest.NewRecorder()
		r.d.handler().ServeHTTP(rec, httptest.NewRequest("POST", "http://"+localapi.Host+localapi.RouteReload, nil))
		if rec.Code != http.StatusAccepted {
			t.Fatalf("POST %s: %d %s", localapi.RouteReload, rec.Code, rec.Body)
		}
		done, err := r.exited()
		if !done || err != nil {
			t.Fatalf("loop after the reload request: exited=%v err=%v", done, err)
		}
		if !time.Now().Equal(r.start.Add(30 * time.Second)) {
			t.Errorf("exited at +%v, want at once (+30s)", time.Since(r.start))
		}
		r.wantCycles(1, "after the switch")
		if r.d.stopReason != "policy_manual" {
			t.Errorf("stop reason %q, want policy_manual", r.d.stopReason)
		}
	})
}

// TestLoopWakeWithFilesImportsThem: a wake request naming events files
// (`status emit`'s) runs a cycle of those files alone (FileWorker); the tick
// and a plain wake run full cycles, and a plain wake coalesced with a named
// one makes the cycle full.
func TestLoopWakeWithFilesImportsThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		r.worker.gate = make(chan struct{})
		r.run()
		r.wantCycles(1, "at start")
		// Wakes arrive while a cycle is in flight, so they coalesce.
		r.d.requestWakeFiles("/r", []string{"/r/kitty-specs/b/status.events.jsonl"})
		r.d.requestWakeFiles("/r", []string{"/r/kitty-specs/a/status.events.jsonl", "/r/kitty-specs/b/status.events.jsonl"})
		r.worker.gate <- struct{}{}
		r.wantCycles(2, "after the named wakes")
		r.d.requestWakeFiles("/r", []string{"/r/kitty-specs/a/status.events.jsonl"})
		r.d.requestWake()
		r.worker.gate <- struct{}{}
		r.wantCycles(3, "after a named and a plain wake")
		r.worker.gate <- struct{}{}
		r.sleepTo(DefaultTick)
		r.wantCycles(4, "at the tick")
		r.worker.gate <- struct{}{}
		r.worker.mu.Lock()
		got := r.worker.files
		r.worker.mu.Unlock()
		want := []map[string][]string{nil, {"/r": {"/r/kitty-specs/a/status.events.jsonl", "/r/kitty-specs/b/status.events.jsonl"}}, nil, nil}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("cycles' files %v, want %v", got, want)
		}
	})
}

func TestLoopShutdownAbandonsInFlightCycle(t *testing.T) {
	for _, how := range []string{"stop request", "signal"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newLoopRig(t)
				r.worker.gate = make(chan struct{}) // never released
				r.run()
				r.wantCycles(1, "at start")
				if how == "signal" {
					r.cancel()
				} else {
					r.d.requestStop("shutdown request")
				}
				done, err := r.exited()
				if !done || err != nil {
					t.Fatalf("loop after %s: exited=%v err=%v", how, done, err)
				}
				if len(r.worker.ended) != 1 || !errors.Is(r.worker.ended[0], context.Canceled) {
					t.Errorf("in-flight cycle ended with %v, want its ctx cancelled", r.worker.ended)
				}
				// An abandoned cycle is not a failure.
				if st := r.d.snapshot(); st.ConsecutiveFailures != 0 || st.LastError != "" {
					t.Errorf("state after an abandoned cycle: failures=%d error=%q", st.ConsecutiveFailures, st.LastError)
				}
				want := map[string]string{"signal": "signal", "stop request": "shutdown request"}[how]
				if r.d.stopReason != want {
					t.Errorf("stop reason %q, want %q", r.d.stopReason, want)
				}
				r.sleepTo(10 * DefaultTick)
				r.wantCycles(1, "after the stop")
			})
		})
	}
}

func TestLoopFailuresCountedAndCleared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		fails := 2
		r.worker.next = func(n int) (Report, error) {
			if n <= fails {
				return Report{QueueDepth: 3}, errors.New("host answered 503")
			}
			return Report{Delivered: 3, QueueDepth: 0}, nil
		}
		r.run()
		// The state file is rewritten after every cycle.
		check := func(when string, failures int, lastErr string, synced bool) {
			t.Helper()
			synctest.Wait()
			for name, st := range map[string]localapi.State{"memory": r.d.snapshot(), "file": readStateFile(t, r.d.o.Home)} {
				if st.ConsecutiveFailures != failures || st.LastError != lastErr || st.LastSyncAt.IsZero() == synced {
					t.Errorf("%s (%s): failures=%d error=%q last_sync=%v; want %d %q synced=%v",
						when, name, st.ConsecutiveFailures, st.LastError, st.LastSyncAt, failures, lastErr, synced)
				}
			}
		}
		check("after one failure", 1, "host answered 503", false)
		r.sleepTo(DefaultTick)
		check("after two failures", 2, "host answered 503", false)
		st := r.d.snapshot()
		if st.QueueDepth != 3 || st.LastErrorAt.IsZero() {
			t.Errorf("failed cycle state: queue=%d last_error_at=%v", st.QueueDepth, st.LastErrorAt)
		}
		r.sleepTo(2 * DefaultTick)
		check("after a success", 0, "", true)
		st = r.d.snapshot()
		if st.QueueDepth != 0 || st.Delivered != 3 || !st.LastSyncAt.Equal(r.start.Add(2*DefaultTick).UTC()) {
			t.Errorf("state after a success: queue=%d delivered=%d last_sync=%v", st.QueueDepth, st.Delivered, st.LastSyncAt)
		}
	})
}

func TestLoopOnceRunsOneCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		r.d.o.Once = true
		r.setPolicy(policy.Manual)
		r.run()
		done, err := r.exited()
		if !done || err != nil {
			t.Fatalf("once: exited=%v err=%v", done, err)
		}
		r.wantCycles(1, "once")
		if r.d.stopReason != "once" {
			t.Errorf("stop reason %q, want once", r.d.stopReason)
		}
	})
}

func readStateFile(t *testing.T, home paths.Home) localapi.State {
	t.Helper()
	st, _, err := localapi.ReadState(home.DaemonState())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLoopReloadsBeforeEachCycle: config and session are reloaded before
// every cycle; a failed reload or policy read is logged and the cycle runs.
func TestLoopReloadsBeforeEachCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newLoopRig(t)
		var mu sync.Mutex
		reloads := 0
		r.d.o.Reload = func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			reloads++
			return errors.New("config.toml: bad syntax")
		}
		r.d.o.Policy = func() (policy.Policy, error) { return "", errors.New("unreadable") }
		r.run()
		r.sleepTo(2 * DefaultTick)
		r.wantCycles(3, "after two ticks")
		mu.Lock()
		defer mu.Unlock()
		if reloads != 3 {
			t.Errorf("%d reloads for 3 cycles", reloads)
		}
	})
}
