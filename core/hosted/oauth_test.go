package hosted

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

func TestDeviceFlow(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	dc, err := e.c.RequestDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dc.UserCode == "" || dc.VerificationURI == "" || dc.DeviceCode.IsZero() || dc.Interval != 5 || dc.ExpiresIn != 600 {
		t.Fatalf("device code = %+v", dc)
	}
	_ = e.clk.Sleep(ctx, 5*time.Second)
	_, err = e.c.PollDeviceToken(ctx, dc.DeviceCode)
	if got := CodeOf(err); got != CodeAuthorizationPending {
		t.Fatalf("first poll: code %q (%v), want authorization_pending", got, err)
	}
	if KindOf(err) != KindPermanent || asError(t, err).Status != http.StatusBadRequest {
		t.Errorf("pending error = %+v", asError(t, err))
	}
	// Polling faster than the interval earns slow_down.
	_, err = e.c.PollDeviceToken(ctx, dc.DeviceCode)
	if got := CodeOf(err); got != CodeSlowDown {
		t.Fatalf("early poll: code %q, want slow_down", got)
	}
	if err := e.srv.Approve(dc.UserCode); err != nil {
		t.Fatal(err)
	}
	_ = e.clk.Sleep(ctx, 10*time.Second)
	tok, err := e.c.PollDeviceToken(ctx, dc.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken.IsZero() || tok.RefreshToken.IsZero() || tok.SessionID == "" || tok.ExpiresIn != time.Hour ||
		tok.RefreshTokenExpiresAt.IsZero() {
		t.Fatalf("token = %+v", tok)
	}
	// The device code is spent.
	_, err = e.c.PollDeviceToken(ctx, dc.DeviceCode)
	if CodeOf(err) != CodeInvalidGrant {
		t.Fatalf("reuse: %v", err)
	}
	assertNoSecret(t, err.Error(), tok.AccessToken.Reveal(), dc.DeviceCode.Reveal())
}

func TestDeviceFlowDeniedAndExpired(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	dc, err := e.c.RequestDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Deny(dc.UserCode); err != nil {
		t.Fatal(err)
	}
	_ = e.clk.Sleep(ctx, 5*time.Second)
	if _, err = e.c.PollDeviceToken(ctx, dc.DeviceCode); CodeOf(err) != CodeAccessDenied {
		t.Fatalf("denied: %v", err)
	}
	dc, err = e.c.RequestDeviceCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = e.clk.Sleep(ctx, 601*time.Second)
	if _, err = e.c.PollDeviceToken(ctx, dc.DeviceCode); CodeOf(err) != CodeExpiredToken {
		t.Fatalf("expired: %v", err)
	}
}

func TestPKCEFlow(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	verifier := NewSecret(strings.Repeat("v", 43))
	sum := sha256.Sum256([]byte(verifier.Reveal()))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	redirect := "http://127.0.0.1:9/callback"
	code, state := playBrowser(t, AuthorizeURL(e.host, redirect, challenge, "st8"))
	if state != "st8" || code == "" {
		t.Fatalf("code %q state %q", code, state)
	}
	if _, err := e.c.ExchangeCode(ctx, NewSecret(code), redirect, NewSecret(strings.Repeat("w", 43))); CodeOf(err) != CodeInvalidGrant {
		t.Fatalf("wrong verifier: %v", err)
	}
	code, _ = playBrowser(t, AuthorizeURL(e.host, redirect, challenge, "st8"))
	tok, err := e.c.ExchangeCode(ctx, NewSecret(code), redirect, verifier)
	if err != nil {
		t.Fatal(err)
	}
	me, err := e.c.WithTokens(StaticToken(e.host, tok.AccessToken, "")).Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.UserID != hostedtest.DefaultUser.ID {
		t.Errorf("me = %+v", me)
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	nt, err := e.c.RefreshToken(ctx, e.token.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if nt.RefreshToken == e.token.RefreshToken || nt.AccessToken == e.token.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	_, err = e.c.RefreshToken(ctx, e.token.RefreshToken)
	if CodeOf(err) != CodeInvalidGrant {
		t.Fatalf("reused refresh token: %v", err)
	}
	assertNoSecret(t, err.Error(), e.token.RefreshToken.Reveal(), nt.RefreshToken.Reveal())
	if e.srv.RefreshCount() != 1 {
		t.Errorf("RefreshCount = %d", e.srv.RefreshCount())
	}
}

func TestAuthorizeURL(t *testing.T) {
	h := Host{URL: "https://x.example.com/base"}
	got := AuthorizeURL(h, "http://127.0.0.1:5/callback", "CH", "S T")
	want := "https://x.example.com/base/oauth/authorize?client_id=cli_native&code_challenge=CH&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback&response_type=code&state=S+T"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}
