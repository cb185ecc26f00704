//go:build cgo || !darwin

package app

import (
	"context"
	"log/slog"
	"runtime"

	"fyne.io/systray"

	"github.com/spec-kitty/spec-kitty-sync/tray"
	"github.com/spec-kitty/spec-kitty-sync/tray/icon"
)

// uiMissing is why this build cannot show a tray ("" when it can).
const uiMissing = ""

// ui draws views with fyne.io/systray. It keeps the items it created and
// the view last applied, and touches only what changed: every change is a
// D-Bus signal (or a Win32 call) that wakes the tray host.
type ui struct {
	log   *slog.Logger
	items map[tray.ItemID]*systray.MenuItem
	shown tray.View
}

// runUI shows the tray until quit is called or ctx ends; start runs (in its
// own goroutine) once the tray is up, with the channel of menu clicks.
// first is drawn before the tray appears.
func runUI(ctx context.Context, log *slog.Logger, first tray.View, start func(draw func(tray.View), clicks <-chan tray.ItemID)) {
	u := &ui{log: log, items: map[tray.ItemID]*systray.MenuItem{}}
	if runtime.GOOS == "linux" {
		// Set before Run: fyne.io/systray builds the D-Bus properties from
		// these while onReady runs, so setting them only there could race
		// and lose the first icon. (Windows and macOS refuse calls before
		// Run.)
		u.applyHeader(first, true)
	}
	ctx, cancel := context.WithCancel(ctx)
	onReady := func() {
		clicks := make(chan tray.ItemID, 8)
		u.build(ctx, first, clicks)
		go func() {
			<-ctx.Done()
			systray.Quit()
		}()
		// onReady must return: fyne.io/systray answers GetLayout only
		// after it has.
		go start(u.apply, clicks)
	}
	systray.Run(onReady, cancel)
	cancel()
}

// build creates every item once, in menu order, and starts one receiver per
// click channel (fyne.io/systray drops clicks nobody receives).
func (u *ui) build(ctx context.Context, v tray.View, clicks chan<- tray.ItemID) {
	u.applyHeader(v, true)
	for _, it := range v.Items {
		switch it.ID {
		case tray.ItemSyncNow, tray.ItemDashboard, tray.ItemQuit:
			systray.AddSeparator()
		}
		var mi *systray.MenuItem
		if it.Checkable {
			mi = systray.AddMenuItemCheckbox(it.Label, "", it.Checked)
		} else {
			mi = systray.AddMenuItem(it.Label, "")
		}
		if !it.Enabled {
			mi.Disable()
		}
		if !it.Visible {
			mi.Hide()
		}
		u.items[it.ID] = mi
		go receive(ctx, mi.ClickedCh, it.ID, clicks)
	}
	u.shown = v
}

func receive(ctx context.Context, ch <-chan struct{}, id tray.ItemID, clicks chan<- tray.ItemID) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			select {
			case clicks <- id:
			case <-ctx.Done():
				return
			}
		}
	}
}

// apply draws v, changing only what differs from the view shown.
func (u *ui) apply(v tray.View) {
	u.applyHeader(v, false)
	for _, it := range v.Items {
		mi := u.items[it.ID]
		old := u.shown.Item(it.ID)
		if mi == nil {
			continue
		}
		if it.Label != old.Label {
			mi.SetTitle(it.Label)
		}
		if it.Enabled != old.Enabled {
			if it.Enabled {
				mi.Enable()
			} else {
				mi.Disable()
			}
		}
		if it.Checked != old.Checked {
			if it.Checked {
				mi.Check()
			} else {
				mi.Uncheck()
			}
		}
		if it.Visible != old.Visible {
			if it.Visible {
				mi.Show()
			} else {
				mi.Hide()
			}
		}
	}
	u.shown = v
}

func (u *ui) applyHeader(v tray.View, all bool) {
	if all || v.Look != u.shown.Look {
		b, err := icon.ForTray(v.Look)
		if err != nil {
			u.log.Error("no icon", "look", string(v.Look), "error", err.Error())
		} else {
			systray.SetIcon(b)
		}
	}
	// macOS would print the title in the menu bar next to the icon.
	if (all || v.Title != u.shown.Title) && runtime.GOOS != "darwin" {
		systray.SetTitle(v.Title)
	}
	if all || v.Tooltip != u.shown.Tooltip {
		systray.SetTooltip(v.Tooltip)
	}
}
