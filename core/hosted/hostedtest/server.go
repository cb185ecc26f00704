// Package hostedtest owns an in-memory implementation of the hosted SaaS API
// (the wire protocol of CONTRACTS §8.3, made precise in the team's WIRE.md):
// OAuth device and PKCE flows, rotating tokens, the event batch endpoint with
// dedupe and per-event results, the tracker endpoints, switchable faults and
// the /_test control endpoints. Tests, benchmarks and scripts/devhost run it.
//
// It behaves like a real server rather than echoing what a test wants: state
// changes only through the wire or through the explicit control methods, and
// every answer is computed from that state. It listens on loopback only, it
// never logs tokens, and it must not import the client (core/hosted): both are
// written from the same wire text so that each checks the other.
package hostedtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ClientID is the only OAuth client the server knows.
const ClientID = "cli_native"

// Defaults used when the matching Options field is zero.
const (
	DefaultDeviceInterval  = 5 * time.Second
	DefaultDeviceExpiresIn = 600 * time.Second
	DefaultAccessTTL       = time.Hour
	DefaultRefreshTTL      = 30 * 24 * time.Hour
	DefaultOperationSteps  = 2
)

// Team is one team a user belongs to.
type Team struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// User is an account on the server.
type User struct {
	ID            string `json:"user_id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	Teams         []Team `json:"teams"`
	DefaultTeamID string `json:"default_team_id"`
}

// DefaultUser is always seeded; device codes and browser logins are granted
// to it unless ApproveAs names another user.
var DefaultUser = User{
	ID:            "u_1",
	Email:         "dev@example.test",
	Name:          "Dev User",
	Teams:         []Team{{ID: "team-dev", Name: "Dev Team", Role: "owner"}},
	DefaultTeamID: "team-dev",
}

// Options configures a Server. The zero value is usable.
type Options struct {
	// Now is the clock for every expiry and poll interval (default time.Now).
	Now func() time.Time
	// Rand is the source of token, code and id bytes (default crypto/rand).
	Rand io.Reader
	// Seed seeds the fault fractions when Faults.Seed is zero, so a run with
	// the same requests in the same order sees the same faults.
	Seed uint64
	// Users are added after DefaultUser; a user with DefaultUser's id
	// replaces it.
	Users []User

	// DeviceInterval is the minimum time between two polls of one device
	// code (default 5 s); it is advertised rounded up to whole seconds, at
	// least 1. A poll that arrives earlier than 90% of it answers slow_down.
	DeviceInterval time.Duration
	// DeviceExpiresIn is the life of a device code (default 600 s).
	DeviceExpiresIn time.Duration
	// SlowDownIncrease, when positive, raises a device code's required
	// interval by this much at every slow_down, as RFC 8628 §3.5 tells the
	// client to do. 0 keeps the interval fixed, so short test intervals stay
	// short.
	SlowDownIncrease time.Duration
	// AutoApproveAfterPolls approves a device code for DefaultUser once that
	// many polls have answered authorization_pending; the next poll gets the
	// tokens. 0 means never: only Approve, ApproveAs or POST /_test/approve.
	AutoApproveAfterPolls int

	// AccessTTL and RefreshTTL are the token lives (default 1 h and 30 days).
	AccessTTL  time.Duration
	RefreshTTL time.Duration

	// Async makes pull/push/run/publish answer 202 with an operation id (see
	// SetAsync).
	Async bool
	// OperationSteps is how many polls an async operation takes before it
	// ends: the first poll answers pending, the following ones running, and
	// poll OperationSteps+1 onwards completed (or failed). Default 2; a
	// negative value means the first poll already sees the end.
	OperationSteps int

	// Logger receives one line per request (method, path, status, fault,
	// duration). Nil logs nothing. Tokens, bodies and query strings are never
	// logged.
	Logger *slog.Logger
}

// Server is the in-memory hosted API. Create it with New; it is safe for
// concurrent use.
type Server struct {
	opts  Options
	now   func() time.Time
	rndMu sync.Mutex // an injected Rand need not be safe for concurrent use
	rnd   io.Reader

	// life guards closed; request entry holds it for reading so Close can
	// wait for every handler that started.
	life     sync.RWMutex
	closed   bool
	closing  chan struct{}
	inflight sync.WaitGroup

	srvMu    sync.Mutex
	srv      *http.Server
	ln       net.Listener
	url      string
	serveErr chan error

	auth    authState
	events  eventStore
	tracker trackerState
	faults  faultState

	reqMu    sync.Mutex
	requests map[string]int

	refreshes atomic.Int64
	async     atomic.Bool
}

// New returns a server with DefaultUser, opts.Users and the tracker seed. It
// does not listen until Listen or Start; Handler serves without listening.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.DeviceInterval <= 0 {
		opts.DeviceInterval = DefaultDeviceInterval
	}
	if opts.DeviceExpiresIn <= 0 {
		opts.DeviceExpiresIn = DefaultDeviceExpiresIn
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = DefaultAccessTTL
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = DefaultRefreshTTL
	}
	if opts.OperationSteps == 0 {
		opts.OperationSteps = DefaultOperationSteps
	}
	if opts.OperationSteps < 0 {
		opts.OperationSteps = 0
	}
	s := &Server{
		opts:     opts,
		now:      opts.Now,
		rnd:      opts.Rand,
		closing:  make(chan struct{}),
		requests: map[string]int{},
	}
	s.auth.init()
	s.events.init()
	s.tracker.init()
	s.faults.init(opts.Seed)
	s.async.Store(opts.Async)
	s.AddUser(DefaultUser)
	for _, u := range opts.Users {
		s.AddUser(u)
	}
	return s
}

// NewTest starts a server on 127.0.0.1:0 and closes it when tb ends.
func NewTest(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := New(opts)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		tb.Fatalf("hostedtest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Listen binds addr, which must be a loopback IP literal with a port
// ("127.0.0.1:0"), and serves in the background until Close.
func (s *Server) Listen(addr string) error {
	if err := CheckLoopback(addr); err != nil {
		return err
	}
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.isClosed() {
		return errors.New("hostedtest: server is closed")
	}
	if s.srv != nil {
		return fmt.Errorf("hostedtest: already listening on %s", s.url)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("hostedtest: listen %s: %w", addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	// net/http's own complaints go to the request logger, or nowhere:
	// never to the process-wide log package.
	errLog := log.New(io.Discard, "", 0)
	if s.opts.Logger != nil {
		errLog = slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn)
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          errLog,
	}
	s.serveErr = make(chan error, 1)
	go func(srv *http.Server, ln net.Listener, done chan<- error) {
		done <- srv.Serve(ln)
	}(s.srv, ln, s.serveErr)
	return nil
}

// Start listens on 127.0.0.1:0 and closes the server when ctx is done.
func (s *Server) Start(ctx context.Context) error {
	if err := s.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.closing:
		}
	}()
	return nil
}

// CheckLoopback reports an error unless addr is host:port with a loopback IP
// literal as host. An empty host would mean every interface, so it is refused.
func CheckLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("hostedtest: address %q: %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("hostedtest: address %q has no port", addr)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("hostedtest: address %q is not a loopback IP; use 127.0.0.1:PORT", addr)
	}
	return nil
}

// URL is "http://127.0.0.1:PORT" once listening, else "".
func (s *Server) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.url
}

// Handler serves the API without listening (for httptest). Close still ends
// hung and delayed requests.
func (s *Server) Handler() http.Handler { return s }

// Close stops listening, closes every connection, ends hung and delayed
// handlers and waits for all of them to return. It is idempotent.
func (s *Server) Close() {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return
	}
	s.closed = true
	s.life.Unlock()

	s.srvMu.Lock()
	srv, done := s.srv, s.serveErr
	s.srvMu.Unlock()
	if srv != nil {
		// Connections go first so no handler woken below can still answer.
		_ = srv.Close()
		<-done
	}
	close(s.closing)
	s.inflight.Wait()
}

func (s *Server) isClosed() bool {
	s.life.RLock()
	defer s.life.RUnlock()
	return s.closed
}

// SetAsync switches pull/push/run/publish between 200 with a summary and 202
// with an operation to poll.
func (s *Server) SetAsync(on bool) { s.async.Store(on) }

// RefreshCount is how many refresh_token grants succeeded.
func (s *Server) RefreshCount() int { return int(s.refreshes.Load()) }

// RequestCount is how many requests arrived for exactly this URL path
// (faulted ones included), e.g. "/api/v1/events/batch/".
func (s *Server) RequestCount(path string) int {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return s.requests[path]
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		writeError(w, http.StatusServiceUnavailable, "server_closed", "server is shutting down", true)
		return
	}
	s.inflight.Add(1)
	s.life.RUnlock()
	defer s.inflight.Done()

	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	fault := s.serve(sw, r)
	// Read what the client is still sending (bounded) before the response
	// goes out: net/http would otherwise close a connection with a large
	// unread body, and the client could see a reset instead of, say, a 413
	// or a 401 for its oversized or unauthenticated batch.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
	if s.opts.Logger != nil {
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("dur", time.Since(start)),
		}
		if fault != "" {
			attrs = append(attrs, slog.String("fault", string(fault)))
		}
		s.opts.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}
}

// serve routes one request and returns the name of the fault it suffered.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) Fault {
	path := r.URL.Path
	s.reqMu.Lock()
	s.requests[path]++
	s.reqMu.Unlock()

	switch {
	case strings.HasPrefix(path, "/_test/"):
		s.serveControl(w, r)
		return ""
	case path == "/device":
		s.serveDevicePage(w, r)
		return ""
	case path == "/":
		if r.Method == http.MethodHead && s.faults.get().ProbeFaults {
			if f := s.applyFault(w, r, false); f != "" {
				return f
			}
		}
		if r.Method != http.MethodHead && r.Method != http.MethodGet {
			methodNotAllowed(w, "GET, HEAD")
			return ""
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, "spec-kitty hostedtest\n")
		}
		return ""
	case strings.HasPrefix(path, "/oauth/"):
		if f := s.applyFault(w, r, false); f != "" {
			return f
		}
		s.serveOAuth(w, r)
		return ""
	case strings.HasPrefix(path, "/api/v1/"):
		if f := s.applyFault(w, r, true); f != "" {
			return f
		}
		s.serveAPI(w, r)
		return ""
	}
	writeError(w, http.StatusNotFound, "not_found", "no such endpoint "+path, false)
	return ""
}

func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth/device":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.handleDevice(w, r)
	case "/oauth/authorize":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.handleAuthorize(w, r)
	case "/oauth/token":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		s.handleToken(w, r)
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint "+r.URL.Path, false)
	}
}

// apiRoute is one authenticated endpoint: its method, whether it is a
// tracker call (X-Team-Slug required) and its handler.
type apiRoute struct {
	method  string
	tracker bool
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, c *caller)
}

var apiRoutes = map[string]apiRoute{
	"/api/v1/me":                       {http.MethodGet, false, (*Server).handleMe},
	"/api/v1/logout":                   {http.MethodPost, false, (*Server).handleLogout},
	"/api/v1/events/batch/":            {http.MethodPost, false, (*Server).handleBatch},
	"/api/v1/tracker/resources/":       {http.MethodGet, true, (*Server).handleResources},
	"/api/v1/tracker/bind-resolve/":    {http.MethodPost, true, (*Server).handleBindResolve},
	"/api/v1/tracker/bind-confirm/":    {http.MethodPost, true, (*Server).handleBindConfirm},
	"/api/v1/tracker/bind-validate/":   {http.MethodPost, true, (*Server).handleBindValidate},
	"/api/v1/tracker/status/":          {http.MethodGet, true, (*Server).handleStatus},
	"/api/v1/tracker/pull/":            {http.MethodPost, true, (*Server).handleOperation},
	"/api/v1/tracker/push/":            {http.MethodPost, true, (*Server).handleOperation},
	"/api/v1/tracker/run/":             {http.MethodPost, true, (*Server).handleOperation},
	"/api/v1/tracker/publish/":         {http.MethodPost, true, (*Server).handleOperation},
	"/api/v1/tracker/mappings/":        {"", true, (*Server).handleMappings},
	"/api/v1/tracker/operations/{id}/": {http.MethodGet, true, (*Server).handleOperationStatus},
}

const operationsPrefix = "/api/v1/tracker/operations/"

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Path
	if id, ok := strings.CutPrefix(key, operationsPrefix); ok {
		id, slash := strings.CutSuffix(id, "/")
		if !slash || id == "" || strings.Contains(id, "/") {
			writeError(w, http.StatusNotFound, "not_found", "no such endpoint "+r.URL.Path, false)
			return
		}
		r.SetPathValue("id", id)
		key = operationsPrefix + "{id}/"
	}
	route, ok := apiRoutes[key]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint "+r.URL.Path, false)
		return
	}
	if route.method != "" && r.Method != route.method {
		methodNotAllowed(w, route.method)
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if route.tracker {
		team := r.Header.Get("X-Team-Slug")
		if team == "" {
			writeError(w, http.StatusBadRequest, "missing_team", "the X-Team-Slug header is required on tracker calls", false)
			return
		}
		if !c.user.inTeam(team) {
			writeError(w, http.StatusForbidden, "team_forbidden", fmt.Sprintf("user %s is not a member of team %q", c.user.ID, team), false)
			return
		}
		c.team = team
	}
	route.handle(s, w, r, c)
}

func (u *User) inTeam(team string) bool {
	for _, t := range u.Teams {
		if t.ID == team {
			return true
		}
	}
	return false
}

// apiError is the error body of every 4xx/5xx except OAuth token errors.
type apiError struct {
	ErrorCode         string `json:"error_code"`
	Message           string `json:"message"`
	Retryable         bool   `json:"retryable"`
	RetryAfterSeconds int    `json:"retry_after_seconds,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own structs are marshalled; failing here is a bug.
		panic(fmt.Sprintf("hostedtest: marshal %T: %v", v, err))
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, code, msg string, retryable bool) {
	writeJSON(w, status, apiError{ErrorCode: code, Message: msg, Retryable: retryable})
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed; use "+allow, false)
}

// maxDrain bounds how much of an unread request body is swallowed after a
// refusal; beyond it the connection is closed.
const maxDrain = 16 << 20

// maxJSONBody bounds every plain JSON or form body; only the event batch is
// bigger.
const maxJSONBody = 1 << 20

// readJSON decodes a bounded JSON object body into v, answering 400 itself.
func readJSON(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "read body: "+err.Error(), false)
		return nil, false
	}
	if len(body) > maxJSONBody {
		writeError(w, http.StatusRequestEntityTooLarge, "request_too_large", "body larger than 1 MiB", false)
		return nil, false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "body is not a JSON object of the expected shape: "+err.Error(), false)
		return nil, false
	}
	return body, true
}

func (s *Server) randomBytes(n int) []byte {
	b := make([]byte, n)
	s.rndMu.Lock()
	_, err := io.ReadFull(s.rnd, b)
	s.rndMu.Unlock()
	if err != nil {
		panic(fmt.Sprintf("hostedtest: read random bytes: %v", err))
	}
	return b
}

// randomID returns prefix followed by n random bytes in hex.
func (s *Server) randomID(prefix string, n int) string {
	b := s.randomBytes(n)
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, len(prefix)+2*n)
	out = append(out, prefix...)
	for _, c := range b {
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}

// statusWriter remembers the status for the request log and passes
// hijacking through so connection-reset faults work.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wait blocks for d, or until the request is cancelled or the server closes;
// it reports whether the full d elapsed.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}
