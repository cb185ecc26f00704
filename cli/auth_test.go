package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

// TestHostedSession: the helper hosted commands start with runs the gate and
// the readiness row, then hands out a client that works as the signed-in user.
func TestHostedSession(t *testing.T) {
	ctx := context.Background()
	srv := hostedtest.NewTest(t, hostedtest.Options{})
	vars := map[string]string{
		"SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
		"SPEC_KITTY_SAAS_URL":         srv.URL(),
		"SPEC_KITTY_HOME":             filepath.Join(t.TempDir(), "home"),
	}
	var stderr bytes.Buffer
	env := &Env{Getenv: func(k string) string { return vars[k] }, Stdout: &bytes.Buffer{}, Stderr: &stderr, Now: time.Now}
	bound := func(context.Context) (bool, error) { return true, nil }
	unbound := func(context.Context) (bool, error) { return false, nil }

	state := func(err error) readiness.State {
		var re readinessError
		if errors.As(err, &re) {
			return re.res.State
		}
		return ""
	}
	if _, err := hostedSession(ctx, env, readiness.Options{}, nil); state(err) != readiness.MissingAuth {
		t.Fatalf("not signed in: %v", err)
	}

	// Sign in the way `auth login --headless` does, approving at once.
	store, err := sessionStore(env)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := hosted.ParseHost(srv.URL())
	l := &auth.Login{Client: hosted.New(h, nil), Store: store, Sleep: func(context.Context, time.Duration) error {
		for _, c := range srv.PendingUserCodes() {
			_ = srv.Approve(c)
		}
		return nil
	}}
	if _, err := l.Device(ctx); err != nil {
		t.Fatal(err)
	}

	c, err := hostedSession(ctx, env, readiness.Options{Probe: true, RequireBinding: true, Mission: "m1"}, bound)
	if err != nil {
		t.Fatal(err)
	}
	srv.ExpireAccessTokens()
	if _, err := c.TrackerResources(ctx, "linear"); err != nil {
		t.Fatalf("tracker call as the signed-in user: %v", err)
	}
	if srv.RefreshCount() != 1 {
		t.Errorf("refreshes = %d", srv.RefreshCount())
	}
	_, err = hostedSession(ctx, env, readiness.Options{RequireBinding: true, Mission: "m1"}, unbound)
	if state(err) != readiness.MissingMissionBinding {
		t.Fatalf("unbound: %v", err)
	}

	vars["SPEC_KITTY_SAAS_URL"] = "http://sync.example.com"
	_, err = hostedSession(ctx, env, readiness.Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "http://sync.example.com: invalid SaaS host URL") {
		t.Fatalf("invalid host: %v", err)
	}

	vars["SPEC_KITTY_ENABLE_SAAS_SYNC"] = ""
	if _, err := hostedSession(ctx, env, readiness.Options{}, nil); err == nil || err.Error() != readiness.DisabledMessage() {
		t.Fatalf("gate off: %v", err)
	}
}
