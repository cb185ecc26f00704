package cli

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

// setupHosted starts the per-script hosted API stand-in on loopback and
// exports:
//
//	$HOST        the hostedtest URL (device codes auto-approve after one poll)
//	$HANGHOST    a loopback listener that accepts connections and never answers
//	$CLOSEDHOST  a loopback port with nothing listening
func setupHosted(e *testscript.Env) error {
	srv := hostedtest.New(hostedtest.Options{AutoApproveAfterPolls: 1, DeviceInterval: time.Second})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	e.Defer(srv.Close)
	e.Values[hostedKey{}] = srv
	e.Setenv("HOST", srv.URL())

	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never answered, closed at the end
			mu.Unlock()
		}
	}()
	e.Defer(func() {
		hang.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	e.Setenv("HANGHOST", "http://"+hang.Addr().String())

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.Setenv("CLOSEDHOST", "http://"+closed.Addr().String())
	closed.Close()
	return nil
}

type hostedKey struct{}

func scriptServer(ts *testscript.TestScript) *hostedtest.Server {
	return ts.Value(hostedKey{}).(*hostedtest.Server)
}

// hostedCmds are script commands that act on the per-script hosted server:
//
//	hosted signin FILE       issue a session for the default user and write its
//	                         token JSON (input for `auth login --with-token`) to FILE
//	hosted events N          wait up to 15 s until the host holds N distinct events
//	hosted fault JSON        replace the fault switches (hostedtest.Faults JSON)
//	hosted expire            expire every access token
//	hosted async on|off      answer tracker operations with 202 + polling
//	hosted down              stop the server (the host becomes unreachable)
//	hosted reject all|none   refuse every event for good (per-event "rejected"), or stop
var hostedCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"hosted": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) == 0 {
			ts.Fatalf("usage: hosted signin|events|fault|expire|async|down|reject ...")
		}
		srv := scriptServer(ts)
		switch args[0] {
		case "signin":
			if len(args) != 2 {
				ts.Fatalf("usage: hosted signin FILE")
			}
			tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
			ts.Check(err)
			ts.Check(os.WriteFile(ts.MkAbs(args[1]), tok, 0o600))
		case "events":
			if len(args) != 2 {
				ts.Fatalf("usage: hosted events N")
			}
			want, err := strconv.Atoi(args[1])
			ts.Check(err)
			deadline := time.Now().Add(15 * time.Second)
			for {
				got := srv.EventCount()
				if (got == want) != neg {
					return
				}
				if time.Now().After(deadline) {
					ts.Fatalf("host holds %d events, want %s%d", got, map[bool]string{true: "not ", false: ""}[neg], want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		case "fault":
			body := strings.Join(args[1:], " ")
			resp, err := http.Post(srv.URL()+"/_test/faults", "application/json", strings.NewReader(body))
			ts.Check(err)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				ts.Fatalf("set faults %s: %s", body, resp.Status)
			}
		case "expire":
			srv.ExpireAccessTokens()
		case "reject":
			// hosted reject all: every event is refused for good, until
			// hosted reject none.
			if len(args) != 2 {
				ts.Fatalf("usage: hosted reject all|none")
			}
			if args[1] == "none" {
				srv.ClearRejects()
			} else {
				srv.SetRejectFunc(func(string, json.RawMessage) (string, bool) { return "schema_violation: refused by the test", true })
			}
		case "async":
			srv.SetAsync(len(args) > 1 && args[1] == "on")
		case "down":
			srv.Close()
		default:
			ts.Fatalf("unknown hosted subcommand %q", args[0])
		}
	},
	"tracker-host": trackerHostCmd, // cli/tracker_script_test.go
	"corpus":       corpusCmd,      // cli/corpus_script_test.go
}
