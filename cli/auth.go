package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/probe"
	"github.com/spec-kitty/spec-kitty-sync/core/probe/local"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

const authLong = `Auth signs this machine in to the hosted service and out again.

The session is stored in the OS keychain (service "spec-kitty-sync") when one
works, otherwise in <home>/auth.json with mode 0600; 'auth status' names the
one in use. A session is valid only for the host that issued it: the host is
SPEC_KITTY_SAAS_URL, or sync.server_url from 'spec-kitty config'.`

func newAuthCmd(env *Env) *Command {
	return &Command{
		UsageLine: "spec-kitty auth <command>",
		Short:     "sign in to the hosted service, sign out, show the session",
		Long:      authLong,
		Commands: []*Command{
			newAuthLoginCmd(env),
			newAuthLogoutCmd(env),
			newAuthStatusCmd(env),
		},
	}
}

func newAuthLoginCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty auth login [--headless] [--with-token] [--json]",
		Short:     "sign in to the hosted service",
		Long: `Login signs in to the hosted service and stores the session.

By default it opens your browser (a sign-in page that returns to a one-time
listener on 127.0.0.1). Without a usable browser, or with --headless, it
shows a code and a URL to open on any device instead and waits until you
approve it there.

--with-token reads a token JSON object from stdin, for automation:
  {"access_token": "...", "refresh_token": "...", "expires_in": 3600}
(or "access_token_expires_at": "<RFC 3339>" instead of expires_in;
"session_id" and "refresh_token_expires_at" are optional).

--json is for programs (the tray uses it): the prompts stay on stderr, and
stdout carries JSON lines instead of text — with the device code flow first
{step: "device_code", verification_uri, verification_uri_complete?,
user_code, expires_in} as soon as the code is issued, then on success
{step: "signed_in", signed_in, host, user_id, email, name, auth_method}.

Nothing is stored unless sign-in completes. Interrupt with Ctrl-C.`,
	}
	headless := c.Flags().Bool("headless", false, "use the device code flow instead of a browser")
	withToken := c.Flags().Bool("with-token", false, "read a token JSON object from stdin")
	asJSON := c.Flags().Bool("json", false, "print the device code prompt and the result as JSON lines")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("auth login takes no arguments")
		}
		if *headless && *withToken {
			return usagef("--headless and --with-token cannot be combined")
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		host, err := hostedHost(ctx, env, readiness.Options{RequireHost: true}, nil)
		if err != nil {
			return err
		}
		store, err := sessionStore(env)
		if err != nil {
			return err
		}
		client := hostedClientFor(env, host, nil)
		defer client.CloseIdleConnections()
		l := &auth.Login{Client: client, Store: store, Out: env.Stderr, OpenBrowser: browserOpener(env), Now: env.Now}
		if *asJSON {
			l.Prompt = func(p auth.DevicePrompt) {
				_ = writeJSONLine(env.Stdout, authLoginPromptJSON{Step: "device_code", VerificationURI: p.VerificationURI,
					VerificationURIComplete: p.VerificationURIComplete, UserCode: p.UserCode, ExpiresIn: p.ExpiresIn})
			}
		}
		var s *session.Session
		switch {
		case *withToken:
			if env.StdinTTY {
				fmt.Fprintln(env.Stderr, "Reading the token JSON from stdin (end with Ctrl-D)...")
			}
			s, err = l.WithToken(ctx, env.Stdin)
		case *headless:
			s, err = l.Device(ctx)
		default:
			s, err = l.Browser(ctx)
		}
		if err != nil {
			return hostedError(err)
		}
		if *asJSON {
			return writeJSONLine(env.Stdout, authLoginDoneJSON{Step: "signed_in", authStatusJSON: authStatusJSON{SignedIn: true,
				Host: s.Host, UserID: s.UserID, Email: s.Email, Name: s.Name, AuthMethod: string(s.AuthMethod)}})
		}
		_, err = fmt.Fprintf(env.Stdout, "Signed in to %s as %s.\n", term.Sanitize(s.Host), term.Sanitize(who(s)))
		return err
	}
	return c
}

// authLoginPromptJSON is the first line of `auth login --json` with the
// device code flow, printed before it waits; fields are only ever added to.
type authLoginPromptJSON struct {
	Step                    string `json:"step"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete,omitempty"`
	UserCode                string `json:"user_code"`
	ExpiresIn               int    `json:"expires_in"`
}

// authLoginDoneJSON is the last line of `auth login --json` on success: the
// fields of `auth status --json` that describe the new session.
type authLoginDoneJSON struct {
	Step string `json:"step"`
	authStatusJSON
}

// writeJSONLine writes v as one line of compact JSON.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func newAuthLogoutCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty auth logout",
		Short:     "sign out: revoke the session on the host and remove it here",
		Long: `Logout revokes the stored session on the host that issued it and removes
it from this machine. When the host cannot be reached the session is still
removed here, with a warning.`,
	}
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("auth logout takes no arguments")
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		store, err := sessionStore(env)
		if err != nil {
			return err
		}
		var m *auth.Manager
		host, err := resolveHost(env)
		switch {
		case err == nil:
			var c *hosted.Client
			c, m = auth.NewClient(host, store)
			c.Timeout = hosted.TimeoutFromEnv(env.Getenv)
			m.Now = env.Now
			defer c.CloseIdleConnections()
		case !errors.Is(err, hosted.ErrNoHost):
			fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s\n", term.Lines(err.Error()))
		}
		res, err := auth.Logout(ctx, store, m)
		if res.Warning != "" {
			fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s\n", term.Lines(res.Warning))
		}
		if err != nil {
			return failf("%s", err)
		}
		if !res.HadSession {
			_, err = fmt.Fprintln(env.Stdout, "Not signed in.")
			return err
		}
		if res.Host != "" {
			_, err = fmt.Fprintf(env.Stdout, "Signed out of %s.\n", term.Sanitize(res.Host))
		} else {
			_, err = fmt.Fprintln(env.Stdout, "Signed out.")
		}
		return err
	}
	return c
}

// authStatusJSON is the --json output of `auth status`; fields are only
// ever added. It never holds a token.
type authStatusJSON struct {
	SignedIn              bool          `json:"signed_in"`
	State                 string        `json:"state,omitempty"`
	Host                  string        `json:"host,omitempty"`
	UserID                string        `json:"user_id,omitempty"`
	Email                 string        `json:"email,omitempty"`
	Name                  string        `json:"name,omitempty"`
	Teams                 []hosted.Team `json:"teams,omitempty"`
	DefaultTeamID         string        `json:"default_team_id,omitempty"`
	AuthMethod            string        `json:"auth_method,omitempty"`
	IssuedAt              *string       `json:"issued_at,omitempty"`
	AccessTokenExpiresAt  *string       `json:"access_token_expires_at,omitempty"`
	RefreshTokenExpiresAt *string       `json:"refresh_token_expires_at,omitempty"`
	StorageBackend        string        `json:"storage_backend,omitempty"`
	Storage               string        `json:"storage,omitempty"`
	// StoredHost and ConfiguredHost are set when the stored session was
	// issued by another host than the configured one (state missing_auth).
	StoredHost     string `json:"stored_host,omitempty"`
	ConfiguredHost string `json:"configured_host,omitempty"`
}

// otherHostSession returns the stored session's host and the configured
// host when a missing_auth result comes from a session issued by another
// host; "", "" otherwise.
func otherHostSession(ctx context.Context, env *Env, store *session.Store, res readiness.Result) (stored, configured string) {
	if res.State != readiness.MissingAuth || store == nil {
		return "", ""
	}
	h, err := resolveHost(env)
	if err != nil {
		return "", ""
	}
	var other *local.OtherHostError
	if _, err := local.CheckSession(ctx, store, h.URL, env.Now()); !errors.As(err, &other) || other.Stored == "" {
		return "", ""
	}
	return other.Stored, other.Host
}

// otherHostNote says why a stored session does not count: it belongs to
// another host (a token is only ever sent to the host that issued it).
func otherHostNote(stored, configured string) string {
	if stored == "" {
		return ""
	}
	return fmt.Sprintf("The stored session was issued by %s, but the configured host is %s: sign in to %s, or set `%s` back to %s.",
		stored, configured, configured, paths.SaaSURLEnv, stored)
}

func newAuthStatusCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty auth status [--json]",
		Short:     "show the signed-in user, teams, token expiry and storage",
		Long: `Status shows the stored session: host, user, teams and default team, when
the access and refresh tokens expire, how you signed in, and where the
session is stored (keychain or file). It does not contact the host.

It exits 1 with the missing_auth message when no session is stored, or the
stored one was issued by another host than the configured one, or its refresh
token has expired. --json prints {signed_in, state, host, user_id, email,
name, teams, default_team_id, auth_method, issued_at,
access_token_expires_at, refresh_token_expires_at, storage_backend,
storage}; tokens are never printed. When the stored session belongs to
another host, both hosts are named (stored_host, configured_host in JSON).`,
	}
	asJSON := c.Flags().Bool("json", false, "print the session as JSON (no tokens)")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("auth status takes no arguments")
		}
		if err := hostedGate(env); err != nil {
			return err
		}
		store, err := sessionStore(env)
		if err != nil {
			return err
		}
		res := readiness.Evaluate(ctx, readiness.Options{RequireAuth: true}, hostedProbes(env, store))
		if !res.OK() {
			if _, lerr := store.Load(ctx); lerr != nil && !errors.Is(lerr, session.ErrNoSession) {
				fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s\n", term.Lines(lerr.Error()))
			}
			stored, configured := otherHostSession(ctx, env, store, res)
			if *asJSON {
				if err := writeJSON(env.Stdout, authStatusJSON{State: string(res.State), StoredHost: stored, ConfiguredHost: configured}); err != nil {
					return err
				}
			}
			return readinessError{res: res, note: otherHostNote(stored, configured)}
		}
		s, err := store.Load(ctx)
		if err != nil {
			return failf("%s", err)
		}
		now := env.Now()
		if *asJSON {
			return writeJSON(env.Stdout, authStatusJSON{
				SignedIn: true, State: string(readiness.Ready), Host: s.Host, UserID: s.UserID, Email: s.Email,
				Name: s.Name, Teams: s.Teams, DefaultTeamID: s.DefaultTeamID, AuthMethod: string(s.AuthMethod),
				IssuedAt: jsonTime(s.IssuedAt), AccessTokenExpiresAt: jsonTime(s.AccessTokenExpiresAt),
				RefreshTokenExpiresAt: jsonTime(s.RefreshTokenExpiresAt),
				StorageBackend:        string(store.Backend(ctx)), Storage: store.BackendDetail(ctx),
			})
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "Signed in to %s\n", term.Sanitize(s.Host))
		fmt.Fprintf(w, "  User:\t%s (%s)\n", term.Sanitize(who(s)), term.Sanitize(s.UserID))
		fmt.Fprintf(w, "  Teams:\t%s\n", term.Sanitize(teamList(s.Teams)))
		def := s.DefaultTeamID
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(w, "  Default team:\t%s\n", term.Sanitize(def))
		fmt.Fprintf(w, "  Access token:\t%s\n", expiry(s.AccessTokenExpiresAt, now, "renewed automatically on next use"))
		fmt.Fprintf(w, "  Refresh token:\t%s\n", expiry(s.RefreshTokenExpiresAt, now, "sign in again"))
		fmt.Fprintf(w, "  Signed in:\t%s via %s\n", longTime(s.IssuedAt), term.Sanitize(string(s.AuthMethod)))
		fmt.Fprintf(w, "  Storage:\t%s\n", store.BackendDetail(ctx))
		return w.Flush()
	}
	return c
}

// hostedGate re-checks the rollout gate inside a hosted command (defence in
// depth: the group is not even registered with the gate off).
func hostedGate(env *Env) error {
	if !rollout.Enabled(env.Getenv) {
		return failf("%s", readiness.DisabledMessage())
	}
	return nil
}

// resolveHost is the SaaS host of this command: SPEC_KITTY_SAAS_URL, else
// sync.server_url (CONTRACTS §8.1), resolved once per Main call like the
// config it reads, and afresh at every use by a live env (the daemon).
func resolveHost(env *Env) (hosted.Host, error) {
	m := env.conf
	if m == nil {
		return probe.ResolveHost(env.Getenv, configServerURL(env))
	}
	m.mu.Lock()
	done, h, err := m.hostDone, m.host, m.hostErr
	m.mu.Unlock()
	if done {
		return h, err
	}
	// loadConfig takes m.mu itself: resolve outside the lock.
	h, err = probe.ResolveHost(env.Getenv, configServerURL(env))
	m.mu.Lock()
	m.hostDone, m.host, m.hostErr = true, h, err
	m.mu.Unlock()
	return h, err
}

// configServerURL reads [sync].server_url when the host needs it.
func configServerURL(env *Env) func() (string, error) {
	return func() (string, error) {
		cfg, err := loadConfig(env)
		if err != nil {
			return "", err
		}
		return cfg.ServerURL, nil
	}
}

// sessionStore is the session storage of this process: the OS keychain when
// it works, else <home>/auth.json with one warning on stderr.
func sessionStore(env *Env) (*session.Store, error) {
	home, err := env.Home()
	if err != nil {
		return nil, failf("%s", err)
	}
	return session.NewStore(home, session.KeychainFor(env.Getenv), env.Stderr), nil
}

// hostedProbes are the real readiness probes for this process (Binding is
// left nil for the caller to set).
func hostedProbes(env *Env, store *session.Store) readiness.Probes {
	return probe.New(probe.Config{Getenv: env.Getenv, ServerURL: configServerURL(env), Store: store, Now: env.Now})
}

// hostedHost runs the command's readiness row (binding is the Binding probe,
// needed only with opts.RequireBinding) and returns the resolved host. A
// configured but invalid URL is a configuration error naming the URL.
func hostedHost(ctx context.Context, env *Env, opts readiness.Options, binding func(context.Context) (bool, error)) (hosted.Host, error) {
	h, err := resolveHost(env)
	if err != nil && !errors.Is(err, hosted.ErrNoHost) {
		var he *hosted.Error
		if errors.As(err, &he) {
			return hosted.Host{}, withHint(failf("%s", err), "set `"+paths.SaaSURLEnv+"` (or sync.server_url) to an https:// URL")
		}
		return hosted.Host{}, err // a config.toml error, already worded
	}
	var store *session.Store
	if opts.RequireAuth {
		if store, err = sessionStore(env); err != nil {
			return hosted.Host{}, err
		}
	}
	p := hostedProbes(env, store)
	p.Binding = binding
	if res := readiness.Evaluate(ctx, opts, p); !res.OK() {
		return hosted.Host{}, readinessError{res: res, note: otherHostNote(otherHostSession(ctx, env, store, res))}
	}
	return h, nil
}

// hostedSession is the start of every hosted command that talks to the host
// as the signed-in user: the gate, the command's readiness row (opts, with
// binding as the Binding probe), then a client whose tokens come from the
// stored session and are refreshed as needed. Close idle connections when
// done.
func hostedSession(ctx context.Context, env *Env, opts readiness.Options, binding func(context.Context) (bool, error)) (*hosted.Client, error) {
	if err := hostedGate(env); err != nil {
		return nil, err
	}
	opts.RequireAuth, opts.RequireHost = true, true
	host, err := hostedHost(ctx, env, opts, binding)
	if err != nil {
		return nil, err
	}
	store, err := sessionStore(env)
	if err != nil {
		return nil, err
	}
	c, m := auth.NewClient(host, store)
	c.Timeout = hosted.TimeoutFromEnv(env.Getenv)
	m.Now = env.Now
	return c, nil
}

// hostedClientFor is a client for host; tokens may be nil.
func hostedClientFor(env *Env, host hosted.Host, tokens hosted.TokenSource) *hosted.Client {
	c := hosted.New(host, tokens)
	c.Timeout = hosted.TimeoutFromEnv(env.Getenv)
	c.Now = env.Now
	return c
}

// hostedError turns a client or sign-in error into exit 1 with one line; a
// session problem gets the sign-in hint.
func hostedError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if hosted.KindOf(err) == hosted.KindAuthExpired || errors.Is(err, auth.ErrSessionExpired) {
		return withHint(failf("%s", err), "run `spec-kitty auth login`")
	}
	return failf("%s", err)
}

func who(s *session.Session) string {
	switch {
	case s.Name != "" && s.Email != "":
		return fmt.Sprintf("%s <%s>", s.Name, s.Email)
	case s.Email != "":
		return s.Email
	}
	return s.UserID
}

func teamList(ts []hosted.Team) string {
	if len(ts) == 0 {
		return "(none)"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.ID
		if t.Name != "" {
			parts[i] += fmt.Sprintf(" %q", t.Name)
		}
		if t.Role != "" {
			parts[i] += " (" + t.Role + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// expiry describes an expiry time relative to now.
func expiry(at, now time.Time, whenExpired string) string {
	if at.IsZero() {
		return "expiry unknown"
	}
	d := at.Sub(now)
	if d <= 0 {
		return fmt.Sprintf("expired %s (%s ago; %s)", longTime(at), approx(-d), whenExpired)
	}
	return fmt.Sprintf("expires %s (in %s)", longTime(at), approx(d))
}

func approx(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// browserOpener opens a URL in the user's browser, or reports why it
// cannot: no graphical session on Linux/BSD (no DISPLAY or WAYLAND_DISPLAY),
// or no opener program. The URL carries no token.
func browserOpener(env *Env) func(string) error {
	return func(url string) error {
		var name string
		var args []string
		switch runtime.GOOS {
		case "darwin":
			name, args = "open", []string{url}
		case "windows":
			name, args = "rundll32", []string{"url.dll,FileProtocolHandler", url}
		default:
			if env.Getenv("DISPLAY") == "" && env.Getenv("WAYLAND_DISPLAY") == "" {
				return errors.New("no graphical display")
			}
			name, args = "xdg-open", []string{url}
		}
		path, err := exec.LookPath(name)
		if err != nil {
			return fmt.Errorf("%s not found", name)
		}
		cmd := exec.Command(path, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		go cmd.Wait() //nolint:errcheck // reap the opener; its exit status says nothing about the sign-in
		return nil
	}
}
