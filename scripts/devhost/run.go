package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

const usage = `usage: go run ./scripts/devhost [-addr 127.0.0.1:8787] [-approve-after N] [-interval 5s] [-async] [-ready-file PATH]

Runs the in-memory hosted API on a loopback address for manual testing.
`

// run is the whole program; it returns the exit code (0 after a clean stop,
// 1 when the server cannot start, 2 for bad flags).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devhost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8787", "loopback `host:port` to listen on (port 0 picks a free one)")
	approveAfter := fs.Int("approve-after", 1, "approve device codes after `N` pending polls (0: only by /_test/approve or the /device page)")
	interval := fs.Duration("interval", 5*time.Second, "device-flow poll `interval` the host asks for (whole seconds, at least 1s)")
	async := fs.Bool("async", false, "answer tracker pull/push/run/publish with 202 and an operation to poll")
	readyFile := fs.String("ready-file", "", "write the URL to `PATH` once listening (removed on exit)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "devhost: error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *approveAfter < 0 {
		fmt.Fprintf(stderr, "devhost: error: -approve-after %d is negative\n", *approveAfter)
		return 2
	}
	if *interval < time.Second {
		fmt.Fprintf(stderr, "devhost: error: -interval %s is under 1s\n", *interval)
		return 2
	}
	if err := hostedtest.CheckLoopback(*addr); err != nil {
		fmt.Fprintf(stderr, "devhost: error: -addr: %s\n", strings.TrimPrefix(err.Error(), "hostedtest: "))
		return 2
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	s := hostedtest.New(hostedtest.Options{
		AutoApproveAfterPolls: *approveAfter,
		DeviceInterval:        *interval,
		Async:                 *async,
		Logger:                logger,
	})
	defer s.Close()
	if err := s.Listen(*addr); err != nil {
		fmt.Fprintf(stderr, "devhost: error: %s\n", strings.TrimPrefix(err.Error(), "hostedtest: "))
		return 1
	}
	url := s.URL()
	fmt.Fprint(stdout, instructions(url, *approveAfter, *async))
	if *readyFile != "" {
		if err := atomicfile.Write(*readyFile, []byte(url+"\n"), 0o644); err != nil {
			fmt.Fprintf(stderr, "devhost: error: -ready-file: %v\n", err)
			return 1
		}
		defer os.Remove(*readyFile)
	}
	logger.Info("listening", "url", url, "approve_after", *approveAfter, "async", *async)

	<-ctx.Done()
	logger.Info("stopping")
	s.Close()
	logger.Info("stopped", "accepted_events", s.EventCount())
	return 0
}

// instructions is what a person needs to point the CLI at the server.
func instructions(url string, approveAfter int, async bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "spec-kitty dev host (hostedtest) listening on %s\n\n", url)
	fmt.Fprintf(&b, "Point the CLI at it, in another shell:\n")
	fmt.Fprintf(&b, "  export %s=1\n", rollout.EnvVar)
	fmt.Fprintf(&b, "  export %s=%s\n", paths.SaaSURLEnv, url)
	fmt.Fprintf(&b, "  spec-kitty auth login --headless\n\n")
	if approveAfter > 0 {
		fmt.Fprintf(&b, "Device logins are approved automatically after %d poll(s). To approve by hand\n", approveAfter)
		fmt.Fprintf(&b, "(e.g. with -approve-after 0):\n")
	} else {
		fmt.Fprintf(&b, "Device logins wait for approval:\n")
	}
	fmt.Fprintf(&b, "  curl -s -X POST -d user_code=XXXX-XXXX %s/_test/approve   (no user_code: approve all)\n", url)
	fmt.Fprintf(&b, "  or open %s/device\n\n", url)
	fmt.Fprintf(&b, "User %s (%s), team %s; linear binding %s for project %q.\n",
		hostedtest.DefaultUser.Email, hostedtest.DefaultUser.ID, hostedtest.DefaultUser.DefaultTeamID,
		hostedtest.SeededBindingRef, hostedtest.SeededProjectSlug)
	if async {
		fmt.Fprintf(&b, "Tracker operations answer 202; poll /api/v1/tracker/operations/{id}/.\n")
	}
	fmt.Fprintf(&b, "Accepted events:  curl -s %s/_test/events\n", url)
	fmt.Fprintf(&b, "Faults:           curl -s -X POST -d '{\"too_many_requests\":2,\"retry_after_seconds\":3}' %s/_test/faults\n", url)
	fmt.Fprintf(&b, "Stop with Ctrl-C.\n")
	return b.String()
}
