package svcmgr

import "path/filepath"

func newPlatform(cfg Config) (Manager, error) {
	if cfg.System {
		return newSCM(cfg)
	}
	return newTask(cfg, execRunner{}, filepath.Join), nil
}
