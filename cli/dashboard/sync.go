package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

// Daemon states shown by the sync panel.
const (
	DaemonRunning = "running"
	DaemonStopped = "stopped"
	DaemonManual  = "manual" // not running because the policy is manual
)

// syncStatus is GET /api/sync/status; fields are only ever added. It holds
// no secret: the session is reduced to the readiness state.
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
	State       string     `json:"state"`
	PID         int        `json:"pid,omitempty"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	LastSyncAt  *time.Time `json:"last_sync_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
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

// queueHandle is the read-mostly queue connection, opened on first need and
// only if queue.db exists: the dashboard never creates the queue.
func (s *Server) queueStats(ctx context.Context, path string) queueStatus {
	// Read-only and per request: the dashboard writes nothing in the state
	// home for a read, and a fresh open always sees the daemon's latest.
	q, err := queue.Open(ctx, path, queue.Options{ReadOnly: true})
	if errors.Is(err, fs.ErrNotExist) {
		return queueStatus{}
	}
	if err != nil {
		return queueStatus{Error: err.Error()}
	}
	defer q.Close()
	st, err := q.Stats(ctx)
	if err != nil {
		return queueStatus{Present: true, Error: err.Error()}
	}
	return queueStatus{Present: true, Depth: st.Depth, DeadLetters: st.DeadLetters, Retrying: st.Retried, LastError: st.LastError}
}

// syncStatus gathers the panel from local sources only: readiness without
// the network probe, the daemon's state file, the policy and the queue.
// It starts nothing and creates nothing.
func (s *Server) syncStatus(ctx context.Context) syncStatus {
	st := syncStatus{CheckedAt: s.cfg.Now().UTC()}
	if s.cfg.Readiness != nil {
		st.Readiness = s.cfg.Readiness(ctx)
	} else {
		st.Readiness = readiness.Result{State: readiness.MissingAuth}
		st.Readiness.Message, st.Readiness.NextAction = readiness.Wording(readiness.MissingAuth)
	}
	pol := policy.Default
	if s.cfg.Policy != nil {
		p, err := s.cfg.Policy()
		if err != nil {
			st.PolicyError = err.Error()
		} else {
			pol = p
		}
	}
	st.Policy = string(pol)

	st.Daemon.State = DaemonStopped
	if !pol.Background() {
		st.Daemon.State = DaemonManual
	}
	if s.cfg.Home != nil {
		h, err := s.cfg.Home()
		if err != nil {
			st.Daemon.Error = err.Error()
		} else {
			ds, running, err := localapi.ReadState(h.DaemonState())
			switch {
			case err != nil:
				st.Daemon.Error = err.Error()
			case running:
				st.Daemon.State = DaemonRunning
				st.Daemon.PID = ds.PID
				st.Daemon.StartedAt = timePtr(ds.StartedAt)
				st.Daemon.Delivered = ds.Delivered
				st.Daemon.AuthMissing = ds.AuthMissing
				fallthrough
			default:
				// A dead daemon's leftover still tells when it last synced.
				st.Daemon.LastSyncAt = timePtr(ds.LastSyncAt)
				st.Daemon.LastError = ds.LastError
				st.Daemon.LastErrorAt = timePtr(ds.LastErrorAt)
				if ds.LastErrorState != "" || ds.LastErrorStatus > 0 {
					st.Daemon.LastErrorMessage, st.Daemon.LastErrorNext = ds.ErrorWording()
				}
				st.Daemon.ConsecutiveFailures = ds.ConsecutiveFailures
			}
			st.Queue = s.queueStats(ctx, h.Queue())
			if ls, err := localapi.ReadLastSync(h.LastSync()); err == nil {
				st.LastOneShot = timePtr(ls.At)
			}
		}
	}
	st.Display, st.Tone = display(st)
	return st
}

// display words the panel. Keys are the data-field names of sync.html.
func display(st syncStatus) (map[string]string, string) {
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
	d["policy"] = st.Policy
	if st.PolicyError != "" {
		d["policy"] = "unreadable: " + st.PolicyError
		tone = "error"
	}
	switch st.Daemon.State {
	case DaemonRunning:
		d["daemon"] = "running"
		if st.Daemon.AuthMissing {
			d["daemon"] = "running, waiting for `spec-kitty auth login`"
			if tone == "ok" {
				tone = "warn"
			}
		}
		d["pid"] = strconv.Itoa(st.Daemon.PID)
	case DaemonManual:
		d["daemon"] = "manual (not started automatically)"
		d["pid"] = "—"
	default:
		d["daemon"] = "stopped"
		d["pid"] = "—"
	}
	if st.Daemon.Error != "" {
		d["daemon"] += " (state unreadable: " + st.Daemon.Error + ")"
	}
	last := deref(st.Daemon.LastSyncAt)
	if one := deref(st.LastOneShot); one.After(last) {
		last = one
	}
	d["last_sync"] = when(last)
	d["last_error"] = "none"
	if st.Daemon.LastError != "" {
		d["last_error"] = st.Daemon.LastError
		if st.Daemon.LastErrorMessage != "" {
			d["last_error"] = st.Daemon.LastErrorMessage + " " + st.Daemon.LastErrorNext
		}
		if st.Daemon.LastErrorAt != nil {
			d["last_error"] += " (" + when(*st.Daemon.LastErrorAt) + ")"
		}
	}
	d["failures"] = strconv.Itoa(st.Daemon.ConsecutiveFailures)
	if st.Daemon.ConsecutiveFailures > 0 && tone == "ok" {
		tone = "error"
	}
	d["delivered"] = "—"
	if st.Daemon.State == DaemonRunning {
		d["delivered"] = plural(int(st.Daemon.Delivered), "event", "events") + " since the daemon started"
	}
	switch {
	case st.Queue.Error != "":
		d["queue_depth"] = "unreadable: " + st.Queue.Error
		d["dead_letters"] = "—"
	case !st.Queue.Present:
		d["queue_depth"] = "empty (no queue yet)"
		d["dead_letters"] = "0"
	default:
		d["queue_depth"] = plural(st.Queue.Depth, "event", "events") + " waiting"
		if st.Queue.Retrying > 0 {
			d["queue_depth"] += fmt.Sprintf(" (%d retrying)", st.Queue.Retrying)
		}
		d["dead_letters"] = strconv.Itoa(st.Queue.DeadLetters)
		if st.Queue.DeadLetters > 0 && tone == "ok" {
			tone = "warn"
		}
	}
	if tone == "ok" && st.Daemon.State == DaemonRunning && st.Queue.Depth > 0 {
		tone = "busy"
	}
	// Manual mode with events waiting is not "all good": nothing uploads
	// them until someone runs a one-shot sync. Say so, in amber.
	if st.Daemon.State == DaemonManual && st.Queue.Depth > 0 {
		d["daemon"] = "manual mode: " + plural(st.Queue.Depth, "event", "events") + " waiting"
		d["manual_hint"] = "Run `spec-kitty sync run` to upload them, or turn automatic background sync on."
		if tone == "ok" || tone == "busy" {
			tone = "warn"
		}
	} else {
		d["manual_hint"] = ""
	}
	return d, tone
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
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

func panelOf(st syncStatus) *syncPanel {
	return &syncPanel{Display: st.Display, Tone: st.Tone, Daemon: st.Daemon.State, Delivered: st.Daemon.Delivered,
		QueueDepth: st.Queue.Depth, ManualNotice: strings.TrimSpace(policy.ManualNotice)}
}

func (s *Server) handleSyncStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.syncStatus(r.Context()))
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
