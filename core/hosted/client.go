// Package hosted is the HTTP client for the hosted SaaS API (CONTRACTS §8.3,
// /tmp/team/WIRE.md): host resolution (§8.1), typed calls for every endpoint,
// the reachability probe, retry and refresh rules, and error classification.
//
// It owns the wire, not the session: tokens come from an injected TokenSource
// (core/auth implements it), and it never reads the rollout gate, the keychain
// or any file. Every call is bounded by a deadline; tokens are Secrets and
// never appear in errors or logs; the bearer token is only sent to the host
// that issued it and redirects to another host are refused.
package hosted

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults. Timeout bounds one attempt (connect, request and the whole
// response); MaxAttempts bounds retries of retryable failures and 429s.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 3
	// MaxRetryAfter caps any wait the host asks for (CONTRACTS §8.3).
	MaxRetryAfter = 60 * time.Second
	// maxResponseBytes bounds how much of a response body is read.
	maxResponseBytes = 16 << 20
	backoffBase      = 250 * time.Millisecond
	backoffCap       = 5 * time.Second
)

// TimeoutEnv, when set to a Go duration ("5s"), overrides DefaultTimeout for
// processes that build their client with TimeoutFromEnv. It exists so slow-host
// behaviour can be exercised end to end without waiting 30 s.
const TimeoutEnv = "SPEC_KITTY_HTTP_TIMEOUT"

// TimeoutFromEnv returns the per-attempt timeout from TimeoutEnv, or
// DefaultTimeout when unset or not a positive duration.
func TimeoutFromEnv(getenv func(string) string) time.Duration {
	if getenv == nil {
		return DefaultTimeout
	}
	d, err := time.ParseDuration(strings.TrimSpace(getenv(TimeoutEnv)))
	if err != nil || d <= 0 {
		return DefaultTimeout
	}
	return d
}

// Credentials are what an authenticated call needs: the access token, the
// host that issued it, and the team sent as X-Team-Slug on tracker calls.
type Credentials struct {
	Host        string // Host.URL of the issuing host
	AccessToken Secret
	Team        string // default team id
}

// TokenSource supplies credentials. core/auth implements it over the stored
// session; StaticToken wraps a token that cannot be refreshed.
type TokenSource interface {
	// Token returns current credentials, refreshing first when they are
	// about to expire.
	Token(ctx context.Context) (Credentials, error)
	// Refresh is called once after the host answered 401 to rejected; it
	// returns newer credentials (perhaps refreshed by another process).
	Refresh(ctx context.Context, rejected Secret) (Credentials, error)
}

// StaticToken is a TokenSource for one access token of host that cannot be
// refreshed (used during sign-in, before a session exists).
func StaticToken(host Host, access Secret, team string) TokenSource {
	return staticToken{Credentials{Host: host.URL, AccessToken: access, Team: team}}
}

type staticToken struct{ c Credentials }

func (s staticToken) Token(context.Context) (Credentials, error) { return s.c, nil }
func (s staticToken) Refresh(context.Context, Secret) (Credentials, error) {
	return Credentials{}, errNoRefresh
}

// errNoRefresh: the token source cannot refresh; the 401 stands.
var errNoRefresh = errors.New("the access token cannot be refreshed")

// Client talks to one host. Create it with New; the exported fields may be
// changed before first use.
type Client struct {
	Host   Host
	Tokens TokenSource // nil: authenticated calls fail with KindAuthExpired
	// Team overrides Credentials.Team for X-Team-Slug when non-empty.
	Team        string
	UserAgent   string
	Timeout     time.Duration // per attempt; DefaultTimeout when zero
	MaxAttempts int           // DefaultMaxAttempts when zero
	// Sleep waits between attempts; it returns ctx.Err() when ctx ends
	// first. Tests inject it to observe waits without spending them.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a float in [0,1) for backoff jitter.
	Rand   func() float64
	Now    func() time.Time
	Logger *slog.Logger

	httpc *http.Client
}

// New returns a client for host using tokens (which may be nil).
func New(host Host, tokens TokenSource) *Client {
	c := &Client{Host: host, Tokens: tokens, UserAgent: "spec-kitty"}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	c.httpc = &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	return c
}

// CloseIdleConnections releases pooled connections.
func (c *Client) CloseIdleConnections() { c.httpc.CloseIdleConnections() }

// checkRedirect follows a redirect only to the origin of the first request,
// so the bearer token can never travel to another host.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if sameOriginKey(req.URL) != sameOriginKey(via[0].URL) {
		return fmt.Errorf("%w (%s)", ErrRedirectRefused, sameOriginKey(req.URL))
	}
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	return nil
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) maxAttempts() int {
	if c.MaxAttempts > 0 {
		return c.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// backoff returns the full-jitter wait before retry number n (1-based).
func (c *Client) backoff(n int) time.Duration {
	d := backoffBase << (n - 1)
	if d > backoffCap || d <= 0 {
		d = backoffCap
	}
	r := mrand.Float64
	if c.Rand != nil {
		r = c.Rand
	}
	return time.Duration(r() * float64(d))
}

// request describes one logical call.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
	gzipped      bool
	auth         bool   // send the bearer token
	team         bool   // send X-Team-Slug
	idemKey      string // Idempotency-Key; makes a POST safe to retry
}

func (r *request) op() string { return r.method + " " + r.path }

// retrySafe: only idempotent methods or idempotency-keyed calls are retried
// after a transport failure or 5xx, since the host may have acted on them.
func (r *request) retrySafe() bool {
	return r.method == http.MethodGet || r.method == http.MethodHead || r.idemKey != ""
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) errorf(r *request, kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Host: c.Host.URL, Op: r.op(), Message: fmt.Sprintf(format, args...)}
}

// credentials fetches and checks the bearer token for r.
func (c *Client) credentials(ctx context.Context, r *request, fresh *Credentials) (*Credentials, error) {
	var cr Credentials
	if fresh != nil {
		cr = *fresh
	} else {
		if c.Tokens == nil {
			return nil, c.errorf(r, KindAuthExpired, "not signed in")
		}
		var err error
		cr, err = c.Tokens.Token(ctx)
		if err != nil {
			return nil, c.wrapTokenErr(r, err)
		}
	}
	if cr.Host != c.Host.URL {
		return nil, c.errorf(r, KindAuthExpired, "the session was issued by %s, not this host; run `spec-kitty auth login`", cr.Host)
	}
	if cr.AccessToken.IsZero() {
		return nil, c.errorf(r, KindAuthExpired, "the session has no access token")
	}
	if r.team && c.Team == "" && cr.Team == "" {
		return nil, c.errorf(r, KindConfig, "no team selected: the signed-in user has no default team")
	}
	return &cr, nil
}

func (c *Client) wrapTokenErr(r *request, err error) error {
	var he *Error
	if errors.As(err, &he) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindRetryable, Host: c.Host.URL, Op: r.op(), Message: describeTransport(err, 0), Err: err}
	}
	return &Error{Kind: KindAuthExpired, Host: c.Host.URL, Op: r.op(), Message: err.Error(), Err: err}
}

// refreshFailed classifies a failed refresh after a 401: transient failures
// stay retryable, anything else means the user must sign in again.
func (c *Client) refreshFailed(r *request, rejected *Error, err error) error {
	if errors.Is(err, errNoRefresh) {
		return rejected
	}
	var he *Error
	if errors.As(err, &he) {
		if he.Kind == KindRetryable || he.Kind == KindRetryAfter {
			return err
		}
		msg := strings.Join(nonEmpty(he.Op, he.Message), ": ")
		return &Error{Kind: KindAuthExpired, Host: c.Host.URL, Op: r.op(), Status: rejected.Status, Code: rejected.Code,
			Message: "access token rejected and the refresh failed (" + msg + ")", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return c.wrapTokenErr(r, err)
	}
	return &Error{Kind: KindAuthExpired, Host: c.Host.URL, Op: r.op(), Status: rejected.Status, Code: rejected.Code,
		Message: "access token rejected and the refresh failed: " + err.Error(), Err: err}
}

// do runs r with the retry, refresh and redirect rules and returns a 2xx
// response, or an *Error.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	var creds *Credentials
	refreshed := false
	log := c.logger()
	for attempt := 1; ; attempt++ {
		if r.auth && creds == nil {
			cr, err := c.credentials(ctx, r, nil)
			if err != nil {
				return nil, err
			}
			creds = cr
		}
		start := c.now()
		resp, err := c.attempt(ctx, r, creds)
		if err != nil {
			e := &Error{Kind: KindRetryable, Host: c.Host.URL, Op: r.op(), Message: describeTransport(err, c.timeout()), Err: err}
			if ctx.Err() != nil {
				e.Message, e.Err = describeTransport(ctx.Err(), 0), ctx.Err()
				return nil, e
			}
			if errors.Is(err, ErrRedirectRefused) {
				e.Kind = KindPermanent
			}
			log.Debug("hosted request failed", "op", r.op(), "attempt", attempt, "error", e.Message)
			if e.Kind == KindRetryable && r.retrySafe() && attempt < c.maxAttempts() {
				if err := c.sleep(ctx, c.backoff(attempt)); err != nil {
					return nil, e
				}
				continue
			}
			return nil, e
		}
		log.Debug("hosted request", "op", r.op(), "attempt", attempt, "status", resp.status, "duration", c.now().Sub(start))
		if resp.status >= 200 && resp.status < 300 {
			return resp, nil
		}
		e := c.statusError(r, resp)
		switch {
		case resp.status == http.StatusUnauthorized && r.auth && !refreshed && c.Tokens != nil:
			refreshed = true
			nc, err := c.Tokens.Refresh(ctx, creds.AccessToken)
			if err != nil {
				return nil, c.refreshFailed(r, e, err)
			}
			if creds, err = c.credentials(ctx, r, &nc); err != nil {
				return nil, err
			}
			attempt-- // the retry after a refresh is not a retry of a failure
			continue
		case e.Kind == KindRetryAfter && attempt < c.maxAttempts():
			// Context deadlines are wall-clock times, whatever c.Now says.
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < e.RetryAfter {
				return nil, e
			}
			if err := c.sleep(ctx, e.RetryAfter); err != nil {
				return nil, e
			}
			continue
		case e.Kind == KindRetryable && r.retrySafe() && attempt < c.maxAttempts():
			wait := max(c.backoff(attempt), e.RetryAfter)
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				return nil, e
			}
			if err := c.sleep(ctx, wait); err != nil {
				return nil, e
			}
			continue
		}
		return nil, e
	}
}

// attempt sends r once under the per-attempt deadline and reads the body.
func (c *Client) attempt(ctx context.Context, r *request, creds *Credentials) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	u := c.Host.Endpoint(r.path)
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if r.idemKey != "" {
		req.Header.Set("Idempotency-Key", r.idemKey)
	}
	if creds != nil {
		req.Header.Set("Authorization", "Bearer "+creds.AccessToken.Reveal())
		if r.team {
			team := creds.Team
			if c.Team != "" {
				team = c.Team
			}
			req.Header.Set("X-Team-Slug", team)
		}
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("response larger than %d MiB", maxResponseBytes>>20)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// errorBody is the hosted error shape plus the OAuth token-error shape.
type errorBody struct {
	ErrorCode         string          `json:"error_code"`
	Message           string          `json:"message"`
	Retryable         bool            `json:"retryable"`
	RetryAfterSeconds json.RawMessage `json:"retry_after_seconds"`
	OAuthError        string          `json:"error"`
	OAuthDescription  string          `json:"error_description"`
}

// statusError classifies a non-2xx response.
func (c *Client) statusError(r *request, resp *response) *Error {
	e := &Error{Host: c.Host.URL, Op: r.op(), Status: resp.status}
	switch {
	case resp.status == http.StatusTooManyRequests:
		e.Kind = KindRetryAfter
	case resp.status == http.StatusUnauthorized:
		e.Kind = KindAuthExpired
	case resp.status == http.StatusRequestTimeout || resp.status >= 500:
		e.Kind = KindRetryable
	default:
		e.Kind = KindPermanent
	}
	var eb errorBody
	detail := ""
	switch {
	case looksHTML(resp):
		detail = "an HTML page instead of JSON"
	case json.Unmarshal(resp.body, &eb) == nil:
		e.Code = eb.ErrorCode
		msg := eb.Message
		if e.Code == "" && eb.OAuthError != "" {
			e.Code, msg = eb.OAuthError, eb.OAuthDescription
		}
		detail = strings.TrimSpace(strings.Join(nonEmpty(e.Code, oneLine(msg)), ": "))
		if eb.Retryable && e.Kind == KindPermanent {
			e.Kind = KindRetryable
		}
	case len(bytes.TrimSpace(resp.body)) > 0:
		detail = "a non-JSON body"
	}
	if resp.status >= 300 && resp.status < 400 {
		detail = strings.TrimSpace("redirect not followed " + detail)
	}
	ra, hasRA := ParseRetryAfter(resp.header.Get("Retry-After"), c.now())
	if !hasRA && len(eb.RetryAfterSeconds) > 0 {
		ra, hasRA = ParseRetryAfter(string(eb.RetryAfterSeconds), c.now())
	}
	if hasRA {
		e.RetryAfter = ra
	} else if e.Kind == KindRetryAfter {
		e.RetryAfter = time.Second
	}
	text := "HTTP " + strconv.Itoa(resp.status)
	if detail != "" {
		text += " " + detail
	}
	if e.Kind == KindRetryAfter {
		text += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	e.Message = text
	return e
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// oneLine keeps host-provided text to one short printable line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func looksHTML(resp *response) bool {
	ct := strings.ToLower(resp.header.Get("Content-Type"))
	if strings.HasPrefix(ct, "text/html") {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(resp.body), []byte("<"))
}

// decode parses a 2xx JSON body into out, requiring the named top-level
// fields to be present and non-null.
func (c *Client) decode(r *request, resp *response, out any, required ...string) error {
	bad := func(format string, args ...any) error {
		e := c.errorf(r, KindPermanent, format, args...)
		e.Status = resp.status
		return e
	}
	body := bytes.TrimSpace(resp.body)
	if looksHTML(resp) {
		return bad("answered HTML instead of JSON (HTTP %d)", resp.status)
	}
	if len(body) == 0 {
		return bad("answered an empty body instead of JSON (HTTP %d)", resp.status)
	}
	if len(required) == 0 && json.Unmarshal(body, out) == nil {
		// One pass when there is nothing to check field by field (a
		// batch answer of 1,000 results); a failure is described below.
		return nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se) && se.Offset >= int64(len(body)):
			return bad("answered truncated JSON (%d bytes)", len(body))
		case errors.As(err, &se):
			return bad("answered invalid JSON: %s at byte %d", se.Error(), se.Offset)
		case errors.As(err, &te):
			return bad("answered JSON that is not an object")
		}
		return bad("answered invalid JSON: %v", err)
	}
	for _, f := range required {
		if v, ok := top[f]; !ok || string(v) == "null" {
			return bad("response is missing field %q", f)
		}
	}
	if err := json.Unmarshal(body, out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return bad("response field %q has the wrong type (%s, want %s)", te.Field, te.Value, te.Type)
		}
		return bad("answered unusable JSON: %v", err)
	}
	return nil
}

// call is do + decode.
func (c *Client) call(ctx context.Context, r *request, out any, required ...string) (int, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return 0, err
	}
	if out == nil {
		return resp.status, nil
	}
	return resp.status, c.decode(r, resp, out, required...)
}

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("hosted: marshal request: %v", err)) // request types always marshal
	}
	return b
}

// NewIdempotencyKey returns a random key for an Idempotency-Key header.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WithTokens returns a copy of c that uses tokens, sharing c's connections
// and settings.
func (c *Client) WithTokens(tokens TokenSource) *Client {
	cc := *c
	cc.Tokens = tokens
	return &cc
}
