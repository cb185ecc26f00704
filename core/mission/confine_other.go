//go:build !unix

package mission

// Windows has neither flag; the Lstat check before the open and the
// descriptor check after it stand alone.
const (
	openNoFollow = 0
	openNonBlock = 0
)
