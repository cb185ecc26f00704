// Package launch owns EnsureRunning, the one way any spec-kitty process may
// cause the sync daemon to run (CONTRACTS.md §6): the gate/intent/policy
// decision of core/policy, then waking a running daemon, starting the
// installed OS service, or spawning `spec-kitty service run --background`
// detached. Only the call sites listed in CONTRACTS.md §6 may call it; a test
// in cli audits that with go/ast.
package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

// StartWait bounds how long a start waits for the local API to answer.
const StartWait = 5 * time.Second

// Service is the installed OS service, if any (service/svcmgr implements it).
type Service interface {
	// Installed reports whether the spec-kitty-sync service is installed.
	Installed(ctx context.Context) bool
	// Start starts it through the service manager.
	Start(ctx context.Context) error
}

// Launcher carries what EnsureRunning needs. Every field is read lazily, so a
// gate-off decision reads no file and no configuration.
type Launcher struct {
	Getenv func(string) string
	// Home resolves the state home.
	Home func() (paths.Home, error)
	// Policy reads `[sync].background_daemon`. An error (a broken
	// config.toml) fails closed: nothing is started and the outcome is
	// `config_error: <error>`, the error naming the file, line and column.
	Policy func() (policy.Policy, error)
	// Executable is the spec-kitty binary to spawn.
	Executable func() (string, error)
	// Service, when non-nil and installed, is started instead of spawning.
	Service Service
	// Env is the environment of a spawned daemon (nil: this process's).
	Env []string
	// Wake, when set, is the body of the sync request that wakes a running
	// daemon (e.g. the events file `status emit` appended, so the daemon
	// imports that file alone); the zero value is a plain wake.
	Wake localapi.SyncRequest
}

// EnsureRunning makes sure a daemon runs when the gate, intent and policy
// allow it, and reports what happened. It never returns an error: a failed
// start is the outcome `start_failed: <reason>`, a configuration that cannot
// be read `config_error: <error>` (nothing is started, as the daemon would
// refuse to run on it).
func (l *Launcher) EnsureRunning(ctx context.Context, intent policy.Intent) policy.Outcome {
	gate := l.Getenv != nil && rollout.Enabled(l.Getenv)
	var confErr error
	dec, err := policy.Decide(gate, intent, func() policy.Policy {
		if l.Policy == nil {
			return policy.Default
		}
		p, err := l.Policy()
		confErr = err
		return p
	})
	if err != nil {
		return failed(err)
	}
	if confErr != nil {
		return policy.Outcome{SkippedReason: policy.ReasonConfigError + ": " + confErr.Error()}
	}
	if !dec.Start {
		return policy.Outcome{SkippedReason: dec.Reason}
	}
	home, err := l.Home()
	if err != nil {
		return failed(err)
	}
	client := localapi.NewClient(home.DaemonSocket())

	// A running daemon is woken instead of started again.
	if st, running, _ := localapi.ReadState(home.DaemonState()); running {
		if err := l.wake(ctx, client); err == nil {
			return policy.Outcome{AlreadyRunning: true, PID: st.PID}
		}
		// It may still be starting: give its API the usual time.
		if pid, err := waitReady(ctx, client, nil); err == nil {
			l.wake(ctx, client)
			return policy.Outcome{AlreadyRunning: true, PID: pid}
		}
	}

	if l.Service != nil && l.Service.Installed(ctx) {
		if err := l.Service.Start(ctx); err != nil {
			return failed(fmt.Errorf("start service: %w", err))
		}
		pid, err := waitReady(ctx, client, nil)
		if err != nil {
			return failed(err)
		}
		return policy.Outcome{Started: true, PID: pid}
	}
	exited, err := l.spawn()
	if err != nil {
		return failed(err)
	}
	pid, err := waitReady(ctx, client, exited)
	if err != nil {
		return failed(err)
	}
	return policy.Outcome{Started: true, PID: pid}
}

// wake sends the wake request to a running daemon.
func (l *Launcher) wake(ctx context.Context, client *localapi.Client) error {
	if len(l.Wake.Files) > 0 {
		return client.SyncFiles(ctx, l.Wake.Repo, l.Wake.Files)
	}
	return client.Sync(ctx)
}

func failed(err error) policy.Outcome {
	return policy.Outcome{SkippedReason: policy.ReasonStartFailed + ": " + err.Error()}
}

// spawn starts `spec-kitty service run --background` detached from this
// process's terminal and session; the daemon writes its own log. exited
// reports the child's end, so a daemon that fails at start-up is noticed at
// once instead of after StartWait.
func (l *Launcher) spawn() (exited <-chan error, err error) {
	if l.Executable == nil {
		return nil, errors.New("no spec-kitty executable known")
	}
	exe, err := l.Executable()
	if err != nil {
		return nil, fmt.Errorf("find spec-kitty executable: %w", err)
	}
	cmd := exec.Command(exe, "service", "run", "--background")
	cmd.Env = l.Env
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("spawn %s service run: %w", exe, err)
	}
	// The daemon outlives us; reap it if it exits while we still run, so no
	// zombie is left behind.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done, nil
}

// waitReady polls the local API until it answers, StartWait passes, or the
// spawned daemon exits (exited may be nil).
func waitReady(ctx context.Context, c *localapi.Client, exited <-chan error) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, StartWait)
	defer cancel()
	delay := 10 * time.Millisecond
	var last error
	for {
		st, err := c.Status(ctx)
		if err == nil {
			return st.PID, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("daemon did not answer within %s: %v", StartWait, last)
		case err := <-exited:
			if err == nil {
				// Exit 0 before answering: another daemon holds the lock and
				// is still starting, or the policy changed meanwhile.
				exited = nil
				continue
			}
			return 0, fmt.Errorf("daemon exited at start-up (%v); see its log under the state home", err)
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}
