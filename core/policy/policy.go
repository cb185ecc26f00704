// Package policy owns the daemon start decision of CONTRACTS.md §6: the
// operator's background-daemon Policy, the caller's Intent, and the pure
// Decide function that combines them with the rollout gate. It reads no file
// and imports only the standard library; starting a process is service/launch's
// job.
package policy

import (
	"fmt"
	"strings"
)

// Policy is the operator's `[sync].background_daemon` setting.
type Policy string

const (
	Auto   Policy = "auto"
	Manual Policy = "manual"
)

// Default is the policy when nothing is configured.
const Default = Auto

// Parse reads a configured value: trimmed and case-insensitive. ok is false
// for an unknown value, which callers treat as Auto after one warning; an
// empty value is an error (CONTRACTS.md §5).
func Parse(s string) (p Policy, ok bool, err error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "":
		return "", false, fmt.Errorf("empty value; allowed values are %q and %q", Auto, Manual)
	case string(Auto):
		return Auto, true, nil
	case string(Manual):
		return Manual, true, nil
	}
	return Auto, false, nil
}

// Background reports whether p lets the daemon run in the background: the
// policy step of Decide, and the one test of the policy for callers past the
// gate and intent (service start/restart/run, the dashboard, the tray).
func (p Policy) Background() bool { return p != Manual }

// Intent is what the caller needs from the network. The zero value is invalid:
// every call site must name one.
type Intent string

const (
	LocalOnly      Intent = "local_only"
	RemoteRequired Intent = "remote_required"
)

// Valid reports whether i is one of the named intents.
func (i Intent) Valid() bool { return i == LocalOnly || i == RemoteRequired }

// Skip reasons reported in Outcome.SkippedReason.
const (
	ReasonRolloutDisabled = "rollout_disabled"
	ReasonLocalOnly       = "intent_local_only"
	ReasonManual          = "policy_manual"
	ReasonStartFailed     = "start_failed" // followed by ": <reason>"
	// ReasonConfigError: the configuration could not be read, so nothing
	// was started (the daemon refuses to run on it too); followed by
	// ": <error>", the error naming the file, line and column.
	ReasonConfigError = "config_error"
)

// Outcome is the result of EnsureRunning.
type Outcome struct {
	Started        bool   `json:"started"`
	AlreadyRunning bool   `json:"already_running"`
	SkippedReason  string `json:"skipped_reason,omitempty"`
	PID            int    `json:"pid,omitempty"`
}

// Decision is what Decide concludes: start (or wake) the daemon, or skip with
// a reason.
type Decision struct {
	Start  bool
	Reason string
}

// Decide is the §6 matrix. policyFn is only called when the gate is on and the
// intent is remote, so a gate-off decision reads no configuration.
func Decide(gateOn bool, intent Intent, policyFn func() Policy) (Decision, error) {
	if !intent.Valid() {
		return Decision{}, fmt.Errorf("invalid intent %q: name local_only or remote_required", string(intent))
	}
	if !gateOn {
		return Decision{Reason: ReasonRolloutDisabled}, nil
	}
	if intent == LocalOnly {
		return Decision{Reason: ReasonLocalOnly}, nil
	}
	if !policyFn().Background() {
		return Decision{Reason: ReasonManual}, nil
	}
	return Decision{Start: true}, nil
}

// ManualNotice is printed by a remote-required command whose outcome is
// policy_manual (CONTRACTS.md §6, stable).
const ManualNotice = "Background sync is in manual mode (`[sync].background_daemon = \"manual\"`).\n" +
	"Run `spec-kitty sync run` to perform a one-shot remote sync.\n"
