//go:build windows

package svcmgr

import (
	"context"
	"errors"
	"fmt"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows/svc/mgr"
)

// scmManager is the machine-wide Windows service, through kardianos.
type scmManager struct {
	cfg Config
	svc service.Service
}

func newSCM(cfg Config) (*scmManager, error) {
	s, err := service.New(noopProgram{}, &service.Config{
		Name:        Name,
		DisplayName: DisplayName,
		Description: Description,
		Executable:  cfg.Executable,
		Arguments:   cfg.Args,
		EnvVars:     cfg.Env,
		Option: service.KeyValue{
			service.StartType:              service.ServiceStartAutomatic,
			service.OnFailure:              service.OnFailureRestart,
			service.OnFailureDelayDuration: "5s",
			service.OnFailureResetPeriod:   300,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("windows service: %w", err)
	}
	return &scmManager{cfg: cfg, svc: s}, nil
}

func (m *scmManager) Plan(ctx context.Context) (Plan, error) {
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	if err := m.cfg.gateOn(); err != nil {
		return Plan{}, err
	}
	return scmPlan(m.cfg), nil
}

func (m *scmManager) exists() bool {
	_, err := m.svc.Status()
	return !errors.Is(err, service.ErrNotInstalled)
}

func (m *scmManager) Install(ctx context.Context) ([]string, error) {
	p, err := m.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkExecutable(m.cfg.Executable); err != nil {
		return nil, err
	}
	if m.exists() {
		_ = m.svc.Stop()
		if err := m.svc.Uninstall(); err != nil {
			return nil, fmt.Errorf("replace service %s: %w", Name, err)
		}
	}
	if err := m.svc.Install(); err != nil {
		return nil, fmt.Errorf("install service %s: %w", Name, err)
	}
	if err := restartOnNonCrashFailures(); err != nil {
		_ = m.svc.Uninstall()
		return nil, fmt.Errorf("install service %s: %w", Name, err)
	}
	return p.Warnings, nil
}

// restartOnNonCrashFailures makes the recovery action apply when the daemon
// stops with an error, not only when the process crashes.
func restartOnNonCrashFailures() error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(Name)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.SetRecoveryActionsOnNonCrashFailures(true)
}

func (m *scmManager) Uninstall(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !m.exists() {
		return ErrNotInstalled
	}
	_ = m.svc.Stop()
	if err := m.svc.Uninstall(); err != nil {
		return fmt.Errorf("uninstall service %s: %w", Name, err)
	}
	return nil
}

func (m *scmManager) action(ctx context.Context, verb string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !m.exists() {
		return ErrNotInstalled
	}
	if err := f(); err != nil {
		return fmt.Errorf("%s service %s: %w", verb, Name, err)
	}
	return nil
}

func (m *scmManager) Start(ctx context.Context) error { return m.action(ctx, "start", m.svc.Start) }
func (m *scmManager) Stop(ctx context.Context) error  { return m.action(ctx, "stop", m.svc.Stop) }
func (m *scmManager) Restart(ctx context.Context) error {
	return m.action(ctx, "restart", m.svc.Restart)
}

func (m *scmManager) Status(ctx context.Context) (Status, error) {
	st := Status{Manager: ManagerWindowsSCM, UnitPath: scmKey, State: StateNotInstalled}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	s, err := m.svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("query service %s: %w", Name, err)
	}
	st.Installed, st.State = true, StateStopped
	if s == service.StatusRunning {
		st.State, st.Running = StateRunning, true
	}
	return st, nil
}
