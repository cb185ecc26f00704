//go:build !linux && !darwin && !windows

package svcmgr

import (
	"fmt"
	"runtime"
)

func newPlatform(Config) (Manager, error) {
	return nil, fmt.Errorf("spec-kitty service is not supported on %s", runtime.GOOS)
}
