package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

// Exit codes, documented in README.md and CONTRACTS.md §3.
const (
	ExitOK          = 0   // success, including the manual-mode notice
	ExitFailure     = 1   // a failure the user can fix: readiness, server error, bad state
	ExitUsage       = 2   // unknown command or flag, bad argument
	ExitInterrupted = 130 // interrupted by Ctrl-C or SIGTERM
)

// Error is a command failure with its exit code and an optional hint line.
type Error struct {
	Code int
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// failf is a failure the user can fix (exit 1).
func failf(format string, a ...any) error {
	return &Error{Code: ExitFailure, Err: fmt.Errorf(format, a...)}
}

// usagef is a usage error (exit 2).
func usagef(format string, a ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// withHint attaches a hint line to err, keeping its exit code (1 by default).
func withHint(err error, hint string) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Hint = hint
		return &c
	}
	return &Error{Code: ExitFailure, Err: err, Hint: hint}
}

// silentExit ends the command with code after it printed its own output.
type silentExit int

func (s silentExit) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// readinessError reports a readiness failure in the contract's layout:
// message, blank line, next action, on stderr; exit 1.
type readinessError struct {
	res readiness.Result
	// note, when set, is one more line after the next action saying why
	// this state (e.g. the stored session is for another host).
	note string
}

func (r readinessError) Error() string { return r.res.Message }

// notReady converts a non-ready readiness result into the command's error.
func notReady(res readiness.Result) error { return readinessError{res: res} }

// report prints err as the contract wants and returns the exit code.
func report(stderr io.Writer, err error, helpPath string) int {
	var se silentExit
	if errors.As(err, &se) {
		return int(se)
	}
	var re readinessError
	if errors.As(err, &re) {
		fmt.Fprintf(stderr, "%s\n\n%s\n", term.Lines(re.res.Message), term.Lines(re.res.NextAction))
		if re.note != "" {
			fmt.Fprintf(stderr, "%s\n", term.Lines(re.note))
		}
		return ExitFailure
	}
	var ue unknownCommandError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "spec-kitty: unknown command %q\n", term.Sanitize(ue.name))
		if ue.suggest != "" {
			fmt.Fprintf(stderr, "spec-kitty: hint: did you mean '%s'?\n", ue.suggest)
		}
		fmt.Fprintf(stderr, "spec-kitty: hint: run '%s' for the list of commands\n", ue.helpCmd)
		return ExitUsage
	}
	code, hint := ExitFailure, ""
	var e *Error
	if errors.As(err, &e) {
		code, hint = e.Code, e.Hint
	}
	// Errors name repo files, mission names, host URLs and host messages:
	// never let one of them drive the terminal.
	fmt.Fprintf(stderr, "spec-kitty: error: %s\n", term.Lines(err.Error()))
	if hint == "" && code == ExitUsage && helpPath != "" {
		hint = fmt.Sprintf("run '%s' for usage", helpPath)
	}
	if hint != "" {
		fmt.Fprintf(stderr, "spec-kitty: hint: %s\n", term.Lines(hint))
	}
	return code
}

type unknownCommandError struct {
	name    string // as typed, e.g. "tracker" or "config frob"
	helpCmd string // e.g. "spec-kitty help config"
	suggest string // the closest command, e.g. "spec-kitty status"; "" when none is close
}

func (u unknownCommandError) Error() string { return fmt.Sprintf("unknown command %q", u.name) }
