package svcmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// initSystemd names systemd among the init systems detectInit tells apart.
const initSystemd = "linux-systemd"

// unitName is the systemd unit file name.
const unitName = Name + ".service"

// Where systemd units live.
const (
	systemUnitDir  = "/etc/systemd/system"
	defaultLinger  = "/var/lib/systemd/linger"
	userUnitSubdir = ".config/systemd/user"
)

// systemdManager writes our unit and drives systemctl. It does what
// kardianos/service's systemd backend did for us (the same files and the
// same systemctl calls, see testdata/systemd/*-argv.txt) without linking
// kardianos into the Linux binary, whose package initialisation probed the
// init system at every start of every spec-kitty command.
type systemdManager struct {
	cfg       Config
	unitPath  string
	wantsLink string
	// lingerDir holds one file per user with lingering on.
	lingerDir string
	getenv    func(string) string
}

// detectInit tells whether systemd manages this machine, as kardianos
// v1.3.0 decided it, and otherwise names the init system it would have
// picked instead (for the error message); a variable so tests can pretend.
var detectInit = func() (found string) {
	switch {
	case isSystemd():
		return initSystemd
	case fileExists("/sbin/upstart-udev-bridge") || strings.Contains(output("/sbin/initctl", "--version"), "initctl (upstart"):
		return "linux-upstart"
	case onPath("openrc-init") || strings.Contains(inittabSysinit(), "openrc"):
		return "linux-openrc"
	case fileExists("/etc/init.d/rcS") && !onPath("service") && strings.Contains(inittabSysinit(), "rcS"):
		return "linux-rcs"
	case onPath("procd"):
		return "linux-procd"
	}
	return "unix-systemv"
}

// isSystemd is kardianos' test: rpm-ostree, /run/systemd/system, or
// systemctl with PID 1 called systemd.
func isSystemd() bool {
	if onPath("rpm-ostree") || fileExists("/run/systemd/system") {
		return true
	}
	if !onPath("systemctl") {
		return false
	}
	comm, err := os.ReadFile("/proc/1/comm")
	return err == nil && strings.Trim(string(comm), " \r\n") == "systemd"
}

func onPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// inittabSysinit is the ::sysinit: lines of /etc/inittab.
func inittabSysinit() string {
	b, _ := os.ReadFile("/etc/inittab")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "::sysinit:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// output is what argv prints on stdout, "" when it cannot run.
func output(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// newSystemd builds the manager when the detected init system is systemd:
// never SysV init scripts when systemd is not PID 1.
func newSystemd(cfg Config, found string) (*systemdManager, error) {
	if found != initSystemd {
		if found == "" {
			found = "none"
		}
		return nil, fmt.Errorf("no systemd found (service manager detected: %s); spec-kitty service needs systemd on Linux", found)
	}
	return newSystemdUnit(cfg)
}

// newSystemdUnit is the manager's unit side (paths, text, plan) without a
// service manager: enough for Plan, not for Install.
func newSystemdUnit(cfg Config) (*systemdManager, error) {
	if err := checkSystemd(cfg); err != nil {
		return nil, err
	}
	m := &systemdManager{cfg: cfg, lingerDir: defaultLinger, getenv: os.Getenv}
	if cfg.System {
		m.unitPath = filepath.Join(systemUnitDir, unitName)
		m.wantsLink = filepath.Join(systemUnitDir, "multi-user.target.wants", unitName)
	} else {
		// User units live under os.UserHomeDir() (kardianos' choice, kept).
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("find the user's home directory: %w", err)
		}
		if filepath.Clean(h) != filepath.Clean(cfg.HomeDir) {
			return nil, fmt.Errorf("systemd user unit: home directory %s differs from $HOME %s", cfg.HomeDir, h)
		}
		dir := filepath.Join(h, userUnitSubdir)
		m.unitPath = filepath.Join(dir, unitName)
		m.wantsLink = filepath.Join(dir, "default.target.wants", unitName)
	}
	return m, nil
}

// planWithoutManager is Install's plan for a Linux machine whose service
// manager is not systemd: the unit `service install` writes where systemd
// runs.
func planWithoutManager(ctx context.Context, cfg Config) (Plan, error) {
	m, err := newSystemdUnit(cfg)
	if err != nil {
		return Plan{}, err
	}
	return m.Plan(ctx)
}

func (m *systemdManager) manager() string {
	if m.cfg.System {
		return ManagerSystemd
	}
	return ManagerSystemdUser
}

// systemctl is the argv kardianos runs for an action on our unit.
func (m *systemdManager) systemctl(action string, unit bool) []string {
	argv := []string{"systemctl", action}
	if !m.cfg.System {
		argv = append(argv, "--user")
	}
	if unit {
		argv = append(argv, unitName)
	}
	return argv
}

// run runs the systemctl action (on our unit when unit is set); a failure is
// an *exec.ExitError (hint reads it), systemctl's own output is dropped.
func (m *systemdManager) run(action string, unit bool) error {
	argv := m.systemctl(action, unit)
	return exec.Command(argv[0], argv[1:]...).Run()
}

// query runs `systemctl ARGS [--user]` (--user last, as kardianos did) and
// returns its stdout; err is an *exec.ExitError when systemctl answered with
// a non-zero status, another error when it could not run.
func (m *systemdManager) query(args ...string) (string, error) {
	if !m.cfg.System {
		args = append(args, "--user")
	}
	var out bytes.Buffer
	cmd := exec.Command("systemctl", args...)
	cmd.Stdout = &out
	err := cmd.Run()
	return out.String(), err
}

func (m *systemdManager) warnings() []string {
	if m.cfg.System {
		return nil
	}
	var w []string
	if x := m.getenv("XDG_CONFIG_HOME"); x != "" && filepath.Clean(x) != filepath.Join(m.cfg.HomeDir, ".config") {
		w = append(w, fmt.Sprintf("XDG_CONFIG_HOME is %s, but the unit is written to %s; if your systemd user manager also uses that XDG_CONFIG_HOME it will not find the unit", x, m.unitPath))
	}
	if !fileExists(filepath.Join(m.lingerDir, m.cfg.UserName)) {
		w = append(w, fmt.Sprintf("lingering is off for %s: the service runs only while you are logged in; to keep it running without a login session, run: loginctl enable-linger %s", m.cfg.UserName, m.cfg.UserName))
	}
	return w
}

func (m *systemdManager) Plan(ctx context.Context) (Plan, error) {
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	if err := m.cfg.gateOn(); err != nil {
		return Plan{}, err
	}
	p := Plan{Manager: m.manager()}
	if fileExists(m.unitPath) {
		p.Remove = []string{m.unitPath}
	}
	p.Files = []File{{Path: m.unitPath, Mode: 0o644, Content: renderSystemd(m.cfg)}}
	p.Commands = [][]string{m.systemctl("enable", true), m.systemctl("daemon-reload", false)}
	if m.cfg.System {
		p.Notes = []string{"the service starts at boot; `spec-kitty service start` starts it now"}
	} else {
		p.Notes = []string{"the service starts with your systemd user manager (at login); `spec-kitty service start` starts it now"}
	}
	p.Warnings = m.warnings()
	return p, nil
}

func (m *systemdManager) Install(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.cfg.gateOn(); err != nil {
		return nil, err
	}
	if err := checkExecutable(m.cfg.Executable); err != nil {
		return nil, err
	}
	want := renderSystemd(m.cfg)
	// Replace an existing unit (even an empty file left by an earlier failed
	// render), keeping the previous content to put back if this install
	// fails.
	old, readErr := os.ReadFile(m.unitPath)
	hadOld := readErr == nil && len(old) > 0
	fail := func(err error) ([]string, error) {
		_ = os.Remove(m.unitPath)
		if hadOld {
			_ = os.WriteFile(m.unitPath, old, 0o644)
		} else {
			_ = os.Remove(m.wantsLink)
		}
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(m.unitPath), 0o755); err != nil {
		return fail(fmt.Errorf("install %s: %w%s", m.unitPath, err, m.hint(err)))
	}
	if readErr == nil {
		if err := os.Remove(m.unitPath); err != nil {
			return nil, fmt.Errorf("replace %s: %w", m.unitPath, err)
		}
	}
	if err := os.WriteFile(m.unitPath, []byte(want), 0o644); err != nil {
		return fail(fmt.Errorf("install %s: %w%s", m.unitPath, err, m.hint(err)))
	}
	for _, step := range []struct {
		action string
		unit   bool
	}{{"enable", true}, {"daemon-reload", false}} {
		if err := m.run(step.action, step.unit); err != nil {
			return fail(fmt.Errorf("install %s: %w%s", m.unitPath, err, m.hint(err)))
		}
	}
	return m.warnings(), nil
}

// hint names the likely cause of a failure (systemctl's stderr is not
// passed on).
func (m *systemdManager) hint(err error) string {
	if errors.Is(err, fs.ErrPermission) && m.cfg.System {
		return " (the system service needs root)"
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return ""
	}
	if m.cfg.System {
		return " (systemctl failed; is systemd running? check `systemctl status " + unitName + "`)"
	}
	return " (systemctl --user failed; is your systemd user manager running? check `systemctl --user status " + unitName + "`)"
}

func (m *systemdManager) Uninstall(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !fileExists(m.unitPath) {
		return ErrNotInstalled
	}
	_ = m.run("stop", true) // it may not be running
	err := m.run("disable", true)
	if err == nil {
		err = os.Remove(m.unitPath)
	}
	if err == nil {
		err = m.run("daemon-reload", false)
	}
	if err != nil {
		// The definition goes either way; say that the manager did not
		// take notice.
		rmErr := errors.Join(removeIfExists(m.unitPath), removeIfExists(m.wantsLink))
		return errors.Join(fmt.Errorf("uninstall %s: removed the unit, but: %w%s", unitName, err, m.hint(err)), rmErr)
	}
	return removeIfExists(m.wantsLink)
}

func (m *systemdManager) action(ctx context.Context, verb string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !fileExists(m.unitPath) {
		return ErrNotInstalled
	}
	if err := m.run(verb, true); err != nil {
		return fmt.Errorf("%s: %w%s", joinArgv(m.systemctl(verb, true)), err, m.hint(err))
	}
	return nil
}

func (m *systemdManager) Start(ctx context.Context) error {
	return m.action(ctx, "start")
}

func (m *systemdManager) Stop(ctx context.Context) error {
	return m.action(ctx, "stop")
}

func (m *systemdManager) Restart(ctx context.Context) error {
	return m.action(ctx, "restart")
}

func (m *systemdManager) Status(ctx context.Context) (Status, error) {
	st := Status{Manager: m.manager(), UnitPath: m.unitPath, State: StateNotInstalled}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if !fileExists(m.unitPath) {
		return st, nil
	}
	st.Installed = true
	// kardianos' reading of is-active, and of list-unit-files for
	// "inactive", which also means unknown to systemctl.
	out, err := m.query("is-active", unitName)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return st, fmt.Errorf("query %s with systemctl: %w", unitName, err)
	}
	switch {
	case strings.HasPrefix(out, "active"), strings.HasPrefix(out, "activating"):
		st.State, st.Running = StateRunning, true
	case strings.HasPrefix(out, "inactive"):
		files, err := m.query("list-unit-files", "-t", "service", unitName)
		if err != nil && !errors.As(err, &exit) {
			return st, fmt.Errorf("query %s with systemctl: %w", unitName, err)
		}
		st.State = StateStopped
		if !strings.Contains(files, Name) {
			// systemctl does not know the unit (no daemon-reload yet, or
			// no user manager): the definition exists, its state is
			// unknown.
			st.State = StateUnknown
		}
	case strings.HasPrefix(out, "failed"):
		st.State = StateFailed
	default:
		st.State = StateUnknown
	}
	return st, nil
}
