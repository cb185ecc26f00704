package tray_test

import (
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/archtest"
)

// TestImportRule: tray imports core only, never cli or service; the model
// package itself does no I/O and knows nothing of the tray library.
func TestImportRule(t *testing.T) {
	m := archtest.Module
	archtest.Check(t, "./...", archtest.Rule{
		Forbidden: []string{m + "/cli", m + "/service", "github.com/kardianos/service"},
	})
	archtest.Check(t, ".", archtest.Rule{
		Forbidden: []string{"fyne.io/systray", "github.com/godbus/dbus/v5", "os", "os/exec", "os/signal", "net", "net/http", "io/fs", "syscall"},
	})
}
