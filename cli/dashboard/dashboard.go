// Package dashboard owns the local web dashboard of `spec-kitty dashboard`
// (CONTRACTS.md §10): an http.Handler serving the missions of one repo and
// their work-package lanes read from kitty-specs/, and — only while the
// rollout gate is on, checked on every request — the sync panel with its
// JSON status endpoint and the "Sync now" action (their script and
// stylesheet, sync.js and sync.css, are served only then too). Templates,
// scripts and stylesheets are embedded; there is no front-end build. It also
// owns the dashboard's record (record.go: a private file under the state
// home holding a secret) and the identity proof and authenticated stop
// built on it (identity.go), so no file in a repository and no other
// listener can pass for a running dashboard.
//
// It must stay safe against other web pages and local: it serves only the
// listener its caller bound on 127.0.0.1, refuses any request whose Host is
// not that address (or localhost on its port), takes mutations only as POST with a per-process CSRF
// token and a same-origin Origin, and reads files only under the repo's
// kitty-specs/ (through core/mission, which refuses links out and
// non-regular files). The server never opens a network connection, never
// writes under the state home (the record is its caller's, via ClaimRecord),
// never creates the queue, and never starts the sync daemon
// except through the launcher's EnsureRunning on "Sync now" (intent
// remote_required); startup and reads pass intent local_only (CONTRACTS.md §6).
package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Launcher is what the dashboard needs from service/launch.Launcher.
type Launcher interface {
	EnsureRunning(ctx context.Context, intent policy.Intent) policy.Outcome
}

// Config is everything the server takes from the outside world.
type Config struct {
	// Repo is the repository root; missions are read from Repo/kitty-specs.
	Repo string
	// Addr is the bound listener address ("127.0.0.1:PORT"): the only Host
	// accepted and, as http://Addr, the only Origin of a mutation.
	Addr string
	// Getenv is read on every request for the rollout gate.
	Getenv func(string) string
	// Home resolves the state home (read-only use: daemon state, queue).
	Home func() (paths.Home, error)
	// Launcher is asked to EnsureRunning at startup, on reads and on "Sync now".
	Launcher Launcher
	// Policy reads `[sync].background_daemon` (gate on only).
	Policy func() (policy.Policy, error)
	// Readiness evaluates the local readiness checks (gate, session, host;
	// never the network probe). Gate on only.
	Readiness func(ctx context.Context) readiness.Result
	// Status, when set, is the sync status the panel shows; nil means the
	// server builds it from Home, Policy and Readiness.
	Status func(ctx context.Context) status.Status
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives the INFO line of a skipped "Sync now" and server errors;
	// nil discards.
	Log *slog.Logger
	// Rand is the source of the CSRF token; nil means crypto/rand.
	Rand io.Reader
	// Secret is the secret of the dashboard's record (NewSecret): the
	// health answer proves it and a stop request must prove it. Empty
	// means no proof can be made and StopPath refuses every request.
	Secret string
}

// Server is the dashboard handler. Create it with New; close it with Close.
type Server struct {
	cfg      Config
	csrf     string
	log      *slog.Logger
	missions *missionCache
	pages    map[string]*template.Template
	static   fs.FS

	rowsMu sync.Mutex
	rows   map[*mission.Mission]cachedRow

	stopOnce sync.Once
	stopc    chan struct{} // closed by an authenticated stop request
}

// New validates cfg and prepares the handler. It reads no file.
func New(cfg Config) (*Server, error) {
	if cfg.Repo == "" {
		return nil, errors.New("dashboard: no repo")
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: address %q: %w", cfg.Addr, err)
	}
	if host != "127.0.0.1" {
		return nil, fmt.Errorf("dashboard: address %q: must be 127.0.0.1", cfg.Addr)
	}
	if cfg.Launcher == nil {
		return nil, errors.New("dashboard: no launcher")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	lg := cfg.Log
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	tok := make([]byte, 32)
	if _, err := io.ReadFull(cfg.Rand, tok); err != nil {
		return nil, fmt.Errorf("dashboard: csrf token: %w", err)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:      cfg,
		csrf:     hex.EncodeToString(tok),
		log:      lg,
		missions: newMissionCache(cfg.Repo),
		pages:    pages,
		static:   static,
		stopc:    make(chan struct{}),
	}, nil
}

// URL is the address to open in a browser.
func (s *Server) URL() string { return "http://" + s.cfg.Addr + "/" }

// Close releases what the server holds. The queue is opened per request,
// so there is nothing left to release; Close stays for callers' symmetry.
func (s *Server) Close() error { return nil }

// Serve runs the dashboard on ln (bound to Config.Addr) until ctx ends, then
// shuts down gracefully. It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if got := ln.Addr().String(); got != s.cfg.Addr {
		return fmt.Errorf("dashboard: listener on %s, configured for %s", got, s.cfg.Addr)
	}
	s.ensureDaemonOnStartup(ctx)
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-s.stopc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	return nil
}

// ensureDaemonOnStartup is the dashboard-startup call site of CONTRACTS.md
// §6: intent local_only, so it never starts the daemon; it only tells the
// launcher that a local reader came up.
func (s *Server) ensureDaemonOnStartup(ctx context.Context) {
	out := s.cfg.Launcher.EnsureRunning(ctx, policy.LocalOnly)
	s.log.Debug("dashboard startup", "daemon_started", out.Started, "skipped", out.SkippedReason)
}

// ensureDaemonForRead is the read-endpoint call site of CONTRACTS.md §6:
// intent local_only, so reading never starts the daemon.
func (s *Server) ensureDaemonForRead(ctx context.Context) {
	out := s.cfg.Launcher.EnsureRunning(ctx, policy.LocalOnly)
	if out.Started {
		// Unreachable with a correct launcher; say so loudly if it happens.
		s.log.Error("daemon started by a read endpoint", "pid", out.PID)
	}
}

func (s *Server) gateOn() bool { return rollout.Enabled(s.cfg.Getenv) }

// Security headers of every response (CONTRACTS.md §10). The script and
// stylesheet are static files, so no inline script or style is allowed.
var securityHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Cache-Control", "no-store"},
}

// CSRFHeader carries the page's CSRF token on a mutating request.
const CSRFHeader = "X-CSRF-Token"

// ServeHTTP checks the Host, then routes. Unknown paths, bad mission names
// and, with the gate off, the sync routes are 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for _, kv := range securityHeaders {
		h.Set(kv[0], kv[1])
	}
	if !s.hostOK(r.Host) {
		httpError(w, http.StatusForbidden, "forbidden: unexpected Host header")
		return
	}
	p := r.URL.Path
	switch {
	case p == "/":
		s.read(w, r, s.handleIndex)
	case p == "/api/missions":
		s.read(w, r, s.handleMissionsJSON)
	case strings.HasPrefix(p, "/missions/"):
		name := strings.TrimPrefix(p, "/missions/")
		s.read(w, r, func(w http.ResponseWriter, r *http.Request) { s.handleMission(w, r, name) })
	case strings.HasPrefix(p, "/api/missions/"):
		name := strings.TrimPrefix(p, "/api/missions/")
		s.read(w, r, func(w http.ResponseWriter, r *http.Request) { s.handleMissionJSON(w, r, name) })
	case strings.HasPrefix(p, "/static/"):
		s.handleStatic(w, r, strings.TrimPrefix(p, "/static/"))
	case p == HealthPath:
		s.get(w, r, s.handleHealth)
	case p == StopPath:
		s.handleStop(w, r)
	case p == "/api/sync/status" && s.gateOn():
		s.read(w, r, s.handleSyncStatus)
	case p == "/api/sync" && s.gateOn():
		s.mutate(w, r, s.handleSyncNow)
	default:
		httpError(w, http.StatusNotFound, "not found")
	}
}

// hostOK accepts the bound address and localhost on the bound port: both
// name this listener (http://localhost:PORT is what people type). Any other
// name could be a DNS-rebinding page and is refused.
func (s *Server) hostOK(host string) bool {
	if host == s.cfg.Addr {
		return true
	}
	_, port, _ := net.SplitHostPort(s.cfg.Addr)
	return strings.EqualFold(host, "localhost:"+port)
}

// get allows GET and HEAD only.
func (s *Server) get(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	h(w, r)
}

// read is a read endpoint: GET/HEAD, and the §6 local_only call site.
func (s *Server) read(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	s.get(w, r, func(w http.ResponseWriter, r *http.Request) {
		s.ensureDaemonForRead(r.Context())
		h(w, r)
	})
}

// mutate is a mutating endpoint: POST only, same-origin Origin, CSRF token.
func (s *Server) mutate(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if reason := s.checkMutation(r); reason != "" {
		writeJSON(w, http.StatusForbidden, map[string]string{"status": "forbidden", "reason": reason})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	h(w, r)
}

// checkMutation returns why a mutating request is refused, or "".
func (s *Server) checkMutation(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return "missing Origin header"
	}
	// Same origin: the page the request came from was served under the
	// Host this request names (already one of the accepted ones).
	if !strings.EqualFold(origin, "http://"+r.Host) {
		return "cross-origin request"
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return "cross-site request"
	}
	tok := r.Header.Get(CSRFHeader)
	if tok == "" {
		return "missing CSRF token"
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) != 1 {
		return "wrong CSRF token"
	}
	return ""
}

// HealthPath answers who serves this address, so `spec-kitty dashboard`
// can tell its own running instance from a reused PID or port.
const HealthPath = "/api/health"

// Health is the answer of HealthPath. Proof answers the request's
// ChallengeHeader with the record's secret (empty without a challenge).
type Health struct {
	App   string `json:"app"`
	PID   int    `json:"pid"`
	Proof string `json:"proof,omitempty"`
}

// App identifies the dashboard in Health.
const App = "spec-kitty-dashboard"

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := Health{App: App, PID: os.Getpid()}
	if c := r.Header.Get(ChallengeHeader); c != "" && s.cfg.Secret != "" && len(c) <= 128 {
		h.Proof = proof(s.cfg.Secret, "health", c)
	}
	writeJSON(w, http.StatusOK, h)
}

// handleStop shuts the dashboard down for a POST proving the record's
// secret. A browser page cannot make one: it does not know the secret, and
// a request carrying Origin or Referer is refused anyway.
func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" ||
		!validProof(s.cfg.Secret, "stop", r.Header.Get(ChallengeHeader), r.Header.Get(ProofHeader)) {
		httpError(w, http.StatusForbidden, "forbidden")
		return
	}
	w.WriteHeader(http.StatusAccepted)
	s.stopOnce.Do(func() { close(s.stopc) })
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	var ctype string
	switch filepath.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	}
	if ctype == "" || strings.Contains(name, "/") || !fs.ValidPath(name) {
		httpError(w, http.StatusNotFound, "not found")
		return
	}
	if hostedAssets[name] && !s.gateOn() {
		// With the gate off nothing served may name the hosted surface.
		httpError(w, http.StatusNotFound, "not found")
		return
	}
	b, err := fs.ReadFile(s.static, name)
	if err != nil {
		httpError(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// hostedAssets are the static files of the sync panel, served only with the
// gate on (the page links them only then).
var hostedAssets = map[string]bool{"sync.js": true, "sync.css": true}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
