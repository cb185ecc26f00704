// Package rollout owns the stealth-rollout gate for the hosted SaaS surface.
//
// The gate is read at call time from an injected getenv, never cached and never
// read in init, so tests and long-running processes always see the current
// environment. It imports only the standard library.
package rollout

import "strings"

// EnvVar is the environment variable that opts a machine into hosted sync.
const EnvVar = "SPEC_KITTY_ENABLE_SAAS_SYNC"

// ServiceRunLine is the one line `spec-kitty service run` prints, and the
// daemon logs, with the gate off (CONTRACTS.md §2). It is deliberately
// neutral: it names nothing of the hosted surface. The disabled message of
// every other hosted code path is readiness.DisabledMessage, derived from
// the readiness wording table.
const ServiceRunLine = "rollout disabled"

// Enabled reports whether the gate is on: the trimmed, case-folded value of
// EnvVar is one of 1, true, yes, on. Anything else, including unset, is off.
func Enabled(getenv func(string) string) bool {
	if getenv == nil {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(getenv(EnvVar))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
