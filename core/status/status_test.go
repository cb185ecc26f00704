package status

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ready(context.Context) readiness.Result { return readiness.Result{State: readiness.Ready} }

func wording(s readiness.State) readiness.Result {
	r := readiness.Result{State: s}
	r.Message, r.NextAction = readiness.Wording(s)
	return r
}

func TestBuild(t *testing.T) {
	running := localapi.State{PID: 7, LastSyncAt: t0.Add(-time.Minute), QueueDepth: 3, DeadLetters: 1}
	tests := []struct {
		name string
		src  Sources
		want Status
	}{
		{
			name: "no sources: gate on, nothing signed in",
			want: Status{Gate: true, Policy: policy.Default, Readiness: wording(readiness.MissingAuth)},
		},
		{
			name: "gate off without a readiness source",
			src:  Sources{Gate: func() bool { return false }},
			want: Status{Policy: policy.Default, Readiness: wording(readiness.RolloutDisabled)},
		},
		{
			name: "every source",
			src: Sources{
				Gate:      func() bool { return true },
				Policy:    func() (policy.Policy, error) { return policy.Manual, nil },
				Readiness: ready,
				Daemon:    func() (localapi.State, bool, error) { return running, true, nil },
				LastSync:  func() (localapi.LastSync, error) { return localapi.LastSync{At: t0, By: "sync run", Synced: 2}, nil },
				Queue:     func(_ context.Context, d Daemon) Queue { return FromDaemon(d) },
				Now:       func() time.Time { return t0 },
			},
			want: Status{Gate: true, Policy: policy.Manual, Readiness: readiness.Result{State: readiness.Ready},
				Daemon:   Daemon{Running: true, State: running},
				LastSync: localapi.LastSync{At: t0, By: "sync run", Synced: 2},
				Queue:    Queue{Present: true, Depth: 3, DeadLetters: 1}, CheckedAt: t0},
		},
		{
			name: "unreadable config, state file and last-sync file",
			src: Sources{
				Policy:   func() (policy.Policy, error) { return "", errors.New("config.toml:3:1: bad") },
				Daemon:   func() (localapi.State, bool, error) { return localapi.State{}, false, errors.New("garbled") },
				LastSync: func() (localapi.LastSync, error) { return localapi.LastSync{}, errors.New("garbled") },
			},
			want: Status{Gate: true, Policy: policy.Default, ConfigErr: "config.toml:3:1: bad", Readiness: wording(readiness.MissingAuth),
				Daemon: Daemon{Err: "garbled"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Build(t.Context(), tt.src)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Build (-want +got):\n%s", d)
			}
		})
	}
}

func TestHomeSources(t *testing.T) {
	home := paths.Home{Dir: t.TempDir()}
	empty := Build(t.Context(), HomeSources(home))
	if empty.Daemon != (Daemon{}) || !empty.LastSync.At.IsZero() || !cmp.Equal(empty.Queue, Queue{}) {
		t.Errorf("an empty home reads as %+v", empty)
	}
	st := localapi.State{PID: os.Getpid(), QueueDepth: 5, DeadLetters: 2, LastSyncAt: t0}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(home.DaemonState(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := localapi.WriteLastSync(home.LastSync(), localapi.LastSync{At: t0.Add(time.Minute), By: "sync run", Synced: 4}); err != nil {
		t.Fatal(err)
	}
	got := Build(t.Context(), HomeSources(home))
	if !got.Daemon.Running || got.Daemon.State.PID != st.PID || !cmp.Equal(got.Queue, Queue{Present: true, Depth: 5, DeadLetters: 2}) ||
		got.LastSync.Synced != 4 || !got.LastSyncAt().Equal(t0.Add(time.Minute)) {
		t.Errorf("home read as %+v", got)
	}
	if err := os.WriteFile(filepath.Join(home.Dir, "sync-daemon"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Build(t.Context(), HomeSources(home)); got.Daemon.Running || got.Daemon.Err == "" {
		t.Errorf("a garbled state file reads as %+v", got.Daemon)
	}
}

// TestDecisions: the decisions every front-end shares.
func TestDecisions(t *testing.T) {
	failed := localapi.State{PID: 7, LastError: "boom", LastErrorAt: t0, ConsecutiveFailures: 2, LastSyncAt: t0.Add(-time.Hour)}
	recovered := localapi.State{PID: 7, LastError: "boom", LastErrorAt: t0, LastSyncAt: t0.Add(time.Minute)}
	tests := []struct {
		name        string
		st          Status
		mode        DaemonMode
		last        time.Time
		oneShotNews bool
		failing     bool
		login       bool
	}{
		{name: "nothing", st: Status{Policy: policy.Auto}, mode: DaemonStopped},
		{name: "manual, one-shot sync", st: Status{Policy: policy.Manual, LastSync: localapi.LastSync{At: t0}},
			mode: DaemonManual, last: t0, oneShotNews: true},
		{name: "running, synced after the one-shot", st: Status{Policy: policy.Auto, Daemon: Daemon{Running: true, State: localapi.State{PID: 7, LastSyncAt: t0}},
			LastSync: localapi.LastSync{At: t0.Add(-time.Minute)}}, mode: DaemonRunning, last: t0},
		{name: "running under manual counts as running", st: Status{Policy: policy.Manual, Daemon: Daemon{Running: true, State: localapi.State{PID: 7}}},
			mode: DaemonRunning},
		{name: "crashed leftover still dates the last sync", st: Status{Policy: policy.Auto, Daemon: Daemon{State: failed}},
			mode: DaemonStopped, last: failed.LastSyncAt},
		{name: "failing", st: Status{Policy: policy.Auto, Daemon: Daemon{Running: true, State: failed}},
			mode: DaemonRunning, last: failed.LastSyncAt, failing: true},
		{name: "recovered after the error", st: Status{Policy: policy.Auto, Daemon: Daemon{Running: true, State: recovered}},
			mode: DaemonRunning, last: recovered.LastSyncAt},
		{name: "waiting for login", st: Status{Policy: policy.Auto, Daemon: Daemon{Running: true, State: localapi.State{PID: 7, AuthMissing: true}}},
			mode: DaemonRunning, login: true},
		{name: "a dead daemon waits for nothing", st: Status{Policy: policy.Auto, Daemon: Daemon{State: localapi.State{PID: 7, AuthMissing: true}}},
			mode: DaemonStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.Mode(); got != tt.mode {
				t.Errorf("Mode = %s, want %s", got, tt.mode)
			}
			if got := tt.st.LastSyncAt(); !got.Equal(tt.last) {
				t.Errorf("LastSyncAt = %v, want %v", got, tt.last)
			}
			if got := tt.st.OneShotNewer(); got != tt.oneShotNews {
				t.Errorf("OneShotNewer = %v, want %v", got, tt.oneShotNews)
			}
			if got := tt.st.Daemon.Failing(); got != tt.failing {
				t.Errorf("Failing = %v, want %v", got, tt.failing)
			}
			if got := tt.st.Daemon.WaitingForLogin(); got != tt.login {
				t.Errorf("WaitingForLogin = %v, want %v", got, tt.login)
			}
		})
	}
}
