//go:build !unix

package queue

import "time"

// processCPU is not measured here; the per-CPU-second metric is then omitted.
func processCPU() time.Duration { return 0 }
