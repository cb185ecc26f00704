package cli

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// Env is everything a command may take from the outside world. Commands use
// it instead of the os package so tests can run them in-process.
type Env struct {
	Getenv     func(string) string
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	Now        func() time.Time
	Dir        string                 // working directory
	UserHome   func() (string, error) // the user's home directory
	Executable func() (string, error) // path of the running spec-kitty binary
	StdinTTY   bool                   // stdin is an interactive terminal
	StderrTTY  bool                   // stderr is a terminal (progress displays)
	StdoutTTY  bool                   // stdout is a terminal (paging, fitting the width)
	// StdoutSize and StderrSize return the terminal's columns and rows; nil
	// or ok false when unknown.
	StdoutSize func() (cols, rows int, ok bool)
	StderrSize func() (cols, rows int, ok bool)
	// Signals, when set, wraps the context a command runs with so that an
	// interrupt or termination signal cancels it (signal.NotifyContext). It
	// is applied only once a command runs: help, usage errors and
	// completion do not start the signal watcher (a thread) at all.
	Signals func(context.Context) (context.Context, context.CancelFunc)
	// SetMemoryLimit, when set, is debug.SetMemoryLimit: the commands that
	// run the sync engine give the Go heap a soft limit (limitEngineMemory).
	// Nil in tests that run commands in-process, whose process it would
	// constrain.
	SetMemoryLimit func(int64) int64

	// conf memoizes config.toml for one Main call (nil: every loadConfig
	// reads the file, as the daemon and the dashboard must).
	conf *confMemo
}

// confMemo is the configuration read once per command invocation.
type confMemo struct {
	mu   sync.Mutex
	done bool
	cfg  config.Config
	err  error

	hostDone bool
	host     hosted.Host
	hostErr  error
}

// forget drops the memoized configuration after this command wrote it.
func (m *confMemo) forget() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done, m.cfg, m.err = false, config.Config{}, nil
	m.hostDone, m.host, m.hostErr = false, hosted.Host{}, nil
}

// once returns a copy of e that reads config.toml at most once.
func (e *Env) once() *Env {
	c := *e
	c.conf = &confMemo{}
	return &c
}

// live returns a copy of e that reads config.toml at every use: a
// long-running command (service run, dashboard) sees changes made by other
// processes.
func (e *Env) live() *Env {
	c := *e
	c.conf = nil
	return &c
}

// OSEnv is the environment of the real process.
func OSEnv() *Env {
	wd, _ := os.Getwd()
	return &Env{
		Getenv:     os.Getenv,
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Now:        time.Now,
		Dir:        wd,
		UserHome:   os.UserHomeDir,
		Executable: invokedAs,
		StdinTTY:   isTerminal(os.Stdin),
		StderrTTY:  isTerminal(os.Stderr),
		StdoutTTY:  isTerminal(os.Stdout),
		StdoutSize: func() (int, int, bool) { return termSize(os.Stdout) },
		StderrSize: func() (int, int, bool) { return termSize(os.Stderr) },
		Signals: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		},
		SetMemoryLimit: debug.SetMemoryLimit,
	}
}

// Home resolves the state home; it creates nothing.
func (e *Env) Home() (paths.Home, error) {
	return paths.Resolve(e.Getenv, e.UserHome)
}

// invokedAs is the path this process was started by (a symlink stays a
// symlink), falling back to os.Executable. Re-running it starts the same
// program under the same name.
func invokedAs() (string, error) {
	arg0 := os.Args[0]
	if strings.ContainsRune(arg0, filepath.Separator) {
		return filepath.Abs(arg0)
	}
	if p, err := exec.LookPath(arg0); err == nil {
		return filepath.Abs(p)
	}
	return os.Executable()
}

// size calls f, reporting ok false when f is nil.
func size(f func() (int, int, bool)) (cols, rows int, ok bool) {
	if f == nil {
		return 0, 0, false
	}
	return f()
}
