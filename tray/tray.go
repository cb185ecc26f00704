// Package tray is the pure model of the tray companion (CONTRACTS.md §11):
// from the sync status (core/status: the rollout gate, the policy, local
// readiness, the daemon's state, the queue figures) and the clock it
// computes the icon look, the tooltip, the status line and the menu. It performs no I/O, starts nothing and keeps no
// hidden state: the only memory it has, the first-seen time of the current
// daemon error, is an ErrorTrack value that the caller passes back in.
// tray/app gathers the inputs and draws the result with fyne.io/systray.
package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
)

// Look is one of the at most five icons of the tray; its value names the
// icon file.
type Look string

// The looks (CONTRACTS.md §11).
const (
	// Ready: background sync is on, the daemon runs and nothing is wrong.
	Ready Look = "ready"
	// Manual: the operator turned background sync off.
	Manual Look = "manual"
	// Attention: the user must act (a readiness state other than ready, a
	// refused session, dead letters, an unreadable config).
	Attention Look = "attention"
	// Error: the daemon's last cycles failed for at least ErrorHold.
	Error Look = "error"
	// Stopped: background sync is on but no daemon runs (or the gate is off).
	Stopped Look = "stopped"
)

// Looks lists every look.
var Looks = []Look{Ready, Manual, Attention, Error, Stopped}

// ErrorHold is how long a failing daemon cycle must persist before the Error
// look shows, so one transient failure does not make the icon flap.
const ErrorHold = 30 * time.Second

// NoteFor is how long the outcome of a menu action stays in the status line.
const NoteFor = time.Minute

// Title is the item's title (shown by some tray hosts next to the icon).
const Title = "Spec Kitty Sync"

// ItemID names a menu item; the menu always has every item, in this order.
type ItemID string

// Menu items (CONTRACTS.md §11).
const (
	ItemStatus    ItemID = "status"
	ItemSyncNow   ItemID = "sync_now"
	ItemAutoSync  ItemID = "auto_sync"
	ItemDashboard ItemID = "dashboard"
	ItemLogin     ItemID = "login"
	ItemQuit      ItemID = "quit"
)

// ItemIDs lists the menu items in menu order.
var ItemIDs = []ItemID{ItemStatus, ItemSyncNow, ItemAutoSync, ItemDashboard, ItemLogin, ItemQuit}

// Fixed labels of the menu items (the status item's label is the status line).
const (
	LabelSyncNow   = "Sync now"
	LabelAutoSync  = "Automatic background sync"
	LabelDashboard = "Open dashboard"
	LabelLogin     = "Log in…"
	LabelQuit      = "Quit"
)

// Action is the menu action in flight and the outcome of the last one.
type Action struct {
	// Busy is the status line while an action runs ("Syncing…"); "" when
	// none runs.
	Busy string
	// Note is the last action's outcome, shown until NoteUntil.
	Note      string
	NoteUntil time.Time
}

// Input is everything the model looks at.
type Input struct {
	// Status is the sync status. main exits before showing anything when
	// its gate is off; the model still answers sensibly. Its Policy is
	// ignored when ConfigErr is set; its Readiness is local (gate, auth,
	// host; never the probe).
	Status status.Status
	// Errors is the tracked daemon error, from Track.
	Errors ErrorTrack
	Action Action
	Now    time.Time
}

// Item is one menu item as the model wants it drawn.
type Item struct {
	ID        ItemID
	Label     string
	Visible   bool
	Enabled   bool
	Checkable bool
	Checked   bool
}

// View is the model's output.
type View struct {
	Look       Look
	Title      string
	Tooltip    string
	StatusLine string
	Items      []Item
}

// Item returns the item with id (the zero Item when absent).
func (v View) Item(id ItemID) Item {
	for _, it := range v.Items {
		if it.ID == id {
			return it
		}
	}
	return Item{}
}

// ErrorTrack remembers since when the daemon has been failing.
type ErrorTrack struct {
	// Message is the daemon's current last_error ("" when none).
	Message string
	// Since is when the tray first saw the current run of failures.
	Since time.Time
	// Observed is set once the tray has looked at the daemon at all.
	Observed bool
}

// Track returns the error track after observing d at now. The first-seen
// time survives a change of message: it is the failing that must persist,
// not one wording of it. ErrorHold keeps one transient failure from making
// the icon flap while the tray watches; a daemon already failing when the
// tray first looks has failed for longer than the tray knows, so that error
// counts as held already and shows at once (a fresh tray never shows green
// over a failing daemon).
func Track(prev ErrorTrack, d status.Daemon, now time.Time) ErrorTrack {
	if !d.Failing() {
		return ErrorTrack{Observed: true}
	}
	if !prev.Observed {
		return ErrorTrack{Message: d.State.LastError, Since: now.Add(-ErrorHold), Observed: true}
	}
	if prev.Message == "" {
		return ErrorTrack{Message: d.State.LastError, Since: now, Observed: true}
	}
	return ErrorTrack{Message: d.State.LastError, Since: prev.Since, Observed: true}
}

// Visible reports whether the tracked error has persisted for ErrorHold.
func (t ErrorTrack) Visible(now time.Time) bool {
	return t.Message != "" && now.Sub(t.Since) >= ErrorHold
}

// Build computes the view for in.
func Build(in Input) View {
	look, phrase, line := decide(in)
	if in.Action.Busy != "" {
		line = in.Action.Busy
	} else if in.Action.Note != "" && in.Now.Before(in.Action.NoteUntil) {
		line = in.Action.Note
	}
	st := in.Status
	tooltip := Title + ": " + phrase
	if st.Gate && st.Queue.Depth > 0 {
		tooltip += fmt.Sprintf(" (%s queued)", plural(st.Queue.Depth, "event"))
	}

	usable := st.Gate && st.ConfigErr == "" && st.Readiness.State != readiness.RolloutDisabled
	authMissing := st.Gate && (st.Readiness.State == readiness.MissingAuth || st.Daemon.WaitingForLogin())
	idle := in.Action.Busy == ""
	return View{
		Look:       look,
		Title:      Title,
		Tooltip:    tooltip,
		StatusLine: line,
		Items: []Item{
			{ID: ItemStatus, Label: line, Visible: true},
			{ID: ItemSyncNow, Label: LabelSyncNow, Visible: true,
				Enabled: usable && st.Readiness.OK() && !authMissing && idle},
			{ID: ItemAutoSync, Label: LabelAutoSync, Visible: true, Checkable: true,
				Enabled: usable, Checked: usable && st.Policy.Background()},
			{ID: ItemDashboard, Label: LabelDashboard, Visible: true, Enabled: true},
			{ID: ItemLogin, Label: LabelLogin, Visible: authMissing && usable, Enabled: authMissing && usable && idle},
			{ID: ItemQuit, Label: LabelQuit, Visible: true, Enabled: true},
		},
	}
}

// Phrases naming each state in the tooltip.
const (
	phraseReady     = "ready"
	phraseManual    = "manual mode"
	phraseAttention = "needs attention"
	phraseError     = "sync failing"
	phraseStopped   = "background sync stopped"
	phraseDisabled  = "hosted sync not enabled"
)

// decide picks the look, the tooltip phrase and the status line, most
// urgent first: what the user must fix, then a persistent failure, then
// rejected events, then the policy and whether the daemon runs.
func decide(in Input) (Look, string, string) {
	st := in.Status
	if !st.Gate || st.Readiness.State == readiness.RolloutDisabled {
		msg, _ := readiness.Wording(readiness.RolloutDisabled)
		return Stopped, phraseDisabled, msg
	}
	if st.ConfigErr != "" {
		return Attention, phraseAttention, clip("Cannot read config.toml: " + st.ConfigErr)
	}
	if !st.Readiness.OK() {
		msg := st.Readiness.Message
		if msg == "" {
			msg, _ = readiness.Wording(st.Readiness.State)
		}
		if msg == "" {
			msg = "Hosted sync is not ready (" + string(st.Readiness.State) + ")."
		}
		return Attention, withNext(phraseAttention, st.Readiness.NextAction), msg
	}
	if st.Daemon.WaitingForLogin() {
		msg, next := readiness.Wording(readiness.MissingAuth)
		return Attention, withNext(phraseAttention, next), msg
	}
	if in.Errors.Visible(in.Now) && st.Daemon.Failing() {
		msg, next := errorWording(st.Daemon.State)
		return Error, withNext(phraseError, next), clip(msg)
	}
	if st.Queue.DeadLetters > 0 {
		return Attention, phraseAttention,
			plural(st.Queue.DeadLetters, "event") + " rejected by the host; run `spec-kitty sync status`"
	}
	synced := syncedAgo(st.LastSyncAt(), in.Now)
	if !st.Policy.Background() {
		if synced == "" {
			synced = "Manual mode: use Sync now to sync"
		} else {
			synced = "Manual mode: " + strings.ToLower(synced[:1]) + synced[1:]
		}
		return Manual, phraseManual, synced
	}
	if !st.Daemon.Running {
		return Stopped, phraseStopped, "Background sync is not running"
	}
	if synced == "" {
		synced = "Not synced yet"
	}
	return Ready, phraseReady, synced
}

// errorWording words the daemon's last error as the CLI words a readiness
// failure: its message and next step, not the raw HTTP text.
func errorWording(st localapi.State) (message, next string) {
	if st.LastError == "" {
		st.LastError = "unknown error"
	}
	return st.ErrorWording()
}

// withNext appends a next step to a tooltip phrase.
func withNext(phrase, next string) string {
	if next == "" {
		return phrase
	}
	return phrase + ". " + next
}

// syncedAgo is "Synced N min ago", "Synced just now", or "" for never.
func syncedAgo(at, now time.Time) string {
	if at.IsZero() {
		return ""
	}
	n := int(now.Sub(at) / time.Minute)
	if n < 1 {
		return "Synced just now"
	}
	return fmt.Sprintf("Synced %d min ago", n)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// maxStatus bounds the status line: menus and the Windows tooltip are short.
const maxStatus = 100

// clip shortens s to maxStatus runes, on one line.
func clip(s string) string {
	r := []rune(s)
	for i, c := range r {
		if c == '\n' || c == '\r' || c == '\t' {
			r[i] = ' '
		}
	}
	if len(r) <= maxStatus {
		return string(r)
	}
	return string(r[:maxStatus-1]) + "…"
}
