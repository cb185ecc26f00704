package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/cli/internal/stealthtest"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/probe"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/service/launch"
)

// The read endpoints over the 412 missions of the generated corpus: what
// each one shows, and that each asks the launcher with intent local_only only.
func TestReadEndpoints(t *testing.T) {
	r := newRig(t)
	_, sum := fixture.Default(t)
	wps := 0
	for _, m := range sum.Missions {
		wps += len(m.Lanes)
	}
	tests := []struct {
		name  string
		path  string
		ctype string
		check func(t *testing.T, body string)
	}{
		{"missions page", "/", "text/html; charset=utf-8", func(t *testing.T, body string) {
			if n := countOf(body, "<tr data-mission="); n != 412 {
				t.Errorf("%d mission rows, want 412", n)
			}
			for _, want := range []string{
				fmt.Sprintf(`<span id="mission-count">412</span> missions · %d work packages`, wps),
				`<a href="/missions/002-lightweight-pypi-release">Lightweight PyPI Release Workflow</a>`,
				`<script src="/static/app.js" defer></script>`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			// Most recent activity first.
			first := strings.Index(body, `data-mission="`+latestMission(t)+`"`)
			old := strings.Index(body, `data-mission="002-lightweight-pypi-release"`)
			if first < 0 || old < 0 || first > old {
				t.Errorf("rows not ordered by last activity (%d, %d)", first, old)
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
				t.Error("inline script or style in the page")
			}
		}},
		{"missions JSON", "/api/missions", "application/json", func(t *testing.T, body string) {
			v := decode[missionsJSON](t, strings.NewReader(body))
			if len(v.Missions) != 412 {
				t.Fatalf("%d missions, want 412", len(v.Missions))
			}
			for _, m := range v.Missions {
				if m.Mission == "expected-artifacts-manifest-repair-01KZY498" {
					want := missionJSON{Mission: m.Mission, Title: "expected artifacts manifest repair", WPCount: 5,
						Lanes: map[string]int{"planned": 0, "claimed": 0, "in_progress": 0, "for_review": 0, "in_review": 0,
							"approved": 5, "done": 0, "blocked": 0, "canceled": 0},
						LastActivity: ptr(time.Date(2026, 8, 14, 5, 38, 22, 775294000, time.UTC))}
					if d := cmp.Diff(want, m); d != "" {
						t.Errorf("mission (-want +got):\n%s", d)
					}
					return
				}
			}
			t.Error("expected-artifacts-manifest-repair-01KZY498 missing")
		}},
		{"kanban page", "/missions/002-lightweight-pypi-release", "text/html; charset=utf-8", func(t *testing.T, body string) {
			if n := countOf(body, `<section class="column `); n != 9 {
				t.Errorf("%d lane columns, want 9", n)
			}
			done := body[strings.Index(body, `data-lane="done"`):]
			done = done[:strings.Index(done, "</section>")]
			if n := countOf(done, `<article class="card"`); n != 4 {
				t.Errorf("%d cards in done, want 4", n)
			}
			for _, want := range []string{`data-wp="WP01"`, `<p class="who">migration</p>`, `datetime="2025-11-02T16:58:36Z"`,
				`<h1 id="mission-title">Lightweight PyPI Release Workflow</h1>`} {
				if !strings.Contains(body, want) {
					t.Errorf("kanban lacks %q", want)
				}
			}
		}},
		{"mission JSON", "/api/missions/002-lightweight-pypi-release", "application/json", func(t *testing.T, body string) {
			v := decode[missionDetailJSON](t, strings.NewReader(body))
			if len(v.WorkPackages) != 4 {
				t.Fatalf("%d WPs, want 4", len(v.WorkPackages))
			}
			want := wpJSON{WPID: "WP01", Lane: "done", Actor: "migration", At: ptr(time.Date(2025, 11, 2, 16, 58, 36, 0, time.UTC)),
				EventID: "01KJ5V38J914TCB4CZF1N0S7WX"}
			if d := cmp.Diff(want, v.WorkPackages[0]); d != "" {
				t.Errorf("WP01 (-want +got):\n%s", d)
			}
		}},
		{"script", "/static/app.js", "text/javascript; charset=utf-8", func(t *testing.T, body string) {
			if !strings.Contains(body, "filter") {
				t.Error("script does not filter the missions")
			}
		}},
		{"stylesheet", "/static/style.css", "text/css; charset=utf-8", nil},
		{"health", HealthPath, "application/json", func(t *testing.T, body string) {
			if d := cmp.Diff(Health{App: App, PID: os.Getpid()}, decode[Health](t, strings.NewReader(body))); d != "" {
				t.Error(d)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := r.do(http.MethodGet, tt.path, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if tt.check != nil {
				tt.check(t, w.Body.String())
			}
		})
	}
	for _, in := range r.launcher.intents() {
		if in != policy.LocalOnly {
			t.Errorf("a read endpoint passed intent %q", in)
		}
	}
	if got := len(r.launcher.intents()); got != 4 {
		t.Errorf("%d EnsureRunning calls by the 4 read endpoints, want 4", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSecurityHeaders(t *testing.T) {
	r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
			"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	tests := []struct {
		name, method, path, host string
		code                     int
	}{
		{"page", "GET", "/", testAddr, 200},
		{"kanban", "GET", "/missions/002-lightweight-pypi-release", testAddr, 200},
		{"json", "GET", "/api/missions", testAddr, 200},
		{"sync status", "GET", "/api/sync/status", testAddr, 200},
		{"static", "GET", "/static/app.js", testAddr, 200},
		{"not found", "GET", "/nope", testAddr, 404},
		{"wrong host", "GET", "/", "evil.example:8123", 403},
		{"wrong method", "GET", "/api/sync", testAddr, 405},
		{"refused post", "POST", "/api/sync", testAddr, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := r.do(tt.method, tt.path, map[string]string{"Host": tt.host})
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHostCheck(t *testing.T) {
	r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	for _, host := range []string{"", "evil.example", "evil.example:8123", "localhost", "localhost:8124", "localhost.evil.example:8123", "127.0.0.1", "127.0.0.1:8124",
		"127.0.0.2:8123", "[::1]:8123", "127.0.0.1:8123.evil.example", "0x7f000001:8123"} {
		for _, path := range []string{"/", "/api/missions", "/api/sync/status", HealthPath, "/static/app.js"} {
			t.Run(host+path, func(t *testing.T) {
				if w := r.do(http.MethodGet, path, map[string]string{"Host": host}); w.Code != http.StatusForbidden {
					t.Errorf("Host %q %s: status %d, want 403", host, path, w.Code)
				}
			})
		}
	}
	// A DNS-rebinding page cannot make the dashboard act either.
	w := r.do(http.MethodPost, "/api/sync", map[string]string{"Host": "evil.example:8123", "Origin": "http://evil.example:8123", CSRFHeader: r.token()})
	if w.Code != http.StatusForbidden {
		t.Errorf("rebinding POST: status %d, want 403", w.Code)
	}
	// http://localhost:PORT names this listener too (issue 17).
	for _, host := range []string{"localhost:8123", "LOCALHOST:8123"} {
		if w := r.do(http.MethodGet, "/", map[string]string{"Host": host}); w.Code != http.StatusOK {
			t.Errorf("Host %q: status %d, want 200", host, w.Code)
		}
	}
	if w := r.do(http.MethodGet, "/", nil); w.Code != http.StatusOK {
		t.Errorf("right Host: status %d", w.Code)
	}
	for _, in := range r.launcher.intents() {
		if in == policy.RemoteRequired {
			t.Error("a refused request reached EnsureRunning(remote_required)")
		}
	}
}

func TestPathTraversal(t *testing.T) {
	repo := smallRepo(t, "002-lightweight-pypi-release")
	// Things a traversal could reach: a file in kitty-specs/, an empty
	// directory, a hidden directory holding a real mission, and a real
	// mission outside kitty-specs/.
	os.WriteFile(filepath.Join(repo, "kitty-specs", "README.md"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(repo, "kitty-specs", "empty"), 0o755)
	if err := os.Rename(filepath.Join(repo, "kitty-specs", "002-lightweight-pypi-release"), filepath.Join(repo, "kitty-specs", ".hidden")); err != nil {
		t.Fatal(err)
	}
	if err := copyDir(filepath.Join(repo, "kitty-specs", ".hidden"), filepath.Join(repo, "outside")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, "secret.txt"), []byte("TOP-SECRET"), 0o600)
	r := newRig(t, withRepo(repo))
	abs := filepath.Join(repo, "outside")
	for _, target := range []string{
		"/missions/..", "/missions/%2e%2e", "/missions/%2E%2E", "/missions/../outside", "/missions/..%2foutside",
		"/missions/..%2Foutside", "/missions/%2e%2e%2foutside", "/missions/..%5coutside", "/missions/.hidden",
		"/missions/%2ehidden", "/missions/.", "/missions/", "/missions//etc/passwd", "/missions/%2Fetc%2Fpasswd",
		"/missions/" + abs, "/missions/" + strings.ReplaceAll(abs, "/", "%2F"), "/missions/README.md", "/missions/empty",
		"/missions/C:%5cWindows", "/missions/x%00y", "/missions/..%2f..%2f..%2fsecret.txt", "/missions/outside",
		"/api/missions/..", "/api/missions/%2e%2e", "/api/missions/..%2f..%2fsecret.txt", "/api/missions/.hidden",
		"/api/missions/%2Fetc%2Fpasswd", "/api/missions/empty", "/api/missions/outside",
		"/static/..%2fdashboard.go", "/static/%2e%2e/dashboard.go", "/static/../templates/layout.html",
		"/static/layout.html", "/static/", "/static/.%2fapp.js", "/static/app.js%00.css",
	} {
		t.Run(target, func(t *testing.T) {
			w := r.do(http.MethodGet, target, nil)
			if w.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", w.Code)
			}
			if strings.Contains(w.Body.String(), "TOP-SECRET") || strings.Contains(w.Body.String(), "Lightweight") {
				t.Error("answer shows content from outside kitty-specs/")
			}
		})
	}
}

func copyDir(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Gate off: only the mission views exist; no panel, no token, no sync
// route, and the state home is not even resolved.
func TestGateOff(t *testing.T) {
	for _, gate := range []string{"", "0", "false", "banana"} {
		t.Run("gate="+gate, func(t *testing.T) {
			r := newRig(t, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
			r.setenv(rollout.EnvVar, gate)
			// Every page, JSON answer and static asset served: none may
			// name the hosted surface.
			files, err := fs.ReadDir(assets, "static")
			if err != nil {
				t.Fatal(err)
			}
			served := []string{"/", "/missions/002-lightweight-pypi-release", "/api/missions", "/api/missions/002-lightweight-pypi-release", HealthPath}
			for _, f := range files {
				served = append(served, "/static/"+f.Name())
			}
			for _, p := range served {
				w := r.do(http.MethodGet, p, nil)
				body := w.Body.String()
				for _, bad := range []string{"sync-panel", "csrf-token", "sync.js", "sync.css"} {
					if strings.Contains(body, bad) {
						t.Errorf("%s shows %q with the gate off", p, bad)
					}
				}
				if words := stealthtest.Find(body); words != nil {
					t.Errorf("%s (status %d) names the hosted surface with the gate off: %q", p, w.Code, words)
				}
			}
			for _, p := range []string{"/static/sync.js", "/static/sync.css"} {
				if w := r.do(http.MethodGet, p, nil); w.Code != http.StatusNotFound {
					t.Errorf("%s: status %d with the gate off, want 404", p, w.Code)
				}
			}
			// Even a request that would pass every check is 404: the route does not exist.
			for _, req := range []struct{ method, path string }{
				{"GET", "/api/sync/status"}, {"GET", "/api/sync"}, {"POST", "/api/sync"}, {"POST", "/api/sync/status"},
			} {
				w := r.do(req.method, req.path, map[string]string{"Origin": testOrigin, CSRFHeader: "0000", "Sec-Fetch-Site": "same-origin"})
				if w.Code != http.StatusNotFound {
					t.Errorf("%s %s: status %d, want 404", req.method, req.path, w.Code)
				}
			}
			if n := r.homeUsed.Load(); n != 0 {
				t.Errorf("state home resolved %d times with the gate off", n)
			}
			if exists(r.home.Dir) {
				t.Error("state home created")
			}
			for _, in := range r.launcher.intents() {
				if in != policy.LocalOnly {
					t.Errorf("EnsureRunning(%s) with the gate off", in)
				}
			}
		})
	}
}

// Gate on: the page links the sync panel's own script and stylesheet, and
// they are served.
func TestSyncAssetsGateOn(t *testing.T) {
	r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	page := r.do(http.MethodGet, "/", nil).Body.String()
	for _, want := range []string{`<script src="/static/sync.js" defer></script>`, `<link rel="stylesheet" href="/static/sync.css">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	w := r.do(http.MethodGet, "/static/sync.js", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "/api/sync/status") {
		t.Errorf("sync.js: status %d, polls the status endpoint: %v", w.Code, strings.Contains(w.Body.String(), "/api/sync/status"))
	}
	if w := r.do(http.MethodGet, "/static/sync.css", nil); w.Code != 200 {
		t.Errorf("sync.css: status %d", w.Code)
	}
}

// The gate is read per request: flipping it changes the next answer.
func TestGateReadPerRequest(t *testing.T) {
	r := newRig(t, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	if w := r.do("GET", "/api/sync/status", nil); w.Code != 404 {
		t.Fatalf("gate off: %d", w.Code)
	}
	r.setenv(rollout.EnvVar, "yes")
	if w := r.do("GET", "/api/sync/status", nil); w.Code != 200 {
		t.Fatalf("gate on: %d", w.Code)
	}
	tok := r.token()
	r.setenv(rollout.EnvVar, "off")
	if w := r.do("POST", "/api/sync", map[string]string{"Origin": testOrigin, CSRFHeader: tok}); w.Code != 404 {
		t.Fatalf("gate off again: POST %d", w.Code)
	}
	for _, in := range r.launcher.intents() {
		if in == policy.RemoteRequired {
			t.Error("Sync now reached the launcher with the gate off")
		}
	}
}

func TestSyncPanel(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, r *rig)
		daemon daemonStatus
		queue  queueStatus
		policy string
		tone   string
		shown  map[string]string
	}{
		{
			name:   "nothing yet",
			daemon: daemonStatus{State: status.DaemonStopped},
			policy: "auto", tone: "ok",
			shown: map[string]string{"daemon": "stopped", "queue_depth": "empty (no queue yet)", "readiness": "Ready"},
		},
		{
			name:   "manual policy, not signed in",
			setup:  func(t *testing.T, r *rig) { r.pol = policy.Manual; r.ready = notReady(readiness.MissingAuth) },
			daemon: daemonStatus{State: status.DaemonManual},
			policy: "manual", tone: "warn",
			shown: map[string]string{"daemon": "manual (not started automatically)", "readiness": "No SaaS authentication token is present.",
				"readiness_action": "Run `spec-kitty auth login`."},
		},
		{
			name: "running daemon with a queue",
			setup: func(t *testing.T, r *rig) {
				writeState(t, r.home, localapi.State{PID: os.Getpid(), StartedAt: at(9), LastSyncAt: at(11), Delivered: 17, QueueDepth: 2})
				q := openTestQueue(t, r.home)
				q.Enqueue(context.Background(), queue.Item{EventID: "e1", EventType: "T", Data: []byte(`{}`)},
					queue.Item{EventID: "e2", EventType: "T", Data: []byte(`{}`)}, queue.Item{EventID: "e3", EventType: "T", Data: []byte(`{}`)})
				if err := q.DeadLetter(context.Background(), "e3", "rejected by the host"); err != nil {
					t.Fatal(err)
				}
				q.Close()
			},
			daemon: daemonStatus{State: status.DaemonRunning, PID: os.Getpid(), StartedAt: ptr(at(9)), LastSyncAt: ptr(at(11)), Delivered: 17},
			queue:  queueStatus{Present: true, Depth: 2, DeadLetters: 1},
			policy: "auto", tone: "warn",
			shown: map[string]string{"daemon": "running", "pid": strconv.Itoa(os.Getpid()), "delivered": "17 events since the daemon started",
				"queue_depth": "2 events waiting", "dead_letters": "1", "last_sync": "2026-11-27 11:00 UTC"},
		},
		{
			name: "crashed daemon with failures",
			setup: func(t *testing.T, r *rig) {
				writeState(t, r.home, localapi.State{PID: deadPID, LastSyncAt: at(10), LastError: "host said 503", LastErrorAt: at(11), ConsecutiveFailures: 3})
			},
			daemon: daemonStatus{State: status.DaemonStopped, LastSyncAt: ptr(at(10)), LastError: "host said 503", LastErrorAt: ptr(at(11)), ConsecutiveFailures: 3},
			policy: "auto", tone: "error",
			shown: map[string]string{"daemon": "stopped", "pid": "—", "last_error": "host said 503 (2026-11-27 11:00 UTC)", "failures": "3"},
		},
		{
			// An error the daemon classified is worded as the CLI words it.
			name: "host unreachable, worded",
			setup: func(t *testing.T, r *rig) {
				writeState(t, r.home, localapi.State{PID: deadPID, Host: "https://sync.example.com", LastError: "https://sync.example.com: POST /api/v1/events/batch/: connection refused",
					LastErrorState: "host_unreachable", LastErrorAt: at(11), ConsecutiveFailures: 2})
			},
			daemon: daemonStatus{State: status.DaemonStopped, LastError: "https://sync.example.com: POST /api/v1/events/batch/: connection refused", LastErrorAt: ptr(at(11)),
				LastErrorMessage: "The configured SaaS host did not respond within 2 seconds.", LastErrorNext: "Check network connectivity to `https://sync.example.com` and retry.", ConsecutiveFailures: 2},
			policy: "auto", tone: "error",
			shown: map[string]string{"last_error": "The configured SaaS host did not respond within 2 seconds. Check network connectivity to `https://sync.example.com` and retry. (2026-11-27 11:00 UTC)"},
		},
		{
			name:   "unreadable config",
			setup:  func(t *testing.T, r *rig) { r.polErr = errors.New("config.toml:3:1: bad") },
			daemon: daemonStatus{State: status.DaemonStopped},
			policy: "auto", tone: "error",
			shown: map[string]string{"policy": "unreadable: config.toml:3:1: bad"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
			if tt.setup != nil {
				tt.setup(t, r)
			}
			w := r.do("GET", "/api/sync/status", nil)
			if w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
			st := decode[syncStatus](t, w.Body)
			if d := cmp.Diff(tt.daemon, st.Daemon); d != "" {
				t.Errorf("daemon (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.queue, st.Queue); d != "" {
				t.Errorf("queue (-want +got):\n%s", d)
			}
			if st.Policy != tt.policy || st.Tone != tt.tone {
				t.Errorf("policy %q tone %q, want %q %q", st.Policy, st.Tone, tt.policy, tt.tone)
			}
			for k, v := range tt.shown {
				if st.Display[k] != v {
					t.Errorf("display[%s] = %q, want %q", k, st.Display[k], v)
				}
			}
			// The server-rendered panel says the same.
			page := r.do("GET", "/", nil).Body.String()
			for k, v := range tt.shown {
				if !strings.Contains(page, `data-field="`+k+`">`+htmlEscape(v)+`<`) {
					t.Errorf("page panel lacks %s = %q", k, v)
				}
			}
		})
	}
}

// Reading the panel creates nothing under the state home.
func TestSyncPanelCreatesNothing(t *testing.T) {
	r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	for _, p := range []string{"/", "/api/sync/status", "/missions/002-lightweight-pypi-release"} {
		if w := r.do("GET", p, nil); w.Code != 200 {
			t.Fatalf("%s: %d", p, w.Code)
		}
	}
	if exists(r.home.Dir) {
		t.Errorf("state home %s created by reads", r.home.Dir)
	}
	if r.homeUsed.Load() == 0 {
		t.Error("the panel never looked at the state home")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

const deadPID = 99999999 // above any pid_max: never alive

func at(hour int) time.Time { return time.Date(2026, 11, 27, hour, 0, 0, 0, time.UTC) }

func notReady(s readiness.State) readiness.Result {
	msg, next := readiness.Wording(s)
	return readiness.Result{State: s, Message: msg, NextAction: next}
}

func writeState(t *testing.T, home paths.Home, st localapi.State) {
	t.Helper()
	if err := home.EnsureHome(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(home.DaemonState(), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func openTestQueue(t *testing.T, home paths.Home) *queue.Queue {
	t.Helper()
	q, err := queue.Open(context.Background(), home.Queue(), queue.Options{CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestSyncNow(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(r *rig)
		code     int
		want     syncNowAnswer
		intents  []policy.Intent // RemoteRequired calls expected
		logLines int             // INFO lines about the skip
	}{
		{"auto starts the daemon", nil, 202, syncNowAnswer{Status: "scheduled"}, []policy.Intent{policy.RemoteRequired}, 0},
		{"manual skips", func(r *rig) { r.pol = policy.Manual }, 202, syncNowAnswer{Status: "skipped", Reason: "policy_manual"},
			[]policy.Intent{policy.RemoteRequired}, 1},
		{"start fails", func(r *rig) { r.launcher.fail = "no spec-kitty executable known" }, 503,
			syncNowAnswer{Status: "unavailable", Reason: "start_failed: no spec-kitty executable known"}, []policy.Intent{policy.RemoteRequired}, 0},
		{"not signed in", func(r *rig) { r.ready = notReady(readiness.MissingAuth) }, 503,
			syncNowAnswer{Status: "unavailable", Reason: "missing_auth", Message: "No SaaS authentication token is present. Run `spec-kitty auth login`."}, nil, 0},
		{"no host", func(r *rig) { r.ready = notReady(readiness.MissingHostConfig) }, 503,
			syncNowAnswer{Status: "unavailable", Reason: "missing_host_config", Message: "No SaaS host URL is configured. Set `SPEC_KITTY_SAAS_URL` in your environment."}, nil, 0},
		{"bad config", func(r *rig) { r.polErr = errors.New("config.toml:1:1: oops") }, 503,
			syncNowAnswer{Status: "unavailable", Reason: "config_error", Message: "config.toml:1:1: oops"}, nil, 0},
		{"launcher panics", func(r *rig) { r.launcher.panic = true }, 503,
			syncNowAnswer{Status: "unavailable", Reason: "internal_error"}, []policy.Intent{policy.RemoteRequired}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
			if tt.setup != nil {
				tt.setup(r)
			}
			w := r.syncNow()
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if d := cmp.Diff(tt.want, decode[syncNowAnswer](t, w.Body)); d != "" {
				t.Errorf("answer (-want +got):\n%s", d)
			}
			var remote []policy.Intent
			for _, in := range r.launcher.intents() {
				if in != policy.LocalOnly {
					remote = append(remote, in)
				}
			}
			if d := cmp.Diff(tt.intents, remote); d != "" {
				t.Errorf("EnsureRunning intents (-want +got):\n%s", d)
			}
			if n := countOf(r.logs.String(), "level=INFO msg=\"sync now skipped"); n != tt.logLines {
				t.Errorf("%d INFO skip lines, want %d; log:\n%s", n, tt.logLines, r.logs)
			}
			// The server is still fine.
			if w := r.do("GET", "/api/sync/status", nil); w.Code != 200 {
				t.Errorf("after Sync now: status endpoint %d", w.Code)
			}
			if exists(r.home.Queue()) {
				t.Error("Sync now created the queue")
			}
		})
	}
}

// The real service/launch.Launcher behind the handler: the manual policy
// and a failing start give the contract's answers without any process.
func TestSyncNowRealLauncher(t *testing.T) {
	tests := []struct {
		name string
		pol  policy.Policy
		code int
		want syncNowAnswer
	}{
		{"manual", policy.Manual, 202, syncNowAnswer{Status: "skipped", Reason: "policy_manual"}},
		{"auto, start fails", policy.Auto, 503, syncNowAnswer{Status: "unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := paths.Home{Dir: filepath.Join(t.TempDir(), "h")}
			l := &launch.Launcher{
				Getenv:     func(k string) string { return map[string]string{rollout.EnvVar: "1"}[k] },
				Home:       func() (paths.Home, error) { return home, nil },
				Policy:     func() (policy.Policy, error) { return tt.pol, nil },
				Executable: func() (string, error) { return filepath.Join(t.TempDir(), "no-such-spec-kitty"), nil },
			}
			r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")), func(r *rig, c *Config) { c.Launcher = l })
			r.pol = tt.pol
			w := r.syncNow()
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			got := decode[syncNowAnswer](t, w.Body)
			if tt.code == 503 {
				if !strings.HasPrefix(got.Reason, "start_failed: ") {
					t.Errorf("reason %q, want start_failed: ...", got.Reason)
				}
				got.Reason = ""
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("answer (-want +got):\n%s", d)
			}
		})
	}
}

func TestCSRFAndOrigin(t *testing.T) {
	r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	tok := r.token()
	other := newRig(t, gateOn, withRepo(r.repo)).token() // another process's token
	tests := []struct {
		name string
		hdr  map[string]string
		code int
	}{
		{"no token", map[string]string{"Origin": testOrigin}, 403},
		{"empty token", map[string]string{"Origin": testOrigin, CSRFHeader: ""}, 403},
		{"wrong token", map[string]string{"Origin": testOrigin, CSRFHeader: strings.Repeat("0", 64)}, 403},
		{"another process's token", map[string]string{"Origin": testOrigin, CSRFHeader: other}, 403},
		{"token prefix", map[string]string{"Origin": testOrigin, CSRFHeader: tok[:32]}, 403},
		{"no Origin", map[string]string{CSRFHeader: tok}, 403},
		{"cross-origin", map[string]string{"Origin": "http://evil.example", CSRFHeader: tok}, 403},
		{"localhost origin for the 127.0.0.1 host", map[string]string{"Origin": "http://localhost:8123", CSRFHeader: tok}, 403},
		{"127.0.0.1 origin for the localhost host", map[string]string{"Host": "localhost:8123", "Origin": testOrigin, CSRFHeader: tok}, 403},
		{"valid from localhost", map[string]string{"Host": "localhost:8123", "Origin": "http://localhost:8123", CSRFHeader: tok, "Sec-Fetch-Site": "same-origin"}, 202},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:8124", CSRFHeader: tok}, 403},
		{"https origin", map[string]string{"Origin": "https://127.0.0.1:8123", CSRFHeader: tok}, 403},
		{"null origin", map[string]string{"Origin": "null", CSRFHeader: tok}, 403},
		{"cross-site fetch", map[string]string{"Origin": testOrigin, CSRFHeader: tok, "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site fetch", map[string]string{"Origin": testOrigin, CSRFHeader: tok, "Sec-Fetch-Site": "same-site"}, 403},
		{"valid", map[string]string{"Origin": testOrigin, CSRFHeader: tok, "Sec-Fetch-Site": "same-origin"}, 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(r.launcher.intents())
			w := r.do(http.MethodPost, "/api/sync", tt.hdr)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			reached := false
			for _, in := range r.launcher.intents()[before:] {
				reached = reached || in == policy.RemoteRequired
			}
			if reached != (tt.code == 202) {
				t.Errorf("launcher reached = %v", reached)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	tok := r.token()
	tests := []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/api/sync", 405, "POST"},
		{"HEAD", "/api/sync", 405, "POST"},
		{"PUT", "/api/sync", 405, "POST"},
		{"DELETE", "/api/sync", 405, "POST"},
		{"POST", "/", 405, "GET, HEAD"},
		{"POST", "/api/missions", 405, "GET, HEAD"},
		{"POST", "/missions/002-lightweight-pypi-release", 405, "GET, HEAD"},
		{"DELETE", "/api/sync/status", 405, "GET, HEAD"},
		{"POST", "/static/app.js", 405, "GET, HEAD"},
		{"HEAD", "/", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w := r.do(tt.method, tt.path, map[string]string{"Origin": testOrigin, CSRFHeader: tok})
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	for _, in := range r.launcher.intents() {
		if in == policy.RemoteRequired {
			t.Error("a non-POST request reached Sync now")
		}
	}
}

// No token of the stored session appears in any answer, with the real
// readiness probes reading the real session file.
func TestNoSecretInResponses(t *testing.T) {
	const access, refresh = "acc-SECRET-7f3a9c", "ref-SECRET-1b2d4e"
	r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")), func(r *rig, c *Config) {
		r.env[paths.SaaSURLEnv] = "http://127.0.0.1:9"
	})
	store := session.NewStore(r.home, nil, nil)
	if err := r.home.EnsureHome(); err != nil {
		t.Fatal(err)
	}
	err := store.Save(context.Background(), &session.Session{Host: "http://127.0.0.1:9", UserID: "u1", Email: "u@example.com",
		AccessToken: hosted.NewSecret(access), RefreshToken: hosted.NewSecret(refresh), SessionID: "sess-1",
		IssuedAt: at(8), AccessTokenExpiresAt: at(23)})
	if err != nil {
		t.Fatal(err)
	}
	probes := probe.New(probe.Config{Getenv: r.getenv, Store: store, Now: func() time.Time { return at(12) }})
	r.srv.cfg.Readiness = func(ctx context.Context) readiness.Result {
		return readiness.Evaluate(ctx, readiness.Options{RequireAuth: true, RequireHost: true}, probes)
	}
	writeState(t, r.home, localapi.State{PID: os.Getpid(), Host: "http://127.0.0.1:9"})
	tok := r.token()
	var all bytes.Buffer
	for _, req := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/missions/002-lightweight-pypi-release"}, {"GET", "/api/missions"},
		{"GET", "/api/missions/002-lightweight-pypi-release"}, {"GET", "/api/sync/status"}, {"POST", "/api/sync"},
		{"GET", HealthPath}, {"GET", "/static/app.js"}, {"GET", "/nope"},
	} {
		w := r.do(req.method, req.path, map[string]string{"Origin": testOrigin, CSRFHeader: tok})
		for k, vs := range w.Header() {
			all.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		all.Write(w.Body.Bytes())
	}
	st := decode[syncStatus](t, r.do("GET", "/api/sync/status", nil).Body)
	if !st.Readiness.OK() {
		t.Fatalf("readiness %+v, want ready with the stored session", st.Readiness)
	}
	for _, secret := range []string{access, refresh, "SECRET"} {
		if strings.Contains(all.String(), secret) || strings.Contains(r.logs.String(), secret) {
			t.Errorf("%q appears in a response or the log", secret)
		}
	}
}

// fakeDaemon serves the daemon's POST /v1/sync on socket (with the local
// API's request rules) and returns the sync requests it received.
func fakeDaemon(t *testing.T, socket string) func() []localapi.SyncRequest {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(socket), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Skipf("no Unix socket here: %v", err)
	}
	var mu sync.Mutex
	var got []localapi.SyncRequest
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := localapi.CheckRequest(r); why != "" || r.Method != http.MethodPost || r.URL.Path != localapi.RouteSync {
			http.Error(w, "refused: "+why, http.StatusForbidden)
			return
		}
		var req localapi.SyncRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(localapi.Accepted{Status: "scheduled", Registered: true})
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return func() []localapi.SyncRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]localapi.SyncRequest(nil), got...)
	}
}

// queueFiles describes queue.db and its -wal/-shm/-journal companions under
// home: name, size, modification time and content, so any write shows.
func queueFiles(t *testing.T, home paths.Home) map[string]string {
	t.Helper()
	files, err := filepath.Glob(home.Queue() + "*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = fmt.Sprintf("%d bytes, %s, sha256 %x", fi.Size(), fi.ModTime().Format(time.RFC3339Nano), sha256.Sum256(b))
	}
	return out
}

// After a scheduled Sync now the daemon is asked over its local API to
// import the repository (as `sync run` registers its repo); the dashboard
// process itself neither creates nor modifies queue.db (its package
// comment: it never writes under the state home).
func TestSyncNowSendsRepo(t *testing.T) {
	for _, withQueue := range []bool{false, true} {
		t.Run(fmt.Sprintf("queue exists %v", withQueue), func(t *testing.T) {
			r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
			if withQueue {
				q := openTestQueue(t, r.home)
				if _, err := q.RegisterRepo(context.Background(), filepath.Join(t.TempDir(), "other")); err != nil {
					t.Fatal(err)
				}
				q.Close()
			}
			requests := fakeDaemon(t, r.home.DaemonSocket())
			before := queueFiles(t, r.home)
			w := r.syncNow()
			if w.Code != 202 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if d := cmp.Diff([]localapi.SyncRequest{{Repo: r.repo}}, requests()); d != "" {
				t.Errorf("sync requests (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before, queueFiles(t, r.home)); d != "" {
				t.Errorf("the dashboard wrote the queue (-before +after):\n%s", d)
			}
		})
	}
	t.Run("manual policy", func(t *testing.T) {
		r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
		r.pol = policy.Manual
		requests := fakeDaemon(t, r.home.DaemonSocket())
		w := r.syncNow()
		if got := decode[syncNowAnswer](t, w.Body); w.Code != 202 || got != (syncNowAnswer{Status: SyncSkipped, Reason: policy.ReasonManual}) {
			t.Errorf("answer %d %+v, want 202 skipped/policy_manual", w.Code, got)
		}
		if got := requests(); len(got) != 0 {
			t.Errorf("manual policy sent %+v", got)
		}
		if files := queueFiles(t, r.home); len(files) != 0 {
			t.Errorf("manual policy created %v", files)
		}
	})
	t.Run("no daemon answers", func(t *testing.T) {
		r := newRig(t, gateOn, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
		w := r.syncNow()
		if got := decode[syncNowAnswer](t, w.Body); w.Code != 202 || got.Status != SyncScheduled {
			t.Errorf("answer %d %+v, want 202 scheduled", w.Code, got)
		}
		if !strings.Contains(r.logs.String(), "ask the daemon to import the repository") {
			t.Errorf("log: %s", r.logs)
		}
		if files := queueFiles(t, r.home); len(files) != 0 {
			t.Errorf("Sync now created %v", files)
		}
	})
}

// TestPageETag: the page script's live check costs a stat per file: 304
// while nothing changed, 200 with a new ETag once an events file grew.
func TestPageETag(t *testing.T) {
	r := newRig(t, withRepo(smallRepo(t, "002-lightweight-pypi-release")))
	for _, path := range []string{"/", "/missions/002-lightweight-pypi-release"} {
		t.Run(path, func(t *testing.T) {
			w := r.do(http.MethodGet, path, nil)
			tag := w.Header().Get("ETag")
			if w.Code != 200 || tag == "" || !strings.Contains(w.Body.String(), `<meta name="content-version" content="`+strings.Trim(tag, `"`)+`">`) {
				t.Fatalf("first GET: %d, ETag %q", w.Code, tag)
			}
			if w := r.do(http.MethodHead, path, map[string]string{"If-None-Match": tag}); w.Code != http.StatusNotModified {
				t.Fatalf("unchanged: %d, want 304", w.Code)
			}
			f, err := os.OpenFile(filepath.Join(r.repo, "kitty-specs", "002-lightweight-pypi-release", "status.events.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(f, `{"actor": "t", "at": "2030-01-01T00:00:00Z", "event_id": "01KETAG`+strings.Repeat("0", 18)+`9", "from_lane": "done", "to_lane": "done", "wp_id": "WP01"}`)
			f.Close()
			w = r.do(http.MethodHead, path, map[string]string{"If-None-Match": tag})
			if w.Code != http.StatusOK || w.Header().Get("ETag") == tag {
				t.Fatalf("after a new line: %d, ETag %q (was %q)", w.Code, w.Header().Get("ETag"), tag)
			}
		})
	}
}
