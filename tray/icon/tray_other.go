//go:build !windows

package icon

import "github.com/spec-kitty/spec-kitty-sync/tray"

// ForTray returns the icon bytes fyne.io/systray wants on this platform: a
// PNG of TraySize.
func ForTray(look tray.Look) ([]byte, error) { return PNG(look, TraySize) }
