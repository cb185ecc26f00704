package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/tray"
	"github.com/spec-kitty/spec-kitty-sync/tray/icon"
)

// trayBin is the spec-kitty-tray built once for the package's tests.
var trayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tray-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trayBin = filepath.Join(dir, "spec-kitty-tray")
	// go test puts its own GOROOT/bin first on PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "no go command on PATH:", err)
		os.Exit(1)
	}
	build := exec.Command(gobin, "build", "-o", trayBin, "github.com/spec-kitty/spec-kitty-sync/tray/cmd/spec-kitty-tray")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build spec-kitty-tray: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testHost is the SaaS host the tray is configured with. Nothing listens
// there and the tray must never try.
const testHost = "http://127.0.0.1:9"

// env is a tray environment with the gate on, a home and the bus.
type env struct {
	home paths.Home
	vars []string
}

func newEnv(t testing.TB, busAddr string, signedIn bool) env {
	t.Helper()
	home := paths.Home{Dir: filepath.Join(t.TempDir(), "home")}
	if signedIn {
		now := time.Now()
		err := session.NewStore(home, nil, nil).Save(context.Background(), &session.Session{
			Host: testHost, UserID: "u1", Email: "dev@example.com",
			AccessToken: session.NewSecret("a"), RefreshToken: session.NewSecret("r"),
			IssuedAt: now, AccessTokenExpiresAt: now.Add(time.Hour), AuthMethod: "device",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return env{home: home, vars: []string{
		"SPEC_KITTY_ENABLE_SAAS_SYNC=1",
		"SPEC_KITTY_HOME=" + home.Dir,
		"SPEC_KITTY_SAAS_URL=" + testHost,
		"DBUS_SESSION_BUS_ADDRESS=" + busAddr,
		"HOME=" + t.TempDir(),
		"PATH=" + os.Getenv("PATH"),
	}}
}

// proc is a running tray.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs argv (the tray, or a wrapper around it) with vars.
func start(t testing.TB, vars []string, argv ...string) *proc {
	t.Helper()
	if len(argv) == 0 {
		argv = []string{trayBin}
	}
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = vars
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("tray stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

// exit waits up to within for the process to end and returns its code.
func (p *proc) exit(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("still running after %s; stderr:\n%s", within, p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// item is the tray's StatusNotifierItem as a host sees it.
type item struct {
	conn *dbus.Conn
	obj  dbus.BusObject
	menu dbus.BusObject
}

func connectItem(t testing.TB, conn *dbus.Conn, service string, path dbus.ObjectPath) item {
	t.Helper()
	obj := conn.Object(service, path)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var v dbus.Variant
	err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.kde.StatusNotifierItem", "Menu").Store(&v)
	if err != nil {
		t.Fatalf("Menu property: %v", err)
	}
	mp, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		t.Fatalf("Menu property is %T", v.Value())
	}
	return item{conn: conn, obj: obj, menu: conn.Object(service, mp)}
}

// shown is what a host would draw.
type shown struct {
	Title, Tooltip, Status string
	Icon                   pixmap
	Menu                   []menuEntry
}

type menuEntry struct {
	ID      int32 // compared by nobody: the host learns it from the layout
	Label   string
	Enabled bool
	Visible bool
	Check   string // "" (not checkable), "on", "off"
}

// callTimeout bounds every D-Bus call of the tests: a tray that does not
// answer must fail the test, not hang it.
const callTimeout = 2 * time.Second

func (it item) read() (shown, error) {
	var s shown
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	get := func(name string) (any, error) {
		var v dbus.Variant
		err := it.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.kde.StatusNotifierItem", name).Store(&v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return v.Value(), nil
	}
	v, err := get("Title")
	if err != nil {
		return s, err
	}
	s.Title, _ = v.(string)
	if v, err = get("Status"); err != nil {
		return s, err
	}
	s.Status, _ = v.(string)
	if v, err = get("ToolTip"); err != nil {
		return s, err
	}
	if tt, ok := v.([]any); ok && len(tt) == 4 {
		s.Tooltip, _ = tt[2].(string)
	}
	if v, err = get("IconPixmap"); err != nil {
		return s, err
	}
	if pms, ok := v.([][]any); ok && len(pms) == 1 && len(pms[0]) == 3 {
		w, _ := pms[0][0].(int32)
		h, _ := pms[0][1].(int32)
		pix, _ := pms[0][2].([]byte)
		s.Icon = pixmap{W: w, H: h, Pix: pix}
	}
	var rev uint32
	var layout struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	call := it.menu.CallWithContext(ctx, "com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if err := call.Store(&rev, &layout); err != nil {
		return s, fmt.Errorf("GetLayout: %w", err)
	}
	for _, c := range layout.Children {
		fields, ok := c.Value().([]any)
		if !ok || len(fields) != 3 {
			return s, fmt.Errorf("menu child is %T", c.Value())
		}
		id, _ := fields[0].(int32)
		props, _ := fields[1].(map[string]dbus.Variant)
		if t, _ := props["type"].Value().(string); t == "separator" {
			continue
		}
		e := menuEntry{ID: id, Enabled: true, Visible: true}
		if v, ok := props["label"]; ok {
			e.Label, _ = v.Value().(string)
		}
		if v, ok := props["enabled"]; ok {
			e.Enabled, _ = v.Value().(bool)
		}
		if v, ok := props["visible"]; ok {
			e.Visible, _ = v.Value().(bool)
		}
		if v, ok := props["toggle-type"]; ok && v.Value() == "checkmark" {
			e.Check = "off"
			if st, ok := props["toggle-state"]; ok && fmt.Sprint(st.Value()) == "1" {
				e.Check = "on"
			}
		}
		s.Menu = append(s.Menu, e)
	}
	return s, nil
}

// expect is what the host must show for view v.
func expect(t testing.TB, v tray.View) shown {
	t.Helper()
	b, err := icon.PNG(v.Look, icon.TraySize)
	if err != nil {
		t.Fatal(err)
	}
	s := shown{Title: v.Title, Tooltip: v.Tooltip, Status: "Active", Icon: argb(t, b)}
	for _, it := range v.Items {
		e := menuEntry{Label: it.Label, Enabled: it.Enabled, Visible: it.Visible}
		if it.Checkable {
			e.Check = map[bool]string{true: "on", false: "off"}[it.Checked]
		}
		s.Menu = append(s.Menu, e)
	}
	return s
}

// waitShown polls until the item shows want.
func (it item) waitShown(t testing.TB, want shown, within time.Duration) shown {
	t.Helper()
	var got shown
	poll(t, within, func() string {
		var err error
		got, err = it.read()
		if err != nil {
			return err.Error()
		}
		if d := cmp.Diff(want, got, cmpopts.IgnoreFields(menuEntry{}, "ID")); d != "" {
			return "tray shows (-want +got):\n" + d
		}
		return ""
	})
	return got
}

// click sends a dbusmenu click on the entry labelled label.
func (it item) click(t testing.TB, s shown, label string) {
	t.Helper()
	i := slices.IndexFunc(s.Menu, func(e menuEntry) bool { return e.Label == label })
	if i < 0 {
		t.Fatalf("no menu entry %q in %+v", label, s.Menu)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	call := it.menu.CallWithContext(ctx, "com.canonical.dbusmenu.Event", 0, s.Menu[i].ID, "clicked", dbus.MakeVariant(""), uint32(0))
	if call.Err != nil {
		// "Quit" may end the tray before it answers the click; the caller
		// checks the exit itself.
		var de dbus.Error
		if label == tray.LabelQuit && errors.As(call.Err, &de) && de.Name == "org.freedesktop.DBus.Error.NoReply" {
			return
		}
		t.Fatalf("click %q: %v", label, call.Err)
	}
}

// view is the model's view of a signed-in, ready machine.
func view(pol policy.Policy, d status.Daemon) tray.View {
	return tray.Build(tray.Input{Status: status.Status{Gate: true, Policy: pol, Readiness: readiness.Result{State: readiness.Ready}, Daemon: d, Queue: status.Queue{Depth: d.State.QueueDepth, DeadLetters: d.State.DeadLetters}}, Now: time.Now()})
}

// fakeDaemon serves the local API on the home's socket and records the
// requests; its state file names the test process, which is alive.
type fakeDaemon struct {
	mu   sync.Mutex
	reqs []string
}

func startFakeDaemon(t testing.TB, home paths.Home, st localapi.State) *fakeDaemon {
	t.Helper()
	if err := home.EnsureHome(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", home.DaemonSocket())
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := localapi.CheckRequest(r); why != "" {
			http.Error(w, why, http.StatusForbidden)
			return
		}
		d.mu.Lock()
		d.reqs = append(d.reqs, r.Method+" "+r.URL.Path)
		d.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"accepted"}`))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	st.PID = os.Getpid()
	st.Socket = home.DaemonSocket()
	writeState(t, home, st)
	return d
}

func writeState(t testing.TB, home paths.Home, st localapi.State) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(home.DaemonState(), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (d *fakeDaemon) requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.reqs)
}

// configHas polls config.toml for a line.
func configHas(t testing.TB, home paths.Home, line string) {
	t.Helper()
	poll(t, 5*time.Second, func() string {
		b, err := os.ReadFile(home.Config())
		if err != nil {
			return err.Error()
		}
		if !strings.Contains(string(b), line) {
			return fmt.Sprintf("config.toml does not contain %q:\n%s", line, b)
		}
		return ""
	})
}
