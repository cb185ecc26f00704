// Package version owns the build's version string, set at link time with
// -ldflags "-X github.com/spec-kitty/spec-kitty-sync/core/version.Version=v1.2.3"
// and otherwise taken from the module build info.
package version

import "runtime/debug"

// Version is overridden at link time by the Makefile.
var Version = ""

// String returns the version, "dev" when nothing better is known.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
