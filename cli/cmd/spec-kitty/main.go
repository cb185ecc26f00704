// Command spec-kitty is the spec-kitty CLI and, as `spec-kitty service run`,
// the background sync daemon.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spec-kitty/spec-kitty-sync/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
