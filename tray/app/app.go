// Package app is the tray companion's program (CONTRACTS.md §11): it checks
// the gate and the desktop's tray host, reads the state home (tray.Source),
// drives the pure model in package tray (Controller) and draws it with
// fyne.io/systray. It acts only by running the spec-kitty CLI ("Sync now",
// "Log in…", "Open dashboard") and by writing `[sync].background_daemon`
// through core/config; it talks to the daemon only over its local socket and
// never opens another connection, never starts the daemon itself and never
// imports cli or service.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/tray"
)

// Env is what the tray takes from the outside world.
type Env struct {
	Getenv     func(string) string
	Stderr     io.Writer
	UserHome   func() (string, error)
	Executable func() (string, error)
	LookPath   func(string) (string, error)
	Now        func() time.Time
}

// OSEnv is the environment of the real process.
func OSEnv() *Env {
	return &Env{
		Getenv:     os.Getenv,
		Stderr:     os.Stderr,
		UserHome:   os.UserHomeDir,
		Executable: os.Executable,
		LookPath:   exec.LookPath,
		Now:        time.Now,
	}
}

// Exit codes of the tray.
const (
	ExitOK     = 0
	ExitNoTray = 1 // no tray host, no home, or the bus went away
)

// prefix starts every line the tray prints.
const prefix = "spec-kitty-tray: "

// Main runs the tray and returns its exit code. With the gate off it returns
// ExitOK at once, having touched nothing. Without a tray host it returns
// ExitNoTray after one line on stderr, within two seconds.
func Main(ctx context.Context, env *Env) int {
	if !rollout.Enabled(env.Getenv) {
		return ExitOK
	}
	if uiMissing != "" {
		fmt.Fprintln(env.Stderr, prefix+uiMissing)
		return ExitNoTray
	}
	home, err := paths.Resolve(env.Getenv, env.UserHome)
	if err != nil {
		fmt.Fprintln(env.Stderr, prefix+err.Error())
		return ExitNoTray
	}
	host, err := checkHost(ctx, env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, prefix+err.Error())
		return ExitNoTray
	}
	defer host.Close()

	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var code atomic.Int32
	go func() {
		select {
		case <-host.Lost():
			log.Error("the D-Bus session bus went away; the tray icon cannot be shown")
			code.Store(ExitNoTray)
			cancel()
		case <-ctx.Done():
		}
	}()

	client := localapi.NewClient(home.DaemonSocket())
	store := session.NewStore(home, session.KeychainFor(env.Getenv), nil)
	ctl := &Controller{
		Reader: NewSource(home, env.Getenv, store, env.Now, log),
		Run:    ExecRunner(func() (string, error) { return FindCLI(env.Executable, env.LookPath) }),
		Open:   OpenURL,
		SetPolicy: func(p policy.Policy) error {
			return config.Set(home.Config(), config.KeyBackgroundDaemon, string(p))
		},
		Reload: client.Reload,
		Quit:   cancel,
		Now:    env.Now,
		Log:    log,
	}
	first := ctl.Prime(ctx)
	loopDone := make(chan struct{})
	runUI(ctx, log, first, func(draw func(tray.View), clicks <-chan tray.ItemID) {
		defer close(loopDone)
		ctl.Draw = draw
		ctl.Loop(ctx, clicks)
	})
	cancel()
	select {
	case <-loopDone:
	case <-time.After(stopGrace + time.Second):
		log.Warn("actions still running at exit")
	}
	return int(code.Load())
}
