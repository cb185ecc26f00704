package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
)

// The tests here run the whole process shell (Run: gate, policy, lock,
// state file, socket, local API) in real time, and only wait for things
// that happen at once. Scheduling — ticks, wakes, retry times, the switch
// to manual, failure counting — is tested on the fake clock of synctest
// bubbles in loop_test.go.

// countingWorker is an honest worker: it counts cycles and reports a queue
// that drains one item per cycle.
type countingWorker struct {
	cycles atomic.Int32
	queue  atomic.Int32
	fail   atomic.Bool
	block  bool // a cycle blocks until its ctx ends
}

func (w *countingWorker) Cycle(ctx context.Context) (Report, error) {
	w.cycles.Add(1)
	if w.block {
		<-ctx.Done()
		return Report{}, ctx.Err()
	}
	if w.fail.Load() {
		return Report{QueueDepth: int(w.queue.Load())}, errors.New("host answered 503")
	}
	delivered := 0
	if w.queue.Load() > 0 {
		w.queue.Add(-1)
		delivered = 1
	}
	return Report{Delivered: delivered, QueueDepth: int(w.queue.Load())}, nil
}

type harness struct {
	t      *testing.T
	home   paths.Home
	worker *countingWorker
	pol    atomic.Value // policy.Policy
	env    map[string]string
	done   chan error
	cancel context.CancelFunc
}

func newHarness(t *testing.T) *harness {
	// Unix socket paths are limited to ~100 bytes; t.TempDir can be long.
	dir, err := os.MkdirTemp("", "skd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &harness{t: t, home: paths.Home{Dir: filepath.Join(dir, "h")}, worker: &countingWorker{},
		env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}}
	h.pol.Store(policy.Auto)
	return h
}

func (h *harness) opts() Options {
	return Options{
		Home:   h.home,
		Getenv: func(k string) string { return h.env[k] },
		Policy: func() (policy.Policy, error) { return h.pol.Load().(policy.Policy), nil },
		Worker: h.worker,
		Tick:   time.Hour,
	}
}

func (h *harness) start(o Options) {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	ready := make(chan struct{})
	o.Ready = func() { close(ready) }
	go func() { h.done <- Run(ctx, o) }()
	select {
	case <-ready:
	case err := <-h.done:
		h.t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(10 * time.Second):
		h.t.Fatal("daemon not ready after 10s")
	}
	h.t.Cleanup(func() { cancel() })
}

func (h *harness) wait() error {
	select {
	case err := <-h.done:
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("daemon did not exit")
		return nil
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGateOffTouchesNothing(t *testing.T) {
	h := newHarness(t)
	h.env = map[string]string{}
	policyRead := false
	o := h.opts()
	o.Policy = func() (policy.Policy, error) { policyRead = true; return policy.Auto, nil }
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if policyRead {
		t.Error("policy read with the gate off")
	}
	if _, err := os.Stat(h.home.Dir); !os.IsNotExist(err) {
		t.Errorf("home created with the gate off: %v", err)
	}
}

func TestManualPolicyExitsWithoutStarting(t *testing.T) {
	h := newHarness(t)
	h.pol.Store(policy.Manual)
	if err := Run(context.Background(), h.opts()); err != nil {
		t.Fatal(err)
	}
	if h.worker.cycles.Load() != 0 {
		t.Error("worker ran under manual policy")
	}
	if _, err := os.Stat(h.home.DaemonState()); !os.IsNotExist(err) {
		t.Error("state file written under manual policy")
	}
}

func TestOnceRunsUnderManual(t *testing.T) {
	h := newHarness(t)
	h.pol.Store(policy.Manual)
	o := h.opts()
	o.Once = true
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := h.worker.cycles.Load(); n != 1 {
		t.Errorf("cycles = %d, want 1", n)
	}
}

func TestLifecycle(t *testing.T) {
	h := newHarness(t)
	h.worker.queue.Store(3)
	h.start(h.opts())

	// State file and socket exist, private to the user.
	for _, p := range []string{h.home.DaemonState(), h.home.DaemonSocket()} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	st, running, err := localapi.ReadState(h.home.DaemonState())
	if err != nil || !running || st.PID != os.Getpid() {
		t.Fatalf("state = %+v running=%v err=%v", st, running, err)
	}

	c := localapi.NewClient(h.home.DaemonSocket())
	ctx := context.Background()
	eventually(t, "first cycle", func() bool { return h.worker.cycles.Load() >= 1 })
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "woken cycle", func() bool { return h.worker.cycles.Load() >= 2 })
	eventually(t, "state after cycle", func() bool {
		s, err := c.Status(ctx)
		return err == nil && s.Delivered == 2 && s.QueueDepth == 1 && !s.LastSyncAt.IsZero()
	})

	// A second instance does not start.
	err = Run(ctx, h.opts())
	if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), "pid") {
		t.Errorf("second Run = %v, want ErrAlreadyRunning naming the pid", err)
	}

	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{h.home.DaemonState(), h.home.DaemonSocket()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind after a clean exit", p)
		}
	}
}

func TestSwitchToManualExits(t *testing.T) {
	h := newHarness(t)
	h.start(h.opts())
	h.pol.Store(policy.Manual)
	if err := localapi.NewClient(h.home.DaemonSocket()).Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestSignalAbandonsInFlightCycle(t *testing.T) {
	h := newHarness(t)
	h.worker.block = true
	h.start(h.opts())
	eventually(t, "cycle in flight", func() bool { return h.worker.cycles.Load() == 1 })
	start := time.Now()
	h.cancel()
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v, contract says within 5 s", d)
	}
	if _, err := os.Stat(h.home.DaemonSocket()); !os.IsNotExist(err) {
		t.Error("socket left behind")
	}
}

func TestAPIRefusesBrowsersAndForeignHosts(t *testing.T) {
	h := newHarness(t)
	h.start(h.opts())
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", h.home.DaemonSocket())
	}}
	hc := &http.Client{Transport: tr}
	tests := []struct {
		name   string
		host   string
		header map[string]string
		method string
		path   string
		want   int
	}{
		{"ok", localapi.Host, nil, "GET", localapi.RouteStatus, 200},
		{"origin", localapi.Host, map[string]string{"Origin": "https://evil.example"}, "POST", localapi.RouteShutdown, 403},
		{"referer", localapi.Host, map[string]string{"Referer": "https://evil.example/x"}, "GET", localapi.RouteStatus, 403},
		{"foreign host", "evil.example", nil, "GET", localapi.RouteStatus, 403},
		{"localhost host", "localhost", nil, "POST", localapi.RouteShutdown, 403},
		{"wrong method", localapi.Host, nil, "GET", localapi.RouteShutdown, 405},
		{"unknown route", localapi.Host, nil, "GET", "/v1/secrets", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://"+tt.host+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	// The daemon is still running: the refused shutdown did nothing.
	if _, err := localapi.NewClient(h.home.DaemonSocket()).Status(context.Background()); err != nil {
		t.Errorf("daemon gone after refused requests: %v", err)
	}
}

func TestLogRotation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "logs", "d.log")
	l, err := OpenLog(p, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("x", 39) + "\n")
	for i := 0; i < 10; i++ {
		if _, err := l.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	for _, f := range []string{p, p + ".1", p + ".2"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if fi.Size() > 100 {
			t.Errorf("%s is %d bytes, over the limit", f, fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", f, fi.Mode().Perm())
		}
	}
	if _, err := os.Stat(p + ".3"); !os.IsNotExist(err) {
		t.Error("kept more than 2 rotated files")
	}
}

func TestSocketPathTooLong(t *testing.T) {
	h := newHarness(t)
	h.home.Dir = filepath.Join(h.home.Dir, strings.Repeat("d", MaxSocketPath))
	err := Run(context.Background(), h.opts())
	if err == nil || !strings.Contains(err.Error(), "SPEC_KITTY_HOME") {
		t.Errorf("Run = %v, want an error telling to shorten SPEC_KITTY_HOME", err)
	}
}

func TestLooseHomeIsMadePrivate(t *testing.T) {
	h := newHarness(t)
	if err := os.MkdirAll(h.home.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(h.home.Dir, 0o755)
	o := h.opts()
	o.Once = true
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(h.home.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("home mode %v after the daemon ran, want 0700", fi.Mode().Perm())
	}
}
