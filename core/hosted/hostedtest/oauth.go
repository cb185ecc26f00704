package hostedtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Grant types accepted by /oauth/token.
const (
	GrantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	GrantAuthCode     = "authorization_code"
	GrantRefreshToken = "refresh_token"
)

// codeTTL is the life of a PKCE authorization code.
const codeTTL = 10 * time.Minute

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
	deviceConsumed
)

type deviceGrant struct {
	deviceCode string
	userCode   string
	expires    time.Time
	lastPoll   time.Time
	interval   time.Duration // required gap between polls
	pending    int           // polls answered authorization_pending
	state      deviceState
	userID     string
}

type authCode struct {
	challenge   string
	redirectURI string
	userID      string
	expires     time.Time
}

type session struct {
	id      string
	userID  string
	method  string
	revoked bool
}

type accessToken struct {
	sess    *session
	expires time.Time
}

type refreshToken struct {
	sess    *session
	expires time.Time
}

// authState holds users, pending grants and tokens; its own lock keeps the
// event path (which only reads a token) from waiting on tracker work.
type authState struct {
	mu            sync.Mutex
	users         map[string]*User
	devices       map[string]*deviceGrant // by device_code
	userCodes     map[string]*deviceGrant // by user_code
	codes         map[string]*authCode
	access        map[string]*accessToken
	refresh       map[string]*refreshToken
	sessions      map[string]*session
	browserDenied bool
}

func (a *authState) init() {
	a.users = map[string]*User{}
	a.devices = map[string]*deviceGrant{}
	a.userCodes = map[string]*deviceGrant{}
	a.codes = map[string]*authCode{}
	a.access = map[string]*accessToken{}
	a.refresh = map[string]*refreshToken{}
	a.sessions = map[string]*session{}
}

// AddUser adds (or replaces, by ID) a user and seeds the tracker resources of
// each of its teams that has none yet.
func (s *Server) AddUser(u User) {
	u.Teams = append([]Team(nil), u.Teams...)
	if u.DefaultTeamID == "" && len(u.Teams) > 0 {
		u.DefaultTeamID = u.Teams[0].ID
	}
	s.auth.mu.Lock()
	s.auth.users[u.ID] = &u
	s.auth.mu.Unlock()
	for _, t := range u.Teams {
		s.tracker.seedTeam(t.ID)
	}
}

// Approve approves a pending device code for DefaultUser.
func (s *Server) Approve(userCode string) error { return s.ApproveAs(userCode, DefaultUser.ID) }

// ApproveAs approves a pending device code for the named user.
func (s *Server) ApproveAs(userCode, userID string) error {
	return s.decideDevice(userCode, userID, deviceApproved)
}

// Deny makes a pending device code answer access_denied.
func (s *Server) Deny(userCode string) error { return s.decideDevice(userCode, "", deviceDenied) }

func (s *Server) decideDevice(userCode, userID string, st deviceState) error {
	a := &s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.userCodes[normalizeUserCode(userCode)]
	if !ok {
		return fmt.Errorf("hostedtest: unknown user code %q", userCode)
	}
	if !s.now().Before(g.expires) {
		return fmt.Errorf("hostedtest: user code %q has expired", userCode)
	}
	if g.state != devicePending {
		return fmt.Errorf("hostedtest: user code %q is no longer pending", userCode)
	}
	if st == deviceApproved {
		if _, ok := a.users[userID]; !ok {
			return fmt.Errorf("hostedtest: unknown user %q", userID)
		}
	}
	g.state, g.userID = st, userID
	return nil
}

// SetBrowserDenied makes /oauth/authorize redirect with error=access_denied
// instead of a code, as when the user clicks "Deny" in the browser.
func (s *Server) SetBrowserDenied(denied bool) {
	s.auth.mu.Lock()
	s.auth.browserDenied = denied
	s.auth.mu.Unlock()
}

// ExpireAccessTokens makes every access token issued so far answer 401
// token_expired; tokens issued afterwards are unaffected.
func (s *Server) ExpireAccessTokens() {
	now := s.now()
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	for _, t := range s.auth.access {
		if t.expires.After(now) {
			t.expires = now
		}
	}
}

// ActiveSessionCount is the number of sessions not revoked by logout.
func (s *Server) ActiveSessionCount() int {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	n := 0
	for _, ss := range s.auth.sessions {
		if !ss.revoked {
			n++
		}
	}
	return n
}

// PendingUserCodes lists the user codes still waiting for a decision, for
// scripts that approve whatever is waiting.
func (s *Server) PendingUserCodes() []string {
	now := s.now()
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	var out []string
	for code, g := range s.auth.userCodes {
		if g.state == devicePending && now.Before(g.expires) {
			out = append(out, code)
		}
	}
	return out
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeOAuthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, oauthError{Error: code, Description: desc})
}

// parseForm reads a bounded urlencoded body; only the body counts, never the
// query string.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, "invalid_request", "cannot parse form body: "+err.Error())
		return nil, false
	}
	return r.PostForm, true
}

type deviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

func (s *Server) handleDevice(w http.ResponseWriter, r *http.Request) {
	form, ok := parseForm(w, r)
	if !ok {
		return
	}
	if cid := form.Get("client_id"); cid != ClientID {
		writeOAuthError(w, "invalid_client", fmt.Sprintf("unknown client_id %q", cid))
		return
	}
	g := &deviceGrant{
		deviceCode: s.randomID("dc_", 24),
		userCode:   s.userCode(),
		expires:    s.now().Add(s.opts.DeviceExpiresIn),
		interval:   s.opts.DeviceInterval,
	}
	s.auth.mu.Lock()
	for s.auth.userCodes[g.userCode] != nil {
		g.userCode = s.userCode()
	}
	s.auth.devices[g.deviceCode] = g
	s.auth.userCodes[g.userCode] = g
	s.auth.mu.Unlock()

	base := "http://" + r.Host + "/device"
	writeJSON(w, http.StatusOK, deviceResponse{
		DeviceCode:              g.deviceCode,
		UserCode:                g.userCode,
		VerificationURI:         base,
		VerificationURIComplete: base + "?user_code=" + url.QueryEscape(g.userCode),
		ExpiresIn:               int(math.Ceil(s.opts.DeviceExpiresIn.Seconds())),
		Interval:                max(1, int(math.Ceil(s.opts.DeviceInterval.Seconds()))),
	})
}

// userCode is XXXX-XXXX over consonants that cannot spell words or be
// confused with digits (RFC 8628 §6.1).
func (s *Server) userCode() string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	b := s.randomBytes(8)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

func normalizeUserCode(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) == 8 && !strings.Contains(c, "-") {
		c = c[:4] + "-" + c[4:]
	}
	return c
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if cid := q.Get("client_id"); cid != ClientID {
		writeOAuthError(w, "invalid_client", fmt.Sprintf("unknown client_id %q", cid))
		return
	}
	redirectURI := q.Get("redirect_uri")
	target, err := checkRedirectURI(redirectURI)
	if err != nil {
		writeOAuthError(w, "invalid_request", err.Error())
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		v := target.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if state != "" {
			v.Set("state", state)
		}
		target.RawQuery = v.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case state == "":
		fail("invalid_request", "state is required")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	}
	challenge := q.Get("code_challenge")
	if raw, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(raw) != sha256.Size {
		fail("invalid_request", "code_challenge must be the unpadded base64url SHA-256 of the verifier")
		return
	}
	s.auth.mu.Lock()
	denied := s.auth.browserDenied
	code := ""
	if !denied {
		code = s.randomID("ac_", 24)
		s.auth.codes[code] = &authCode{
			challenge:   challenge,
			redirectURI: redirectURI,
			userID:      DefaultUser.ID,
			expires:     s.now().Add(codeTTL),
		}
	}
	s.auth.mu.Unlock()
	if denied {
		fail("access_denied", "the user denied the request")
		return
	}
	v := target.Query()
	v.Set("code", code)
	v.Set("state", state)
	target.RawQuery = v.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// checkRedirectURI accepts only http://127.0.0.1:PORT/... or
// http://localhost:PORT/... (the CLI's loopback callback).
func checkRedirectURI(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("redirect_uri is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redirect_uri %q: %v", raw, err)
	}
	if u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("redirect_uri %q must be a loopback callback (http://127.0.0.1:PORT/PATH or http://localhost:PORT/PATH)", raw)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("redirect_uri %q must carry a port", raw)
	}
	return u, nil
}

type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	ExpiresIn             int    `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	SessionID             string `json:"session_id"`
	RefreshTokenExpiresAt string `json:"refresh_token_expires_at"`
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	form, ok := parseForm(w, r)
	if !ok {
		return
	}
	if cid := form.Get("client_id"); cid != ClientID {
		writeOAuthError(w, "invalid_client", fmt.Sprintf("unknown client_id %q", cid))
		return
	}
	var (
		resp    tokenResponse
		errCode string
		errDesc string
	)
	switch gt := form.Get("grant_type"); gt {
	case GrantDeviceCode:
		resp, errCode, errDesc = s.grantDevice(form.Get("device_code"))
	case GrantAuthCode:
		resp, errCode, errDesc = s.grantCode(form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier"))
	case GrantRefreshToken:
		resp, errCode, errDesc = s.grantRefresh(form.Get("refresh_token"))
	case "":
		errCode, errDesc = "invalid_request", "grant_type is required"
	default:
		errCode, errDesc = "invalid_request", fmt.Sprintf("unsupported grant_type %q", gt)
	}
	if errCode != "" {
		writeOAuthError(w, errCode, errDesc)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) grantDevice(deviceCode string) (tokenResponse, string, string) {
	if deviceCode == "" {
		return tokenResponse{}, "invalid_request", "device_code is required"
	}
	now := s.now()
	a := &s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.devices[deviceCode]
	if !ok || g.state == deviceConsumed {
		return tokenResponse{}, "invalid_grant", "unknown or already used device_code"
	}
	if !now.Before(g.expires) {
		return tokenResponse{}, "expired_token", "the device code has expired; start again"
	}
	last := g.lastPoll
	g.lastPoll = now
	if !last.IsZero() && now.Sub(last) < g.interval*9/10 {
		g.interval += s.opts.SlowDownIncrease
		return tokenResponse{}, "slow_down", "polling faster than the interval"
	}
	switch g.state {
	case deviceDenied:
		return tokenResponse{}, "access_denied", "the user denied the request"
	case devicePending:
		if n := s.opts.AutoApproveAfterPolls; n > 0 && g.pending >= n {
			g.state, g.userID = deviceApproved, DefaultUser.ID
			break
		}
		g.pending++
		return tokenResponse{}, "authorization_pending", "waiting for the user to approve"
	}
	g.state = deviceConsumed
	delete(a.userCodes, g.userCode)
	return s.issueLocked(g.userID, "device_code", now), "", ""
}

func (s *Server) grantCode(code, redirectURI, verifier string) (tokenResponse, string, string) {
	switch {
	case code == "":
		return tokenResponse{}, "invalid_request", "code is required"
	case redirectURI == "":
		return tokenResponse{}, "invalid_request", "redirect_uri is required"
	case verifier == "":
		return tokenResponse{}, "invalid_request", "code_verifier is required"
	}
	now := s.now()
	a := &s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.codes[code]
	// Any attempt spends the code, as RFC 6749 §4.1.2 asks.
	delete(a.codes, code)
	switch {
	case !ok:
		return tokenResponse{}, "invalid_grant", "unknown or already used code"
	case !now.Before(c.expires):
		return tokenResponse{}, "invalid_grant", "the code has expired"
	case redirectURI != c.redirectURI:
		return tokenResponse{}, "invalid_grant", "redirect_uri does not match the authorization request"
	case !validVerifier(verifier):
		return tokenResponse{}, "invalid_grant", "code_verifier must be 43-128 unreserved characters"
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.challenge)) != 1 {
		return tokenResponse{}, "invalid_grant", "code_verifier does not match code_challenge"
	}
	return s.issueLocked(c.userID, "authorization_code", now), "", ""
}

// validVerifier checks RFC 7636 §4.1: 43-128 of [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range []byte(v) {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

func (s *Server) grantRefresh(rt string) (tokenResponse, string, string) {
	if rt == "" {
		return tokenResponse{}, "invalid_request", "refresh_token is required"
	}
	now := s.now()
	a := &s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.refresh[rt]
	if !ok || t.sess.revoked {
		return tokenResponse{}, "invalid_grant", "unknown, used or revoked refresh_token"
	}
	// Rotation: the presented token dies whatever happens next.
	delete(a.refresh, rt)
	if !now.Before(t.expires) {
		return tokenResponse{}, "invalid_grant", "the refresh_token has expired; log in again"
	}
	s.refreshes.Add(1)
	return s.tokensLocked(t.sess, now), "", ""
}

// issueLocked starts a session for userID and returns its first tokens.
func (s *Server) issueLocked(userID, method string, now time.Time) tokenResponse {
	ss := &session{id: s.randomID("sess_", 12), userID: userID, method: method}
	s.auth.sessions[ss.id] = ss
	return s.tokensLocked(ss, now)
}

func (s *Server) tokensLocked(ss *session, now time.Time) tokenResponse {
	at := s.randomID("skat_", 32)
	rt := s.randomID("skrt_", 32)
	rexp := now.Add(s.opts.RefreshTTL)
	s.auth.access[at] = &accessToken{sess: ss, expires: now.Add(s.opts.AccessTTL)}
	s.auth.refresh[rt] = &refreshToken{sess: ss, expires: rexp}
	return tokenResponse{
		AccessToken:           at,
		TokenType:             "Bearer",
		ExpiresIn:             int(math.Ceil(s.opts.AccessTTL.Seconds())),
		RefreshToken:          rt,
		SessionID:             ss.id,
		RefreshTokenExpiresAt: rexp.UTC().Format(time.RFC3339),
	}
}

// caller is the authenticated user of one /api/v1 request.
type caller struct {
	user    *User
	session *session
	team    string // X-Team-Slug, on tracker calls
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*caller, bool) {
	deny := func(code, msg string) (*caller, bool) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, code, msg, false)
		return nil, false
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return deny("unauthorized", "a Bearer access token is required")
	}
	tok = strings.TrimSpace(tok)
	now := s.now()
	a := &s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.access[tok]
	if !ok || t.sess.revoked {
		return deny("unauthorized", "unknown or revoked access token")
	}
	if !now.Before(t.expires) {
		return deny("token_expired", "access token expired")
	}
	u, ok := a.users[t.sess.userID]
	if !ok {
		return deny("unauthorized", "the token's user no longer exists")
	}
	return &caller{user: u, session: t.sess}, true
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, c *caller) {
	writeJSON(w, http.StatusOK, c.user)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, c *caller) {
	a := &s.auth
	a.mu.Lock()
	c.session.revoked = true
	for k, t := range a.access {
		if t.sess == c.session {
			delete(a.access, k)
		}
	}
	for k, t := range a.refresh {
		if t.sess == c.session {
			delete(a.refresh, k)
		}
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, struct{}{})
}

var devicePage = template.Must(template.New("device").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>spec-kitty hostedtest: device login</title></head>
<body>
<h1>Device login (hostedtest)</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
<form method="post" action="/device">
<label>Code <input name="user_code" value="{{.UserCode}}"></label>
<button name="action" value="approve">Approve</button>
<button name="action" value="deny">Deny</button>
</form>
</body></html>
`))

// serveDevicePage is the verification_uri: a human using scripts/devhost
// can approve or deny a code here instead of POSTing /_test/approve.
func (s *Server) serveDevicePage(w http.ResponseWriter, r *http.Request) {
	data := struct{ UserCode, Message string }{UserCode: r.URL.Query().Get("user_code")}
	status := http.StatusOK
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		data.UserCode = r.PostFormValue("user_code")
		var err error
		if r.PostFormValue("action") == "deny" {
			err = s.Deny(data.UserCode)
			data.Message = "Denied. The CLI will report access_denied."
		} else {
			err = s.Approve(data.UserCode)
			data.Message = "Approved. Return to the terminal."
		}
		if err != nil {
			status = http.StatusBadRequest
			data.Message = err.Error()
		}
	default:
		methodNotAllowed(w, "GET, POST")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = devicePage.Execute(w, data)
}
