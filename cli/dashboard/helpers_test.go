package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

const testAddr = "127.0.0.1:8123"

const testOrigin = "http://" + testAddr

// fakeLauncher is a small honest launcher: the real §6 decision
// (policy.Decide) over an injected gate and policy, and a "start" that
// succeeds or fails as told instead of spawning a process.
type fakeLauncher struct {
	gate  func() bool
	pol   func() policy.Policy
	fail  string // non-empty: starting fails with this reason
	panic bool

	mu    sync.Mutex
	calls []policy.Intent
}

func (f *fakeLauncher) EnsureRunning(ctx context.Context, intent policy.Intent) policy.Outcome {
	f.mu.Lock()
	f.calls = append(f.calls, intent)
	f.mu.Unlock()
	if f.panic && intent == policy.RemoteRequired {
		panic("launcher exploded")
	}
	dec, err := policy.Decide(f.gate(), intent, f.pol)
	if err != nil {
		return policy.Outcome{SkippedReason: policy.ReasonStartFailed + ": " + err.Error()}
	}
	if !dec.Start {
		return policy.Outcome{SkippedReason: dec.Reason}
	}
	if f.fail != "" {
		return policy.Outcome{SkippedReason: policy.ReasonStartFailed + ": " + f.fail}
	}
	return policy.Outcome{Started: true, PID: 4242}
}

func (f *fakeLauncher) intents() []policy.Intent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]policy.Intent(nil), f.calls...)
}

// rig is one dashboard under test with its environment.
type rig struct {
	t        *testing.T
	srv      *Server
	env      map[string]string
	envMu    sync.Mutex
	home     paths.Home
	homeUsed atomic.Int32
	repo     string
	launcher *fakeLauncher
	pol      policy.Policy
	polErr   error
	ready    readiness.Result
	logs     *syncBuffer
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

type rigOpt func(*rig, *Config)

func gateOn(r *rig, _ *Config) { r.env[rollout.EnvVar] = "1" }

func withRepo(repo string) rigOpt { return func(r *rig, _ *Config) { r.repo = repo } }

// newRig builds a dashboard over the full fixture (read-only) unless
// withRepo says otherwise; the gate is off unless gateOn.
func newRig(t *testing.T, opts ...rigOpt) *rig {
	t.Helper()
	r := &rig{t: t, env: map[string]string{}, home: paths.Home{Dir: filepath.Join(t.TempDir(), "home")},
		pol: policy.Auto, ready: readiness.Result{State: readiness.Ready}, logs: &syncBuffer{}}
	r.launcher = &fakeLauncher{gate: func() bool { return rollout.Enabled(r.getenv) }, pol: func() policy.Policy { return r.pol }}
	cfg := Config{Addr: testAddr}
	for _, o := range opts {
		o(r, &cfg)
	}
	if r.repo == "" {
		r.repo = fixtureRepo(t)
	}
	cfg.Repo = r.repo
	cfg.Getenv = r.getenv
	cfg.Home = func() (paths.Home, error) { r.homeUsed.Add(1); return r.home, nil }
	if cfg.Launcher == nil {
		cfg.Launcher = r.launcher
	}
	cfg.Policy = func() (policy.Policy, error) { return r.pol, r.polErr }
	cfg.Readiness = func(context.Context) readiness.Result { return r.ready }
	cfg.Log = slog.New(slog.NewTextHandler(r.logs, nil))
	cfg.Now = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r.srv = srv
	return r
}

func (r *rig) getenv(k string) string {
	r.envMu.Lock()
	defer r.envMu.Unlock()
	return r.env[k]
}

func (r *rig) setenv(k, v string) {
	r.envMu.Lock()
	defer r.envMu.Unlock()
	r.env[k] = v
}

// fixtureRepo is the generated corpus of the public repository's scale
// (412 missions, the corpus samples among them); read-only.
func fixtureRepo(t testing.TB) string {
	t.Helper()
	repo, _ := fixture.Default(t)
	return repo
}

// latestMission is the generated mission with the most recent activity.
func latestMission(t testing.TB) string {
	t.Helper()
	_, sum := fixture.Default(t)
	var best corpus.Mission
	for _, m := range sum.Missions {
		if m.LastActivity.After(best.LastActivity) {
			best = m
		}
	}
	return best.Slug
}

// smallRepo copies a few corpus missions into a fresh repo.
func smallRepo(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := fixture.CopyMissions(fixtureRepo(t), dir, names...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// do sends one request with the right Host unless the headers say
// otherwise ("Host" in hdr overrides it).
func (r *rig) do(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = testAddr
	req.RemoteAddr = "127.0.0.1:40000"
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.srv.ServeHTTP(w, req)
	return w
}

// syncNow is a well-formed "Sync now" request as the page script sends it.
func (r *rig) syncNow() *httptest.ResponseRecorder {
	return r.do(http.MethodPost, "/api/sync", map[string]string{"Origin": testOrigin, CSRFHeader: r.token(), "Sec-Fetch-Site": "same-origin"})
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([0-9a-f]+)">`)

// token scrapes the CSRF token from the page, the way the script reads it.
func (r *rig) token() string {
	r.t.Helper()
	w := r.do(http.MethodGet, "/", nil)
	m := csrfMeta.FindStringSubmatch(w.Body.String())
	if m == nil {
		r.t.Fatalf("no csrf meta tag in the page (status %d)", w.Code)
	}
	return m[1]
}

func decode[T any](t testing.TB, body io.Reader) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(body).Decode(&v); err != nil {
		t.Fatalf("decode JSON: %v", err)
	}
	return v
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func countOf(s, sub string) int { return strings.Count(s, sub) }
