package tray_test

import (
	"slices"
	"strings"
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

// TestBinaryDeps is the tray binary's dependency test (like Tailscale's
// deptest). ADR 0009 has the tray act through the CLI, so the whole program
// links neither the SQLite queue (the CLI's `dashboard --recent` reads it)
// nor the hosted client: no core/hosted, and none of the packages that
// bring it in (core/auth's sign-in and refresh, core/probe's reachability
// check). The tray reads sessions through core/session and runs the local
// readiness checks through core/probe/local. net/http itself stays: the
// daemon's local API is HTTP over a Unix socket (core/localapi).
func TestBinaryDeps(t *testing.T) {
	m := archtest.Module
	forbidden := []string{ // with every package below them
		"modernc.org/sqlite",
		"modernc.org/libc",
		m + "/core/queue",
		m + "/core/hosted",
	}
	forbiddenExact := []string{
		m + "/core/auth",
		m + "/core/probe", // core/probe/local is the tray's
	}
	for _, goos := range archtest.GOOSes {
		t.Run(goos, func(t *testing.T) {
			pkgs := archtest.List(t, goos, "./cmd/spec-kitty-tray")
			if len(pkgs) != 1 {
				t.Fatalf("go list ./cmd/spec-kitty-tray: %d packages", len(pkgs))
			}
			for _, d := range pkgs[0].Deps {
				for _, f := range forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("spec-kitty-tray links %s", d)
					}
				}
				if slices.Contains(forbiddenExact, d) {
					t.Errorf("spec-kitty-tray links %s", d)
				}
			}
		})
	}
}
