//go:build windows

package dashboard

import "io/fs"

func isWindows() bool { return true }

// private: on Windows the state home's ACL (the user's profile) keeps the
// record private; there are no mode bits to check.
func private(fs.FileInfo) error { return nil }
