package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/core/status/fromqueue"
)

// syncStatus is GET /api/sync/status, the JSON rendering of the sync
// status (core/status); fields are only ever added. It holds no secret: the
// session is reduced to the readiness state.
type syncStatus struct {
	Readiness   readiness.Result `json:"readiness"`
	Policy      string           `json:"policy"`
	PolicyError string           `json:"policy_error,omitempty"`
	Daemon      daemonStatus     `json:"daemon"`
	Queue       queueStatus      `json:"queue"`
	CheckedAt   time.Time        `json:"checked_at"`
	// LastOneShot is when the last `sync run` (the tray's Sync now under
	// manual) succeeded: under manual no daemon records a last sync.
	LastOneShot *time.Time `json:"last_one_shot_sync_at,omitempty"`
	// Display is the panel's text, field by field, so the page script and
	// the server-rendered panel word everything the same way.
	Display map[string]string `json:"display"`
	// Tone is the panel's overall look: ok, busy, warn, error.
	Tone string `json:"tone"`
}

type daemonStatus struct {
	State       status.DaemonMode `json:"state"`
	PID         int               `json:"pid,omitempty"`
	StartedAt   *time.Time        `json:"started_at,omitempty"`
	LastSyncAt  *time.Time        `json:"last_sync_at,omitempty"`
	LastError   string            `json:"last_error,omitempty"`
	LastErrorAt *time.Time        `json:"last_error_at,omitempty"`
	// LastErrorMessage and LastErrorNext word LastError as the CLI words a
	// readiness failure (see localapi.State.ErrorWording).
	LastErrorMessage    string `json:"last_error_message,omitempty"`
	LastErrorNext       string `json:"last_error_next,omitempty"`
	ConsecutiveFailures int    `json:"consecutive_failures"`
	Delivered           int64  `json:"delivered"`
	AuthMissing         bool   `json:"auth_missing,omitempty"`
	Error               string `json:"error,omitempty"` // the state file could not be read
}

type queueStatus struct {
	Present     bool   `json:"present"` // queue.db exists
	Depth       int    `json:"depth"`
	DeadLetters int    `json:"dead_letters"`
	Retrying    int    `json:"retrying"`
	LastError   string `json:"last_error,omitempty"`
	Error       string `json:"error,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// status is the sync status of one request: Config.Status, else built from
// local sources only — readiness without the network probe, the daemon's
// state file, the last-sync file, the policy and the queue (read-only). It
// starts nothing and creates nothing.
func (s *Server) status(ctx context.Context) status.Status {
	if s.cfg.Status != nil {
		return s.cfg.Status(ctx)
	}
	src := status.Sources{Policy: s.cfg.Policy, Readiness: s.cfg.Readiness, Now: s.cfg.Now}
	if s.cfg.Home != nil {
		if h, err := s.cfg.Home(); err != nil {
			src.Daemon = func() (localapi.State, bool, error) { return localapi.State{}, false, err }
		} else {
			hs := status.HomeSources(h)
			src.Daemon, src.LastSync = hs.Daemon, hs.LastSync
			src.Queue = fromqueue.Source(h.Queue(), queue.Options{})
		}
	}
	return status.Build(ctx, src)
}

// syncView renders st as GET /api/sync/status.
func syncView(st status.Status) syncStatus {
	out := syncStatus{Readiness: st.Readiness, Policy: string(st.Policy), PolicyError: st.ConfigErr, CheckedAt: st.CheckedAt,
		LastOneShot: timePtr(st.LastSync.At)}
	d := &out.Daemon
	d.State, d.Error = st.Mode(), st.Daemon.Err
	if ds := st.Daemon.State; st.Daemon.Err == "" {
		if st.Daemon.Running {
			d.PID, d.StartedAt, d.Delivered, d.AuthMissing = ds.PID, timePtr(ds.StartedAt), ds.Delivered, ds.AuthMissing
		}
		// A dead daemon's leftover still tells when it last synced.
		d.LastSyncAt, d.LastError, d.LastErrorAt = timePtr(ds.LastSyncAt), ds.LastError, timePtr(ds.LastErrorAt)
		if ds.LastErrorState != "" || ds.LastErrorStatus > 0 {
			d.LastErrorMessage, d.LastErrorNext = ds.ErrorWording()
		}
		d.ConsecutiveFailures = ds.ConsecutiveFailures
	}
	q := st.Queue
	out.Queue = queueStatus{Present: q.Present, Depth: q.Depth, DeadLetters: q.DeadLetters, Retrying: q.Retried, LastError: q.LastError}
	if q.Err != nil {
		out.Queue = queueStatus{Present: q.Present, Error: q.Err.Error()}
	}
	out.Display, out.Tone = display(st)
	return out
}

// display words the panel. Keys are the data-field names of sync.html.
func display(st status.Status) (map[string]string, string) {
	d := map[string]string{}
	tone := "ok"
	if st.Readiness.OK() {
		d["readiness"] = "Ready"
		d["readiness_action"] = ""
	} else {
		d["readiness"] = st.Readiness.Message
		d["readiness_action"] = st.Readiness.NextAction
		tone = "warn"
	}
	d["policy"] = string(st.Policy)
	if st.ConfigErr != "" {
		d["policy"] = "unreadable: " + st.ConfigErr
		tone = "error"
	}
	ds := st.Daemon.State
	switch st.Mode() {
	case status.DaemonRunning:
		d["daemon"] = "running"
		if st.Daemon.WaitingForLogin() {
			d["daemon"] = "running, waiting for `spec-kitty auth login`"
			if tone == "ok" {
				tone = "warn"
			}
		}
		d["pid"] = strconv.Itoa(ds.PID)
	case status.DaemonManual:
		d["daemon"] = "manual (not started automatically)"
		d["pid"] = "—"
	default:
		d["daemon"] = "stopped"
		d["pid"] = "—"
	}
	if st.Daemon.Err != "" {
		d["daemon"] += " (state unreadable: " + st.Daemon.Err + ")"
	}
	d["last_sync"] = when(st.LastSyncAt())
	d["last_error"] = "none"
	if ds.LastError != "" {
		d["last_error"] = ds.LastError
		if ds.LastErrorState != "" || ds.LastErrorStatus > 0 {
			msg, next := ds.ErrorWording()
			d["last_error"] = msg + " " + next
		}
		if !ds.LastErrorAt.IsZero() {
			d["last_error"] += " (" + when(ds.LastErrorAt.UTC()) + ")"
		}
	}
	d["failures"] = strconv.Itoa(ds.ConsecutiveFailures)
	if ds.ConsecutiveFailures > 0 && tone == "ok" {
		tone = "error"
	}
	d["delivered"] = "—"
	if st.Daemon.Running {
		d["delivered"] = plural(int(ds.Delivered), "event", "events") + " since the daemon started"
	}
	q := st.Queue
	switch {
	case q.Err != nil:
		d["queue_depth"] = "unreadable: " + q.Err.Error()
		d["dead_letters"] = "—"
	case !q.Present:
		d["queue_depth"] = "empty (no queue yet)"
		d["dead_letters"] = "0"
	default:
		d["queue_depth"] = plural(q.Depth, "event", "events") + " waiting"
		if q.Retried > 0 {
			d["queue_depth"] += fmt.Sprintf(" (%d retrying)", q.Retried)
		}
		d["dead_letters"] = strconv.Itoa(q.DeadLetters)
		if q.DeadLetters > 0 && tone == "ok" {
			tone = "warn"
		}
	}
	if tone == "ok" && st.Daemon.Running && q.Depth > 0 {
		tone = "busy"
	}
	// Manual mode with events waiting is not "all good": nothing uploads
	// them until someone runs a one-shot sync. Say so, in amber.
	if st.Mode() == status.DaemonManual && q.Depth > 0 {
		d["daemon"] = "manual mode: " + plural(q.Depth, "event", "events") + " waiting"
		d["manual_hint"] = "Run `spec-kitty sync run` to upload them, or turn automatic background sync on."
		if tone == "ok" || tone == "busy" {
			tone = "warn"
		}
	} else {
		d["manual_hint"] = ""
	}
	return d, tone
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// syncPanel is the server-rendered panel; the script then keeps it fresh.
type syncPanel struct {
	Display      map[string]string
	Tone         string
	Daemon       string
	Delivered    int64
	QueueDepth   int
	ManualNotice string
}

func panelOf(st status.Status) *syncPanel {
	d, tone := display(st)
	return &syncPanel{Display: d, Tone: tone, Daemon: string(st.Mode()), Delivered: st.Daemon.State.Delivered,
		QueueDepth: st.Queue.Depth, ManualNotice: strings.TrimSpace(policy.ManualNotice)}
}

func (s *Server) handleSyncStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, syncView(s.status(r.Context())))
}

// Answers of POST /api/sync (CONTRACTS.md §6, issue 8).
const (
	SyncScheduled   = "scheduled"
	SyncSkipped     = "skipped"
	SyncUnavailable = "unavailable"
)

type syncNowAnswer struct {
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// syncNowTimeout bounds "Sync now": the launcher waits up to 5 s for a
// started daemon; a closed browser tab must not abort a start half-way.
const syncNowTimeout = 15 * time.Second

// handleSyncNow is the "Sync now" call site of CONTRACTS.md §6 (intent
// remote_required): local readiness first, then EnsureRunning, which starts
// or wakes the daemon under the auto policy. It answers 202 scheduled, 202
// skipped/policy_manual (with one INFO log line) or 503 unavailable, and
// never takes the server down.
func (s *Server) handleSyncNow(w http.ResponseWriter, r *http.Request) {
	if !s.gateOn() {
		httpError(w, http.StatusNotFound, "not found")
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("sync now failed", "panic", fmt.Sprint(v))
			writeJSON(w, http.StatusServiceUnavailable, syncNowAnswer{Status: SyncUnavailable, Reason: "internal_error"})
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), syncNowTimeout)
	defer cancel()
	if s.cfg.Readiness == nil {
		writeJSON(w, http.StatusServiceUnavailable, syncNowAnswer{Status: SyncUnavailable, Reason: "not_configured"})
		return
	}
	if res := s.cfg.Readiness(ctx); !res.OK() {
		writeJSON(w, http.StatusServiceUnavailable, syncNowAnswer{Status: SyncUnavailable, Reason: string(res.State),
			Message: strings.TrimSpace(res.Message + " " + res.NextAction)})
		return
	}
	if s.cfg.Policy != nil {
		if _, err := s.cfg.Policy(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, syncNowAnswer{Status: SyncUnavailable, Reason: "config_error", Message: err.Error()})
			return
		}
	}
	out := s.cfg.Launcher.EnsureRunning(ctx, policy.RemoteRequired)
	switch {
	case out.Started || out.AlreadyRunning:
		if err := s.registerRepo(ctx); err != nil {
			s.log.Warn("sync now: register the repository for import", "error", err.Error())
		}
		writeJSON(w, http.StatusAccepted, syncNowAnswer{Status: SyncScheduled})
	case out.SkippedReason == policy.ReasonManual:
		s.log.Info("sync now skipped: background sync is in manual mode", "reason", policy.ReasonManual)
		writeJSON(w, http.StatusAccepted, syncNowAnswer{Status: SyncSkipped, Reason: policy.ReasonManual})
	default:
		reason := out.SkippedReason
		if reason == "" {
			reason = "unknown"
		}
		s.log.Warn("sync now unavailable", "reason", reason)
		writeJSON(w, http.StatusServiceUnavailable, syncNowAnswer{Status: SyncUnavailable, Reason: reason})
	}
}

// registerRepo makes sure the daemon imports this repository, as `sync run`
// does for the repository it runs in: it sends the repository with a wake
// request over the local API (CONTRACTS.md §7), and the daemon registers it
// in its queue. It runs only after EnsureRunning started or woke the
// daemon; the dashboard itself never writes the queue.
func (s *Server) registerRepo(ctx context.Context) error {
	if s.cfg.Home == nil || s.cfg.Repo == "" {
		return nil
	}
	h, err := s.cfg.Home()
	if err != nil {
		return err
	}
	added, err := localapi.NewClient(h.DaemonSocket()).SyncRepo(ctx, s.cfg.Repo)
	if err != nil {
		return fmt.Errorf("ask the daemon to import the repository: %w", err)
	}
	if added {
		s.log.Info("sync now: the daemon imports this repository from now on", "repo", s.cfg.Repo)
	}
	return nil
}
