// Package readiness decides which prerequisite of a hosted command is missing
// (CONTRACTS.md §4). It owns the states, their order and their wording — the
// one place those strings live. It performs no I/O of its own: the caller wires
// the checks as Probes, so the evaluator is table-tested with plain functions.
// It imports only the standard library.
package readiness

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// State is a readiness outcome; its value is the wire code.
type State string

// States in check order.
const (
	RolloutDisabled       State = "rollout_disabled"
	MissingAuth           State = "missing_auth"
	MissingHostConfig     State = "missing_host_config"
	HostUnreachable       State = "host_unreachable"
	MissingMissionBinding State = "missing_mission_binding"
	Ready                 State = "ready"
)

// States lists every state in check order.
var States = []State{RolloutDisabled, MissingAuth, MissingHostConfig, HostUnreachable, MissingMissionBinding, Ready}

// ProbeTimeout is the one total deadline of the reachability check.
const ProbeTimeout = 2 * time.Second

// wording is the stable text of CONTRACTS.md §4; {host} and {mission} are
// substituted when a result is built.
var wording = [...]struct {
	state      State
	invalid    bool // the variant for a host URL that is set but unusable
	message    string
	nextAction string
}{
	{RolloutDisabled, false, "Hosted SaaS sync is not enabled on this machine.", "Set `SPEC_KITTY_ENABLE_SAAS_SYNC=1` to opt in."},
	{MissingAuth, false, "No SaaS authentication token is present.", "Run `spec-kitty auth login`."},
	{MissingHostConfig, false, "No SaaS host URL is configured.", "Set `SPEC_KITTY_SAAS_URL` in your environment."},
	// A URL that is set but cannot be used (not https on a non-loopback
	// host, not a URL, an unreadable config.toml) keeps the state but must
	// not claim nothing is configured: it names the URL and what is wrong.
	{MissingHostConfig, true, "The SaaS host URL setting is invalid: {error}.", "Set `SPEC_KITTY_SAAS_URL` (or `[sync].server_url`) to an https:// URL; http:// is only for a loopback host."},
	{HostUnreachable, false, "The configured SaaS host did not respond within 2 seconds.", "Check network connectivity to `{host}` and retry."},
	{MissingMissionBinding, false, "No tracker binding exists for feature `{mission}`.", "Run `spec-kitty tracker bind` from this repo."},
}

// Wording returns the message and next-action templates of s (empty for Ready).
func Wording(s State) (message, nextAction string) {
	return wordingOf(s, false)
}

// InvalidHostWording returns the message and next-action templates of
// missing_host_config for a host URL that is set but unusable; {error} says
// what is wrong.
func InvalidHostWording() (message, nextAction string) {
	return wordingOf(MissingHostConfig, true)
}

// DisabledMessage is what a hosted code path reached with the gate off says
// (CONTRACTS.md §2): the rollout_disabled message and next action on one
// line. It is derived from the wording table so the text lives only there.
func DisabledMessage() string {
	message, nextAction := Wording(RolloutDisabled)
	return message + " " + nextAction
}

func wordingOf(s State, invalid bool) (message, nextAction string) {
	for _, w := range wording {
		if w.state == s && w.invalid == invalid {
			return w.message, w.nextAction
		}
	}
	return "", ""
}

// Result is the outcome of Evaluate. Ready has an empty Message and
// NextAction; every other state has both.
type Result struct {
	State      State             `json:"state"`
	Message    string            `json:"message,omitempty"`
	NextAction string            `json:"next_action,omitempty"`
	Details    map[string]string `json:"details,omitempty"`
}

// OK reports whether the result is Ready.
func (r Result) OK() bool { return r.State == Ready }

// Options say which checks a command needs (its row in CONTRACTS.md §4).
// The gate is always checked.
type Options struct {
	RequireAuth    bool
	RequireHost    bool
	Probe          bool
	RequireBinding bool
	// Mission is the resolved mission slug used in the binding message.
	Mission string
}

// Probes are the checks, wired by the caller. A nil probe counts as failing
// its check, so a forgotten wire-up cannot report ready.
type Probes struct {
	// Gate reports whether the rollout gate is on.
	Gate func() bool
	// Host returns the resolved host URL, "" when none is configured, or an
	// error for a configured but invalid URL.
	Host func(ctx context.Context) (string, error)
	// Auth reports whether a usable session exists for host ("" when no host
	// resolves: then any stored session counts).
	Auth func(ctx context.Context, host string) (bool, error)
	// Reach performs one reachability request to host within ctx's deadline.
	Reach func(ctx context.Context, host string) error
	// Binding reports whether the repo has a tracker binding.
	Binding func(ctx context.Context) (bool, error)
}

// Evaluate runs the checks asked for by opts in contract order and returns the
// first failing state, or Ready. It never panics and never returns an error: a
// panicking or failing probe yields HostUnreachable with Details["error"].
func Evaluate(ctx context.Context, opts Options, p Probes) Result {
	gate, perr := call1(func() bool { return p.Gate != nil && p.Gate() })
	if perr != "" {
		return failed("gate", perr, "")
	}
	if !gate {
		return build(RolloutDisabled, "", opts.Mission, nil)
	}

	var host string
	var hostErr error
	if opts.RequireAuth || opts.RequireHost || opts.Probe {
		if p.Host == nil {
			host, hostErr = "", nil
		} else if perr := protect(func() { host, hostErr = p.Host(ctx) }); perr != "" {
			return failed("host", perr, "")
		}
	}

	if opts.RequireAuth {
		var ok bool
		var err error
		if p.Auth != nil {
			if perr := protect(func() { ok, err = p.Auth(ctx, host) }); perr != "" {
				return failed("auth", perr, host)
			}
		}
		if err != nil {
			return failed("auth", err.Error(), host)
		}
		if !ok {
			return build(MissingAuth, host, opts.Mission, nil)
		}
	}

	if opts.RequireHost || opts.Probe {
		if hostErr != nil {
			msg, next := InvalidHostWording()
			why := strings.TrimSuffix(hostErr.Error(), ".")
			return Result{State: MissingHostConfig, Message: strings.ReplaceAll(msg, "{error}", why), NextAction: next,
				Details: map[string]string{"error": hostErr.Error()}}
		}
		if host == "" {
			return build(MissingHostConfig, "", opts.Mission, nil)
		}
	}

	if opts.Probe {
		var err error
		pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
		perr := protect(func() {
			if p.Reach == nil {
				err = fmt.Errorf("no reachability probe")
				return
			}
			err = p.Reach(pctx, host)
		})
		cancel()
		if perr != "" {
			return failed("reach", perr, host)
		}
		if err != nil {
			return build(HostUnreachable, host, opts.Mission, map[string]string{"error": err.Error()})
		}
	}

	if opts.RequireBinding {
		var ok bool
		var err error
		if p.Binding != nil {
			if perr := protect(func() { ok, err = p.Binding(ctx) }); perr != "" {
				return failed("binding", perr, host)
			}
		}
		if err != nil {
			return failed("binding", err.Error(), host)
		}
		if !ok {
			return build(MissingMissionBinding, host, opts.Mission, nil)
		}
	}
	return Result{State: Ready}
}

// build renders the wording of s.
func build(s State, host, mission string, details map[string]string) Result {
	msg, next := Wording(s)
	if mission == "" {
		mission = "unknown"
	}
	if host == "" {
		host = "the SaaS host"
	}
	r := strings.NewReplacer("{host}", host, "{mission}", mission)
	return Result{State: s, Message: r.Replace(msg), NextAction: r.Replace(next), Details: details}
}

// failed is the contract's answer to a probe that errs or panics.
func failed(probe, why, host string) Result {
	return build(HostUnreachable, host, "", map[string]string{"error": probe + " probe: " + why})
}

func call1(f func() bool) (v bool, perr string) {
	perr = protect(func() { v = f() })
	return v, perr
}

// protect runs f and converts a panic into its description.
func protect(f func()) (perr string) {
	defer func() {
		if r := recover(); r != nil {
			perr = fmt.Sprintf("panic: %v", r)
		}
	}()
	f()
	return ""
}
