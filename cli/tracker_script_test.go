package cli

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// trackerHostCmd is the `tracker-host` script command of the tracker scripts:
//
//	tracker-host ops KIND N        the host really ran N operations of KIND (pull, push,
//	                               run, publish, bind-confirm); replays do not count
//	tracker-host revoke REF        the binding REF disappears on the host
//	tracker-host opfail REASON     operations started from now on fail ("off" ends it)
//	tracker-host fixture-config DST [FILE...]
//	                               write a real-shaped .kittify/config.yaml (comments,
//	                               unknown sections, a project identity: the generated
//	                               corpus's) to DST, followed by the contents of the FILEs
//	tracker-host reap-daemon       at the end of the script, stop a sync daemon the
//	                               script left running (after a failure midway)
func trackerHostCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: tracker-host ops|revoke|opfail|fixture-config|reap-daemon ...")
	}
	srv := scriptServer(ts)
	switch args[0] {
	case "ops":
		if len(args) != 3 {
			ts.Fatalf("usage: tracker-host ops KIND N")
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if got := srv.OperationRuns(args[1]); (got == want) == neg {
			ts.Fatalf("host ran %d %s operations, want %s%d", got, args[1], map[bool]string{true: "not ", false: ""}[neg], want)
		}
	case "revoke":
		if len(args) != 2 {
			ts.Fatalf("usage: tracker-host revoke REF")
		}
		if !srv.RevokeBinding(args[1]) {
			ts.Fatalf("no binding %q on the host", args[1])
		}
	case "opfail":
		if len(args) != 2 {
			ts.Fatalf("usage: tracker-host opfail REASON|off")
		}
		reason := args[1]
		if reason == "off" {
			reason = ""
		}
		srv.SetOperationFailure(reason)
	case "fixture-config":
		if len(args) < 2 {
			ts.Fatalf("usage: tracker-host fixture-config DST [FILE...]")
		}
		data := []byte(corpus.KittifyConfig)
		for _, f := range args[2:] {
			data = append(data, ts.ReadFile(f)...)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
	case "reap-daemon":
		home := paths.Home{Dir: ts.Getenv("SPEC_KITTY_HOME")}
		ts.Defer(func() { reapDaemon(home) })
	default:
		ts.Fatalf("unknown tracker-host subcommand %q", args[0])
	}
}

// reapDaemon stops a daemon left running under home: politely through its
// local API, then by force.
func reapDaemon(home paths.Home) {
	st, running, err := localapi.ReadState(home.DaemonState())
	if err != nil || !running {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = localapi.NewClient(home.DaemonSocket()).Shutdown(ctx)
	deadline := time.Now().Add(6 * time.Second)
	for localapi.Alive(st.PID) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if localapi.Alive(st.PID) {
		if p, err := os.FindProcess(st.PID); err == nil {
			_ = p.Kill()
		}
	}
}
