package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/tray"
)

// TestTray drives the tray the way a desktop would: it registers, shows the
// model's look, follows the daemon's state file, flips the policy from its
// checkbox (writing config.toml and asking the daemon to reload) and quits.
func TestTray(t *testing.T) {
	t.Parallel()
	addr := startBus(t)
	w := startWatcher(t, addr)
	e := newEnv(t, addr, true)
	p := start(t, e.vars)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := w.Wait(ctx)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.stderr.String())
	}
	it := connectItem(t, dial(t, addr), reg.Service, reg.Path)

	// No config, no daemon: auto policy, stopped.
	it.waitShown(t, expect(t, view(policy.Auto, status.Daemon{})), 5*time.Second)

	// A daemon appears (state file + local API); the tray notices within
	// its refresh period.
	st := localapi.State{StartedAt: time.Now(), Policy: "auto", LastSyncAt: time.Now().Add(-3*time.Minute - 20*time.Second), QueueDepth: 2}
	d := startFakeDaemon(t, e.home, st)
	st.PID = os.Getpid()
	running := status.Daemon{Running: true, State: st}
	s := it.waitShown(t, expect(t, view(policy.Auto, running)), 8*time.Second)
	if s.Menu[0].Label != "Synced 3 min ago" {
		t.Errorf("status line %q", s.Menu[0].Label)
	}

	// Uncheck "Automatic background sync": config says manual, the daemon
	// is told to reload, the checkbox and the look follow.
	it.click(t, s, tray.LabelAutoSync)
	configHas(t, e.home, `background_daemon = "manual"`)
	s = it.waitShown(t, expect(t, view(policy.Manual, running)), 3*time.Second)
	poll(t, 3*time.Second, func() string {
		if d := cmp.Diff([]string{"POST /v1/reload"}, d.requests()); d != "" {
			return "daemon requests (-want +got):\n" + d
		}
		return ""
	})

	// And back on.
	it.click(t, s, tray.LabelAutoSync)
	configHas(t, e.home, `background_daemon = "auto"`)
	s = it.waitShown(t, expect(t, view(policy.Auto, running)), 3*time.Second)

	// The daemon goes away: stopped again.
	if err := os.Remove(e.home.DaemonState()); err != nil {
		t.Fatal(err)
	}
	s = it.waitShown(t, expect(t, view(policy.Auto, status.Daemon{})), 8*time.Second)

	it.click(t, s, tray.LabelQuit)
	if code := p.exit(t, 5*time.Second); code != 0 {
		t.Fatalf("Quit: exit %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if reqs := d.requests(); len(reqs) != 2 {
		t.Errorf("daemon got %v, want two reloads and nothing else", reqs)
	}
	if out := p.stderr.String(); strings.Contains(out, "systray error") || strings.Contains(out, "level=ERROR") {
		t.Errorf("the tray reported errors:\n%s", out)
	}
	t.Logf("tray stderr:\n%s", p.stderr.String())
}

// TestBusGoesAway: when the session bus dies under it the tray exits 1
// instead of lingering without an icon.
func TestBusGoesAway(t *testing.T) {
	t.Parallel()
	addr, kill := startKillableBus(t)
	w := startWatcher(t, addr)
	e := newEnv(t, addr, true)
	p := start(t, e.vars)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.Wait(ctx); err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.stderr.String())
	}
	kill()
	if code := p.exit(t, 5*time.Second); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, p.stderr.String())
	}
	if out := p.stderr.String(); !strings.Contains(out, "D-Bus session bus went away") {
		t.Errorf("stderr does not say why: %q", out)
	}
}

// TestTrayMissingAuth: without a session the tray asks for attention and
// offers "Log in…"; "Sync now" is disabled.
func TestTrayMissingAuth(t *testing.T) {
	t.Parallel()
	addr := startBus(t)
	w := startWatcher(t, addr)
	e := newEnv(t, addr, false)
	p := start(t, e.vars)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := w.Wait(ctx)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.stderr.String())
	}
	it := connectItem(t, dial(t, addr), reg.Service, reg.Path)
	msg, next := readiness.Wording(readiness.MissingAuth)
	v := tray.Build(tray.Input{Status: status.Status{Gate: true, Policy: policy.Auto, Readiness: readiness.Result{State: readiness.MissingAuth, Message: msg, NextAction: next}}, Now: time.Now()})
	s := it.waitShown(t, expect(t, v), 5*time.Second)
	if v.Look != tray.Attention || !v.Item(tray.ItemLogin).Visible || v.Item(tray.ItemSyncNow).Enabled {
		t.Fatalf("model view %+v", v)
	}
	it.click(t, s, tray.LabelQuit)
	if code := p.exit(t, 5*time.Second); code != 0 {
		t.Fatalf("Quit: exit %d", code)
	}
	if _, err := os.Stat(e.home.DaemonState()); !os.IsNotExist(err) {
		t.Errorf("the tray left a daemon state file: %v", err)
	}
}

// TestGateOff: with the gate off the tray exits 0 at once, registers
// nothing and creates nothing.
func TestGateOff(t *testing.T) {
	t.Parallel()
	addr := startBus(t)
	w := startWatcher(t, addr)
	e := newEnv(t, addr, false)
	for _, v := range []string{"", "0", "banana"} {
		vars := append([]string{}, e.vars[1:]...)
		if v != "" {
			vars = append(vars, "SPEC_KITTY_ENABLE_SAAS_SYNC="+v)
		}
		p := start(t, vars)
		if code := p.exit(t, 2*time.Second); code != 0 {
			t.Fatalf("gate %q: exit %d; stderr:\n%s", v, code, p.stderr.String())
		}
		if out := p.stderr.String(); out != "" {
			t.Errorf("gate %q: printed %q", v, out)
		}
	}
	if items := w.Items(); len(items) != 0 {
		t.Errorf("registered %v with the gate off", items)
	}
	if _, err := os.Stat(e.home.Dir); !os.IsNotExist(err) {
		t.Errorf("home created with the gate off: %v", err)
	}
}

// TestNoTrayHost: without a usable bus or a watcher the tray exits 1 within
// 2 s with one line saying what is missing.
func TestNoTrayHost(t *testing.T) {
	t.Parallel()
	addr := startBus(t) // a bus with no watcher on it
	dir := t.TempDir()
	hung := filepath.Join(dir, "hung")
	l, err := net.Listen("unix", hung) // accepts, never speaks
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tests := []struct {
		name, bus, want string
	}{
		{"no bus variable", "", "DBUS_SESSION_BUS_ADDRESS is not set"},
		{"bus socket missing", "unix:path=" + filepath.Join(dir, "nothing"), "cannot reach the D-Bus session bus"},
		{"bus not answering", "unix:path=" + hung, "did not answer"},
		{"no watcher", addr, "no system tray host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bus == "" {
				if _, err := os.Stat(filepath.Join("/run/user", itoa(os.Getuid()), "bus")); err == nil {
					t.Skip("this machine has a session bus at /run/user/UID/bus")
				}
			}
			e := newEnv(t, tt.bus, true)
			vars := e.vars
			if tt.bus == "" {
				vars = without(vars, "DBUS_SESSION_BUS_ADDRESS=")
			}
			p := start(t, vars)
			if code := p.exit(t, 2*time.Second); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			out := p.stderr.String()
			if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "spec-kitty-tray: ") || !strings.Contains(out, tt.want) {
				t.Errorf("stderr %q: want one line naming %q", out, tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// without drops the variables starting with prefix.
func without(vars []string, prefix string) []string {
	var out []string
	for _, v := range vars {
		if !strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}
