//go:build !windows

package launch

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/service/daemon"
)

// The test binary doubles as the daemon it spawns: with LAUNCH_TEST_DAEMON
// set it runs the real daemon process shell with an idle worker.
func TestMain(m *testing.M) {
	if os.Getenv("LAUNCH_TEST_DAEMON") == "1" {
		err := daemon.Run(context.Background(), daemon.Options{
			Home:   paths.Home{Dir: os.Getenv("SPEC_KITTY_HOME")},
			Getenv: os.Getenv,
			Policy: func() (policy.Policy, error) { return policy.Auto, nil },
			Worker: idle{},
			Tick:   time.Hour,
		})
		if err != nil && !errors.Is(err, daemon.ErrAlreadyRunning) {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type idle struct{}

func (idle) Cycle(context.Context) (daemon.Report, error) { return daemon.Report{}, nil }

type setup struct {
	home   paths.Home
	env    map[string]string
	pol    policy.Policy
	reads  atomic.Int32
	homeFn atomic.Int32
}

func newSetup(t testing.TB) *setup {
	dir, err := os.MkdirTemp("", "skl")
	if err != nil {
		t.Fatal(err)
	}
	s := &setup{home: paths.Home{Dir: filepath.Join(dir, "h")}, pol: policy.Auto,
		env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}}
	t.Cleanup(func() {
		// Stop any daemon we started, then remove the home.
		if st, running, _ := localapi.ReadState(s.home.DaemonState()); running {
			syscall.Kill(st.PID, syscall.SIGTERM)
			for i := 0; i < 100 && localapi.Alive(st.PID); i++ {
				time.Sleep(20 * time.Millisecond)
			}
		}
		os.RemoveAll(dir)
	})
	return s
}

func (s *setup) launcher() *Launcher {
	return &Launcher{
		Getenv: func(k string) string { return s.env[k] },
		Home:   func() (paths.Home, error) { s.homeFn.Add(1); return s.home, nil },
		Policy: func() (policy.Policy, error) { s.reads.Add(1); return s.pol, nil },
		Executable: func() (string, error) {
			return os.Args[0], nil
		},
		Env: append(os.Environ(), "LAUNCH_TEST_DAEMON=1", "SPEC_KITTY_ENABLE_SAAS_SYNC=1", "SPEC_KITTY_HOME="+s.home.Dir),
	}
}

func TestSkips(t *testing.T) {
	tests := []struct {
		name      string
		gate      string
		intent    policy.Intent
		pol       policy.Policy
		want      string
		readsConf bool
	}{
		{"gate off remote", "", policy.RemoteRequired, policy.Auto, policy.ReasonRolloutDisabled, false},
		{"gate off local", "0", policy.LocalOnly, policy.Auto, policy.ReasonRolloutDisabled, false},
		{"local only", "1", policy.LocalOnly, policy.Auto, policy.ReasonLocalOnly, false},
		{"manual", "1", policy.RemoteRequired, policy.Manual, policy.ReasonManual, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t)
			s.env["SPEC_KITTY_ENABLE_SAAS_SYNC"] = tt.gate
			s.pol = tt.pol
			got := s.launcher().EnsureRunning(context.Background(), tt.intent)
			if got.Started || got.AlreadyRunning || got.SkippedReason != tt.want {
				t.Errorf("outcome = %+v, want skipped %q", got, tt.want)
			}
			if s.homeFn.Load() != 0 {
				t.Error("home resolved although nothing starts")
			}
			if (s.reads.Load() > 0) != tt.readsConf {
				t.Errorf("policy reads = %d", s.reads.Load())
			}
			if _, err := os.Stat(s.home.Dir); !os.IsNotExist(err) {
				t.Error("state home created")
			}
		})
	}
}

// TestBrokenConfigFailsClosed is the regression test of a broken config.toml:
// the launcher once read it as `auto` and spawned a daemon that exited at
// once on the same file. It must start nothing and name the file, line and
// column, as the daemon does.
func TestBrokenConfigFailsClosed(t *testing.T) {
	s := newSetup(t)
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("[sync]\nbackground_daemon = \"auto\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := s.launcher()
	l.Policy = func() (policy.Policy, error) {
		c, err := config.Load(path, io.Discard)
		if err != nil {
			return "", err
		}
		return c.Policy(), nil
	}
	spawned := 0
	l.Executable = func() (string, error) { spawned++; return os.Args[0], nil }
	got := l.EnsureRunning(context.Background(), policy.RemoteRequired)
	if got.Started || got.AlreadyRunning || got.PID != 0 {
		t.Errorf("outcome = %+v, want nothing started", got)
	}
	want := policy.ReasonConfigError + ": " + path + ":2:"
	if !strings.HasPrefix(got.SkippedReason, want) {
		t.Errorf("skipped reason = %q, want prefix %q", got.SkippedReason, want)
	}
	if spawned != 0 || s.homeFn.Load() != 0 {
		t.Errorf("spawned %d times, home resolved %d times; want neither", spawned, s.homeFn.Load())
	}
	if _, err := os.Stat(s.home.Dir); !os.IsNotExist(err) {
		t.Error("state home created")
	}
}

func TestZeroIntentRejected(t *testing.T) {
	s := newSetup(t)
	got := s.launcher().EnsureRunning(context.Background(), "")
	if got.Started || !strings.HasPrefix(got.SkippedReason, "start_failed: invalid intent") {
		t.Errorf("outcome = %+v", got)
	}
}

func TestSpawnThenWake(t *testing.T) {
	s := newSetup(t)
	l := s.launcher()
	ctx := context.Background()
	first := l.EnsureRunning(ctx, policy.RemoteRequired)
	if !first.Started || first.PID == 0 {
		t.Fatalf("first outcome = %+v, want started with a PID", first)
	}
	// The spawned daemon is in its own session (no controlling terminal).
	sid, err := unix.Getsid(first.PID)
	if err != nil || sid != first.PID {
		t.Errorf("daemon sid = %d (%v), want its own session %d", sid, err, first.PID)
	}
	second := l.EnsureRunning(ctx, policy.RemoteRequired)
	if second.Started || !second.AlreadyRunning || second.PID != first.PID {
		t.Errorf("second outcome = %+v, want already running pid %d", second, first.PID)
	}
}

// fakeManager is a small service manager: Start runs the daemon the way a
// service manager would, as a child it owns.
type fakeManager struct {
	installed bool
	starts    atomic.Int32
	env       []string
	cmd       *exec.Cmd
}

func (f *fakeManager) Installed(context.Context) bool { return f.installed }
func (f *fakeManager) Start(context.Context) error {
	f.starts.Add(1)
	f.cmd = exec.Command(os.Args[0])
	f.cmd.Env = f.env
	return f.cmd.Start()
}

func TestStartsInstalledService(t *testing.T) {
	s := newSetup(t)
	l := s.launcher()
	mgr := &fakeManager{installed: true, env: l.Env}
	l.Service = mgr
	got := l.EnsureRunning(context.Background(), policy.RemoteRequired)
	if !got.Started || mgr.starts.Load() != 1 {
		t.Fatalf("outcome = %+v, starts = %d", got, mgr.starts.Load())
	}
	if got.PID != mgr.cmd.Process.Pid {
		t.Errorf("pid = %d, want the service's %d", got.PID, mgr.cmd.Process.Pid)
	}
	t.Cleanup(func() { mgr.cmd.Process.Signal(syscall.SIGTERM); mgr.cmd.Wait() })
}

func TestStartFailed(t *testing.T) {
	s := newSetup(t)
	l := s.launcher()
	l.Executable = func() (string, error) { return filepath.Join(t.TempDir(), "missing-binary"), nil }
	got := l.EnsureRunning(context.Background(), policy.RemoteRequired)
	if got.Started || !strings.HasPrefix(got.SkippedReason, "start_failed: ") {
		t.Errorf("outcome = %+v, want start_failed", got)
	}
}

func BenchmarkEnsureRunningAlreadyRunning(b *testing.B) {
	s := newSetup(b)
	l := s.launcher()
	ctx := context.Background()
	if o := l.EnsureRunning(ctx, policy.RemoteRequired); !o.Started {
		b.Fatalf("could not start: %+v", o)
	}
	defer func() {
		if st, running, _ := localapi.ReadState(s.home.DaemonState()); running {
			syscall.Kill(st.PID, syscall.SIGTERM)
		}
	}()
	for b.Loop() {
		if o := l.EnsureRunning(ctx, policy.RemoteRequired); !o.AlreadyRunning {
			b.Fatalf("outcome %+v", o)
		}
	}
}

// TestDaemonDyingAtStartIsReported: a daemon that exits with an error before
// its API answers is reported as such (not as a 5 s timeout).
func TestDaemonDyingAtStartIsReported(t *testing.T) {
	s := newSetup(t)
	l := s.launcher()
	l.Executable = func() (string, error) { return "/bin/false", nil }
	got := l.EnsureRunning(context.Background(), policy.RemoteRequired)
	if got.Started || !strings.Contains(got.SkippedReason, "exited at start-up") {
		t.Errorf("outcome = %+v, want start_failed naming the early exit", got)
	}
}
