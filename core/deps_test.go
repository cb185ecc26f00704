package core_test

import (
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/archtest"
)

// TestImportRule: core never imports the binaries' layers or UI/service
// libraries; rollout, policy and readiness use only the standard library.
func TestImportRule(t *testing.T) {
	m := archtest.Module
	archtest.Check(t, "./...", archtest.Rule{
		Forbidden: []string{m + "/cli", m + "/service", m + "/tray", "github.com/kardianos/service", "fyne.io/systray"},
		StdOnly:   []string{m + "/core/rollout", m + "/core/policy", m + "/core/readiness"},
	})
}
