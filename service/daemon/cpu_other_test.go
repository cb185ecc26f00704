//go:build !unix

package daemon

import "time"

func selfCPU() time.Duration { return 0 }
