package service_test

import (
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/archtest"
)

// TestImportRule: service imports core, never cli or tray.
func TestImportRule(t *testing.T) {
	m := archtest.Module
	archtest.Check(t, "./...", archtest.Rule{
		Forbidden: []string{m + "/cli", m + "/tray", "fyne.io/systray"},
	})
}
