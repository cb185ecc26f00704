//go:build !unix

package daemon

import "io/fs"

// sharedHome: on Windows the profile's ACL keeps the state home private.
func sharedHome(string, fs.FileInfo) error { return nil }
