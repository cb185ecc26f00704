//go:build !linux

package app

import "context"

// checkHost: Windows always has a notification area and macOS a menu bar.
func checkHost(ctx context.Context, getenv func(string) string) (*hostWatch, error) {
	return &hostWatch{}, nil
}

// hostWatch has nothing to watch here.
type hostWatch struct{}

// Lost is never closed.
func (h *hostWatch) Lost() <-chan struct{} { return nil }

// Close does nothing.
func (h *hostWatch) Close() {}
