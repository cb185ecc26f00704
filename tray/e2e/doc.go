// Package e2e holds the tray's end-to-end tests and its idle benchmark: they
// build spec-kitty-tray, run it on a private D-Bus session bus next to a
// test StatusNotifierWatcher, and look at it the way a tray host does
// (StatusNotifierItem properties, com.canonical.dbusmenu). Linux only; the
// package has no code of its own.
package e2e
