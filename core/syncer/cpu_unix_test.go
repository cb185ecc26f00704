//go:build unix

package syncer

import (
	"syscall"
	"time"
)

// selfCPU is the CPU time (user+system) this process has used: on a shared
// machine the wall-clock figures mostly measure the neighbours.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
