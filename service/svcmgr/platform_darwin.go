package svcmgr

import "context"

func newPlatform(cfg Config) (Manager, error) {
	return newLaunchd(cfg, execRunner{}), nil
}

// planWithoutManager is never needed here: New always finds the manager.
func planWithoutManager(ctx context.Context, cfg Config) (Plan, error) {
	m, err := newPlatform(cfg)
	if err != nil {
		return Plan{}, err
	}
	return m.Plan(ctx)
}
