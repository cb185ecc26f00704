//go:build !linux && !darwin && !windows

package svcmgr

import (
	"context"
	"fmt"
	"runtime"
)

func newPlatform(Config) (Manager, error) {
	return nil, fmt.Errorf("spec-kitty service is not supported on %s", runtime.GOOS)
}

func planWithoutManager(context.Context, Config) (Plan, error) {
	return Plan{}, fmt.Errorf("spec-kitty service is not supported on %s", runtime.GOOS)
}
