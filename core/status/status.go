// Package status owns the sync status picture that every front-end shows —
// `spec-kitty sync status` (text and --json), `spec-kitty doctor`, the
// dashboard's sync panel and the tray menu: the rollout gate, the policy,
// local readiness, the daemon (from its state file), the last one-shot sync
// (<home>/last-sync), the offline queue's figures, malformed lines and
// per-repository warnings. Build assembles it once per request from Sources,
// functions the caller wires (like readiness.Probes), and the decisions
// every front-end shares — is the daemon failing, when did sync last run,
// running/stopped/manual — are methods here, made in one place.
//
// It reads only through its sources (HomeSources reads the state home's
// daemon state and last-sync files) and writes nothing. It must not import
// core/queue or core/hosted: the tray links neither, and it fills the queue
// figures from the daemon's state file (FromDaemon); the CLI and the
// dashboard fill them from the queue itself (core/status/fromqueue).
package status

import (
	"context"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

// Status is the sync status at one moment. Front-ends render it; none
// gathers any of it on its own.
type Status struct {
	// Gate is the rollout gate.
	Gate bool
	// Policy is `[sync].background_daemon`; policy.Default when ConfigErr
	// is set.
	Policy policy.Policy
	// ConfigErr is why config.toml could not be read ("" when it could).
	ConfigErr string
	// Readiness is local readiness (gate, session, host; the network probe
	// only when the caller's source runs it, as `doctor --probe` does).
	Readiness readiness.Result
	Daemon    Daemon
	// LastSync is the last successful one-shot sync (`sync run`, or the
	// tray's Sync now under the manual policy); zero when there was none.
	LastSync localapi.LastSync
	Queue    Queue
	// CheckedAt is when the status was built.
	CheckedAt time.Time
}

// Daemon is what the daemon's state file says.
type Daemon struct {
	// Running is true when the state file's PID is alive.
	Running bool
	// State is the last state file; zero when there is none. A state file
	// whose PID is dead (Running false) is a crashed daemon's leftover,
	// which still tells when it last synced and how it last failed.
	State localapi.State
	// Err is why the state file could not be read ("" when it could); the
	// daemon then counts as stopped.
	Err string
}

// Queue is the offline queue's figures. The CLI and the dashboard read them
// from queue.db (core/status/fromqueue); the tray, which links no SQLite,
// from the daemon's state file (FromDaemon), which carries only Depth and
// DeadLetters.
type Queue struct {
	// Present is set when the figures were read: queue.db exists, or the
	// daemon reported them.
	Present     bool
	Depth       int
	Retried     int
	DeadLetters int
	// OldestAge is the age of the oldest queued event (0 when none).
	OldestAge     time.Duration
	NextAttemptAt time.Time
	// LastError is the last upload error recorded in the queue.
	LastError string
	// Unmigrated: queue.db has only the Python CLI's layout; its events are
	// all kept and the next hosted writer migrates it.
	Unmigrated bool
	// Dead lists the most recent dead letters (at most DeadListMax).
	Dead []DeadLetter
	// Malformed is the number of malformed event lines the importer
	// skipped, over Files.
	Malformed int
	Files     []MalformedFile
	// RepoWarnings name registered repositories an import cannot read.
	RepoWarnings []string
	// Err is why the queue could not be read (nil when it could or when
	// there is none yet).
	Err error
}

// DeadListMax bounds Queue.Dead.
const DeadListMax = 20

// DeadLetter is one event the host refused for good. Its JSON is an entry
// of `sync status --json`'s dead_letter_events.
type DeadLetter struct {
	EventID  string    `json:"event_id"`
	Type     string    `json:"event_type"`
	Reason   string    `json:"reason"`
	FailedAt time.Time `json:"failed_at"`
}

// MalformedFile is an events file with malformed lines. Its JSON is an entry
// of `sync status --json`'s files_with_malformed_lines.
type MalformedFile struct {
	Path      string `json:"path"`
	Malformed int    `json:"malformed"`
	LastError string `json:"last_error"`
}

// Sources are the readers Build calls; each may be nil (that part stays
// zero). They are functions so callers wire the real files and a test wires
// a table.
type Sources struct {
	Gate func() bool
	// Policy reads `[sync].background_daemon`; an error becomes ConfigErr.
	Policy func() (policy.Policy, error)
	// Readiness evaluates readiness; nil means rollout_disabled with the
	// gate off and missing_auth with it on (no session can be read).
	Readiness func(ctx context.Context) readiness.Result
	// Daemon reads the daemon's state file (localapi.ReadState).
	Daemon func() (localapi.State, bool, error)
	// LastSync reads <home>/last-sync.
	LastSync func() (localapi.LastSync, error)
	// Queue reads the queue figures; it is given the daemon already read,
	// for a front-end that takes the figures from it (FromDaemon).
	Queue func(ctx context.Context, d Daemon) Queue
	Now   func() time.Time
}

// HomeSources reads the daemon state and last-sync files of home, and
// takes the queue figures from the daemon's state file. Callers add Gate,
// Policy and Readiness, and replace Queue when they can read queue.db.
func HomeSources(home paths.Home) Sources {
	return Sources{
		Daemon:   func() (localapi.State, bool, error) { return localapi.ReadState(home.DaemonState()) },
		LastSync: func() (localapi.LastSync, error) { return localapi.ReadLastSync(home.LastSync()) },
		Queue:    func(_ context.Context, d Daemon) Queue { return FromDaemon(d) },
	}
}

// FromDaemon is the queue figures the daemon last wrote in its state file.
// A crashed daemon's leftover counts: its events are still queued.
func FromDaemon(d Daemon) Queue {
	return Queue{Present: d.State.PID > 0, Depth: d.State.QueueDepth, DeadLetters: d.State.DeadLetters}
}

// Build reads every source once and returns the status.
func Build(ctx context.Context, src Sources) Status {
	var st Status
	if src.Now != nil {
		st.CheckedAt = src.Now().UTC()
	}
	st.Gate = src.Gate == nil || src.Gate()
	st.Policy = policy.Default
	if src.Policy != nil {
		if p, err := src.Policy(); err != nil {
			st.ConfigErr = err.Error()
		} else {
			st.Policy = p
		}
	}
	switch {
	case src.Readiness != nil:
		st.Readiness = src.Readiness(ctx)
	case !st.Gate:
		st.Readiness = readiness.Result{State: readiness.RolloutDisabled}
		st.Readiness.Message, st.Readiness.NextAction = readiness.Wording(readiness.RolloutDisabled)
	default:
		st.Readiness = readiness.Result{State: readiness.MissingAuth}
		st.Readiness.Message, st.Readiness.NextAction = readiness.Wording(readiness.MissingAuth)
	}
	if src.Daemon != nil {
		ds, running, err := src.Daemon()
		if err != nil {
			st.Daemon = Daemon{Err: err.Error()}
		} else {
			st.Daemon = Daemon{Running: running, State: ds}
		}
	}
	if src.LastSync != nil {
		if ls, err := src.LastSync(); err == nil {
			st.LastSync = ls
		}
	}
	if src.Queue != nil {
		st.Queue = src.Queue(ctx, st.Daemon)
	}
	return st
}

// DaemonMode is how the daemon stands: running, stopped, or manual (not
// running because the policy is manual).
type DaemonMode string

// The daemon modes (the dashboard's wire values).
const (
	DaemonRunning DaemonMode = "running"
	DaemonStopped DaemonMode = "stopped"
	DaemonManual  DaemonMode = "manual"
)

// Mode is the daemon's mode.
func (s Status) Mode() DaemonMode {
	switch {
	case s.Daemon.Running:
		return DaemonRunning
	case !s.Policy.Background():
		return DaemonManual
	}
	return DaemonStopped
}

// LastSyncAt is when sync last succeeded, by the daemon (a crashed
// daemon's leftover counts: it did sync then) or by a one-shot sync,
// whichever is later; zero when never.
func (s Status) LastSyncAt() time.Time {
	last := s.Daemon.State.LastSyncAt
	if s.LastSync.At.After(last) {
		last = s.LastSync.At
	}
	return last
}

// OneShotNewer reports whether the last one-shot sync is news next to what
// a running daemon reports: there is one, and no daemon runs or the daemon
// last synced before it.
func (s Status) OneShotNewer() bool {
	if s.LastSync.At.IsZero() {
		return false
	}
	return !s.Daemon.Running || s.LastSync.At.After(s.Daemon.State.LastSyncAt)
}

// Failing reports whether a running daemon's last cycle failed. A daemon that
// keeps last_error after a later successful cycle (a sync newer than the error
// and no consecutive failures) is not failing.
func (d Daemon) Failing() bool {
	st := d.State
	if !d.Running || st.LastError == "" {
		return false
	}
	recovered := st.ConsecutiveFailures == 0 && !st.LastErrorAt.IsZero() && st.LastSyncAt.After(st.LastErrorAt)
	return !recovered
}

// WaitingForLogin reports whether a running daemon waits for `spec-kitty
// auth login` (the host refused its session).
func (d Daemon) WaitingForLogin() bool { return d.Running && d.State.AuthMissing }

// UnmigratedNote explains a queue only the Python CLI has written, which
// read-only front-ends read as it is (issue 16).
const UnmigratedNote = "written by the Python CLI, not yet upgraded: nothing is lost; the next `spec-kitty sync run` upgrades and uploads it"
