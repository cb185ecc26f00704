package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/tray"
)

var (
	cliOnce sync.Once
	cliErr  error
)

// buildCLI puts the real spec-kitty next to the tray binary, where the tray
// looks for it first.
func buildCLI(t *testing.T) {
	t.Helper()
	cliOnce.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			cliErr = err
			return
		}
		out, err := exec.Command(gobin, "build", "-o", filepath.Join(filepath.Dir(trayBin), "spec-kitty"),
			"github.com/spec-kitty/spec-kitty-sync/cli/cmd/spec-kitty").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("build spec-kitty: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
}

// smallMission picks, deterministically, a generated mission with a
// handful of events and no bad line, copies it (and the corpus's
// .kittify/config.yaml) into a new repo and returns the repo and the
// mission's event ids.
func smallMission(t *testing.T) (repo string, ids []string) {
	t.Helper()
	src, sum := fixture.Default(t)
	repo = t.TempDir()
	for _, m := range sum.Missions {
		c := m.Counts
		if c.Malformed+c.PendingTail > 0 || c.Synced-c.Duplicates < 3 || c.Synced > 40 {
			continue
		}
		ids = eventIDs(t, filepath.Join(src, "kitty-specs", m.Slug, "status.events.jsonl"))
		if err := fixture.CopyMissions(src, repo, m.Slug); err != nil {
			t.Fatal(err)
		}
		if err := fixture.CopyKittify(src, repo); err != nil {
			t.Fatal(err)
		}
		return repo, ids
	}
	t.Fatal("no generated mission with 3 to 40 events")
	return "", nil
}

// eventIDs lists the event_id of every line of an events file that has one.
func eventIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var line struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.EventID != "" {
			ids = append(ids, line.EventID)
		}
	}
	sort.Strings(ids)
	return slices.Compact(ids)
}

// TestSyncNowDelivers clicks "Sync now" against a hostedtest server: under
// the manual policy the tray runs the one-shot `spec-kitty sync run`, under
// auto `spec-kitty sync start`, which starts the daemon; either way every
// event of the repo reaches the host.
func TestSyncNowDelivers(t *testing.T) {
	for _, pol := range []policy.Policy{policy.Manual, policy.Auto} {
		t.Run(string(pol), func(t *testing.T) {
			t.Parallel()
			buildCLI(t)
			srv := hostedtest.NewTest(t, hostedtest.Options{})
			addr := startBus(t)
			w := startWatcher(t, addr)
			e := newEnv(t, addr, false)
			e.vars = append(without(e.vars, "SPEC_KITTY_SAAS_URL="), "SPEC_KITTY_SAAS_URL="+srv.URL())
			cli := filepath.Join(filepath.Dir(trayBin), "spec-kitty")

			// Sign in through the CLI with a token the host issued.
			tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
			if err != nil {
				t.Fatal(err)
			}
			login := exec.Command(cli, "auth", "login", "--with-token")
			login.Env, login.Stdin = e.vars, strings.NewReader(string(tok))
			if out, err := login.CombinedOutput(); err != nil {
				t.Fatalf("auth login --with-token: %v\n%s", err, out)
			}
			if err := os.WriteFile(e.home.Config(), fmt.Appendf(nil, "[sync]\nbackground_daemon = %q\n", pol), 0o600); err != nil {
				t.Fatal(err)
			}
			repo, ids := smallMission(t)
			q, err := queue.Open(t.Context(), e.home.Queue(), queue.Options{CreateDir: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := q.RegisterRepo(t.Context(), repo); err != nil {
				t.Fatal(err)
			}
			q.Close()
			t.Cleanup(func() { stopDaemon(t, e.home.DaemonState()) })

			p := start(t, e.vars)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			reg, err := w.Wait(ctx)
			if err != nil {
				t.Fatalf("%v; stderr:\n%s", err, p.stderr.String())
			}
			it := connectItem(t, dial(t, addr), reg.Service, reg.Path)
			s := it.waitShown(t, expect(t, view(pol, status.Daemon{})), 5*time.Second)
			if srv.EventCount() != 0 {
				t.Fatalf("events reached the host before Sync now: %d", srv.EventCount())
			}

			it.click(t, s, tray.LabelSyncNow)
			poll(t, 20*time.Second, func() string {
				got := srv.EventIDs()
				sort.Strings(got)
				if d := cmp.Diff(ids, got); d != "" {
					return "events on the host (-want +got):\n" + d
				}
				return ""
			})
			st, running, _ := localapi.ReadState(e.home.DaemonState())
			if pol == policy.Manual && running {
				t.Errorf("Sync now started a daemon (pid %d) under the manual policy", st.PID)
			}
			want := "Sync finished"
			if pol == policy.Auto {
				want = "Background sync started"
			}
			poll(t, 10*time.Second, func() string {
				got, err := it.read()
				if err != nil {
					return err.Error()
				}
				if got.Menu[0].Label != want {
					return fmt.Sprintf("status line %q, want %q", got.Menu[0].Label, want)
				}
				return ""
			})
			if pol == policy.Auto {
				// The tray sees the daemon it had the CLI start.
				ready := expect(t, view(policy.Auto, status.Daemon{Running: true}))
				poll(t, 10*time.Second, func() string {
					got, err := it.read()
					if err != nil {
						return err.Error()
					}
					if got.Tooltip != ready.Tooltip || !cmp.Equal(got.Icon, ready.Icon) {
						return fmt.Sprintf("tooltip %q, want %q with the ready icon", got.Tooltip, ready.Tooltip)
					}
					return ""
				})
			}
			it.click(t, s, tray.LabelQuit)
			if code := p.exit(t, 10*time.Second); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.String())
			}
		})
	}
}

// stopDaemon ends a daemon a test had started, if one still runs.
func stopDaemon(t *testing.T, statePath string) {
	st, running, _ := localapi.ReadState(statePath)
	if !running {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := localapi.NewClient(st.Socket).Shutdown(ctx); err == nil {
		for ctx.Err() == nil {
			if _, running, _ := localapi.ReadState(statePath); !running {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	syscall.Kill(st.PID, syscall.SIGKILL)
}
