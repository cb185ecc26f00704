//go:build darwin && !cgo

package app

import (
	"context"
	"log/slog"

	"github.com/spec-kitty/spec-kitty-sync/tray"
)

// uiMissing: fyne.io/systray needs cgo on macOS.
const uiMissing = "this spec-kitty-tray was built without cgo; the macOS menu bar icon needs a cgo build"

// runUI is never called: Main stops at uiMissing.
func runUI(ctx context.Context, log *slog.Logger, first tray.View, start func(draw func(tray.View), clicks <-chan tray.ItemID)) {
	log.Error(uiMissing)
}
