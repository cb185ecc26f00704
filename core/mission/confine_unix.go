//go:build unix

package mission

import "syscall"

// Open flags of the mission readers and writer: never follow a final
// symlink (the path was resolved already; a swapped-in link fails), never
// block opening a FIFO.
const (
	openNoFollow = syscall.O_NOFOLLOW
	openNonBlock = syscall.O_NONBLOCK
)
