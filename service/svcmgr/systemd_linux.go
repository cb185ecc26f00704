package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kardianos/service"
)

// kardianosSystemd is the name of kardianos' systemd backend.
const kardianosSystemd = "linux-systemd"

// unitName is the systemd unit file name.
const unitName = Name + ".service"

// Where systemd units live.
const (
	systemUnitDir  = "/etc/systemd/system"
	defaultLinger  = "/var/lib/systemd/linger"
	userUnitSubdir = ".config/systemd/user"
)

// systemdManager drives kardianos' systemd backend with our template.
type systemdManager struct {
	cfg       Config
	svc       service.Service
	unitPath  string
	wantsLink string
	// lingerDir holds one file per user with lingering on.
	lingerDir string
	getenv    func(string) string
}

// newSystemd builds the manager on the chosen kardianos system, which must be
// its systemd backend: kardianos silently falls back to SysV init scripts
// when systemd is not PID 1, which we never want.
func newSystemd(cfg Config, sys service.System) (*systemdManager, error) {
	if sys == nil || sys.String() != kardianosSystemd {
		found := "none"
		if sys != nil {
			found = sys.String()
		}
		return nil, fmt.Errorf("no systemd found (service manager detected: %s); spec-kitty service needs systemd on Linux", found)
	}
	m, err := newSystemdUnit(cfg)
	if err != nil {
		return nil, err
	}
	s, err := sys.New(noopProgram{}, &service.Config{
		Name:        Name,
		DisplayName: DisplayName,
		Description: Description,
		Executable:  cfg.Executable,
		Arguments:   cfg.Args,
		Option: service.KeyValue{
			"UserService":   !cfg.System,
			"SystemdScript": systemdTemplate(cfg),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("systemd service: %w", err)
	}
	m.svc = s
	return m, nil
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
		// kardianos writes user units under os.UserHomeDir().
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
	// kardianos refuses to overwrite ("Init already exists"), including an
	// empty file left by an earlier failed render: replace it, keeping the
	// previous content to put back if this install fails.
	old, readErr := os.ReadFile(m.unitPath)
	hadOld := readErr == nil && len(old) > 0
	if readErr == nil {
		if err := os.Remove(m.unitPath); err != nil {
			return nil, fmt.Errorf("replace %s: %w", m.unitPath, err)
		}
	}
	fail := func(err error) ([]string, error) {
		_ = os.Remove(m.unitPath)
		if hadOld {
			_ = os.WriteFile(m.unitPath, old, 0o644)
		} else {
			_ = os.Remove(m.wantsLink)
		}
		return nil, err
	}
	if err := m.svc.Install(); err != nil {
		return fail(fmt.Errorf("install %s: %w%s", m.unitPath, err, m.hint(err)))
	}
	got, err := os.ReadFile(m.unitPath)
	if err != nil {
		return fail(fmt.Errorf("install %s: %w", m.unitPath, err))
	}
	if string(got) != want {
		return fail(fmt.Errorf("install %s: the written unit differs from the planned one", m.unitPath))
	}
	return m.warnings(), nil
}

// hint names the likely cause of a failure: kardianos does not pass
// systemctl's stderr on.
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
	_ = m.svc.Stop() // it may not be running
	if err := m.svc.Uninstall(); err != nil {
		// The definition goes either way; say that the manager did not
		// take notice.
		rmErr := errors.Join(removeIfExists(m.unitPath), removeIfExists(m.wantsLink))
		return errors.Join(fmt.Errorf("uninstall %s: removed the unit, but: %w%s", unitName, err, m.hint(err)), rmErr)
	}
	return removeIfExists(m.wantsLink)
}

func (m *systemdManager) action(ctx context.Context, verb string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !fileExists(m.unitPath) {
		return ErrNotInstalled
	}
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w%s", joinArgv(m.systemctl(verb, true)), err, m.hint(err))
	}
	return nil
}

func (m *systemdManager) Start(ctx context.Context) error {
	return m.action(ctx, "start", m.svc.Start)
}

func (m *systemdManager) Stop(ctx context.Context) error {
	return m.action(ctx, "stop", m.svc.Stop)
}

func (m *systemdManager) Restart(ctx context.Context) error {
	return m.action(ctx, "restart", m.svc.Restart)
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
	s, err := m.svc.Status()
	switch {
	case err == nil && s == service.StatusRunning:
		st.State, st.Running = StateRunning, true
	case err == nil && s == service.StatusStopped:
		st.State = StateStopped
	case err != nil && err.Error() == "service in failed state":
		st.State = StateFailed
	case errors.Is(err, service.ErrNotInstalled):
		// systemctl does not know the unit (no daemon-reload yet, or no
		// user manager): the definition exists, its state is unknown.
		st.State = StateUnknown
	default:
		return st, fmt.Errorf("query %s with systemctl: %w", unitName, err)
	}
	return st, nil
}
