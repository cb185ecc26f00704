//go:build unix

package queue

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user+system) this process has used, so the
// benchmarks can report throughput per CPU second: on a shared machine the
// wall-clock figure mostly measures the neighbours.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
