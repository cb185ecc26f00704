package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/service/svcmgr"
)

// Main runs spec-kitty with args (without the program name) and returns the
// process exit code. It is the only entry point of the CLI.
func Main(ctx context.Context, args []string, env *Env) int {
	if isServiceRun(args) {
		// CONTRACTS §2: with the gate off `service run` exits 0 at once,
		// printing one neutral line and reading nothing — not even
		// --env-file — so a leftover service definition fails closed
		// without a restart loop and without naming what it would run.
		if !rollout.Enabled(env.Getenv) {
			fmt.Fprintln(env.Stderr, rollout.ServiceRunLine)
			return ExitOK
		}
		// The daemon's other variables may come from --env-file (the
		// Windows logon task); the file may still turn the gate off.
		e, err := withEnvFile(env, args)
		if err != nil {
			return report(env.Stderr, err, "spec-kitty help service run")
		}
		env = e
		if !rollout.Enabled(env.Getenv) {
			fmt.Fprintln(env.Stderr, rollout.ServiceRunLine)
			return ExitOK
		}
	}
	if len(args) == 1 && args[0] == "--version" {
		args = []string{"version"} // the conventional spelling of `spec-kitty version`
	}
	if len(args) > 0 && args[0] == completeCommand {
		return complete(env, args[1:])
	}
	// One command invocation reads config.toml once (long-running commands
	// opt out with env.live()).
	env = env.once()
	root := NewTree(env)
	cmd, rest, err := resolve(root, args)
	if err != nil {
		return report(env.Stderr, err, "")
	}
	return run(ctx, env, cmd, rest)
}

// ServiceMain is the entry point of spec-kitty-service, the launcher the
// Windows logon task runs. A task cannot carry environment variables, so
// `service install` records them in a file the task names with --env-file:
// like a systemd unit's Environment= lines, that file is part of the service
// definition, and the launcher applies it before anything else — gate
// included. `spec-kitty service run` typed by a person still reads nothing
// with the gate off (CONTRACTS §2).
func ServiceMain(ctx context.Context, args []string, env *Env) int {
	if !isServiceRun(args) {
		fmt.Fprintln(env.Stderr, "spec-kitty-service: error: this program only runs `service run`; use spec-kitty for everything else")
		return ExitUsage
	}
	e, err := withEnvFile(env, args)
	if err != nil {
		return report(env.Stderr, err, "spec-kitty help service run")
	}
	return Main(ctx, args, e)
}

// isServiceRun reports whether args invoke `spec-kitty service run`.
func isServiceRun(args []string) bool {
	return len(args) >= 2 && args[0] == "service" && args[1] == "run"
}

// withEnvFile overlays the variables of `service run --env-file PATH` on env.
func withEnvFile(env *Env, args []string) (*Env, error) {
	path := ""
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--env-file="); ok {
			path = v
		} else if a == "--env-file" && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path == "" {
		return env, nil
	}
	vars, err := svcmgr.LoadEnvFile(path)
	if err != nil {
		return nil, failf("%s", err)
	}
	e := *env
	base := env.Getenv
	e.Getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return base(k)
	}
	return &e, nil
}

// resolve walks the command words at the front of args down the tree.
func resolve(root *Command, args []string) (*Command, []string, error) {
	cmd := root
	var typed []string
	for len(args) > 0 && len(cmd.Commands) > 0 {
		a := args[0]
		if strings.HasPrefix(a, "-") {
			break
		}
		sub := cmd.Lookup(a)
		if sub == nil {
			if cmd.Run != nil {
				break // a positional argument of cmd itself
			}
			typed = append(typed, a)
			helpCmd := "spec-kitty help"
			if cmd != root {
				helpCmd = "spec-kitty help " + strings.TrimPrefix(cmd.Path(), "spec-kitty ")
			}
			return nil, nil, unknownCommandError{name: strings.Join(typed, " "), helpCmd: helpCmd, suggest: cmd.suggest(a)}
		}
		typed = append(typed, a)
		cmd = sub
		args = args[1:]
	}
	return cmd, args, nil
}

func run(ctx context.Context, env *Env, cmd *Command, args []string) int {
	helpPath := "spec-kitty help " + strings.TrimPrefix(cmd.Path(), "spec-kitty ")
	if cmd.Path() == "spec-kitty" {
		helpPath = "spec-kitty help"
	}
	fs := cmd.Flags()
	var help bool
	if fs.Lookup("help") == nil {
		fs.BoolVarP(&help, "help", "h", false, "show this help")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printHelp(env.Stdout, cmd)
			return ExitOK
		}
		return report(env.Stderr, usagef("%s", flagError(err)), helpPath)
	}
	if help {
		printHelp(env.Stdout, cmd)
		return ExitOK
	}
	if cmd.Run == nil {
		if fs.NArg() > 0 {
			return report(env.Stderr, unknownCommandError{name: fs.Arg(0), helpCmd: helpPath, suggest: cmd.suggest(fs.Arg(0))}, "")
		}
		// A bare group (or bare `spec-kitty`) asks for its help, as gh and
		// restic read it: help on stdout, success.
		printHelp(env.Stdout, cmd)
		return ExitOK
	}
	if env.Signals != nil {
		var stop context.CancelFunc
		ctx, stop = env.Signals(ctx)
		defer stop()
	}
	err := cmd.Run(ctx, fs.Args())
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && !isExitError(err) {
		fmt.Fprintln(env.Stderr, "spec-kitty: interrupted")
		return ExitInterrupted
	}
	return report(env.Stderr, err, helpPath)
}

// flagError is the parse error to print. A value given to a switch
// (`--with-token=VALUE`) is never echoed: it may be the secret the user
// meant to pass on stdin.
func flagError(err error) string {
	var ive *pflag.InvalidValueError
	if errors.As(err, &ive) && ive.GetFlag() != nil && ive.GetFlag().Value.Type() == "bool" {
		return fmt.Sprintf("--%s is a switch and takes no value", ive.GetFlag().Name)
	}
	return err.Error()
}

// isExitError reports errors that already carry the intended exit code.
func isExitError(err error) bool {
	var se silentExit
	var re readinessError
	return errors.As(err, &se) || errors.As(err, &re)
}
