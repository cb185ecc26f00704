package hosted

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ClientID is the OAuth client id of the CLI.
const ClientID = "cli_native"

// Grant types of the token endpoint.
const (
	GrantDeviceCode   = "urn:ietf:params:oauth:grant-type:device_code"
	GrantAuthCode     = "authorization_code"
	GrantRefreshToken = "refresh_token"
)

// DeviceCode is the answer of POST /oauth/device.
type DeviceCode struct {
	DeviceCode              Secret `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"` // seconds
	Interval                int    `json:"interval"`   // seconds; 5 when the host omits it
}

// Token is a successful answer of POST /oauth/token.
type Token struct {
	AccessToken  Secret
	TokenType    string
	ExpiresIn    time.Duration
	RefreshToken Secret // empty when the host did not rotate it
	SessionID    string
	// RefreshTokenExpiresAt is zero when the host did not say.
	RefreshTokenExpiresAt time.Time
}

type tokenWire struct {
	AccessToken           Secret `json:"access_token"`
	TokenType             string `json:"token_type"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          Secret `json:"refresh_token"`
	SessionID             string `json:"session_id"`
	RefreshTokenExpiresAt string `json:"refresh_token_expires_at"`
}

// RequestDeviceCode starts the device flow.
func (c *Client) RequestDeviceCode(ctx context.Context) (DeviceCode, error) {
	form := url.Values{"client_id": {ClientID}, "scope": {"offline_access"}}
	r := formRequest("/oauth/device", form)
	var dc DeviceCode
	if _, err := c.call(ctx, r, &dc, "device_code", "user_code", "verification_uri", "expires_in"); err != nil {
		return DeviceCode{}, err
	}
	if dc.Interval <= 0 {
		dc.Interval = 5
	}
	if dc.ExpiresIn <= 0 {
		return DeviceCode{}, c.errorf(r, KindPermanent, "response field \"expires_in\" is not positive")
	}
	return dc, nil
}

// PollDeviceToken asks once whether the device code was approved. While it
// is pending the error has Code CodeAuthorizationPending or CodeSlowDown.
func (c *Client) PollDeviceToken(ctx context.Context, deviceCode Secret) (Token, error) {
	return c.token(ctx, url.Values{
		"grant_type":  {GrantDeviceCode},
		"device_code": {deviceCode.Reveal()},
		"client_id":   {ClientID},
	})
}

// ExchangeCode redeems a PKCE authorization code.
func (c *Client) ExchangeCode(ctx context.Context, code Secret, redirectURI string, verifier Secret) (Token, error) {
	return c.token(ctx, url.Values{
		"grant_type":    {GrantAuthCode},
		"code":          {code.Reveal()},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier.Reveal()},
		"client_id":     {ClientID},
	})
}

// RefreshToken spends refresh for a new token pair. The host rotates the
// refresh token: the old one is dead afterwards (CodeInvalidGrant on reuse).
func (c *Client) RefreshToken(ctx context.Context, refresh Secret) (Token, error) {
	return c.token(ctx, url.Values{
		"grant_type":    {GrantRefreshToken},
		"refresh_token": {refresh.Reveal()},
		"client_id":     {ClientID},
	})
}

func (c *Client) token(ctx context.Context, form url.Values) (Token, error) {
	r := formRequest("/oauth/token", form)
	var w tokenWire
	if _, err := c.call(ctx, r, &w, "access_token", "expires_in"); err != nil {
		return Token{}, err
	}
	if w.AccessToken.IsZero() {
		return Token{}, c.errorf(r, KindPermanent, "response field \"access_token\" is empty")
	}
	if w.ExpiresIn <= 0 {
		return Token{}, c.errorf(r, KindPermanent, "response field \"expires_in\" is not positive")
	}
	if w.TokenType != "" && !strings.EqualFold(w.TokenType, "bearer") {
		return Token{}, c.errorf(r, KindPermanent, "unsupported token_type %q", oneLine(w.TokenType))
	}
	t := Token{
		AccessToken:  w.AccessToken,
		TokenType:    w.TokenType,
		ExpiresIn:    time.Duration(w.ExpiresIn) * time.Second,
		RefreshToken: w.RefreshToken,
		SessionID:    w.SessionID,
	}
	if w.RefreshTokenExpiresAt != "" {
		at, err := time.Parse(time.RFC3339, w.RefreshTokenExpiresAt)
		if err != nil {
			return Token{}, c.errorf(r, KindPermanent, "response field \"refresh_token_expires_at\" is not an RFC 3339 time")
		}
		t.RefreshTokenExpiresAt = at
	}
	return t, nil
}

func formRequest(path string, form url.Values) *request {
	return &request{
		method:      http.MethodPost,
		path:        path,
		body:        []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded",
	}
}

// AuthorizeURL is the browser URL of the PKCE flow (S256 challenge).
func AuthorizeURL(h Host, redirectURI, challenge, state string) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {ClientID},
		"redirect_uri":          {redirectURI},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
		"state":                 {state},
	}
	return h.Endpoint("/oauth/authorize") + "?" + q.Encode()
}
