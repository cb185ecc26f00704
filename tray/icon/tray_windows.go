//go:build windows

package icon

import "github.com/spec-kitty/spec-kitty-sync/tray"

// ForTray returns the icon bytes fyne.io/systray wants on Windows: an ICO.
func ForTray(look tray.Look) ([]byte, error) { return ICO(look) }
