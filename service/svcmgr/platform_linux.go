package svcmgr

import "github.com/kardianos/service"

func newPlatform(cfg Config) (Manager, error) {
	return newSystemd(cfg, service.ChosenSystem())
}
