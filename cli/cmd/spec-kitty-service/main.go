// Command spec-kitty-service is `spec-kitty service run` built for the
// Windows GUI subsystem (-ldflags=-H=windowsgui), so the per-user logon task
// that runs the background daemon opens no console window. The console
// program spec-kitty.exe stays what people type; `spec-kitty service install`
// points the task at this binary when it sits next to spec-kitty.exe. It runs
// nothing but `service run`: a GUI-subsystem program has no console to
// print to, so any other command would fail silently. It applies the task's
// --env-file (the recorded gate, host URL and home) first: see cli.ServiceMain.
package main

import (
	"context"
	"os"

	"github.com/spec-kitty/spec-kitty-sync/cli"
)

func main() {
	// cli.OSEnv's Signals makes Ctrl-C and SIGTERM cancel the command once
	// it runs; help and usage errors start no signal watcher.
	os.Exit(cli.ServiceMain(context.Background(), os.Args[1:], cli.OSEnv()))
}
