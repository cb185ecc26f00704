// Command spec-kitty is the spec-kitty CLI and, as `spec-kitty service run`,
// the background sync daemon.
package main

import (
	"context"
	"os"

	"github.com/spec-kitty/spec-kitty-sync/cli"
)

func main() {
	// cli.OSEnv's Signals makes Ctrl-C and SIGTERM cancel the command once
	// it runs; help and usage errors start no signal watcher.
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.OSEnv()))
}
