// Command devhost runs the in-memory hosted API (core/hosted/hostedtest) on a
// loopback address so a person or a demo script can drive the real CLI
// against it: it prints how to point the CLI at it, logs every request to
// stderr (never a token) and stops cleanly on SIGINT or SIGTERM. It refuses
// any address that is not loopback.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
