package hostedtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDeviceStart(t *testing.T) {
	s := NewTest(t, Options{DeviceInterval: 1500 * time.Millisecond, DeviceExpiresIn: 90 * time.Second})
	d := startDevice(t, s)
	if !strings.HasPrefix(d.DeviceCode, "dc_") || len(d.UserCode) != 9 || d.UserCode[4] != '-' {
		t.Errorf("codes = %q %q, want dc_… and XXXX-XXXX", d.DeviceCode, d.UserCode)
	}
	if want := s.URL() + "/device"; d.VerificationURI != want {
		t.Errorf("verification_uri = %q, want %q", d.VerificationURI, want)
	}
	if want := d.VerificationURI + "?user_code=" + url.QueryEscape(d.UserCode); d.VerificationURIComplete != want {
		t.Errorf("verification_uri_complete = %q, want %q", d.VerificationURIComplete, want)
	}
	if d.Interval != 2 || d.ExpiresIn != 90 {
		t.Errorf("interval, expires_in = %d, %d; want 2 (1.5 s rounded up), 90", d.Interval, d.ExpiresIn)
	}
	if r := postForm(t, s.URL()+"/oauth/device", url.Values{"client_id": {"other"}}); r.status != http.StatusBadRequest || r.oauthError(t) != "invalid_client" {
		t.Errorf("wrong client_id = %d %s", r.status, r.body)
	}
	if r := send(t, newReq(t, http.MethodGet, s.URL()+"/oauth/device", nil)); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth/device = %d", r.status)
	}
}

func TestDeviceFlow(t *testing.T) {
	const interval = time.Second
	type step struct {
		advance time.Duration
		do      func(t *testing.T, s *Server, d deviceResponse)
		want    string // OAuth error, or "ok"
	}
	approve := func(t *testing.T, s *Server, d deviceResponse) {
		if err := s.Approve(d.UserCode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		auto     int
		slowStep time.Duration
		steps    []step
	}{
		{name: "pending until approved", steps: []step{
			{want: "authorization_pending"},
			{advance: interval, want: "authorization_pending"},
			{advance: interval, do: approve, want: "ok"},
			{advance: interval, want: "invalid_grant"}, // a device code is single-use
		}},
		{name: "slow_down when polled early", steps: []step{
			{want: "authorization_pending"},
			{advance: interval / 2, want: "slow_down"},
			// The early poll counts as the last poll, so waiting from it is required.
			{advance: interval / 2, want: "slow_down"},
			{advance: interval, want: "authorization_pending"},
		}},
		{name: "slow_down raises the interval when asked", slowStep: interval, steps: []step{
			{want: "authorization_pending"},
			{advance: interval / 2, want: "slow_down"}, // 2 s are required now
			{advance: interval, want: "slow_down"},     // and 3 s after this one
			{advance: 3 * interval, want: "authorization_pending"},
			{advance: 2*interval + interval/2, want: "slow_down"}, // 4 s now
			{advance: 4 * interval, want: "authorization_pending"},
		}},
		{name: "auto approve after two polls", auto: 2, steps: []step{
			{want: "authorization_pending"},
			{advance: interval, want: "authorization_pending"},
			{advance: interval / 2, want: "slow_down"}, // does not count as a poll
			{advance: interval, want: "ok"},
		}},
		{name: "expired", steps: []step{
			{want: "authorization_pending"},
			{advance: 10 * time.Minute, want: "expired_token"},
		}},
		{name: "approval after expiry is refused", steps: []step{
			{advance: 10 * time.Minute, do: func(t *testing.T, s *Server, d deviceResponse) {
				if err := s.Approve(d.UserCode); err == nil {
					t.Error("Approve of an expired code succeeded")
				}
			}, want: "expired_token"},
		}},
		{name: "denied", steps: []step{
			{want: "authorization_pending"},
			{advance: interval, do: func(t *testing.T, s *Server, d deviceResponse) {
				if err := s.Deny(d.UserCode); err != nil {
					t.Fatal(err)
				}
			}, want: "access_denied"},
			{advance: interval, want: "access_denied"},
		}},
		{name: "approved through /_test/approve", steps: []step{
			{want: "authorization_pending"},
			{advance: interval, do: func(t *testing.T, s *Server, d deviceResponse) {
				r := postForm(t, s.URL()+"/_test/approve", url.Values{"user_code": {strings.ToLower(d.UserCode)}})
				if r.status != http.StatusOK {
					t.Fatalf("/_test/approve = %d %s", r.status, r.body)
				}
			}, want: "ok"},
		}},
		{name: "approve every pending code", steps: []step{
			{do: func(t *testing.T, s *Server, d deviceResponse) {
				r := postForm(t, s.URL()+"/_test/approve", url.Values{})
				var got struct{ Approved []string }
				r.json(t, &got)
				if diff := cmp.Diff([]string{d.UserCode}, got.Approved); diff != "" {
					t.Errorf("approved (-want +got):\n%s", diff)
				}
			}, want: "ok"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := NewTest(t, Options{Now: clk.Now, DeviceInterval: interval, AutoApproveAfterPolls: tt.auto, SlowDownIncrease: tt.slowStep})
			d := startDevice(t, s)
			for i, st := range tt.steps {
				clk.Advance(st.advance)
				if st.do != nil {
					st.do(t, s, d)
				}
				r := pollDevice(t, s, d.DeviceCode)
				got := "ok"
				if r.status != http.StatusOK {
					got = r.oauthError(t)
					if r.status != http.StatusBadRequest {
						t.Errorf("step %d: status %d for %s, want 400", i, r.status, got)
					}
				}
				if got != st.want {
					t.Fatalf("step %d: poll = %q (%s), want %q", i, got, r.body, st.want)
				}
				if got == "ok" {
					var tok tokenResponse
					r.json(t, &tok)
					me := api(t, s, http.MethodGet, "/api/v1/me", tok.AccessToken, nil)
					if me.status != http.StatusOK {
						t.Errorf("/me with the new token = %d %s", me.status, me.body)
					}
				}
			}
		})
	}
}

func TestApproveAsOtherUser(t *testing.T) {
	other := User{ID: "u_2", Email: "two@example.test", Name: "Two", Teams: []Team{{ID: "team-b", Name: "B", Role: "member"}}}
	s := NewTest(t, Options{Users: []User{other}})
	tok := login(t, s, "u_2")
	var me User
	api(t, s, http.MethodGet, "/api/v1/me", tok.AccessToken, nil).json(t, &me)
	other.DefaultTeamID = "team-b"
	if diff := cmp.Diff(other, me); diff != "" {
		t.Errorf("/me (-want +got):\n%s", diff)
	}
	d := startDevice(t, s)
	if err := s.ApproveAs(d.UserCode, "u_nobody"); err == nil {
		t.Error("ApproveAs an unknown user succeeded")
	}
}

func pkcePair(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeURL(s *Server, redirect, challenge, state string, extra ...string) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {redirect},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {state},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return s.URL() + "/oauth/authorize?" + q.Encode()
}

// browse plays the browser: GET the authorize URL and return the callback
// query it redirects to.
func browse(t *testing.T, u string) url.Values {
	t.Helper()
	r := send(t, newReq(t, http.MethodGet, u, nil))
	if r.status != http.StatusFound {
		t.Fatalf("authorize = %d %s", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Host != "127.0.0.1:53682" || loc.Path != "/callback" {
		t.Fatalf("redirected to %s, want the loopback callback", loc)
	}
	return loc.Query()
}

func TestPKCE(t *testing.T) {
	const (
		redirect = "http://127.0.0.1:53682/callback"
		verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-extra-chars"
		state    = "st/ä?&=1"
	)
	exchange := func(t *testing.T, s *Server, code, redirectURI, verifier string) resp {
		return postForm(t, s.URL()+"/oauth/token", url.Values{
			"grant_type": {GrantAuthCode}, "code": {code}, "redirect_uri": {redirectURI},
			"code_verifier": {verifier}, "client_id": {ClientID},
		})
	}
	tests := []struct {
		name      string
		verifier  string
		redirect  string
		wantError string
	}{
		{name: "good verifier", verifier: verifier, redirect: redirect},
		{name: "wrong verifier", verifier: strings.Repeat("a", 43), redirect: redirect, wantError: "invalid_grant"},
		{name: "malformed verifier", verifier: "short", redirect: redirect, wantError: "invalid_grant"},
		{name: "redirect_uri differs", verifier: verifier, redirect: "http://127.0.0.1:53682/other", wantError: "invalid_grant"},
		{name: "no verifier", verifier: "", redirect: redirect, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTest(t, Options{})
			q := browse(t, authorizeURL(s, redirect, pkcePair(verifier), state))
			if q.Get("state") != state {
				t.Errorf("state = %q, want %q", q.Get("state"), state)
			}
			code := q.Get("code")
			r := exchange(t, s, code, tt.redirect, tt.verifier)
			if tt.wantError != "" {
				if r.status != http.StatusBadRequest || r.oauthError(t) != tt.wantError {
					t.Fatalf("exchange = %d %s, want 400 %s", r.status, r.body, tt.wantError)
				}
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("exchange = %d %s", r.status, r.body)
			}
			var tok tokenResponse
			r.json(t, &tok)
			if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.RefreshToken == "" || tok.SessionID == "" {
				t.Errorf("token response = %+v", tok)
			}
			if _, err := time.Parse(time.RFC3339, tok.RefreshTokenExpiresAt); err != nil {
				t.Errorf("refresh_token_expires_at: %v", err)
			}
			if r := exchange(t, s, code, tt.redirect, tt.verifier); r.oauthError(t) != "invalid_grant" {
				t.Errorf("second use of the code = %s, want invalid_grant", r.body)
			}
		})
	}

	t.Run("failed attempt spends the code", func(t *testing.T) {
		s := NewTest(t, Options{})
		code := browse(t, authorizeURL(s, redirect, pkcePair(verifier), "s")).Get("code")
		exchange(t, s, code, redirect, strings.Repeat("b", 43))
		if r := exchange(t, s, code, redirect, verifier); r.oauthError(t) != "invalid_grant" {
			t.Errorf("exchange after a failed attempt = %s, want invalid_grant", r.body)
		}
	})

	t.Run("authorize errors", func(t *testing.T) {
		s := NewTest(t, Options{})
		for _, bad := range []string{"https://127.0.0.1:53682/cb", "http://example.test:53682/cb", "http://127.0.0.1/cb", "http://10.0.0.1:80/cb", ""} {
			r := send(t, newReq(t, http.MethodGet, authorizeURL(s, bad, pkcePair(verifier), "s"), nil))
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
				t.Errorf("redirect_uri %q: %d Location=%q, want 400 and no redirect", bad, r.status, r.header.Get("Location"))
			}
		}
		for name, u := range map[string]string{
			"plain method":   authorizeURL(s, redirect, verifier, "s", "code_challenge_method", "plain"),
			"bad challenge":  authorizeURL(s, redirect, "not-a-hash", "s"),
			"no state":       authorizeURL(s, redirect, pkcePair(verifier), ""),
			"token response": authorizeURL(s, redirect, pkcePair(verifier), "s", "response_type", "token"),
		} {
			q := browse(t, u)
			if q.Get("error") == "" || q.Get("code") != "" {
				t.Errorf("%s: callback query %v, want an error and no code", name, q)
			}
		}
	})
}

func TestBrowserDenied(t *testing.T) {
	s := NewTest(t, Options{})
	s.SetBrowserDenied(true)
	r := send(t, newReq(t, http.MethodGet, authorizeURL(s, "http://localhost:40000/cb", pkcePair(strings.Repeat("v", 43)), "xyz"), nil))
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "xyz" {
		t.Errorf("denied authorize = %d %s", r.status, loc)
	}
}

func TestRefreshRotation(t *testing.T) {
	clk := newClock()
	s := NewTest(t, Options{Now: clk.Now, RefreshTTL: 48 * time.Hour})
	first := login(t, s, DefaultUser.ID)

	r := refresh(t, s, first.RefreshToken)
	if r.status != http.StatusOK {
		t.Fatalf("refresh = %d %s", r.status, r.body)
	}
	var second tokenResponse
	r.json(t, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Error("refresh did not rotate the tokens")
	}
	if second.SessionID != first.SessionID {
		t.Errorf("session changed on refresh: %s -> %s", first.SessionID, second.SessionID)
	}
	if want := clk.Now().Add(48 * time.Hour).Format(time.RFC3339); second.RefreshTokenExpiresAt != want {
		t.Errorf("refresh_token_expires_at = %s, want %s", second.RefreshTokenExpiresAt, want)
	}
	if r := refresh(t, s, first.RefreshToken); r.status != http.StatusBadRequest || r.oauthError(t) != "invalid_grant" {
		t.Errorf("reused refresh token = %d %s, want 400 invalid_grant", r.status, r.body)
	}
	if got := s.RefreshCount(); got != 1 {
		t.Errorf("RefreshCount = %d, want 1", got)
	}
	if r := api(t, s, http.MethodGet, "/api/v1/me", second.AccessToken, nil); r.status != http.StatusOK {
		t.Errorf("/me with refreshed token = %d", r.status)
	}

	clk.Advance(48 * time.Hour)
	if r := refresh(t, s, second.RefreshToken); r.oauthError(t) != "invalid_grant" {
		t.Errorf("expired refresh token = %s, want invalid_grant", r.body)
	}
	if got := s.RefreshCount(); got != 1 {
		t.Errorf("RefreshCount after failures = %d, want 1", got)
	}
	for _, form := range []url.Values{
		{"grant_type": {GrantRefreshToken}, "client_id": {ClientID}},
		{"grant_type": {"password"}, "client_id": {ClientID}},
	} {
		if r := postForm(t, s.URL()+"/oauth/token", form); r.oauthError(t) != "invalid_request" {
			t.Errorf("form %v = %s, want invalid_request", form, r.body)
		}
	}
}

func TestAccessToken(t *testing.T) {
	clk := newClock()
	s := NewTest(t, Options{Now: clk.Now, AccessTTL: 10 * time.Minute})
	tok := login(t, s, DefaultUser.ID)
	var me User
	api(t, s, http.MethodGet, "/api/v1/me", tok.AccessToken, nil).json(t, &me)
	if diff := cmp.Diff(DefaultUser, me); diff != "" {
		t.Errorf("/me (-want +got):\n%s", diff)
	}
	if tok.ExpiresIn != 600 {
		t.Errorf("expires_in = %d, want 600", tok.ExpiresIn)
	}

	check := func(name, token, want string, hdr ...string) {
		t.Helper()
		r := api(t, s, http.MethodGet, "/api/v1/me", token, nil, hdr...)
		if r.status != http.StatusUnauthorized || r.errorCode(t) != want {
			t.Errorf("%s: %d %s, want 401 %s", name, r.status, r.body, want)
		}
	}
	check("no token", "", "unauthorized")
	check("unknown token", "skat_nope", "unauthorized")
	check("basic auth", "", "unauthorized", "Authorization", "Basic dTpw")

	clk.Advance(10*time.Minute - time.Second)
	if r := api(t, s, http.MethodGet, "/api/v1/me", tok.AccessToken, nil); r.status != http.StatusOK {
		t.Errorf("/me just before expiry = %d", r.status)
	}
	clk.Advance(time.Second)
	check("expired by time", tok.AccessToken, "token_expired")

	fresh := login(t, s, DefaultUser.ID)
	s.ExpireAccessTokens()
	check("ExpireAccessTokens", fresh.AccessToken, "token_expired")
	after := login(t, s, DefaultUser.ID)
	if r := api(t, s, http.MethodGet, "/api/v1/me", after.AccessToken, nil); r.status != http.StatusOK {
		t.Errorf("token issued after ExpireAccessTokens = %d", r.status)
	}
	if r := send(t, newReq(t, http.MethodPost, s.URL()+"/_test/expire-tokens", nil)); r.status != http.StatusOK {
		t.Fatalf("/_test/expire-tokens = %d", r.status)
	}
	check("/_test/expire-tokens", after.AccessToken, "token_expired")
}

func TestLogout(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID)
	keep := login(t, s, DefaultUser.ID)
	if n := s.ActiveSessionCount(); n != 2 {
		t.Fatalf("ActiveSessionCount = %d, want 2", n)
	}
	r := api(t, s, http.MethodPost, "/api/v1/logout", tok.AccessToken, nil)
	if r.status != http.StatusOK || string(r.body) != "{}" {
		t.Fatalf("logout = %d %s", r.status, r.body)
	}
	if r := api(t, s, http.MethodGet, "/api/v1/me", tok.AccessToken, nil); r.status != http.StatusUnauthorized {
		t.Errorf("/me after logout = %d, want 401", r.status)
	}
	if r := refresh(t, s, tok.RefreshToken); r.oauthError(t) != "invalid_grant" {
		t.Errorf("refresh after logout = %s, want invalid_grant", r.body)
	}
	if r := api(t, s, http.MethodPost, "/api/v1/logout", tok.AccessToken, nil); r.status != http.StatusUnauthorized {
		t.Errorf("second logout = %d, want 401", r.status)
	}
	if r := api(t, s, http.MethodGet, "/api/v1/me", keep.AccessToken, nil); r.status != http.StatusOK {
		t.Errorf("other session after logout = %d, want 200", r.status)
	}
	if n := s.ActiveSessionCount(); n != 1 {
		t.Errorf("ActiveSessionCount = %d, want 1", n)
	}
}

func TestDevicePage(t *testing.T) {
	s := NewTest(t, Options{})
	d := startDevice(t, s)
	r := send(t, newReq(t, http.MethodGet, d.VerificationURIComplete, nil))
	if r.status != http.StatusOK || !strings.Contains(string(r.body), d.UserCode) {
		t.Fatalf("GET %s = %d %s", d.VerificationURIComplete, r.status, r.body)
	}
	r = postForm(t, s.URL()+"/device", url.Values{"user_code": {d.UserCode}, "action": {"approve"}})
	if r.status != http.StatusOK {
		t.Fatalf("POST /device = %d %s", r.status, r.body)
	}
	if r := pollDevice(t, s, d.DeviceCode); r.status != http.StatusOK {
		t.Errorf("poll after page approval = %d %s", r.status, r.body)
	}
	r = postForm(t, s.URL()+"/device", url.Values{"user_code": {"BBBB-BBBB"}, "action": {"approve"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("approving an unknown code = %d", r.status)
	}
}

func TestSignIn(t *testing.T) {
	s := NewTest(t, Options{})
	raw, err := s.SignIn(DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenResponse
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	if r := api(t, s, http.MethodGet, "/api/v1/me", tok.AccessToken, nil); r.status != http.StatusOK {
		t.Errorf("/me with a SignIn token = %d", r.status)
	}
	if r := refresh(t, s, tok.RefreshToken); r.status != http.StatusOK {
		t.Errorf("refresh of a SignIn token = %d %s", r.status, r.body)
	}
	if _, err := s.SignIn("u_nobody"); err == nil {
		t.Error("SignIn of an unknown user succeeded")
	}
}
