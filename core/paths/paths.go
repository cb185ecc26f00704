// Package paths owns every file location of spec-kitty-sync: the user state
// home and the files in it, and the repo-level file names. It computes names
// only; it never creates, opens or locks anything except in EnsureHome, which
// callers use right before their first write.
package paths

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// HomeEnv overrides the state home when set and non-empty.
const HomeEnv = "SPEC_KITTY_HOME"

// Environment variables read elsewhere, named here so every name lives once.
const (
	SaaSURLEnv  = "SPEC_KITTY_SAAS_URL"
	RepoRootEnv = "SPECIFY_REPO_ROOT"
	// KeychainEnv=off keeps sessions out of the OS keychain (file storage
	// only): for headless machines and for tests on a developer's desktop.
	KeychainEnv = "SPEC_KITTY_KEYCHAIN"
)

// Home is the resolved state home (`~/.spec-kitty` by default).
type Home struct {
	Dir string
}

// Resolve finds the home from getenv and the user's home directory.
func Resolve(getenv func(string) string, userHome func() (string, error)) (Home, error) {
	if v := getenv(HomeEnv); v != "" {
		abs, err := filepath.Abs(v)
		if err != nil {
			return Home{}, fmt.Errorf("%s=%q: %w", HomeEnv, v, err)
		}
		return Home{Dir: abs}, nil
	}
	if userHome == nil {
		userHome = os.UserHomeDir
	}
	h, err := userHome()
	if err != nil || h == "" {
		return Home{}, errors.New("cannot find the user's home directory; set SPEC_KITTY_HOME")
	}
	return Home{Dir: filepath.Join(h, ".spec-kitty")}, nil
}

// EnsureHome creates the home directory 0700 if it does not exist.
func (h Home) EnsureHome() error {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", h.Dir, err)
	}
	return nil
}

// EnsureDir creates a directory under the home (and the home itself) 0700.
func (h Home) EnsureDir(dir string) error {
	if err := h.EnsureHome(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// Config is `<home>/config.toml`.
func (h Home) Config() string { return filepath.Join(h.Dir, "config.toml") }

// Auth is the session fallback file `<home>/auth.json` (0600).
func (h Home) Auth() string { return filepath.Join(h.Dir, "auth.json") }

// AuthLock serialises token refresh across processes.
func (h Home) AuthLock() string { return filepath.Join(h.Dir, "auth.lock") }

// Queue is the offline queue database `<home>/queue.db`.
func (h Home) Queue() string { return filepath.Join(h.Dir, "queue.db") }

// DaemonState is the daemon's JSON state file `<home>/sync-daemon`.
func (h Home) DaemonState() string { return filepath.Join(h.Dir, "sync-daemon") }

// DaemonLock is the single-instance lock `<home>/sync-daemon.lock`.
func (h Home) DaemonLock() string { return filepath.Join(h.Dir, "sync-daemon.lock") }

// DaemonSocket is the local API socket `<home>/sync-daemon.sock`.
func (h Home) DaemonSocket() string { return filepath.Join(h.Dir, "sync-daemon.sock") }

// TrackerPending holds the idempotency keys of tracker operations that
// have not been seen to finish, so a retried command reuses its key.
func (h Home) TrackerPending() string { return filepath.Join(h.Dir, "tracker-pending") }

// LastSync is the record of the last one-shot sync (`sync run`, the tray's
// Sync now in manual mode), for displays while no daemon runs.
func (h Home) LastSync() string { return filepath.Join(h.Dir, "last-sync") }

// Dashboards holds the running dashboards' records, one per repository
// (`<home>/dashboards/<key>.json`, 0600 in a 0700 directory).
func (h Home) Dashboards() string { return filepath.Join(h.Dir, "dashboards") }

// Logs is the log directory `<home>/logs`.
func (h Home) Logs() string { return filepath.Join(h.Dir, "logs") }

// DaemonLog is `<home>/logs/sync-daemon.log`.
func (h Home) DaemonLog() string { return filepath.Join(h.Logs(), "sync-daemon.log") }

// Repo-level names.
const (
	SpecsDir       = "kitty-specs"
	KittifyDir     = ".kittify"
	EventsFileName = "status.events.jsonl"
	MetaFileName   = "meta.json"
	KittifyConfig  = "config.yaml"
)

// MissionDir is `<repo>/kitty-specs/<mission>`.
func MissionDir(repo, mission string) string { return filepath.Join(repo, SpecsDir, mission) }

// EventsFile is `<repo>/kitty-specs/<mission>/status.events.jsonl`.
func EventsFile(repo, mission string) string {
	return filepath.Join(repo, SpecsDir, mission, EventsFileName)
}

// MetaFile is `<repo>/kitty-specs/<mission>/meta.json`.
func MetaFile(repo, mission string) string {
	return filepath.Join(repo, SpecsDir, mission, MetaFileName)
}

// RepoConfig is `<repo>/.kittify/config.yaml`.
func RepoConfig(repo string) string { return filepath.Join(repo, KittifyDir, KittifyConfig) }
