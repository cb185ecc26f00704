package cli

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
)

// TestReadCommandsOnPythonQueue (issue 16 item 1): `sync status` and
// `doctor` read a queue.db only the Python CLI has written (its queue table
// and indexes, no schema_migrations), say nothing is lost, and change
// nothing in the state home.
func TestReadCommandsOnPythonQueue(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "queue.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		// src/specify_cli/sync/queue.py OfflineQueue._init_db
		`CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL, timestamp INTEGER NOT NULL, retry_count INTEGER DEFAULT 0, coalesce_key TEXT)`,
		`CREATE INDEX IF NOT EXISTS idx_timestamp ON queue(timestamp)`,
		`CREATE INDEX IF NOT EXISTS idx_retry ON queue(retry_count)`,
		`CREATE INDEX IF NOT EXISTS idx_coalesce_key ON queue(coalesce_key)`,
		`INSERT INTO queue (event_id, event_type, data, timestamp) VALUES ('01PY1', 'WPStatusChanged', '{"event_id": "01PY1", "event_type": "WPStatusChanged", "payload": {}}', 1764800000)`,
		`INSERT INTO queue (event_id, event_type, data, timestamp) VALUES ('01PY2', 'WPStatusChanged', '{"event_id": "01PY2", "event_type": "WPStatusChanged", "payload": {}}', 1764800001)`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	before, _ := os.ReadDir(home)
	vars := map[string]string{"SPEC_KITTY_HOME": home, "SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}
	dir := t.TempDir()

	out, errOut, code := runStatus(t, dir, vars, "sync", "status")
	if code != ExitOK {
		t.Fatalf("sync status: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "queued:        2\n") || !strings.Contains(out, status.UnmigratedNote) {
		t.Errorf("sync status output lacks the depth or the note:\n%s", out)
	}
	out, errOut, code = runStatus(t, dir, vars, "sync", "status", "--json")
	var st struct {
		Depth      int  `json:"queue_depth"`
		Unmigrated bool `json:"queue_unmigrated"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &st) != nil || st.Depth != 2 || !st.Unmigrated {
		t.Errorf("sync status --json: exit %d, %+v\n%s%s", code, st, out, errOut)
	}
	out, errOut, code = runStatus(t, dir, vars, "doctor")
	if strings.Contains(out+errOut, "schema_migrations") || !strings.Contains(out, "2 queued, "+status.UnmigratedNote) {
		t.Errorf("doctor (exit %d) does not report the Python queue:\n%s%s", code, out, errOut)
	}
	after, _ := os.ReadDir(home)
	if len(after) != len(before) {
		t.Errorf("state home %v -> %v: a read command wrote in it", names(before), names(after))
	}
}

func names(es []os.DirEntry) []string {
	var s []string
	for _, e := range es {
		s = append(s, e.Name())
	}
	return s
}

// TestConcurrentFirstEmitsShareOneIdentity (issue 16 item 7): eight
// `status emit` processes at once in a fresh repo (no `project:` identity
// yet), queueing into two state homes, leave every event under the one
// identity that ends up in .kittify/config.yaml.
func TestConcurrentFirstEmitsShareOneIdentity(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "spec-kitty") // testscript.Main dispatches on the name
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{"kitty-specs/m/meta.json": `{"mission_slug": "m"}`})
	homes := []string{t.TempDir(), t.TempDir()}
	const n = 8
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range n {
		cmd := exec.CommandContext(t.Context(), bin, "status", "emit", "--mission", "m", fmt.Sprintf("WP%02d", i+1), "--to", "claimed", "--actor", "t")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(),
			"SPEC_KITTY_HOME="+homes[i%2], "HOME="+homes[i%2],
			"SPEC_KITTY_ENABLE_SAAS_SYNC=1", "SPEC_KITTY_SAAS_URL=", "SPEC_KITTY_KEYCHAIN=off", "SPECIFY_REPO_ROOT=")
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		cmds[i] = cmd
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("emit %d: %v\n%s", i, err, outs[i])
		}
	}
	cfg, err := binding.Load(repo)
	if err != nil || !cfg.Project.Complete() {
		t.Fatalf("config.yaml identity %+v, %v", cfg.Project, err)
	}
	seen := 0
	for _, home := range homes {
		q, err := queue.Open(t.Context(), filepath.Join(home, "queue.db"), queue.Options{})
		if err != nil {
			t.Fatal(err)
		}
		leased, err := q.Lease(t.Context(), time.Now(), 100, 0, time.Minute)
		q.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leased {
			var env struct {
				UUID    string `json:"project_uuid"`
				Slug    string `json:"project_slug"`
				NodeID  string `json:"node_id"`
				BuildID string `json:"build_id"`
			}
			if err := json.Unmarshal(l.Data, &env); err != nil {
				t.Fatal(err)
			}
			got := binding.Project{UUID: env.UUID, Slug: env.Slug, NodeID: env.NodeID, BuildID: env.BuildID}
			if got != cfg.Project {
				t.Errorf("event %s carries identity %+v, config.yaml has %+v", l.EventID, got, cfg.Project)
			}
			seen++
		}
	}
	if seen < n {
		// Each process queues its own line; a process may also import its
		// neighbours' lines into its own home, so more is fine.
		t.Errorf("%d events queued, want at least %d", seen, n)
	}
}
