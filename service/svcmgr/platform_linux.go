package svcmgr

func newPlatform(cfg Config) (Manager, error) {
	return newSystemd(cfg, detectInit())
}
