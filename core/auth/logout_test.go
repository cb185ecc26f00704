package auth

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

func TestLogout(t *testing.T) {
	ctx := context.Background()
	t.Run("revokes and removes", func(t *testing.T) {
		w := newWorld(t, hostedtest.Options{})
		w.signIn(t)
		_, m := w.manager()
		res, err := Logout(ctx, w.store, m)
		if err != nil {
			t.Fatal(err)
		}
		if !res.HadSession || !res.Revoked || res.Warning != "" {
			t.Fatalf("result = %+v", res)
		}
		if n := w.srv.ActiveSessionCount(); n != 0 {
			t.Errorf("active sessions = %d", n)
		}
		mustNoSession(t, w.store)
		res, err = Logout(ctx, w.store, m)
		if err != nil || res.HadSession {
			t.Fatalf("second logout = %+v, %v", res, err)
		}
	})
	t.Run("expired access token is refreshed to revoke", func(t *testing.T) {
		w := newWorld(t, hostedtest.Options{})
		w.signIn(t)
		w.clk.Add(2 * time.Hour)
		_, m := w.manager()
		res, err := Logout(ctx, w.store, m)
		if err != nil || !res.Revoked {
			t.Fatalf("result = %+v, %v", res, err)
		}
		if n := w.srv.ActiveSessionCount(); n != 0 {
			t.Errorf("active sessions = %d", n)
		}
	})
	t.Run("already revoked on the host", func(t *testing.T) {
		w := newWorld(t, hostedtest.Options{})
		s := w.signIn(t)
		if err := w.c.WithTokens(hosted.StaticToken(w.host, s.AccessToken, "")).Logout(ctx); err != nil {
			t.Fatal(err)
		}
		_, m := w.manager()
		res, err := Logout(ctx, w.store, m)
		if err != nil || !res.Revoked {
			t.Fatalf("result = %+v, %v", res, err)
		}
		mustNoSession(t, w.store)
	})
	t.Run("host unreachable", func(t *testing.T) {
		w := newWorld(t, hostedtest.Options{})
		s := w.signIn(t)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		dead, _ := hosted.ParseHost("http://" + addr)
		moved := *s
		moved.Host = dead.URL
		if err := w.store.Save(ctx, &moved); err != nil {
			t.Fatal(err)
		}
		_, m := NewClient(dead, w.store)
		res, err := Logout(ctx, w.store, m)
		if err != nil {
			t.Fatal(err)
		}
		if res.Revoked || !strings.Contains(res.Warning, "connection refused") || !strings.Contains(res.Warning, "removed it locally") {
			t.Fatalf("result = %+v", res)
		}
		assertNoSecret(t, res.Warning, s.AccessToken, s.RefreshToken)
		mustNoSession(t, w.store)
	})
	t.Run("other host is never sent the token", func(t *testing.T) {
		w := newWorld(t, hostedtest.Options{})
		w.signIn(t)
		other := hostedtest.NewTest(t, hostedtest.Options{})
		oh, _ := hosted.ParseHost(other.URL())
		_, m := NewClient(oh, w.store)
		res, err := Logout(ctx, w.store, m)
		if err != nil || res.Revoked || !strings.Contains(res.Warning, "was issued by "+w.host.URL) {
			t.Fatalf("result = %+v, %v", res, err)
		}
		if n := other.RequestCount("/api/v1/logout"); n != 0 {
			t.Errorf("the other host got %d logout requests", n)
		}
		mustNoSession(t, w.store)
	})
	t.Run("no host configured", func(t *testing.T) {
		w := newWorld(t, hostedtest.Options{})
		w.signIn(t)
		res, err := Logout(ctx, w.store, nil)
		if err != nil || res.Revoked || !strings.Contains(res.Warning, "no SaaS host is configured") {
			t.Fatalf("result = %+v, %v", res, err)
		}
		mustNoSession(t, w.store)
	})
}
