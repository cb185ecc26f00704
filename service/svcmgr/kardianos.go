//go:build windows

package svcmgr

import "github.com/kardianos/service"

// noopProgram is the kardianos Interface for managing (not running) the
// service.
type noopProgram struct{}

func (noopProgram) Start(service.Service) error { return nil }
func (noopProgram) Stop(service.Service) error  { return nil }
