//go:build !windows

package dashboard_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spec-kitty/spec-kitty-sync/cli"
	"github.com/spec-kitty/spec-kitty-sync/cli/dashboard"
	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/probe"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/service/launch"
)

// asSpecKitty makes the test binary act as `spec-kitty` (the real cli.Main),
// so the real launcher can spawn `spec-kitty service run --background`.
const asSpecKitty = "DASHBOARD_TEST_AS_SPEC_KITTY"

func TestMain(m *testing.M) {
	if os.Getenv(asSpecKitty) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

var writeDocs = flag.Bool("docs", false, "also write the browser screenshots to docs/ (dashboard-missions.png, dashboard-sync.png)")

const chromiumPath = "/usr/bin/chromium"

// chromium returns the browser to drive, failing under CI=true when it is
// missing and skipping otherwise.
func chromium(t *testing.T) string {
	t.Helper()
	p := chromiumPath
	if _, err := os.Stat(p); err != nil {
		if lp, lerr := exec.LookPath("chromium"); lerr == nil {
			return lp
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required for the browser test (CI=true): %v; install it: apt-get install -y --no-install-recommends chromium", err)
		}
		t.Skipf("chromium not installed (%v); CI=true makes this a failure", err)
	}
	return p
}

// artifacts is where screenshots go: $ARTIFACTS when set, else a temp dir.
func artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowser drives the dashboard in headless Chromium: the 412 corpus
// missions, one mission's board, and — gate on, signed in to a hostedtest
// server — "Sync now", which starts the real daemon (`spec-kitty service
// run --background`, spawned detached by service/launch) and makes the
// panel report the delivered events without a page reload.
func TestBrowser(t *testing.T) {
	chrome := chromium(t)
	ctx := context.Background()

	tmp, err := os.MkdirTemp("", "skdash") // short: the daemon's socket lives in it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	home := paths.Home{Dir: filepath.Join(tmp, "h")}
	repo := filepath.Join(tmp, "repo")
	corpusDir, _ := fixture.Default(t)
	if err := fixture.CopyMissions(corpusDir, repo); err != nil {
		t.Fatal(err)
	}

	host := hostedtest.NewTest(t, hostedtest.Options{})
	env := map[string]string{rollout.EnvVar: "1", paths.HomeEnv: home.Dir, paths.SaaSURLEnv: host.URL()}
	getenv := func(k string) string { return env[k] }

	// Sign in the way `spec-kitty auth login --with-token` does.
	tok, err := host.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	hh, err := hosted.ParseHost(host.URL())
	if err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(home, nil, io.Discard) // file backend, as the daemon without a session bus
	if _, err := (&auth.Login{Client: hosted.New(hh, nil), Store: store, Out: io.Discard}).WithToken(ctx, bytes.NewReader(tok)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopDaemon(t, home) })

	// The real launcher, spawning this test binary as spec-kitty.
	spawnEnv := []string{asSpecKitty + "=1", rollout.EnvVar + "=1", paths.HomeEnv + "=" + home.Dir, paths.SaaSURLEnv + "=" + host.URL(),
		"HOME=" + filepath.Join(tmp, "userhome")}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "TMPDIR" || k == "GOCOVERDIR" {
			spawnEnv = append(spawnEnv, kv)
		}
	}
	launcher := &launch.Launcher{
		Getenv:     getenv,
		Home:       func() (paths.Home, error) { return home, nil },
		Policy:     func() (policy.Policy, error) { return policy.Auto, nil },
		Executable: func() (string, error) { return os.Executable() },
		Env:        spawnEnv,
	}
	probes := probe.New(probe.Config{Getenv: getenv, Store: store})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
	srv, err := dashboard.New(dashboard.Config{
		Repo: repo, Addr: ln.Addr().String(), Getenv: getenv,
		Home:     func() (paths.Home, error) { return home, nil },
		Launcher: launcher,
		Policy:   func() (policy.Policy, error) { return policy.Auto, nil },
		Readiness: func(ctx context.Context) readiness.Result {
			return readiness.Evaluate(ctx, readiness.Options{RequireAuth: true, RequireHost: true}, probes)
		},
		Log: slogTo(&logBuf),
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-served
		srv.Close()
	})
	base := srv.URL()

	bctx, checkConsole := browser(t, ctx, chrome, 1280, 860)

	dir := artifacts(t)
	shot := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
		if *writeDocs && name != "dashboard-kanban.png" {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("browser: %v (dashboard log: %s)", err, logBuf.String())
		}
	}
	text := func(sel string) string {
		t.Helper()
		return run(t, bctx, chromedp.Text(chromedp.CSS(sel)))
	}
	attr := func(sel, name string) string {
		t.Helper()
		return run(t, bctx, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
	}

	// 1. The missions list.
	do(chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#missions tbody tr")))
	if rows := run(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('#missions tbody tr').length`)); rows != 412 {
		t.Errorf("%d mission rows, want 412", rows)
	}
	if got := text(`#sync-panel [data-field="readiness"]`); got != "Ready" {
		t.Errorf("readiness %q, want Ready", got)
	}
	shot("dashboard-missions.png", run(t, bctx, chromedp.CaptureScreenshot()))

	// The filter is the page script at work.
	do(chromedp.SendKeys(chromedp.ID("filter"), "pypi"))
	if n, _ := strconv.Atoi(text("#mission-count")); n < 1 || n >= 412 {
		t.Errorf("filter shows %d missions", n)
	}

	// 2. A mission's board, reached by clicking its link.
	do(chromedp.Click(chromedp.CSS(`a[href="/missions/002-lightweight-pypi-release"]`)), chromedp.WaitVisible(chromedp.ID("board")))
	title := text("#mission-title")
	doneCards := run(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-lane="done"] .card').length`))
	if title != "Lightweight PyPI Release Workflow" || doneCards != 4 {
		t.Errorf("board: title %q, %d done cards; want the PyPI mission with 4 done", title, doneCards)
	}
	shot("dashboard-kanban.png", run(t, bctx, chromedp.CaptureScreenshot()))

	// 3. Sync now, from the missions page, and the panel catching up.
	do(chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("sync-now")))
	if got := text(`#sync-panel [data-field="daemon"]`); got != "stopped" {
		t.Errorf("daemon %q before Sync now, want stopped", got)
	}
	if _, running, _ := localapi.ReadState(home.DaemonState()); running {
		t.Fatal("the daemon runs before Sync now: something other than Sync now started it")
	}
	start := time.Now()
	do(chromedp.Click(chromedp.ID("sync-now")), chromedp.WaitVisible(chromedp.CSS(`#sync-result[data-kind="ok"]`)))
	if got := text("#sync-result"); !strings.Contains(got, "Sync scheduled") {
		t.Errorf("Sync now said %q", got)
	}
	// Wait, through the page's own polling (no reload), until the panel
	// shows the whole repo delivered: queue empty, delivered = what the
	// host holds.
	var delivered, depth string
	for deadline := time.Now().Add(40 * time.Second); ; {
		delivered, depth = attr("#sync-panel", "data-delivered"), attr("#sync-panel", "data-queue-depth")
		if d, _ := strconv.Atoi(delivered); d > 0 && depth == "0" && d == host.EventCount() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("panel never showed the delivered events: delivered=%s depth=%s daemon=%s; host holds %d",
				delivered, depth, attr("#sync-panel", "data-daemon"), host.EventCount())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("Sync now: %s events delivered and shown in the panel after %s", delivered, time.Since(start).Round(time.Millisecond))
	if got, want := text(`#sync-panel [data-field="delivered"]`), delivered+" events since the daemon started"; got != want {
		t.Errorf("panel delivered %q, want %q", got, want)
	}
	if got := text(`#sync-panel [data-field="daemon"]`); got != "running" {
		t.Errorf("panel daemon %q, want running", got)
	}
	if got := text(`#sync-panel [data-field="queue_depth"]`); got != "0 events waiting" {
		t.Errorf("panel queue %q", got)
	}
	shot("dashboard-sync.png", run(t, bctx, chromedp.Screenshot(chromedp.ID("sync-panel"))))

	checkConsole()
}

// browser starts headless Chromium with exactly the flags of TESTING.md and
// returns its context (ended when the test ends) and a check, to call last,
// that fails the test for every exception or console error the pages
// raised (a CSP violation, a failed fetch).
func browser(t *testing.T, ctx context.Context, chrome string, width, height int) (context.Context, func()) {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	bctx, cancelB := chromedp.NewContext(allocCtx)
	bctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(func() { cancelT(); cancelB(); cancelAlloc() })
	var (
		mu       sync.Mutex
		problems []string
	)
	msgs := chromedp.Console(bctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s)", m, m.URL))
				mu.Unlock()
			}
		}
	}()
	return bctx, func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// stopDaemon ends a daemon the test started and waits for it.
func stopDaemon(t *testing.T, home paths.Home) {
	st, running, _ := localapi.ReadState(home.DaemonState())
	if !running {
		return
	}
	syscall.Kill(st.PID, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if !dashboard.WaitExit(ctx, st.PID) {
		syscall.Kill(st.PID, syscall.SIGKILL)
		t.Errorf("daemon pid %d did not stop on SIGTERM", st.PID)
	}
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

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
