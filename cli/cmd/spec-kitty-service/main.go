// Command spec-kitty-service is `spec-kitty service run` built for the
// Windows GUI subsystem (-ldflags=-H=windowsgui), so the per-user logon task
// that runs the background daemon opens no console window. The console
// program spec-kitty.exe stays what people type; `spec-kitty service install`
// points the task at this binary when it sits next to spec-kitty.exe. It runs
// nothing but `service run`: a GUI-subsystem program has no console to
// print to, so any other command would fail silently.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spec-kitty/spec-kitty-sync/cli"
)

func main() {
	args := os.Args[1:]
	if len(args) < 2 || args[0] != "service" || args[1] != "run" {
		os.Stderr.WriteString("spec-kitty-service: error: this program only runs `service run`; use spec-kitty for everything else\n")
		os.Exit(cli.ExitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, args, cli.OSEnv())
	stop()
	os.Exit(code)
}
