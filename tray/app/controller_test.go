package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/tray"
)

// fakeReader hands out a snapshot the test changes.
type fakeReader struct {
	mu          sync.Mutex
	snap        status.Status
	reads       int
	authChanged int
}

func (r *fakeReader) Read(context.Context) status.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	return r.snap
}

func (r *fakeReader) AuthChanged() {
	r.mu.Lock()
	r.authChanged++
	r.mu.Unlock()
}

func (r *fakeReader) set(f func(*status.Status)) {
	r.mu.Lock()
	f(&r.snap)
	r.mu.Unlock()
}

func (r *fakeReader) counts() (reads, authChanged int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads, r.authChanged
}

// fakeCLI plays spec-kitty: each command's behaviour is a function of its
// joined arguments.
type fakeCLI struct {
	mu    sync.Mutex
	calls []string
	do    map[string]func(ctx context.Context, out io.Writer) error
}

func (f *fakeCLI) run(ctx context.Context, args []string, out io.Writer) error {
	key := strings.Join(args, " ")
	f.mu.Lock()
	f.calls = append(f.calls, key)
	do := f.do[key]
	f.mu.Unlock()
	if do == nil {
		return nil
	}
	return do(ctx, out)
}

func (f *fakeCLI) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// harness runs a Controller in a synctest bubble.
type harness struct {
	t       *testing.T
	reader  *fakeReader
	cli     *fakeCLI
	clicks  chan tray.ItemID
	mu      sync.Mutex
	views   []tray.View
	opened  []string
	policy  []policy.Policy
	reloads int
	setErr  error
	quit    bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func readySnap(p policy.Policy, d status.Daemon) status.Status {
	return status.Status{Gate: true, Policy: p, Readiness: readiness.Result{State: readiness.Ready}, Daemon: d}
}

func runningDaemon() status.Daemon {
	return status.Daemon{Running: true, State: localapi.State{PID: 42, LastSyncAt: time.Now()}}
}

// startHarness must be called inside synctest.Test.
func startHarness(t *testing.T, snap status.Status) *harness {
	h := &harness{t: t, reader: &fakeReader{snap: snap}, cli: &fakeCLI{do: map[string]func(context.Context, io.Writer) error{}},
		clicks: make(chan tray.ItemID), done: make(chan struct{})}
	c := &Controller{
		Reader: h.reader,
		Run:    h.cli.run,
		Open: func(_ context.Context, u string) error {
			h.mu.Lock()
			h.opened = append(h.opened, u)
			h.mu.Unlock()
			return nil
		},
		SetPolicy: func(p policy.Policy) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.policy = append(h.policy, p)
			return h.setErr
		},
		Reload: func(context.Context) error {
			h.mu.Lock()
			h.reloads++
			h.mu.Unlock()
			return nil
		},
		Draw: func(v tray.View) {
			h.mu.Lock()
			h.views = append(h.views, v)
			h.mu.Unlock()
		},
		Now: time.Now,
		Log: slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	c.Quit = func() {
		h.mu.Lock()
		h.quit = true
		h.mu.Unlock()
	}
	go func() {
		defer close(h.done)
		c.Loop(ctx, h.clicks)
	}()
	synctest.Wait()
	return h
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
}

// last is the view drawn last.
func (h *harness) last() tray.View {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.views) == 0 {
		h.t.Fatal("nothing drawn")
	}
	return h.views[len(h.views)-1]
}

func (h *harness) drawn() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.views)
}

func (h *harness) click(id tray.ItemID) {
	h.clicks <- id
	synctest.Wait()
}

func TestRefreshAtMostEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, readySnap(policy.Auto, status.Daemon{}))
		defer h.stop()
		if reads, _ := h.reader.counts(); reads != 1 || h.drawn() != 1 || h.last().Look != tray.Stopped {
			t.Fatalf("start: %d reads, %d draws, look %s", reads, h.drawn(), h.last().Look)
		}
		h.reader.set(func(s *status.Status) { s.Daemon = runningDaemon() })
		time.Sleep(RefreshInterval - time.Millisecond)
		synctest.Wait()
		if reads, _ := h.reader.counts(); reads != 1 {
			t.Fatalf("%d reads before the interval passed", reads)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if reads, _ := h.reader.counts(); reads != 2 || h.last().Look != tray.Ready {
			t.Fatalf("after the interval: %d reads, look %s", reads, h.last().Look)
		}
		time.Sleep(RefreshInterval)
		synctest.Wait()
		if reads, _ := h.reader.counts(); reads != 3 || h.drawn() != 2 {
			t.Fatalf("an unchanged view was redrawn: %d reads, %d draws", reads, h.drawn())
		}
	})
}

func TestErrorShowsAfterHold(t *testing.T) {
	// A daemon already failing when the tray starts shows the error at once:
	// a fresh tray never shows green over it.
	synctest.Test(t, func(t *testing.T) {
		d := runningDaemon()
		d.State.LastError, d.State.ConsecutiveFailures = "upload: 503", 1
		h := startHarness(t, readySnap(policy.Auto, d))
		defer h.stop()
		if look := h.last().Look; look != tray.Error {
			t.Fatalf("first look %s over a daemon already failing, want %s", look, tray.Error)
		}
	})
	// A failure that starts while the tray watches must persist ErrorHold.
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, readySnap(policy.Auto, runningDaemon()))
		defer h.stop()
		if look := h.last().Look; look != tray.Ready {
			t.Fatalf("first look %s, want %s", look, tray.Ready)
		}
		h.reader.set(func(s *status.Status) {
			s.Daemon.State.LastError, s.Daemon.State.ConsecutiveFailures = "upload: 503", 1
		})
		time.Sleep(RefreshInterval)
		synctest.Wait()
		start := time.Now()
		for h.last().Look != tray.Error {
			if h.last().Look != tray.Ready {
				t.Fatalf("look %s while the error is young", h.last().Look)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if held := time.Since(start); held < tray.ErrorHold-RefreshInterval || held > tray.ErrorHold+RefreshInterval {
			t.Fatalf("error shown after %s, want %s within one refresh", held, tray.ErrorHold)
		}
	})
}

func TestSyncNow(t *testing.T) {
	tests := []struct {
		name     string
		policy   policy.Policy
		cmd      string
		fail     bool
		wantNote string
	}{
		{"auto starts the daemon through the CLI", policy.Auto, "sync start", false, noteSyncStarted},
		{"manual runs a one-shot sync", policy.Manual, "sync run", false, noteSyncDone},
		{"failure shows the CLI's error", policy.Manual, "sync run", true, "Sync now failed: the host answered 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startHarness(t, readySnap(tt.policy, status.Daemon{}))
				defer h.stop()
				release := make(chan struct{})
				h.cli.do[tt.cmd] = func(ctx context.Context, out io.Writer) error {
					<-release
					if tt.fail {
						fmt.Fprint(out, "spec-kitty: error: the host answered 503\nspec-kitty: hint: run `spec-kitty sync status`\n")
						return errors.New("exit status 1")
					}
					return nil
				}
				h.click(tray.ItemSyncNow)
				v := h.last()
				if v.StatusLine != busySync || v.Item(tray.ItemSyncNow).Enabled {
					t.Fatalf("while running: status %q, sync enabled %v", v.StatusLine, v.Item(tray.ItemSyncNow).Enabled)
				}
				h.click(tray.ItemSyncNow) // ignored: disabled while running
				close(release)
				synctest.Wait()
				if diff := cmp.Diff([]string{tt.cmd}, h.cli.called()); diff != "" {
					t.Errorf("commands (-want +got):\n%s", diff)
				}
				if v := h.last(); v.StatusLine != tt.wantNote || !v.Item(tray.ItemSyncNow).Enabled {
					t.Errorf("after: status %q, sync enabled %v", v.StatusLine, v.Item(tray.ItemSyncNow).Enabled)
				}
				time.Sleep(tray.NoteFor)
				synctest.Wait()
				if v := h.last(); v.StatusLine == tt.wantNote {
					t.Errorf("note still shown after %s", tray.NoteFor)
				}
			})
		})
	}
}

func TestUnavailableItemsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		msg, next := readiness.Wording(readiness.MissingHostConfig)
		h := startHarness(t, status.Status{Gate: true, Policy: policy.Auto, Readiness: readiness.Result{State: readiness.MissingHostConfig, Message: msg, NextAction: next}})
		defer h.stop()
		h.click(tray.ItemSyncNow)
		h.click(tray.ItemLogin)
		if calls := h.cli.called(); len(calls) != 0 {
			t.Errorf("ran %q for disabled items", calls)
		}
	})
}

func TestToggleAuto(t *testing.T) {
	tests := []struct {
		name        string
		snap        status.Status
		setErr      error
		wantPolicy  []policy.Policy
		wantReloads int
		wantStatus  string
	}{
		{"auto to manual tells a running daemon", readySnap(policy.Auto, runningDaemon()), nil, []policy.Policy{policy.Manual}, 1, ""},
		{"manual to auto starts no daemon", readySnap(policy.Manual, status.Daemon{}), nil, []policy.Policy{policy.Auto}, 0, ""},
		{"a failed write is shown", readySnap(policy.Auto, status.Daemon{}), errors.New("write config.toml: permission denied"), []policy.Policy{policy.Manual}, 0,
			"Could not save the setting: write config.toml: permission denied"},
		{"unreadable config: the checkbox does nothing", status.Status{Gate: true, ConfigErr: "config.toml:1:1: bad", Readiness: readiness.Result{State: readiness.Ready}}, nil, nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := startHarness(t, tt.snap)
				defer h.stop()
				h.setErr = tt.setErr
				h.click(tray.ItemAutoSync)
				h.mu.Lock()
				gotPolicy, gotReloads := h.policy, h.reloads
				h.mu.Unlock()
				if diff := cmp.Diff(tt.wantPolicy, gotPolicy); diff != "" {
					t.Errorf("policy writes (-want +got):\n%s", diff)
				}
				if gotReloads != tt.wantReloads {
					t.Errorf("%d reloads, want %d", gotReloads, tt.wantReloads)
				}
				if calls := h.cli.called(); len(calls) != 0 {
					t.Errorf("the checkbox ran %q", calls)
				}
				if tt.wantStatus != "" && h.last().StatusLine != tt.wantStatus {
					t.Errorf("status %q, want %q", h.last().StatusLine, tt.wantStatus)
				}
			})
		})
	}
}

func TestLogin(t *testing.T) {
	const (
		plain    = "https://sync.example.com/device"
		complete = "https://sync.example.com/device?user_code=WDJB-MJHT"
	)
	tests := []struct {
		name       string
		output     string
		fail       bool
		wantOpened []string
		wantBusy   string
		wantNote   string
	}{
		{
			name: "complete URL preferred",
			output: "To sign in, open " + plain + " and enter the code WDJB-MJHT\n  (or open " + complete + ")\n" +
				`{"step":"device_code","verification_uri":"` + plain + `","verification_uri_complete":"` + complete + `","user_code":"WDJB-MJHT","expires_in":900}` + "\nWaiting for approval...\n" +
				`{"step":"signed_in","signed_in":true,"host":"https://sync.example.com"}` + "\n",
			wantOpened: []string{complete}, wantBusy: "Enter code WDJB-MJHT in your browser", wantNote: noteLoggedIn,
		},
		{
			name: "plain URL when the host offers no complete one",
			output: "To sign in, open " + plain + " and enter the code WDJB-MJHT\n" +
				`{"step":"device_code","verification_uri":"` + plain + `","user_code":"WDJB-MJHT","expires_in":900}` + "\nWaiting for approval...\n" +
				`{"step":"signed_in","signed_in":true,"host":"https://sync.example.com"}` + "\n",
			wantOpened: []string{plain}, wantBusy: "Enter code WDJB-MJHT in your browser", wantNote: noteLoggedIn,
		},
		{
			name: "denied",
			output: "To sign in, open " + plain + " and enter the code WDJB-MJHT\n" +
				`{"step":"device_code","verification_uri":"` + plain + `","user_code":"WDJB-MJHT","expires_in":900}` + "\nWaiting for approval...\n" +
				"spec-kitty: error: https://sync.example.com: sign-in was denied\n",
			fail:       true,
			wantOpened: []string{plain}, wantBusy: "Enter code WDJB-MJHT in your browser", wantNote: "Log in failed: https://sync.example.com: sign-in was denied",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				msg, next := readiness.Wording(readiness.MissingAuth)
				h := startHarness(t, status.Status{Gate: true, Policy: policy.Auto, Readiness: readiness.Result{State: readiness.MissingAuth, Message: msg, NextAction: next}})
				defer h.stop()
				approve := make(chan struct{})
				h.cli.do["auth login --headless --json"] = func(ctx context.Context, out io.Writer) error {
					lines := strings.SplitAfter(tt.output, "\n")
					last := lines[len(lines)-2]
					for _, l := range lines[:len(lines)-2] {
						io.WriteString(out, l)
					}
					if !tt.fail {
						io.WriteString(out, last)
					}
					<-approve
					if tt.fail {
						io.WriteString(out, last)
						return errors.New("exit status 1")
					}
					h.reader.set(func(s *status.Status) { s.Readiness = readiness.Result{State: readiness.Ready} })
					return nil
				}
				h.click(tray.ItemLogin)
				if v := h.last(); v.StatusLine != tt.wantBusy {
					t.Errorf("while waiting: status %q, want %q", v.StatusLine, tt.wantBusy)
				}
				close(approve)
				synctest.Wait()
				h.mu.Lock()
				opened := slices.Clone(h.opened)
				h.mu.Unlock()
				if diff := cmp.Diff(tt.wantOpened, opened); diff != "" {
					t.Errorf("opened (-want +got):\n%s", diff)
				}
				v := h.last()
				if v.StatusLine != tt.wantNote {
					t.Errorf("after: status %q, want %q", v.StatusLine, tt.wantNote)
				}
				if _, changed := h.reader.counts(); changed != 1 {
					t.Errorf("auth cache dropped %d times, want 1", changed)
				}
				if !tt.fail && (v.Item(tray.ItemLogin).Visible || v.Look != tray.Stopped) {
					t.Errorf("after login: %+v", v)
				}
			})
		})
	}
}

func TestQuitStopsActions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, readySnap(policy.Manual, status.Daemon{}))
		stopped := false
		h.cli.do["sync run"] = func(ctx context.Context, out io.Writer) error {
			<-ctx.Done()
			stopped = true
			return ctx.Err()
		}
		h.cli.do["dashboard --open --recent"] = func(ctx context.Context, out io.Writer) error {
			<-ctx.Done()
			return ctx.Err()
		}
		h.click(tray.ItemSyncNow)
		h.click(tray.ItemDashboard)
		h.clicks <- tray.ItemQuit
		<-h.done
		h.mu.Lock()
		quit := h.quit
		h.mu.Unlock()
		if !quit || !stopped {
			t.Fatalf("quit called %v, sync stopped %v", quit, stopped)
		}
		h.cancel()
	})
}

func TestDashboardFailureShown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, readySnap(policy.Auto, runningDaemon()))
		defer h.stop()
		h.cli.do["dashboard --open --recent"] = func(ctx context.Context, out io.Writer) error {
			fmt.Fprintln(out, "spec-kitty: error: not inside a spec-kitty project (no .kittify/ or kitty-specs/ above /home/u)")
			return errors.New("exit status 1")
		}
		h.click(tray.ItemDashboard)
		if got := h.last().StatusLine; !strings.HasPrefix(got, "Open dashboard failed: not inside a spec-kitty project") {
			t.Errorf("status %q", got)
		}
	})
}

// TestDashboardServesTheRecentRepo: the tray lets the CLI choose the
// repository (--recent: outside one, the repository hosted sync registered
// last; see cli/testdata/script/dashboard_recent.txtar).
func TestDashboardServesTheRecentRepo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, readySnap(policy.Auto, runningDaemon()))
		defer h.stop()
		ran := make(chan struct{}, 1)
		h.cli.do["dashboard --open --recent"] = func(ctx context.Context, out io.Writer) error {
			ran <- struct{}{}
			return nil
		}
		h.click(tray.ItemDashboard)
		synctest.Wait()
		select {
		case <-ran:
		default:
			t.Fatal("the CLI was not asked for the recent repository")
		}
	})
}
