package cli

import (
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/archtest"
)

// TestImportRule: cli imports core and service, never tray.
func TestImportRule(t *testing.T) {
	archtest.Check(t, "./...", archtest.Rule{
		Forbidden: []string{archtest.Module + "/tray", "fyne.io/systray"},
	})
}
