//go:build !windows

package svcmgr

import "context"

// RunService runs the daemon body under the platform's service manager.
// systemd, launchd and Task Scheduler start an ordinary process that stops
// on SIGTERM (or is terminated), so outside Windows SCM this is run(ctx); the
// caller's ctx carries the signals.
func RunService(ctx context.Context, run func(context.Context) error) error {
	return run(ctx)
}
