package app

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/tray"
)

// RefreshInterval is the tray's polling period: the state is read at most
// this often, apart from the refresh that follows a click or an action's end.
const RefreshInterval = 5 * time.Second

// reloadTimeout bounds the reload request to a running daemon.
const reloadTimeout = 2 * time.Second

// Status texts of the actions (the status line while they run and after).
const (
	busySync        = "Syncing…"
	busyLogin       = "Logging in…"
	busyLoginURL    = "Finish logging in in your browser"
	noteSyncStarted = "Background sync started"
	noteSyncDone    = "Sync finished"
	noteLoggedIn    = "Logged in"
)

// Controller owns the tray's state: it reads the sync status, tracks the daemon's
// error, builds the view, draws it when it changes and runs the menu's
// actions. All of that happens in Loop's goroutine; only the actions'
// commands run in goroutines of their own, which Loop owns and stops.
type Controller struct {
	Reader Reader
	// Run runs spec-kitty (the CLI is the only way the tray acts).
	Run  Runner
	Open Opener
	// SetPolicy writes [sync].background_daemon.
	SetPolicy func(policy.Policy) error
	// Reload asks a running daemon to re-read its configuration.
	Reload func(ctx context.Context) error
	// Draw shows a view; it is called only when the view changed.
	Draw func(tray.View)
	// Quit ends the tray; Loop returns after calling it.
	Quit func()
	Now  func() time.Time
	Log  *slog.Logger
	// Interval is the refresh period (RefreshInterval when zero).
	Interval time.Duration

	snap   status.Status
	errs   tray.ErrorTrack
	action tray.Action
	drawn  *tray.View
	busy   bool
	events chan func()
	done   chan struct{}
	wg     sync.WaitGroup
}

// Loop refreshes until ctx ends or Quit is clicked, handling clicks from
// the menu. It returns after the actions it started have stopped (each is
// asked to stop when Loop ends).
func (c *Controller) Loop(ctx context.Context, clicks <-chan tray.ItemID) {
	interval := c.Interval
	if interval <= 0 {
		interval = RefreshInterval
	}
	c.events = make(chan func(), 16)
	c.done = make(chan struct{})
	actx, stopActions := context.WithCancel(ctx)
	defer func() {
		stopActions()
		close(c.done)
		c.wg.Wait()
	}()

	if c.drawn == nil {
		c.refresh(ctx)
	}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			c.refresh(ctx)
			timer.Reset(interval)
		case f := <-c.events:
			f()
			c.refresh(ctx)
		case id := <-clicks:
			if id == tray.ItemQuit {
				c.Quit()
				return
			}
			c.click(ctx, actx, id)
			c.refresh(ctx)
		}
	}
}

// Prime computes the first view without drawing it, for a UI that must be
// given its look before it appears; Loop then starts from it.
func (c *Controller) Prime(ctx context.Context) tray.View {
	draw := c.Draw
	c.Draw = func(tray.View) {}
	c.refresh(ctx)
	c.Draw = draw
	return *c.drawn
}

// refresh reads the status and redraws if the view changed.
func (c *Controller) refresh(ctx context.Context) {
	c.snap = c.Reader.Read(ctx)
	now := c.Now()
	c.errs = tray.Track(c.errs, c.snap.Daemon, now)
	v := tray.Build(tray.Input{Status: c.snap, Errors: c.errs, Action: c.action, Now: now})
	if c.drawn != nil && sameView(*c.drawn, v) {
		return
	}
	c.drawn = &v
	c.Draw(v)
}

func sameView(a, b tray.View) bool {
	return a.Look == b.Look && a.Title == b.Title && a.Tooltip == b.Tooltip &&
		a.StatusLine == b.StatusLine && slices.Equal(a.Items, b.Items)
}

// click starts the action of a menu item. Items the current view shows
// disabled or hidden are ignored: a tray host may show a stale menu.
func (c *Controller) click(ctx, actx context.Context, id tray.ItemID) {
	if c.drawn == nil {
		return
	}
	it := c.drawn.Item(id)
	if !it.Visible || !it.Enabled {
		c.Log.Info("ignored click on an unavailable item", "item", string(id))
		return
	}
	switch id {
	case tray.ItemSyncNow:
		c.syncNow(actx)
	case tray.ItemLogin:
		c.login(actx)
	case tray.ItemDashboard:
		// --recent: outside a repository the CLI serves the one hosted
		// sync registered last (it reads the queue; the tray links no
		// SQLite).
		c.start(actx, []string{"dashboard", "--open", "--recent"}, nil, func(err error, out *tail) {
			if err != nil && actx.Err() == nil {
				c.note("Open dashboard failed: " + failure(err, out))
			}
		})
	case tray.ItemAutoSync:
		c.toggleAuto(ctx)
	}
}

// syncNow follows CONTRACTS.md §6 through the CLI: under the auto policy
// `spec-kitty sync start` (the remote_required call site that may start the
// daemon), under manual the one-shot `spec-kitty sync run`.
func (c *Controller) syncNow(actx context.Context) {
	if c.busy {
		return
	}
	args, ok := []string{"sync", "start"}, noteSyncStarted
	if !c.snap.Policy.Background() {
		args, ok = []string{"sync", "run"}, noteSyncDone
	}
	c.setBusy(busySync)
	c.start(actx, args, nil, func(err error, out *tail) {
		c.setBusy("")
		switch {
		case actx.Err() != nil:
		case err != nil:
			c.note("Sync now failed: " + failure(err, out))
		default:
			c.note(ok)
		}
	})
}

// login runs the headless device flow with --json and acts on the prompt
// line it prints on stdout: the user code goes to the status line and the
// verification page is opened — the complete URL, which carries the code,
// when the host offers one. Every other line (the prompts for a person on
// stderr) is only kept for the failure note.
func (c *Controller) login(actx context.Context) {
	if c.busy {
		return
	}
	c.setBusy(busyLogin)
	opened := false
	onLine := func(line string) {
		p, ok := parseLoginPrompt(line)
		if !ok {
			return
		}
		c.post(func() {
			if !c.busy || opened {
				return
			}
			opened = true
			link := p.VerificationURI
			if p.VerificationURIComplete != "" {
				link = p.VerificationURIComplete
			}
			c.action.Busy = busyLoginURL
			if p.UserCode != "" {
				c.action.Busy = clipLine("Enter code " + p.UserCode + " in your browser")
			}
			if err := c.Open(actx, link); err != nil {
				c.Log.Warn("cannot open the browser", "error", err.Error())
				c.action.Busy = clipLine("Open " + link + " to log in")
			}
		})
	}
	c.start(actx, []string{"auth", "login", "--headless", "--json"}, onLine, func(err error, out *tail) {
		c.setBusy("")
		c.Reader.AuthChanged()
		switch {
		case actx.Err() != nil:
		case err != nil:
			c.note("Log in failed: " + failure(err, out))
		default:
			c.note(noteLoggedIn)
		}
	})
}

// toggleAuto flips [sync].background_daemon and tells a running daemon.
// Turning it on does not start a daemon: only "Sync now" may.
func (c *Controller) toggleAuto(ctx context.Context) {
	next := policy.Manual
	if c.snap.Policy == policy.Manual {
		next = policy.Auto
	}
	if err := c.SetPolicy(next); err != nil {
		c.note("Could not save the setting: " + err.Error())
		return
	}
	c.Log.Info("background sync policy changed", "policy", string(next))
	if !c.snap.Daemon.Running {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
		defer cancel()
		if err := c.Reload(rctx); err != nil {
			c.Log.Warn("daemon did not take the reload request; it re-reads the config on its next tick", "error", err.Error())
		}
	}()
}

// start runs spec-kitty args in a goroutine and hands the outcome to then,
// inside Loop's goroutine.
func (c *Controller) start(actx context.Context, args []string, onLine func(string), then func(error, *tail)) {
	out := &tail{max: 8 << 10, onLine: onLine}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := c.Run(actx, args, out)
		if err != nil {
			c.Log.Info("command failed", "args", args, "error", err.Error())
		}
		c.post(func() { then(err, out) })
	}()
}

// post hands f to Loop's goroutine (dropped once Loop has ended).
func (c *Controller) post(f func()) {
	select {
	case c.events <- f:
	case <-c.done:
	}
}

func (c *Controller) setBusy(s string) {
	c.busy = s != ""
	c.action.Busy = s
}

func (c *Controller) note(s string) {
	c.action.Note = clipLine(s)
	c.action.NoteUntil = c.Now().Add(tray.NoteFor)
}

// clipLine bounds a note; the model clips its own texts the same way.
func clipLine(s string) string {
	const max = 100
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}
