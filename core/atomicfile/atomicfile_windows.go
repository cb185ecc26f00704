//go:build windows

package atomicfile

import (
	"os"
	"time"
)

// rename retries briefly: on Windows a reader holding the target open (an
// antivirus scanner, another process) makes MoveFileEx fail transiently.
func rename(from, to string) error {
	var err error
	for i := 0; i < 10; i++ {
		if err = os.Rename(from, to); err == nil {
			return nil
		}
		time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
	}
	return err
}

func syncDir(string) {}
