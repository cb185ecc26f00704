package svcmgr

func newPlatform(cfg Config) (Manager, error) {
	return newLaunchd(cfg, execRunner{}), nil
}
