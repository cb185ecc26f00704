package svcmgr

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kardianos/service"
)

// RunService runs the daemon body under the platform's service manager. A
// process started by the Windows SCM must answer its control requests (or it
// is killed after 30 s): there, run is hosted by kardianos' service
// dispatcher, a stop request cancels its ctx, and when run returns on its
// own the service reports itself stopped — with an error exit when run
// failed, so the recovery action restarts it. Anywhere else it is run(ctx).
func RunService(ctx context.Context, run func(context.Context) error) error {
	if service.Interactive() {
		return run(ctx)
	}
	p := &scmProgram{run: run, parent: ctx}
	s, err := service.New(p, &service.Config{Name: Name, DisplayName: DisplayName})
	if err != nil {
		return err
	}
	if err := s.Run(); err != nil {
		return err
	}
	return p.result()
}

type scmProgram struct {
	run    func(context.Context) error
	parent context.Context

	mu       sync.Mutex
	cancel   context.CancelFunc
	done     chan struct{}
	err      error
	stopping bool
}

func (p *scmProgram) Start(s service.Service) error {
	ctx, cancel := context.WithCancel(p.parent)
	p.mu.Lock()
	p.cancel, p.done = cancel, make(chan struct{})
	p.mu.Unlock()
	go func() {
		err := p.run(ctx)
		p.mu.Lock()
		p.err = err
		stopping := p.stopping
		p.mu.Unlock()
		close(p.done)
		if !stopping {
			// Ask the SCM to stop us so it records the exit.
			_ = s.Stop()
		}
	}()
	return nil
}

func (p *scmProgram) Stop(service.Service) error {
	p.mu.Lock()
	p.stopping = true
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return errors.New("the daemon did not stop within 10 s")
	}
	return p.result()
}

func (p *scmProgram) result() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
