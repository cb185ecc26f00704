package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

func TestManagerToken(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, hostedtest.Options{})
	s := w.signIn(t)
	_, m := w.manager()
	cr, err := m.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cr.AccessToken != s.AccessToken || cr.Host != w.host.URL || cr.Team != "team-dev" {
		t.Fatalf("creds = %+v", cr)
	}
	if w.srv.RefreshCount() != 0 {
		t.Fatal("a fresh token was refreshed")
	}
	// 59 minutes 30 seconds later the token expires within the margin.
	w.clk.Add(time.Hour - 30*time.Second)
	cr, err = m.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cr.AccessToken == s.AccessToken || w.srv.RefreshCount() != 1 {
		t.Fatalf("not refreshed: count %d", w.srv.RefreshCount())
	}
	stored, err := w.store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessToken != cr.AccessToken || stored.RefreshToken == s.RefreshToken ||
		!stored.AccessTokenExpiresAt.Equal(w.clk.Now().Add(time.Hour)) || stored.UserID != s.UserID {
		t.Fatalf("stored after refresh = %+v", stored)
	}
	// The rotated token works, the old one is dead.
	if _, err := w.c.RefreshToken(ctx, s.RefreshToken); hosted.CodeOf(err) != hosted.CodeInvalidGrant {
		t.Fatalf("old refresh token: %v", err)
	}
}

// TestClientRefreshOn401: the host expires the token early; the client
// refreshes once through the Manager and retries.
func TestClientRefreshOn401(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, hostedtest.Options{})
	w.signIn(t)
	c, _ := w.manager()
	w.srv.ExpireAccessTokens()
	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.UserID != hostedtest.DefaultUser.ID || w.srv.RefreshCount() != 1 {
		t.Fatalf("me %+v, refreshes %d", me, w.srv.RefreshCount())
	}
	// A Refresh for a token that is no longer the stored one spends nothing.
	_, m := w.manager()
	if _, err := m.Refresh(ctx, hosted.NewSecret("an old token")); err != nil {
		t.Fatal(err)
	}
	if w.srv.RefreshCount() != 1 {
		t.Errorf("refreshes = %d", w.srv.RefreshCount())
	}
}

func TestManagerErrors(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, hostedtest.Options{})
	_, m := w.manager()
	if _, err := m.Token(ctx); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("no session: %v", err)
	}
	s := w.signIn(t)

	other := *s
	other.Host = "https://other.example.com"
	if err := w.store.Save(ctx, &other); err != nil {
		t.Fatal(err)
	}
	var hm *HostMismatchError
	if _, err := m.Token(ctx); !errors.As(err, &hm) || hm.SessionHost != "https://other.example.com" {
		t.Fatalf("other host: %v", err)
	}

	expired := *s
	expired.AccessTokenExpiresAt = w.clk.Now()
	expired.RefreshTokenExpiresAt = w.clk.Now().Add(-time.Second)
	if err := w.store.Save(ctx, &expired); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Token(ctx); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("refresh expired: %v", err)
	}

	// A revoked session: the host refuses the refresh token.
	dead := *s
	dead.AccessTokenExpiresAt = w.clk.Now()
	dead.RefreshTokenExpiresAt = time.Time{}
	dead.RefreshToken = hosted.NewSecret("rt_unknown")
	if err := w.store.Save(ctx, &dead); err != nil {
		t.Fatal(err)
	}
	_, err := m.Token(ctx)
	if !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("invalid_grant: %v", err)
	}
	assertNoSecret(t, err.Error(), dead.RefreshToken, s.AccessToken, s.RefreshToken)

	// Through the client, all of these are auth-expired errors naming the host.
	c, _ := w.manager()
	_, err = c.Me(ctx)
	if hosted.KindOf(err) != hosted.KindAuthExpired {
		t.Fatalf("client: %v", err)
	}
}
