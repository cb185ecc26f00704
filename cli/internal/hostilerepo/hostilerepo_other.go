//go:build !unix

package hostilerepo

import "errors"

var errUnsupported = errors.New("not supported on this platform")

func mkfifo(string) error { return errUnsupported }
func mkzero(string) error { return errUnsupported }
