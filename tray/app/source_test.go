package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
)

const testHost = "https://sync.example.com"

func testSource(t *testing.T, env map[string]string) (*Source, paths.Home) {
	t.Helper()
	home := paths.Home{Dir: t.TempDir()}
	getenv := func(k string) string { return env[k] }
	s := NewSource(home, getenv, session.NewStore(home, nil, nil), time.Now, slog.New(slog.DiscardHandler))
	return s, home
}

func signIn(t *testing.T, home paths.Home, host string) {
	t.Helper()
	err := session.NewStore(home, nil, nil).Save(context.Background(), &session.Session{
		Host: host, UserID: "u", AccessToken: session.NewSecret("a"), RefreshToken: session.NewSecret("r"),
		IssuedAt: time.Now(), AccessTokenExpiresAt: time.Now().Add(time.Hour), AuthMethod: "device",
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeState(t *testing.T, home paths.Home, st localapi.State) {
	t.Helper()
	b, _ := json.Marshal(st)
	if err := atomicfile.Write(home.DaemonState(), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1)")
	}
	return cmd.Process.Pid
}

func TestSourceRead(t *testing.T) {
	gateOn := map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": testHost}
	ready := readiness.Result{State: readiness.Ready}
	tests := []struct {
		name  string
		env   map[string]string
		setup func(t *testing.T, home paths.Home)
		want  status.Status
	}{
		{
			name: "gate off",
			env:  map[string]string{},
			want: status.Status{Policy: policy.Auto, Readiness: readinessOf(readiness.RolloutDisabled)},
		},
		{
			name: "signed out",
			env:  gateOn,
			want: status.Status{Gate: true, Policy: policy.Auto, Readiness: readinessOf(readiness.MissingAuth)},
		},
		{
			name:  "session of another host",
			env:   gateOn,
			setup: func(t *testing.T, home paths.Home) { signIn(t, home, "https://other.example.com") },
			want:  status.Status{Gate: true, Policy: policy.Auto, Readiness: readinessOf(readiness.MissingAuth)},
		},
		{
			name: "host from the config file, manual policy",
			env:  map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "yes"},
			setup: func(t *testing.T, home paths.Home) {
				signIn(t, home, testHost)
				os.WriteFile(home.Config(), []byte("# mine\n[sync]\nserver_url = \""+testHost+"\"\nbackground_daemon = \" Manual \"\n"), 0o600)
			},
			want: status.Status{Gate: true, Policy: policy.Manual, Readiness: ready},
		},
		{
			name:  "no host",
			env:   map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"},
			setup: func(t *testing.T, home paths.Home) { signIn(t, home, testHost) },
			want:  status.Status{Gate: true, Policy: policy.Auto, Readiness: readinessOf(readiness.MissingHostConfig)},
		},
		{
			name: "broken config",
			env:  gateOn,
			setup: func(t *testing.T, home paths.Home) {
				signIn(t, home, testHost)
				os.WriteFile(home.Config(), []byte("[sync]\nbackground_daemon = \"\"\n"), 0o600)
			},
			want: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready}, // the default, unused while ConfigErr is set
		},
		{
			name: "running daemon",
			env:  gateOn,
			setup: func(t *testing.T, home paths.Home) {
				signIn(t, home, testHost)
				writeState(t, home, localapi.State{PID: os.Getpid(), QueueDepth: 4, DeadLetters: 1})
			},
			want: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready,
				Daemon: status.Daemon{Running: true, State: localapi.State{PID: os.Getpid(), QueueDepth: 4, DeadLetters: 1}},
				Queue:  status.Queue{Present: true, Depth: 4, DeadLetters: 1}},
		},
		{
			name: "garbled state file means stopped",
			env:  gateOn,
			setup: func(t *testing.T, home paths.Home) {
				signIn(t, home, testHost)
				os.WriteFile(home.DaemonState(), []byte("{not json"), 0o600)
			},
			want: status.Status{Gate: true, Policy: policy.Auto, Readiness: ready},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, home := testSource(t, tt.env)
			if tt.setup != nil {
				tt.setup(t, home)
			}
			got := s.Read(t.Context())
			configErr := got.ConfigErr
			got.ConfigErr = ""
			got.Readiness.Details = nil
			stateErr := got.Daemon.Err
			got.Daemon.Err = ""
			if (tt.name == "garbled state file means stopped") != strings.HasPrefix(stateErr, "read daemon state ") {
				t.Errorf("state file problem %q", stateErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("snapshot (-want +got):\n%s", diff)
			}
			if tt.name == "broken config" {
				if !strings.HasPrefix(configErr, "config.toml:2:") || !strings.Contains(configErr, "background_daemon") {
					t.Errorf("config problem %q: want file, line and key", configErr)
				}
			} else if configErr != "" {
				t.Errorf("config problem %q", configErr)
			}
		})
	}
}

func TestSourceStaleState(t *testing.T) {
	s, home := testSource(t, map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"})
	st := localapi.State{PID: deadPID(t), QueueDepth: 3, LastError: "boom"}
	writeState(t, home, st)
	got := s.Read(t.Context())
	if got.Daemon.Running || got.Daemon.State.PID != st.PID || got.Queue.Depth != 3 {
		t.Errorf("stale state read as %+v", got.Daemon)
	}
}

func TestSourceCachesSessionChecks(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, home := testSource(t, map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": testHost})
	s.Now = func() time.Time { return now }
	calls := 0
	auth := s.Probes.Auth
	s.Probes.Auth = func(ctx context.Context, host string) (bool, error) {
		calls++
		return auth(ctx, host)
	}
	if got := s.Read(t.Context()).Readiness.State; got != readiness.MissingAuth || calls != 1 {
		t.Fatalf("first read: %s after %d checks", got, calls)
	}
	signIn(t, home, testHost)
	now = now.Add(DefaultAuthTTL - time.Second)
	if got := s.Read(t.Context()).Readiness.State; got != readiness.MissingAuth || calls != 1 {
		t.Fatalf("within the TTL: %s after %d checks; want the cached answer", got, calls)
	}
	now = now.Add(time.Second)
	if got := s.Read(t.Context()).Readiness.State; got != readiness.Ready || calls != 2 {
		t.Fatalf("after the TTL: %s after %d checks", got, calls)
	}
	os.Remove(home.Auth())
	s.AuthChanged()
	if got := s.Read(t.Context()).Readiness.State; got != readiness.MissingAuth || calls != 3 {
		t.Fatalf("after AuthChanged: %s after %d checks", got, calls)
	}
}

func TestSourceNeverProbes(t *testing.T) {
	s, home := testSource(t, map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": testHost})
	signIn(t, home, testHost)
	s.Probes.Reach = func(context.Context, string) error {
		t.Error("the tray probed the host")
		return nil
	}
	s.Read(t.Context())
}

func readinessOf(st readiness.State) readiness.Result {
	msg, next := readiness.Wording(st)
	return readiness.Result{State: st, Message: msg, NextAction: next}
}
