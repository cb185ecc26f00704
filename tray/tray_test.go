package tray

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
)

var update = flag.Bool("update", false, "rewrite testdata/combinations.golden")

var now = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func ready() readiness.Result { return readiness.Result{State: readiness.Ready} }

func notReady(s readiness.State) readiness.Result {
	msg, next := readiness.Wording(s)
	r := strings.NewReplacer("{host}", "https://sync.example.com", "{mission}", "042-tray")
	return readiness.Result{State: s, Message: r.Replace(msg), NextAction: r.Replace(next)}
}

// daemon states the tray can meet.
type daemonCase struct {
	name string
	d    status.Daemon
	errs ErrorTrack
}

func daemonCases() []daemonCase {
	st := localapi.State{PID: 4242, StartedAt: now.Add(-time.Hour), Policy: "auto", LastSyncAt: now.Add(-3 * time.Minute)}
	failed := st
	failed.LastError, failed.ConsecutiveFailures = "upload events: 503 Service Unavailable", 4
	return []daemonCase{
		{"running", status.Daemon{Running: true, State: st}, ErrorTrack{}},
		{"running-failing-30s", status.Daemon{Running: true, State: failed}, ErrorTrack{Message: failed.LastError, Since: now.Add(-ErrorHold)}},
		{"stopped", status.Daemon{}, ErrorTrack{}},
		{"stale-pid", status.Daemon{Running: false, State: failed}, ErrorTrack{}},
	}
}

type queueCase struct {
	name string
	q    status.Queue
}

var queueCases = []queueCase{
	{"empty", status.Queue{}},
	{"depth", status.Queue{Depth: 7}},
	{"dead-letters", status.Queue{Depth: 2, DeadLetters: 3}},
}

type readinessCase struct {
	name string
	gate bool
	r    readiness.Result
}

func readinessCases() []readinessCase {
	cs := []readinessCase{{"gate-off", false, notReady(readiness.RolloutDisabled)}}
	for _, s := range readiness.States {
		if s == readiness.RolloutDisabled {
			continue
		}
		r := ready()
		if s != readiness.Ready {
			r = notReady(s)
		}
		cs = append(cs, readinessCase{string(s), true, r})
	}
	return cs
}

// describe renders a view on one line for the golden file.
func describe(v View) string {
	var items []string
	for _, it := range v.Items[1:] {
		s := string(it.ID) + "="
		switch {
		case !it.Visible:
			s += "hidden"
		case !it.Enabled:
			s += "off"
		default:
			s += "on"
		}
		if it.Checkable && it.Checked {
			s += "+checked"
		}
		items = append(items, s)
	}
	return fmt.Sprintf("look=%s | tooltip=%q | status=%q | %s", v.Look, v.Tooltip, v.StatusLine, strings.Join(items, " "))
}

// TestEveryCombination builds the view for every readiness state × daemon
// state × policy × queue condition, checks the invariants of §11 on each and
// compares the whole matrix with testdata/combinations.golden (regenerate with
// -update and read the diff).
func TestEveryCombination(t *testing.T) {
	var golden strings.Builder
	looks := map[Look]bool{}
	for _, rc := range readinessCases() {
		for _, dc := range daemonCases() {
			for _, pol := range []policy.Policy{policy.Auto, policy.Manual} {
				for _, qc := range queueCases {
					name := fmt.Sprintf("%s/%s/%s/%s", rc.name, dc.name, pol, qc.name)
					in := Input{Status: status.Status{Gate: rc.gate, Policy: pol, Readiness: rc.r, Daemon: dc.d, Queue: qc.q}, Errors: dc.errs, Now: now}
					v := Build(in)
					t.Run(name, func(t *testing.T) { checkInvariants(t, in, v) })
					looks[v.Look] = true
					fmt.Fprintf(&golden, "%-60s %s\n", name, describe(v))
				}
			}
		}
	}
	if len(looks) != len(Looks) {
		t.Errorf("the matrix reached looks %v, want all of %v", looks, Looks)
	}
	path := filepath.Join("testdata", "combinations.golden")
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tray -run TestEveryCombination -update)", err)
	}
	if diff := cmp.Diff(string(want), golden.String()); diff != "" {
		t.Errorf("combinations differ from %s (-want +got):\n%s", path, diff)
	}
}

func checkInvariants(t *testing.T, in Input, v View) {
	t.Helper()
	if !slices.Contains(Looks, v.Look) {
		t.Errorf("look %q is not one of the five", v.Look)
	}
	if !strings.HasPrefix(v.Tooltip, Title+": ") {
		t.Errorf("tooltip %q does not name the app", v.Tooltip)
	}
	if v.StatusLine == "" {
		t.Error("empty status line")
	}
	var ids []ItemID
	for _, it := range v.Items {
		ids = append(ids, it.ID)
	}
	if diff := cmp.Diff(ItemIDs, ids); diff != "" {
		t.Errorf("menu items (-want +got):\n%s", diff)
	}
	st := v.Item(ItemStatus)
	if st.Enabled || !st.Visible || st.Label != v.StatusLine {
		t.Errorf("status item %+v: want visible, disabled, labelled with the status line", st)
	}
	if !in.Status.Readiness.OK() && v.StatusLine != in.Status.Readiness.Message {
		t.Errorf("status line %q, want the readiness message %q", v.StatusLine, in.Status.Readiness.Message)
	}
	if v.Item(ItemSyncNow).Enabled && (!in.Status.Gate || !in.Status.Readiness.OK()) {
		t.Error("Sync now enabled while not ready")
	}
	wantLogin := in.Status.Gate && in.Status.Readiness.State == readiness.MissingAuth
	if got := v.Item(ItemLogin).Visible; got != wantLogin {
		t.Errorf("Log in visible = %v, want %v", got, wantLogin)
	}
	auto := v.Item(ItemAutoSync)
	if !auto.Checkable || auto.Checked != (in.Status.Gate && in.Status.Policy == policy.Auto) || auto.Enabled != in.Status.Gate {
		t.Errorf("checkbox %+v for gate %v policy %s", auto, in.Status.Gate, in.Status.Policy)
	}
	if !v.Item(ItemQuit).Enabled || !v.Item(ItemDashboard).Enabled {
		t.Error("Quit and Open dashboard must always work")
	}
	if in.Status.Gate && in.Status.Readiness.OK() {
		if in.Status.Queue.DeadLetters > 0 && !in.Errors.Visible(in.Now) && v.Look != Attention {
			t.Errorf("dead letters shown as %s, want attention", v.Look)
		}
		if in.Errors.Visible(in.Now) && v.Look != Error {
			t.Errorf("an error persisting %s shown as %s, want error", ErrorHold, v.Look)
		}
	}
	if !in.Status.Readiness.OK() && v.Look != Attention && in.Status.Gate {
		t.Errorf("readiness %s shown as %s, want attention", in.Status.Readiness.State, v.Look)
	}
}

// TestBuild pins the important rows with explicit expectations.
func TestBuild(t *testing.T) {
	running := status.Daemon{Running: true, State: localapi.State{PID: 7, LastSyncAt: now.Add(-2*time.Minute - 10*time.Second)}}
	failingDaemon := status.Daemon{Running: true, State: localapi.State{PID: 7, LastError: "upload: 503 Service Unavailable", ConsecutiveFailures: 3, LastSyncAt: now.Add(-10 * time.Minute)}}
	tests := []struct {
		name                  string
		in                    Input
		look                  Look
		tooltip, status       string
		syncNow, login, check bool
	}{
		{
			name:    "ready and synced",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: running}, Now: now},
			look:    Ready,
			tooltip: "Spec Kitty Sync: ready", status: "Synced 2 min ago",
			syncNow: true, check: true,
		},
		{
			name:    "ready with a queue, synced seconds ago",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Queue: status.Queue{Depth: 1}, Daemon: status.Daemon{Running: true, State: localapi.State{PID: 7, LastSyncAt: now.Add(-20 * time.Second)}}}, Now: now},
			look:    Ready,
			tooltip: "Spec Kitty Sync: ready (1 event queued)", status: "Synced just now",
			syncNow: true, check: true,
		},
		{
			name:    "running, never synced",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: status.Daemon{Running: true, State: localapi.State{PID: 7}}}, Now: now},
			look:    Ready,
			tooltip: "Spec Kitty Sync: ready", status: "Not synced yet",
			syncNow: true, check: true,
		},
		{
			name:    "manual mode",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Manual, Readiness: ready(), Queue: status.Queue{Depth: 12}}, Now: now},
			look:    Manual,
			tooltip: "Spec Kitty Sync: manual mode (12 events queued)", status: "Manual mode: use Sync now to sync",
			syncNow: true,
		},
		{
			// No daemon runs under manual: the last one-shot sync tells when.
			name:    "manual mode after a one-shot sync",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Manual, Readiness: ready(), LastSync: localapi.LastSync{At: now.Add(-5 * time.Minute)}}, Now: now},
			look:    Manual,
			tooltip: "Spec Kitty Sync: manual mode", status: "Manual mode: synced 5 min ago",
			syncNow: true,
		},
		{
			name:    "auto but no daemon",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready()}, Now: now},
			look:    Stopped,
			tooltip: "Spec Kitty Sync: background sync stopped", status: "Background sync is not running",
			syncNow: true, check: true,
		},
		{
			name:    "missing auth offers log in",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: notReady(readiness.MissingAuth)}, Now: now},
			look:    Attention,
			tooltip: "Spec Kitty Sync: needs attention. Run `spec-kitty auth login`.", status: "No SaaS authentication token is present.",
			login: true, check: true,
		},
		{
			name:    "host refused the session",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: status.Daemon{Running: true, State: localapi.State{PID: 7, AuthMissing: true}}}, Now: now},
			look:    Attention,
			tooltip: "Spec Kitty Sync: needs attention. Run `spec-kitty auth login`.", status: "No SaaS authentication token is present.",
			login: true, check: true,
		},
		{
			name:    "missing host",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Manual, Readiness: notReady(readiness.MissingHostConfig)}, Now: now},
			look:    Attention,
			tooltip: "Spec Kitty Sync: needs attention. Set `SPEC_KITTY_SAAS_URL` in your environment.", status: "No SaaS host URL is configured.",
		},
		{
			name:    "fresh error is not shown yet",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: failingDaemon}, Errors: ErrorTrack{Message: "x", Since: now.Add(-29 * time.Second)}, Now: now},
			look:    Ready,
			tooltip: "Spec Kitty Sync: ready", status: "Synced 10 min ago",
			syncNow: true, check: true,
		},
		{
			name:    "error persisted 30 s",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: failingDaemon}, Errors: ErrorTrack{Message: "upload: 503 Service Unavailable", Since: now.Add(-30 * time.Second)}, Now: now},
			look:    Error,
			tooltip: "Spec Kitty Sync: sync failing. Run `spec-kitty sync status` for details.", status: "Last sync failed: upload: 503 Service Unavailable",
			syncNow: true, check: true,
		},
		{
			// The daemon's error in the readiness wording, not raw HTTP text.
			name: "host unreachable, worded as readiness",
			in: Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: status.Daemon{Running: true, State: localapi.State{PID: 7, Host: "https://sync.example.com",
				LastError: "https://sync.example.com: POST /api/v1/events/batch/: dial tcp: connection refused", LastErrorState: "host_unreachable", ConsecutiveFailures: 3}}}, Errors: ErrorTrack{Message: "x", Since: now.Add(-time.Minute), Observed: true}, Now: now},
			look:    Error,
			tooltip: "Spec Kitty Sync: sync failing. Check network connectivity to `https://sync.example.com` and retry.",
			status:  "The configured SaaS host did not respond within 2 seconds.",
			syncNow: true, check: true,
		},
		{
			name: "host answered 503",
			in: Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: status.Daemon{Running: true, State: localapi.State{PID: 7, Host: "https://sync.example.com",
				LastError: "https://sync.example.com: POST /api/v1/events/batch/: HTTP 503 service unavailable", LastErrorStatus: 503, ConsecutiveFailures: 3}}}, Errors: ErrorTrack{Message: "x", Since: now.Add(-time.Minute), Observed: true}, Now: now},
			look:    Error,
			tooltip: "Spec Kitty Sync: sync failing. Run `spec-kitty sync status` for details.",
			status:  "The SaaS host answered HTTP 503; sync retries automatically.",
			syncNow: true, check: true,
		},
		{
			name:    "dead letters",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready(), Daemon: running, Queue: status.Queue{DeadLetters: 1}}, Now: now},
			look:    Attention,
			tooltip: "Spec Kitty Sync: needs attention", status: "1 event rejected by the host; run `spec-kitty sync status`",
			syncNow: true, check: true,
		},
		{
			name:    "unreadable config",
			in:      Input{Status: status.Status{Gate: true, ConfigErr: "config.toml:3:1: expected '='", Readiness: ready(), Daemon: running}, Now: now},
			look:    Attention,
			tooltip: "Spec Kitty Sync: needs attention", status: "Cannot read config.toml: config.toml:3:1: expected '='",
		},
		{
			name:    "gate off",
			in:      Input{Status: status.Status{Gate: false, Policy: policy.Auto, Readiness: notReady(readiness.RolloutDisabled), Daemon: running, Queue: status.Queue{Depth: 3}}, Now: now},
			look:    Stopped,
			tooltip: "Spec Kitty Sync: hosted sync not enabled", status: "Hosted SaaS sync is not enabled on this machine.",
		},
		{
			name:    "sync in flight",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Manual, Readiness: ready()}, Action: Action{Busy: "Syncing…"}, Now: now},
			look:    Manual,
			tooltip: "Spec Kitty Sync: manual mode", status: "Syncing…",
		},
		{
			name:    "note of a failed action, still fresh",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Manual, Readiness: ready()}, Action: Action{Note: "Sync now failed: exit status 1", NoteUntil: now.Add(time.Second)}, Now: now},
			look:    Manual,
			tooltip: "Spec Kitty Sync: manual mode", status: "Sync now failed: exit status 1",
			syncNow: true,
		},
		{
			name:    "note expired",
			in:      Input{Status: status.Status{Gate: true, Policy: policy.Manual, Readiness: ready()}, Action: Action{Note: "Sync now failed", NoteUntil: now}, Now: now},
			look:    Manual,
			tooltip: "Spec Kitty Sync: manual mode", status: "Manual mode: use Sync now to sync",
			syncNow: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Build(tt.in)
			type summary struct {
				Look                  Look
				Tooltip, Status       string
				SyncNow, Login, Check bool
			}
			got := summary{v.Look, v.Tooltip, v.StatusLine, v.Item(ItemSyncNow).Enabled, v.Item(ItemLogin).Visible, v.Item(ItemAutoSync).Checked}
			want := summary{tt.look, tt.tooltip, tt.status, tt.syncNow, tt.login, tt.check}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrack(t *testing.T) {
	fail := func(msg string) status.Daemon {
		return status.Daemon{Running: true, State: localapi.State{PID: 1, LastError: msg, ConsecutiveFailures: 1}}
	}
	t0 := now
	steps := []struct {
		name    string
		d       status.Daemon
		at      time.Time
		want    ErrorTrack
		visible bool
	}{
		{"healthy", status.Daemon{Running: true}, t0, ErrorTrack{Observed: true}, false},
		{"first failure", fail("503"), t0.Add(5 * time.Second), ErrorTrack{"503", t0.Add(5 * time.Second), true}, false},
		{"other wording keeps first-seen", fail("timeout"), t0.Add(20 * time.Second), ErrorTrack{"timeout", t0.Add(5 * time.Second), true}, false},
		{"29 s", fail("timeout"), t0.Add(34 * time.Second), ErrorTrack{"timeout", t0.Add(5 * time.Second), true}, false},
		{"30 s", fail("timeout"), t0.Add(35 * time.Second), ErrorTrack{"timeout", t0.Add(5 * time.Second), true}, true},
		{"recovered", status.Daemon{Running: true, State: localapi.State{PID: 1, LastSyncAt: t0.Add(40 * time.Second)}}, t0.Add(40 * time.Second), ErrorTrack{Observed: true}, false},
		{"fails again restarts the clock", fail("503"), t0.Add(45 * time.Second), ErrorTrack{"503", t0.Add(45 * time.Second), true}, false},
		{"daemon died", status.Daemon{Running: false, State: fail("503").State}, t0.Add(90 * time.Second), ErrorTrack{Observed: true}, false},
		{"stale error after a newer sync", status.Daemon{Running: true, State: localapi.State{PID: 1, LastError: "503", LastErrorAt: t0, LastSyncAt: t0.Add(time.Second)}}, t0.Add(100 * time.Second), ErrorTrack{Observed: true}, false},
	}
	var tr ErrorTrack
	// The first look: a daemon already failing shows at once, with no hold.
	if first := Track(tr, fail("503"), t0); !first.Visible(t0) {
		t.Fatalf("a failure present when the tray starts is held: %+v", first)
	}
	for _, s := range steps {
		tr = Track(tr, s.d, s.at)
		if diff := cmp.Diff(s.want, tr); diff != "" {
			t.Fatalf("%s: track (-want +got):\n%s", s.name, diff)
		}
		if got := tr.Visible(s.at); got != s.visible {
			t.Fatalf("%s: visible = %v, want %v", s.name, got, s.visible)
		}
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("x", 300)
	got := Build(Input{Status: status.Status{Gate: true, ConfigErr: "line1\nline2 " + long, Readiness: ready()}, Now: now}).StatusLine
	if n := len([]rune(got)); n != maxStatus || strings.Contains(got, "\n") || !strings.HasSuffix(got, "…") {
		t.Errorf("status line %q: %d runes, want %d on one line ending in …", got, n, maxStatus)
	}
}
