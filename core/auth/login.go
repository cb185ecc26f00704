package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// DefaultBrowserTimeout bounds how long the browser flow waits for the
// callback.
const DefaultBrowserTimeout = 5 * time.Minute

// Login runs the sign-in flows. Nothing is stored until the tokens were
// obtained and /api/v1/me answered: a failed login leaves storage untouched.
type Login struct {
	Client *hosted.Client // for the resolved host; its Tokens are ignored
	Store  *session.Store
	// Out receives the prompts (user code, URLs, progress); use stderr.
	Out io.Writer
	// OpenBrowser opens url in the user's browser. Nil or an error makes
	// Browser fall back to the device flow.
	OpenBrowser func(url string) error
	Now         func() time.Time
	// Sleep waits between device-flow polls (tests inject it).
	Sleep func(ctx context.Context, d time.Duration) error
	// Prompt, when set, receives the device-flow prompt once the host has
	// issued the code, before polling starts (after the sign-in lines on Out). It is
	// how `auth login --json` hands the prompt to a program (the tray).
	Prompt func(DevicePrompt)
	// Rand is the source of the PKCE verifier and state (crypto/rand when nil).
	Rand           io.Reader
	BrowserTimeout time.Duration
}

func (l *Login) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Login) out() io.Writer {
	if l.Out != nil {
		return l.Out
	}
	return io.Discard
}

func (l *Login) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	return hosted.Sleep(ctx, d)
}

func (l *Login) host() string { return l.Client.Host.URL }

// DevicePrompt is what the user needs to approve a device-flow sign-in: the
// page to open (VerificationURIComplete carries the code too, when the host
// offers one) and the code to enter there, valid for ExpiresIn seconds.
type DevicePrompt struct {
	VerificationURI         string
	VerificationURIComplete string
	UserCode                string
	ExpiresIn               int
}

// Device runs the OAuth device flow: it shows the code and the verification
// URL, polls at the host's interval (5 s more after each slow_down) and stops
// on approval, access_denied, expired_token, the code's expiry or ctx.
func (l *Login) Device(ctx context.Context) (*session.Session, error) {
	dc, err := l.Client.RequestDeviceCode(ctx)
	if err != nil {
		return nil, err
	}
	w := l.out()
	fmt.Fprintf(w, "To sign in, open %s and enter the code %s\n", printable(dc.VerificationURI), printable(dc.UserCode))
	if dc.VerificationURIComplete != "" {
		fmt.Fprintf(w, "  (or open %s)\n", printable(dc.VerificationURIComplete))
	}
	if l.Prompt != nil {
		l.Prompt(DevicePrompt{VerificationURI: dc.VerificationURI, VerificationURIComplete: dc.VerificationURIComplete,
			UserCode: dc.UserCode, ExpiresIn: dc.ExpiresIn})
	}
	fmt.Fprintf(w, "Waiting for approval...\n")
	interval := time.Duration(dc.Interval) * time.Second
	deadline := l.now().Add(time.Duration(dc.ExpiresIn) * time.Second)
	for {
		if err := l.sleep(ctx, interval); err != nil {
			return nil, err
		}
		if !l.now().Before(deadline) {
			return nil, fmt.Errorf("%s: the device code expired before it was approved; run `spec-kitty auth login` again", l.host())
		}
		tok, err := l.Client.PollDeviceToken(ctx, dc.DeviceCode)
		switch hosted.CodeOf(err) {
		case "":
		case hosted.CodeAuthorizationPending:
			continue
		case hosted.CodeSlowDown:
			interval += 5 * time.Second
			continue
		case hosted.CodeAccessDenied:
			return nil, fmt.Errorf("%s: sign-in was denied", l.host())
		case hosted.CodeExpiredToken:
			return nil, fmt.Errorf("%s: the device code expired before it was approved; run `spec-kitty auth login` again", l.host())
		}
		if err != nil {
			return nil, err
		}
		return l.complete(ctx, tok, session.MethodDevice)
	}
}

// Browser runs the PKCE loopback flow: a callback listener on 127.0.0.1, an
// S256 challenge and a random state. Callbacks with a wrong state are
// answered with a short page and ignored. When the browser cannot be opened
// it falls back to the device flow.
func (l *Login) Browser(ctx context.Context) (*session.Session, error) {
	if l.OpenBrowser == nil {
		fmt.Fprintf(l.out(), "No browser available; using device code sign-in.\n")
		return l.Device(ctx)
	}
	verifier, err := l.random(32)
	if err != nil {
		return nil, err
	}
	state, err := l.random(16)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("browser sign-in: listen on 127.0.0.1: %w", err)
	}
	redirect := fmt.Sprintf("http://%s/callback", ln.Addr())
	cb := &callback{state: state, result: make(chan callbackResult, 1)}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close below
	defer srv.Close()

	authURL := hosted.AuthorizeURL(l.Client.Host, redirect, challenge, state)
	if err := l.OpenBrowser(authURL); err != nil {
		srv.Close()
		fmt.Fprintf(l.out(), "Could not open a browser (%s); using device code sign-in.\n", oneLine(err.Error()))
		return l.Device(ctx)
	}
	fmt.Fprintf(l.out(), "Opened a browser to sign in. If it did not open, visit:\n  %s\nWaiting for the browser...\n", authURL)

	timeout := l.BrowserTimeout
	if timeout <= 0 {
		timeout = DefaultBrowserTimeout
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var res callbackResult
	select {
	case res = <-cb.result:
	case <-t.C:
		return nil, fmt.Errorf("%s: browser sign-in did not complete within %s", l.host(), timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.err != "" {
		return nil, fmt.Errorf("%s: browser sign-in failed: %s", l.host(), res.err)
	}
	tok, err := l.Client.ExchangeCode(ctx, res.code, redirect, hosted.NewSecret(verifier))
	if err != nil {
		return nil, err
	}
	return l.complete(ctx, tok, session.MethodBrowser)
}

func (l *Login) random(n int) (string, error) {
	r := l.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("browser sign-in: random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

type callbackResult struct {
	code hosted.Secret
	err  string
}

// callback serves the loopback redirect of the browser flow.
type callback struct {
	state  string
	result chan callbackResult
	once   sync.Once
}

func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/callback" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(cb.state)) != 1 {
		page(w, http.StatusBadRequest, "This sign-in response does not belong to the sign-in in progress. You can close this tab.")
		return
	}
	res := callbackResult{code: hosted.NewSecret(q.Get("code"))}
	switch {
	case q.Get("error") != "":
		res = callbackResult{err: oneLine(q.Get("error") + " " + q.Get("error_description"))}
		page(w, http.StatusOK, "Sign-in was not completed. You can close this tab.")
	case res.code.IsZero():
		res = callbackResult{err: "the callback carried no code"}
		page(w, http.StatusBadRequest, "Sign-in failed: no code. You can close this tab.")
	default:
		page(w, http.StatusOK, "Signed in to spec-kitty. You can close this tab and return to the terminal.")
	}
	cb.once.Do(func() { cb.result <- res })
}

func page(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>spec-kitty</title></head><body><p>%s</p></body></html>\n", html.EscapeString(text))
}

// WithToken signs in with a token JSON read from r (see ParseTokenInput).
func (l *Login) WithToken(ctx context.Context, r io.Reader) (*session.Session, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTokenInput+1))
	if err != nil {
		return nil, fmt.Errorf("read token from stdin: %w", err)
	}
	in, err := ParseTokenInput(data, l.now())
	if err != nil {
		return nil, fmt.Errorf("read token from stdin: %w", err)
	}
	return l.completeAt(ctx, in.Token, in.AccessTokenExpiresAt, session.MethodToken)
}

func (l *Login) complete(ctx context.Context, tok hosted.Token, method session.Method) (*session.Session, error) {
	return l.completeAt(ctx, tok, l.now().Add(tok.ExpiresIn), method)
}

// completeAt fetches the user and stores the session: the only write of a
// login, after everything else succeeded.
func (l *Login) completeAt(ctx context.Context, tok hosted.Token, accessExp time.Time, method session.Method) (*session.Session, error) {
	c := l.Client.WithTokens(hosted.StaticToken(l.Client.Host, tok.AccessToken, ""))
	me, err := c.Me(ctx)
	if err != nil {
		return nil, err
	}
	s := &session.Session{
		Host: l.Client.Host.URL, UserID: me.UserID, Email: me.Email, Name: me.Name, Teams: me.Teams,
		DefaultTeamID: me.DefaultTeamID, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
		SessionID: tok.SessionID, IssuedAt: l.now().UTC(), AccessTokenExpiresAt: accessExp.UTC(),
		RefreshTokenExpiresAt: tok.RefreshTokenExpiresAt, AuthMethod: method,
	}
	if s.DefaultTeamID == "" && len(s.Teams) == 1 {
		s.DefaultTeamID = s.Teams[0].ID
	}
	if err := l.Store.Save(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// printable keeps host-provided text from driving the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// oneLine folds whitespace so a host's text stays on one output line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
