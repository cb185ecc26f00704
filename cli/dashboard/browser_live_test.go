//go:build !windows

package dashboard_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spec-kitty/spec-kitty-sync/cli/dashboard"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

// localOnly is a launcher that never starts anything (the manual policy).
type localOnly struct{}

func (localOnly) EnsureRunning(_ context.Context, in policy.Intent) policy.Outcome {
	if in == policy.RemoteRequired {
		return policy.Outcome{SkippedReason: policy.ReasonManual}
	}
	return policy.Outcome{SkippedReason: policy.ReasonLocalOnly}
}

// TestBrowserBoardLive drives headless Chromium over a small repository:
// the board's cards show the work packages' titles, the page shows the
// version and a docs link, the board follows a new event line without a
// click, http://localhost:PORT serves too, and — gate on, manual policy,
// events queued — the sync panel is amber and says what to run.
func TestBrowserBoardLive(t *testing.T) {
	chrome := chromium(t)
	ctx := context.Background()
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	m := filepath.Join(repo, "kitty-specs", "001-checkout-flow")
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(m, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("meta.json", `{"mission_slug": "001-checkout-flow", "friendly_name": "Checkout flow", "mission_type": "software-dev"}`)
	write("tasks.md", "# Tasks\n\n## Work Package WP03: Payment provider adapter (Priority: P1)\n\n## Work Package WP04: Receipt e-mails\n")
	write("tasks/WP01-cart-model.md", "---\nwork_package_id: \"WP01\"\ntitle: \"Cart model and persistence\"\nlane: \"done\"\n---\n")
	write("tasks/WP02-checkout-api.md", "---\ntitle: Checkout API & <b>validation</b>\n---\n")
	var ev strings.Builder
	line := func(i int, wp, from, to, actor string) {
		fmt.Fprintf(&ev, `{"actor": %q, "at": "2026-03-0%dT10:00:00Z", "event_id": "01KLIVE00000000000000000%02d", "from_lane": %q, "to_lane": %q, "wp_id": %q}`+"\n",
			actor, 1+i/10, i, from, to, wp)
	}
	line(1, "WP01", "planned", "done", "claude")
	line(2, "WP02", "planned", "in_progress", "codex")
	line(3, "WP03", "planned", "for_review", "claude")
	line(4, "WP04", "planned", "planned", "robert")
	line(5, "WP05", "planned", "claimed", "gemini")
	write("status.events.jsonl", ev.String())

	home := paths.Home{Dir: filepath.Join(tmp, "h")}
	q, err := queue.Open(ctx, home.Queue(), queue.Options{CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		id := fmt.Sprintf("01KQUEUED0000000000000%04d", i)
		if _, err := q.Enqueue(ctx, queue.Item{EventID: id, EventType: "WPStatusChanged", Data: []byte(`{"event_id":"` + id + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()

	var gateMu sync.Mutex
	gate := ""
	getenv := func(k string) string {
		gateMu.Lock()
		defer gateMu.Unlock()
		if k == rollout.EnvVar {
			return gate
		}
		return ""
	}
	setGate := func(v string) { gateMu.Lock(); gate = v; gateMu.Unlock() }

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dashboard.New(dashboard.Config{
		Repo: repo, Addr: ln.Addr().String(), Getenv: getenv,
		Home:      func() (paths.Home, error) { return home, nil },
		Launcher:  localOnly{},
		Policy:    func() (policy.Policy, error) { return policy.Manual, nil },
		Readiness: func(context.Context) readiness.Result { return readiness.Result{State: readiness.Ready} },
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	base := srv.URL()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	bctx, checkConsole := browser(t, ctx, chrome, 1280, 720)

	dir := artifacts(t)
	shot := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
		if *writeDocs {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		return run(t, bctx, chromedp.Text(chromedp.CSS(sel)))
	}

	// 1. Gate off: the board with titles, the version and the docs link.
	board := base + "missions/001-checkout-flow"
	do(chromedp.Navigate(board), chromedp.WaitVisible(chromedp.ID("board")))
	for _, c := range []struct{ wp, want string }{
		{"WP01", "WP01 Cart model and persistence"},
		{"WP02", "WP02 Checkout API & <b>validation</b>"}, // text, escaped
		{"WP03", "WP03 Payment provider adapter"},         // from tasks.md
		{"WP05", "WP05"}, // no title anywhere: the id
	} {
		if got := strings.Join(strings.Fields(text(`.card[data-wp="`+c.wp+`"] h3`)), " "); got != c.want {
			t.Errorf("card %s heading %q, want %q", c.wp, got, c.want)
		}
	}
	if n := run(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('.card b').length`)); n != 0 {
		t.Errorf("a title became markup: %d elements in cards", n)
	}
	if got := text("#version"); !strings.HasPrefix(got, "spec-kitty ") {
		t.Errorf("version %q", got)
	}
	if got := run(t, bctx, chromedp.AttributeValue(chromedp.ID("docs"), "href")).Value; got != dashboard.DocsURL {
		t.Errorf("docs link %q, want %q", got, dashboard.DocsURL)
	}
	if n := run(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('#sync-panel').length`)); n != 0 {
		t.Error("gate off: a sync panel is shown")
	}

	// 2. Live: a new event line moves WP05 to done; the board follows.
	f, err := os.OpenFile(filepath.Join(m, "status.events.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, `{"actor": "gemini", "at": "2026-03-02T11:00:00Z", "event_id": "01KLIVE0000000000000000099", "from_lane": "claimed", "to_lane": "done", "wp_id": "WP05"}`)
	f.Close()
	for deadline := time.Now().Add(15 * time.Second); ; {
		n := run(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-lane="done"] .card[data-wp="WP05"]').length`))
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the board did not follow the new event line within 15 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	shot("dashboard-board.png", run(t, bctx, chromedp.CaptureScreenshot()))

	// 3. http://localhost:PORT is this dashboard too (the browser here
	// resolves nothing but 127.0.0.1, so ask over the real listener).
	req, _ := http.NewRequest(http.MethodGet, base, nil)
	req.Host = "localhost:" + port
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("Host localhost:%s: %v %v", port, resp, err)
	} else {
		resp.Body.Close()
	}

	// 4. Gate on, manual policy, 12 events queued: the panel is amber and
	// says what to run.
	setGate("1")
	do(chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("sync-panel")))
	tone := run(t, bctx, chromedp.AttributeValue(chromedp.ID("sync-panel"), "data-tone")).Value
	daemonText := text(`#sync-panel [data-field="daemon"]`)
	hint := text(`#sync-panel [data-field="manual_hint"]`)
	if tone != "warn" || daemonText != "manual mode: 12 events waiting" || !strings.Contains(hint, "spec-kitty sync run") {
		t.Errorf("manual panel: tone %q, daemon %q, hint %q", tone, daemonText, hint)
	}
	shot("dashboard-manual.png", run(t, bctx, chromedp.Screenshot(chromedp.ID("sync-panel"))))
	setGate("")

	checkConsole()
}
