package auth

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// The race helper: when the test binary runs with raceHelperEnv set, it acts
// as one CLI process that needs a token: wait for the start signal, get a
// token through a Manager, call /api/v1/me, exit 0 on success.
const raceHelperEnv = "AUTH_RACE_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(raceHelperEnv); dir != "" {
		os.Exit(raceHelper(dir))
	}
	os.Exit(m.Run())
}

func raceHelper(dir string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
		return 1
	}
	h, err := hosted.ParseHost(os.Getenv("AUTH_RACE_HOST"))
	if err != nil {
		return fail("host: %v", err)
	}
	store := session.NewStore(paths.Home{Dir: filepath.Join(dir, "home")}, nil, nil)
	c, _ := NewClient(h, store)
	if err := os.WriteFile(filepath.Join(dir, "ready-"+os.Getenv("AUTH_RACE_ID")), nil, 0o600); err != nil {
		return fail("ready: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail("no start signal")
		}
		time.Sleep(time.Millisecond)
	}
	me, err := c.Me(context.Background())
	if err != nil {
		return fail("me: %v", err)
	}
	fmt.Println(me.UserID)
	return 0
}

// TestRefreshRaceTwoProcesses: two real processes need a token at once. In
// "expiring" the stored access token expires within the refresh margin (both
// refresh proactively); in "revoked" the host expired it early (both get 401
// and refresh reactively). Either way exactly one refresh token is spent and
// both end with a working session.
func TestRefreshRaceTwoProcesses(t *testing.T) {
	for _, mode := range []string{"expiring", "revoked"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			srv := hostedtest.NewTest(t, hostedtest.Options{})
			h, _ := hosted.ParseHost(srv.URL())
			dir := t.TempDir()
			home := paths.Home{Dir: filepath.Join(dir, "home")}
			store := session.NewStore(home, nil, nil)
			c := hosted.New(h, nil)
			l := &Login{Client: c, Store: store, Sleep: func(ctx context.Context, d time.Duration) error {
				for _, code := range srv.PendingUserCodes() {
					_ = srv.Approve(code)
				}
				return nil
			}}
			s, err := l.Device(ctx)
			if err != nil {
				t.Fatal(err)
			}
			switch mode {
			case "expiring":
				s.AccessTokenExpiresAt = time.Now().Add(10 * time.Second)
				if err := store.Save(ctx, s); err != nil {
					t.Fatal(err)
				}
			case "revoked":
				srv.ExpireAccessTokens()
			}

			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			var cmds []*exec.Cmd
			var outs []*strings.Builder
			for i := range 2 {
				cmd := exec.Command(exe, "-test.run=^$")
				cmd.Env = append(os.Environ(), raceHelperEnv+"="+dir, "AUTH_RACE_HOST="+h.URL, fmt.Sprintf("AUTH_RACE_ID=%d", i))
				out := &strings.Builder{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds, outs = append(cmds, cmd), append(outs, out)
			}
			waitFiles(t, filepath.Join(dir, "ready-0"), filepath.Join(dir, "ready-1"))
			if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Errorf("process %d: %v: %s", i, err, outs[i])
				} else if strings.TrimSpace(outs[i].String()) != hostedtest.DefaultUser.ID {
					t.Errorf("process %d printed %q", i, outs[i])
				}
			}
			if n := srv.RefreshCount(); n != 1 {
				t.Errorf("refresh tokens spent = %d, want 1", n)
			}
			final, err := store.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if final.RefreshToken == s.RefreshToken {
				t.Error("the stored refresh token was not rotated")
			}
			// The stored session still works for a third process.
			c3, _ := NewClient(h, session.NewStore(home, nil, nil))
			if _, err := c3.Me(ctx); err != nil {
				t.Fatal(err)
			}
			if n := srv.RefreshCount(); n != 1 {
				t.Errorf("refresh tokens spent after a third call = %d", n)
			}
		})
	}
}

func waitFiles(t *testing.T, files ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, f := range files {
		for {
			if _, err := os.Stat(f); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never appeared", f)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
