//go:build !unix

package syncer

import "time"

func selfCPU() time.Duration { return 0 }
