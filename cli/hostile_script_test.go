package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/spec-kitty/spec-kitty-sync/cli/dashboard"
	"github.com/spec-kitty/spec-kitty-sync/cli/internal/hostilerepo"
)

// scriptCmds are the custom commands of cli/testdata/script: the hosted
// ones plus those of the hostile-repository suite (hostile_repo.txtar).
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := maps.Clone(hostedCmds)
	maps.Copy(cmds, hostileCmds)
	return cmds
}

// scriptCondition adds [root]: the process may create device files.
func scriptCondition(cond string) (bool, error) {
	if cond == "root" {
		return os.Getuid() == 0, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

var hostileCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// hostile-repo REPO OUTSIDE builds the malicious repository REPO whose
	// links point into OUTSIDE, and records a snapshot of OUTSIDE.
	"hostile-repo": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: hostile-repo REPO OUTSIDE")
		}
		repo, outside := ts.MkAbs(args[0]), ts.MkAbs(args[1])
		skipped, err := hostilerepo.Build(repo, outside)
		ts.Check(err)
		for _, s := range skipped {
			ts.Logf("not created here: %s", s)
		}
		snap, err := hostilerepo.Snapshot(outside)
		ts.Check(err)
		b, err := json.Marshal(snap)
		ts.Check(err)
		ts.Check(os.WriteFile(filepath.Join(ts.Getenv("WORK"), ".outside-snapshot"), b, 0o600))
	},
	// hostile-unchanged OUTSIDE fails if anything under OUTSIDE changed or
	// appeared since hostile-repo.
	"hostile-unchanged": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: hostile-unchanged OUTSIDE")
		}
		var before map[string]string
		ts.Check(json.Unmarshal([]byte(ts.ReadFile(filepath.Join(ts.Getenv("WORK"), ".outside-snapshot"))), &before))
		now, err := hostilerepo.Snapshot(ts.MkAbs(args[0]))
		ts.Check(err)
		if d := cmp.Diff(before, now); d != "" {
			ts.Fatalf("%s changed (-before +now):\n%s", args[0], d)
		}
	},
	// dashboard-get PATH FILE fetches PATH from the dashboard recorded under
	// $SPEC_KITTY_HOME (waiting up to 10 s for its record) into FILE; the
	// status must be 200 (with !, anything else).
	"dashboard-get": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: dashboard-get PATH FILE")
		}
		var rec dashboard.Record
		for deadline := time.Now().Add(10 * time.Second); ; {
			m, _ := filepath.Glob(filepath.Join(ts.Getenv("SPEC_KITTY_HOME"), "dashboards", "*.json"))
			if len(m) == 1 {
				if r, err := dashboard.ReadRecord(m[0]); err == nil {
					rec = r
					break
				}
			}
			if time.Now().After(deadline) {
				ts.Fatalf("no dashboard record after 10 s")
			}
			time.Sleep(20 * time.Millisecond) // polling a file another process writes
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rec.URL+args[0][1:], nil)
		ts.Check(err)
		resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
		ts.Check(err)
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), body, 0o600))
		if (resp.StatusCode == http.StatusOK) == neg {
			ts.Fatalf("GET %s: %s", args[0], resp.Status)
		}
	},
}
