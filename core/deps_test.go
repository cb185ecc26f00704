package core_test

import (
	"strings"
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

// TestStatusDeps: core/status, which the tray links, brings in neither the
// SQLite queue nor the hosted client; the queue figures come to it from its
// callers (core/status/fromqueue for the CLI and the dashboard).
func TestStatusDeps(t *testing.T) {
	m := archtest.Module
	forbidden := []string{m + "/core/queue", m + "/core/hosted", m + "/core/syncer", "modernc.org/sqlite"}
	for _, goos := range archtest.GOOSes {
		t.Run(goos, func(t *testing.T) {
			pkgs := archtest.List(t, goos, "./status")
			if len(pkgs) != 1 {
				t.Fatalf("go list ./status: %d packages", len(pkgs))
			}
			for _, d := range append(pkgs[0].Imports, pkgs[0].Deps...) {
				for _, f := range forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("core/status links %s", d)
					}
				}
			}
		})
	}
}
