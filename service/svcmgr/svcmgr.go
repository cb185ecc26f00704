// Package svcmgr owns the OS service definition of the sync daemon: it
// renders, installs, removes, starts, stops and inspects `spec-kitty-sync`
// under the platform's service manager, and it shows exactly what it would do
// without doing it (Plan, for --dry-run).
//
// Per-user by default: a systemd --user unit (written here and driven with
// systemctl), a launchd LaunchAgent, or a Windows Task Scheduler logon task
// running as the user. Config.System selects the machine-wide variant instead: a systemd
// system unit, a launchd LaunchDaemon, or a Windows SCM service (through
// kardianos/service).
//
// It must not decide policy: whether the daemon should run (rollout gate,
// background_daemon policy) is the caller's business, with one exception kept
// for defence in depth — Install and Plan refuse a definition whose recorded
// environment does not enable the rollout gate. It never prints; warnings are
// returned as strings.
package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

// Names of the service (CONTRACTS §1).
const (
	Name        = "spec-kitty-sync"
	DisplayName = "Spec Kitty Sync"
	Description = "Spec Kitty Sync"
)

// Service-manager names reported in Status.Manager and Plan.Manager.
const (
	ManagerSystemdUser   = "systemd --user"
	ManagerSystemd       = "systemd"
	ManagerLaunchdAgent  = "launchd"
	ManagerLaunchdDaemon = "launchd (system)"
	ManagerWindowsTask   = "windows-task"
	ManagerWindowsSCM    = "windows-scm"
)

// EnvKeys are the environment variables recorded in the service definition
// when set in the installing process (CONTRACTS §7), plus the keychain
// switch so a service installed from a keychain-less shell stays keychain-less.
var EnvKeys = []string{rollout.EnvVar, paths.SaaSURLEnv, paths.HomeEnv, paths.KeychainEnv}

// ErrRolloutDisabled is returned by Install and Plan when Config.Env does not
// enable the rollout gate; its text is readiness.DisabledMessage(), the
// contract's stable wording (CONTRACTS §2), capitalised and with a period.
var ErrRolloutDisabled = errors.New(readiness.DisabledMessage())

// ErrNotInstalled is returned by Uninstall, Start, Stop and Restart when no
// service definition written by Install exists.
var ErrNotInstalled = errors.New("the spec-kitty-sync service is not installed")

// Config describes the service to manage. Zero fields take defaults in New.
type Config struct {
	// System selects the machine-wide service instead of the per-user one.
	System bool
	// Executable is the absolute path of the spec-kitty binary.
	// Default: the running executable.
	Executable string
	// Args are the arguments of the daemon. Default: ["service", "run"].
	Args []string
	// Env is recorded in the service definition. Build it with
	// EnvFromGetenv. With System set and no SPEC_KITTY_HOME in it, the
	// platform's machine-wide home (SystemHome) is recorded.
	Env map[string]string
	// HomeDir is the installing user's home directory, where per-user
	// definitions and logs go. Default: os.UserHomeDir.
	HomeDir string
	// LogDir receives the daemon's stdout and stderr where the service
	// manager redirects them to files (launchd only; systemd uses the
	// journal, Windows tasks discard them — the daemon's own log is under
	// <home>/logs). Default: ~/Library/Logs/spec-kitty, or
	// /Library/Logs/spec-kitty for the system variant.
	LogDir string
	// UserName is the user the per-user service belongs to (linger check,
	// Windows task principal). Default: the current user.
	UserName string
	// UserID is the numeric user id (the launchd gui/<uid> domain).
	// Default: the current user's.
	UserID string
}

// State is the coarse state of the service, as reported by Status.
type State string

// States. The values are wire codes (`service status --json`).
const (
	StateNotInstalled State = "not-installed"
	StateRunning      State = "running"
	StateStopped      State = "stopped"
	StateFailed       State = "failed"
	StateUnknown      State = "unknown"
)

// Status is what Manager.Status reports. Installed means the definition that
// Install writes exists (a unit shipped by a package but never installed by
// `spec-kitty service install` does not count).
type Status struct {
	Installed bool   `json:"installed"`
	Running   bool   `json:"running"`
	State     State  `json:"state"`
	Manager   string `json:"manager"`
	UnitPath  string `json:"unit_path"`
}

// File is one file a Plan would write.
type File struct {
	Path string
	Mode fs.FileMode
	// Content is the exact text written. When UTF16 is set the file holds
	// it encoded as UTF-16LE with a byte-order mark (what schtasks expects).
	Content string
	UTF16   bool
}

// Plan is what Install would do, computed without changing anything.
type Plan struct {
	Manager string
	// Remove lists existing files that are removed before writing (a
	// reinstall replaces the previous definition).
	Remove []string
	// Files are written in order.
	Files []File
	// Commands are the service-manager commands run after the files are
	// written, in order, as argv.
	Commands [][]string
	// Notes describe steps that are API calls rather than commands
	// (Windows SCM) and what happens next.
	Notes []string
	// Warnings are the same warnings Install would return.
	Warnings []string
}

// Manager manages the spec-kitty-sync service on one platform. Install
// registers the service so that it starts at the next login or boot; it does
// not start it now (call Start).
type Manager interface {
	// Install writes the definition and registers it, replacing an existing
	// one. It returns warnings the user should see (e.g. lingering is off).
	Install(ctx context.Context) (warnings []string, err error)
	// Uninstall stops the service and removes the definition.
	Uninstall(ctx context.Context) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Restart(ctx context.Context) error
	Status(ctx context.Context) (Status, error)
	// Plan reports what Install would write and run, changing nothing.
	Plan(ctx context.Context) (Plan, error)
}

// New returns the Manager for the running platform.
func New(cfg Config) (Manager, error) {
	cfg, err := cfg.withDefaults(runtime.GOOS)
	if err != nil {
		return nil, err
	}
	return newPlatform(cfg)
}

// DryRun returns the plan of Install for cfg. When this machine lacks the
// platform's service manager (a Linux box whose PID 1 is not systemd) the plan
// is still the definition the platform's manager would get, and unsupported
// says why it cannot be installed here; err is only for a plan that cannot be
// made at all.
func DryRun(ctx context.Context, cfg Config) (p Plan, unsupported error, err error) {
	cfg, err = cfg.withDefaults(runtime.GOOS)
	if err != nil {
		return Plan{}, nil, err
	}
	m, merr := newPlatform(cfg)
	if merr == nil {
		p, err = m.Plan(ctx)
		return p, nil, err
	}
	p, err = planWithoutManager(ctx, cfg)
	if err != nil {
		return Plan{}, merr, err
	}
	return p, merr, nil
}

// EnvFromGetenv collects EnvKeys that are set and non-empty, with
// SPEC_KITTY_HOME made absolute as core/paths resolves it (the service does
// not start in the installing shell's directory).
func EnvFromGetenv(getenv func(string) string) (map[string]string, error) {
	env := make(map[string]string)
	for _, k := range EnvKeys {
		v := getenv(k)
		if v == "" {
			continue
		}
		if k == paths.HomeEnv {
			abs, err := filepath.Abs(v)
			if err != nil {
				return nil, fmt.Errorf("%s=%q: %w", k, v, err)
			}
			v = abs
		}
		env[k] = v
	}
	return env, nil
}

// SystemHome is the machine-wide state home recorded for the system variant
// when SPEC_KITTY_HOME is not set.
func SystemHome(goos string) string {
	switch goos {
	case "windows":
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return strings.TrimRight(pd, `\`) + `\spec-kitty`
	case "darwin":
		return "/Library/Application Support/spec-kitty"
	}
	return "/var/lib/spec-kitty"
}

var envKeyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// withDefaults fills zero fields and validates what every platform needs.
func (c Config) withDefaults(goos string) (Config, error) {
	if c.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, fmt.Errorf("find the spec-kitty executable: %w", err)
		}
		c.Executable = exe
	}
	if len(c.Args) == 0 {
		c.Args = []string{"service", "run"}
	}
	if c.HomeDir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return c, fmt.Errorf("find the user's home directory: %w", err)
		}
		c.HomeDir = h
	}
	if c.UserName == "" || c.UserID == "" {
		u, err := user.Current()
		if err != nil {
			return c, fmt.Errorf("find the current user: %w", err)
		}
		if c.UserName == "" {
			c.UserName = u.Username
		}
		if c.UserID == "" {
			c.UserID = u.Uid
		}
	}
	env := make(map[string]string, len(c.Env)+1)
	for k, v := range c.Env {
		env[k] = v
	}
	if c.System && env[paths.HomeEnv] == "" {
		env[paths.HomeEnv] = SystemHome(goos)
	}
	c.Env = env
	c.Args = append([]string(nil), c.Args...)
	if goos != "windows" && strings.HasPrefix(c.Executable, "/") {
		c.Executable = path.Clean(c.Executable)
	}
	return c, c.validate(goos)
}

// validate rejects values no service definition can hold faithfully.
func (c Config) validate(goos string) error {
	if !isAbs(goos, c.Executable) {
		return fmt.Errorf("service executable %q: not an absolute path", c.Executable)
	}
	if err := checkText("service executable", c.Executable); err != nil {
		return err
	}
	for _, a := range c.Args {
		if err := checkText("service argument", a); err != nil {
			return err
		}
	}
	for k, v := range c.Env {
		if !envKeyRE().MatchString(k) {
			return fmt.Errorf("service environment: invalid variable name %q", k)
		}
		if err := checkText("service environment "+k, v); err != nil {
			return err
		}
	}
	if h, ok := c.Env[paths.HomeEnv]; ok && !isAbs(goos, h) {
		return fmt.Errorf("service environment %s=%q: not an absolute path", paths.HomeEnv, h)
	}
	return nil
}

// checkText rejects control characters (no definition format can carry a
// newline in a value) and "{{", which kardianos' template engine would parse.
func checkText(what, s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s %q: contains a control character", what, s)
		}
	}
	if strings.Contains(s, "{{") {
		return fmt.Errorf("%s %q: contains \"{{\"", what, s)
	}
	return nil
}

func isAbs(goos, p string) bool {
	if goos == "windows" {
		// C:\x or \\server\share.
		return (len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')) || strings.HasPrefix(p, `\\`)
	}
	return strings.HasPrefix(p, "/")
}

// gateOn applies the rollout gate to the environment being recorded.
func (c Config) gateOn() error {
	if !rollout.Enabled(func(k string) string { return c.Env[k] }) {
		return ErrRolloutDisabled
	}
	return nil
}

// checkExecutable verifies the daemon binary exists before a definition
// pointing at it is registered.
func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("service executable: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("service executable %s: is a directory", p)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("service executable %s: not executable", p)
	}
	return nil
}

// fileExists reports whether p exists (any type).
func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// writeFiles writes files and returns an undo that restores what was there
// before (previous content, or absence), so a failed install leaves nothing
// half-written.
func writeFiles(files []File, write func(path string, data []byte, perm fs.FileMode) error) (undo func(), err error) {
	type prev struct {
		path   string
		data   []byte
		mode   fs.FileMode
		exists bool
	}
	var done []prev
	undo = func() {
		for i := len(done) - 1; i >= 0; i-- {
			p := done[i]
			if p.exists {
				_ = write(p.path, p.data, p.mode)
			} else {
				_ = os.Remove(p.path)
			}
		}
	}
	for _, f := range files {
		p := prev{path: f.Path}
		if fi, err := os.Stat(f.Path); err == nil {
			data, err := os.ReadFile(f.Path)
			if err != nil {
				undo()
				return nil, fmt.Errorf("read %s: %w", f.Path, err)
			}
			p.data, p.mode, p.exists = data, fi.Mode().Perm(), true
		}
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
			undo()
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(f.Path), err)
		}
		data := []byte(f.Content)
		if f.UTF16 {
			data = encodeUTF16(f.Content)
		}
		if err := write(f.Path, data, f.Mode); err != nil {
			undo()
			return nil, err
		}
		done = append(done, p)
	}
	return undo, nil
}

// joinArgv renders argv for messages.
func joinArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$") {
			a = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// removeIfExists removes p; a missing p is fine.
func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}
