package cli

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if !strings.Contains(out, "queued:        2\n") || !strings.Contains(out, unmigratedNote) {
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
	if strings.Contains(out+errOut, "schema_migrations") || !strings.Contains(out, "2 queued, "+unmigratedNote) {
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
