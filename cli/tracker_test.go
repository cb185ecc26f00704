package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// trackerLeafArgs are arguments for every runnable tracker command that pass
// its usage checks.
func trackerLeafArgs() map[string][]string {
	return map[string][]string{
		"spec-kitty tracker providers":    {"--json"},
		"spec-kitty tracker discover":     {"--provider", "linear"},
		"spec-kitty tracker bind":         {"--provider", "jira", "--select", "1"},
		"spec-kitty tracker unbind":       nil,
		"spec-kitty tracker status":       {"--all"},
		"spec-kitty tracker map add":      {"--wp-id", "WP01", "--external-id", "x"},
		"spec-kitty tracker map list":     nil,
		"spec-kitty tracker sync pull":    nil,
		"spec-kitty tracker sync push":    {"--limit", "3"},
		"spec-kitty tracker sync run":     {"--json"},
		"spec-kitty tracker sync publish": {"--no-wait"},
	}
}

func walk(c *Command, f func(*Command)) {
	f(c)
	for _, sub := range c.Commands {
		walk(sub, f)
	}
}

// TestTrackerGateDefenceInDepth: the group is not registered with the gate
// off, but a command reached anyway (built directly) still refuses with the
// disabled message, exit 1, before reading or writing anything.
func TestTrackerGateDefenceInDepth(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	writeFiles(t, repo, map[string]string{".kittify/config.yaml": "tracker:\n  provider: linear\n  binding_ref: bind_linear_sk\n"})
	home := filepath.Join(dir, "home")
	vars := map[string]string{"SPEC_KITTY_HOME": home, "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:1"}
	args := trackerLeafArgs()
	seen := 0
	var stdout, stderr bytes.Buffer
	env := &Env{Getenv: func(k string) string { return vars[k] }, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Now: time.Now, Dir: repo, UserHome: func() (string, error) { return dir, nil },
		Executable: func() (string, error) { return "", errors.New("no daemon in this test") }}
	walk(newTrackerCmd(env), func(c *Command) {
		if c.Run == nil {
			return
		}
		a, ok := args[c.Path()]
		if !ok {
			t.Errorf("%s: not covered by this test", c.Path())
			return
		}
		seen++
		t.Run(c.Path(), func(t *testing.T) {
			stdout.Reset()
			stderr.Reset()
			if code := run(context.Background(), env, c, a); code != ExitFailure {
				t.Errorf("exit %d, want %d", code, ExitFailure)
			}
			if diff := cmp.Diff("spec-kitty: error: "+readiness.DisabledMessage()+"\n", stderr.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
		})
	})
	if seen != len(args) {
		t.Errorf("ran %d commands, the table has %d", seen, len(args))
	}
	if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state home touched with the gate off: %v", err)
	}
}

func TestCheckProvider(t *testing.T) {
	for _, tc := range []struct {
		name, provider, err string
	}{
		{"linear", "linear", ""},
		{"gitlab", "gitlab", ""},
		{"empty", "", "--provider is required (one of linear, jira, github, gitlab)"},
		{"unknown", "trello", `unknown provider "trello"; use one of linear, jira, github, gitlab`},
		{"case matters", "Linear", `unknown provider "Linear"; use one of linear, jira, github, gitlab`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkProvider(tc.provider)
			got := ""
			if err != nil {
				got = err.Error()
				var e *Error
				if !errors.As(err, &e) || e.Code != ExitUsage {
					t.Errorf("%v is not a usage error", err)
				}
			}
			if got != tc.err {
				t.Errorf("got %q, want %q", got, tc.err)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Spec Kitty (SK)", "Spec Kitty (SK)"},
		{"escape", "evil\x1b[2Jlabel", "evil?[2Jlabel"},
		{"newline", "two\nlines\r", "two?lines?"},
		{"c1", "a\u009bb", "a?b"},
		{"padding", "  label ", "label"},
		{"unicode", "Équipe — ops", "Équipe — ops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := printable(tc.in); got != tc.want {
				t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func newTestPendingStore(t *testing.T, now *time.Time) (*pendingStore, *bytes.Buffer) {
	t.Helper()
	var warn bytes.Buffer
	return &pendingStore{home: paths.Home{Dir: filepath.Join(t.TempDir(), "home")}, now: func() time.Time { return *now }, warn: &warn}, &warn
}

// TestPendingStore: the same operation gets the same key until it is done,
// expired or refused for good; different operations get different keys.
func TestPendingStore(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s, warn := newTestPendingStore(t, &now)
	req := hosted.SyncRequest{Provider: "linear", BindingRef: "bind_1", ProjectSlug: "p"}
	acquire := func(kind, repo string, r any) *pendingOp {
		t.Helper()
		op, err := s.acquire(kind, "http://127.0.0.1:9", repo, r)
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	a := acquire("push", "/r", req)
	if a.IdempotencyKey == "" {
		t.Fatal("empty key")
	}
	if b := acquire("push", "/r", req); b.IdempotencyKey != a.IdempotencyKey {
		t.Errorf("retry got a new key")
	}
	other := []struct {
		name, kind, repo string
		req              any
	}{
		{"kind", "run", "/r", req},
		{"repo", "push", "/other", req},
		{"limit", "push", "/r", hosted.SyncRequest{Provider: "linear", BindingRef: "bind_1", ProjectSlug: "p", Limit: 2}},
	}
	for _, o := range other {
		if b := acquire(o.kind, o.repo, o.req); b.IdempotencyKey == a.IdempotencyKey {
			t.Errorf("different %s, same key", o.name)
		}
	}

	// Transient failures keep the record; a permanent refusal ends it.
	s.settle(a, &hosted.Error{Kind: hosted.KindRetryable})
	s.settle(a, &hosted.Error{Kind: hosted.KindAuthExpired})
	s.settle(a, context.Canceled)
	if b := acquire("push", "/r", req); b.IdempotencyKey != a.IdempotencyKey {
		t.Errorf("a transient failure dropped the key")
	}
	s.settle(a, &hosted.Error{Kind: hosted.KindPermanent})
	b := acquire("push", "/r", req)
	if b.IdempotencyKey == a.IdempotencyKey {
		t.Errorf("a permanent refusal kept the key")
	}
	s.done(b)
	c := acquire("push", "/r", req)
	if c.IdempotencyKey == b.IdempotencyKey {
		t.Errorf("a finished operation kept its key")
	}

	// Old records are not reused.
	now = now.Add(pendingTTL - time.Minute)
	if d := acquire("push", "/r", req); d.IdempotencyKey != c.IdempotencyKey {
		t.Errorf("record expired too early")
	}
	now = now.Add(2 * time.Minute)
	d := acquire("push", "/r", req)
	if d.IdempotencyKey == c.IdempotencyKey {
		t.Errorf("expired record reused")
	}

	// An unreadable record is replaced with a warning.
	if err := os.WriteFile(d.path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := acquire("push", "/r", req)
	if e.IdempotencyKey == d.IdempotencyKey || e.IdempotencyKey == "" {
		t.Errorf("unreadable record: key %q", e.IdempotencyKey)
	}
	if !strings.Contains(warn.String(), "replacing unreadable pending-operation record") {
		t.Errorf("warning: %q", warn.String())
	}
	fi, err := os.Stat(s.dir())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("pending dir mode %v", fi.Mode().Perm())
	}
}

// TestPendingStoreConcurrent: invocations racing on the same operation
// agree on one key.
func TestPendingStoreConcurrent(t *testing.T) {
	now := time.Now()
	s, _ := newTestPendingStore(t, &now)
	const n = 16
	keys := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			op, err := s.acquire("bind-confirm", "h", "/r", map[string]string{"candidate_token": "c"})
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = op.IdempotencyKey
		})
	}
	wg.Wait()
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatalf("keys differ: %q", keys)
		}
	}
	entries, err := os.ReadDir(s.dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("%d files left, want 1", len(entries))
	}
}

// TestTrackerWait checks the polling of an accepted operation in fake time:
// backoff from pollFirst doubling to pollMax, the 5-minute budget, Ctrl-C.
func TestTrackerWait(t *testing.T) {
	type result struct {
		polls []time.Duration // since start
		st    hosted.OperationState
		err   error
	}
	runWait := func(ctx context.Context, finishAfter int, pollErr error) result {
		var r result
		start := time.Now()
		s := &trackerSyncer{env: &Env{Stderr: io.Discard}}
		r.st, r.err = s.wait(ctx, "op_1", func(ctx context.Context) (hosted.OperationState, error) {
			r.polls = append(r.polls, time.Since(start))
			if pollErr != nil && len(r.polls) == 2 {
				return hosted.OperationState{}, pollErr
			}
			if finishAfter > 0 && len(r.polls) >= finishAfter {
				return hosted.OperationState{OperationID: "op_1", Status: hosted.OpCompleted, Summary: hosted.Summary{Pulled: 7}}, nil
			}
			return hosted.OperationState{OperationID: "op_1", Status: hosted.OpRunning}, nil
		})
		return r
	}
	ms := time.Millisecond
	t.Run("backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := runWait(t.Context(), 9, nil)
			if r.err != nil || r.st.Summary.Pulled != 7 {
				t.Fatalf("got %+v, %v", r.st, r.err)
			}
			want := []time.Duration{0, 100 * ms, 300 * ms, 700 * ms, 1500 * ms, 3100 * ms, 6300 * ms, 12700 * ms, 22700 * ms}
			if diff := cmp.Diff(want, r.polls); diff != "" {
				t.Errorf("poll times (-want +got):\n%s", diff)
			}
		})
	})
	t.Run("budget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := runWait(t.Context(), 0, nil)
			var wt waitTimeout
			if !errors.As(r.err, &wt) || wt.status != hosted.OpRunning {
				t.Fatalf("err = %v", r.err)
			}
			if last := r.polls[len(r.polls)-1]; last > waitBudget || last < waitBudget-pollMax {
				t.Errorf("last poll at %s", last)
			}
		})
	})
	t.Run("interrupt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(time.Second, cancel)
			r := runWait(ctx, 0, nil)
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("err = %v", r.err)
			}
			if len(r.polls) != 4 {
				t.Errorf("%d polls before the interrupt, want 4", len(r.polls))
			}
		})
	})
	t.Run("poll error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			boom := &hosted.Error{Kind: hosted.KindPermanent, Message: "HTTP 404 operation_not_found"}
			r := runWait(t.Context(), 0, boom)
			if !errors.Is(r.err, boom) {
				t.Fatalf("err = %v", r.err)
			}
		})
	})
}

// dropProxy forwards to target but, for the first drops requests to path,
// lets the host act and then closes the connection without an answer — a
// lost response.
type dropProxy struct {
	target *url.URL
	path   string
	drops  atomic.Int32
	proxy  *httputil.ReverseProxy
}

func (p *dropProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != p.path || p.drops.Add(-1) < 0 {
		p.proxy.ServeHTTP(w, r)
		return
	}
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.RequestURI = p.target.Scheme, p.target.Host, ""
	if resp, err := http.DefaultTransport.RoundTrip(out); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// trackerHarness is a signed-in repo talking to hostedtest through a proxy
// that can lose answers.
type trackerHarness struct {
	srv   *hostedtest.Server
	proxy *dropProxy
	repo  string
	vars  map[string]string
}

func newTrackerHarness(t *testing.T, opts hostedtest.Options, path string, config string) *trackerHarness {
	t.Helper()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "") // keep the OS keychain out of it where we can
	srv := hostedtest.NewTest(t, opts)
	target, _ := url.Parse(srv.URL())
	p := &dropProxy{target: target, path: path, proxy: httputil.NewSingleHostReverseProxy(target)}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	dir := t.TempDir()
	h := &trackerHarness{srv: srv, proxy: p, repo: filepath.Join(dir, "repo"), vars: map[string]string{
		"SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
		"SPEC_KITTY_SAAS_URL":         ps.URL,
		"SPEC_KITTY_HOME":             filepath.Join(dir, "home"),
	}}
	writeFiles(t, h.repo, map[string]string{".kittify/config.yaml": config})

	// Sign in straight to the session file.
	host, err := hosted.ParseHost(ps.URL)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	l := &auth.Login{Client: hosted.New(host, nil), Store: session.NewStore(paths.Home{Dir: h.vars["SPEC_KITTY_HOME"]}, nil, io.Discard)}
	if _, err := l.WithToken(context.Background(), bytes.NewReader(tok)); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *trackerHarness) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return h.runCtx(t, context.Background(), args...)
}

func (h *trackerHarness) runCtx(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{
		Getenv: func(k string) string { return h.vars[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Now: time.Now, Dir: h.repo, UserHome: func() (string, error) { return h.repo, nil },
		// No daemon in-process: the launch fails, which must not stop the operation.
		Executable: func() (string, error) { return "", errors.New("no spec-kitty binary in this test") },
	}
	code = Main(ctx, args, env)
	return out.String(), errb.String(), code
}

// TestTrackerSyncRetryAfterLostAnswer: the host ran the push but every
// answer was lost, so the command failed; running it again sends the same
// Idempotency-Key and the host does not push twice.
func TestTrackerSyncRetryAfterLostAnswer(t *testing.T) {
	h := newTrackerHarness(t, hostedtest.Options{}, "/api/v1/tracker/push/", "tracker:\n  provider: linear\n  binding_ref: bind_linear_sk\n  project_slug: spec-kitty\n")
	h.proxy.drops.Store(1000) // every attempt, including net/http's own replays
	_, stderr, code := h.run(t, "tracker", "sync", "push")
	if code != ExitFailure {
		t.Fatalf("first push: exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "spec-kitty: warning: the sync daemon did not start (") {
		t.Errorf("no start_failed warning:\n%s", stderr)
	}
	if !strings.Contains(stderr, "POST /api/v1/tracker/push/: connection closed before a complete response") {
		t.Errorf("first push error:\n%s", stderr)
	}
	if n := h.srv.OperationRuns("push"); n != 1 {
		t.Fatalf("host ran %d pushes, want 1", n)
	}
	h.proxy.drops.Store(0)
	stdout, stderr, code := h.run(t, "tracker", "sync", "push")
	if code != ExitOK {
		t.Fatalf("retry: exit %d, stderr:\n%s", code, stderr)
	}
	if want := "push completed: pulled 0, pushed 0, created 0, updated 0, skipped 0\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if n := h.srv.OperationRuns("push"); n != 1 {
		t.Errorf("host ran %d pushes after the retry, want 1", n)
	}
	// Finished: the next push is a new operation.
	if _, stderr, code := h.run(t, "tracker", "sync", "push"); code != ExitOK {
		t.Fatalf("next push: exit %d:\n%s", code, stderr)
	}
	if n := h.srv.OperationRuns("push"); n != 2 {
		t.Errorf("host ran %d pushes, want 2", n)
	}
}

// TestTrackerBindRetryAfterLostAnswer: same for bind-confirm, and the
// binding is written once the answer arrives.
func TestTrackerBindRetryAfterLostAnswer(t *testing.T) {
	h := newTrackerHarness(t, hostedtest.Options{}, "/api/v1/tracker/bind-confirm/", "project:\n  slug: demo\n")
	h.proxy.drops.Store(1000) // every attempt, including net/http's own replays
	if _, stderr, code := h.run(t, "tracker", "bind", "--provider", "github", "--select", "1"); code != ExitFailure {
		t.Fatalf("first bind: exit %d:\n%s", code, stderr)
	}
	h.proxy.drops.Store(0)
	if c, _ := binding.Load(h.repo); c.HasTracker {
		t.Fatalf("binding written without an answer: %+v", c.Tracker)
	}
	stdout, stderr, code := h.run(t, "tracker", "bind", "--provider", "github", "--select", "1")
	if code != ExitOK {
		t.Fatalf("retry: exit %d:\n%s", code, stderr)
	}
	if n := h.srv.OperationRuns("bind-confirm"); n != 1 {
		t.Errorf("host confirmed %d times, want 1", n)
	}
	c, err := binding.Load(h.repo)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Bound to github %q (binding %s).\n", "spec-kitty/spec-kitty-sync", c.Tracker.BindingRef); stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if !strings.HasPrefix(c.Tracker.BindingRef, "bind_") || c.Tracker.ProviderContext["workspace"] != "spec-kitty" {
		t.Errorf("binding %+v", c.Tracker)
	}
	entries, _ := os.ReadDir(paths.Home{Dir: h.vars["SPEC_KITTY_HOME"]}.TrackerPending())
	if len(entries) != 0 {
		t.Errorf("%d pending records left", len(entries))
	}
}

// TestTrackerSyncInterruptResumes: Ctrl-C while waiting for a queued
// operation stops the waiting (exit 130), not the operation; running the
// command again waits for the same operation instead of starting another.
func TestTrackerSyncInterruptResumes(t *testing.T) {
	h := newTrackerHarness(t, hostedtest.Options{OperationSteps: 1 << 30}, "", "tracker:\n  provider: linear\n  binding_ref: bind_linear_sk\n")
	h.srv.SetAsync(true)
	opID := regexp.MustCompile(`queued pull as operation (op_[0-9a-f]+);`)
	var ids []string
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		stdout, stderr, code := h.runCtx(t, ctx, "tracker", "sync", "pull")
		cancel()
		if code != ExitInterrupted || stdout != "" {
			t.Fatalf("run %d: exit %d, stdout %q, stderr:\n%s", i, code, stdout, stderr)
		}
		m := opID.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("run %d: no operation id in:\n%s", i, stderr)
		}
		ids = append(ids, m[1])
		if !strings.Contains(stderr, "stopped waiting; operation "+m[1]+" continues on the host (run the same command again to wait for it)\n") ||
			!strings.HasSuffix(stderr, "spec-kitty: interrupted\n") {
			t.Errorf("run %d: stderr:\n%s", i, stderr)
		}
	}
	if ids[0] != ids[1] {
		t.Errorf("the second run started operation %s, not the interrupted %s", ids[1], ids[0])
	}
	if n := h.srv.OperationRuns("pull"); n != 1 {
		t.Errorf("host ran %d pulls, want 1", n)
	}
}
