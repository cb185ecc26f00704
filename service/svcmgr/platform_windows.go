package svcmgr

import (
	"context"
	"path/filepath"
)

func newPlatform(cfg Config) (Manager, error) {
	if cfg.System {
		return newSCM(cfg)
	}
	return newTask(cfg, execRunner{}, filepath.Join), nil
}

// planWithoutManager is never needed here: New always finds the manager.
func planWithoutManager(ctx context.Context, cfg Config) (Plan, error) {
	m, err := newPlatform(cfg)
	if err != nil {
		return Plan{}, err
	}
	return m.Plan(ctx)
}
