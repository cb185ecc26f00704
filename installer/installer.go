// Package installer holds the install scripts (install.sh, uninstall.sh,
// install.ps1, uninstall.ps1), the nfpm packaging (nfpm.yaml, package.sh,
// packaging/) and their tests. Its Go code only renders the files the
// packages ship from the same sources the program uses; it installs nothing.
package installer

import "github.com/spec-kitty/spec-kitty-sync/service/svcmgr"

// Where the .deb and .rpm put things.
const (
	PackagedBinary   = "/usr/bin/spec-kitty"
	PackagedUnitPath = "/usr/lib/systemd/user/spec-kitty-sync.service"
	// UnitFile is the generated unit in the source tree (go run ./installer/gen).
	UnitFile = "packaging/spec-kitty-sync.service"
)

// PackagedUnit renders the systemd user unit the packages ship: svcmgr's
// template for /usr/bin/spec-kitty with no recorded environment. It is not
// enabled by the package; `spec-kitty service install` writes a per-user
// unit of the same name that takes precedence and records the environment.
// Enabled without the opt-in, the daemon exits 0 at once and stays stopped.
func PackagedUnit() (string, error) {
	return svcmgr.SystemdUnit(svcmgr.Config{
		Executable: PackagedBinary,
		HomeDir:    "/",
		UserName:   "root",
		UserID:     "0",
	})
}
