package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// runStatus runs the CLI in-process in dir with the given environment.
func runStatus(t *testing.T, dir string, vars map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	home := t.TempDir()
	env := &Env{
		Getenv:     func(k string) string { return vars[k] },
		Stdin:      strings.NewReader(""),
		Stdout:     &stdout,
		Stderr:     &stderr,
		Now:        func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) },
		Dir:        dir,
		UserHome:   func() (string, error) { return home, nil },
		Executable: os.Executable,
	}
	code := Main(context.Background(), args, env)
	return stdout.String(), stderr.String(), code
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func moveLine(id, wp, to, at string) string {
	return fmt.Sprintf(`{"actor": "x", "at": %q, "event_id": %q, "from_lane": "planned", "to_lane": %q, "wp_id": %q}`+"\n", at, id, to, wp)
}

func TestStatusOrderAndColumns(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		"kitty-specs/a-old/status.events.jsonl":  moveLine("1", "WP01", "done", "2026-01-01T00:00:00Z"),
		"kitty-specs/d-tied/status.events.jsonl": moveLine("2", "WP01", "planned", "2026-03-01T00:00:00Z"),
		"kitty-specs/b-tied/status.events.jsonl": moveLine("3", "WP01", "claimed", "2026-03-01T00:00:00Z"),
		"kitty-specs/c-none/meta.json":           `{"friendly_name": "No events yet"}`,
		"kitty-specs/e-odd/status.events.jsonl":  moveLine("4", "WP01", "doing", "2025-01-01T00:00:00Z") + moveLine("5", "WP02", "done", "2025-01-01T00:00:00Z"),
	})
	out, errOut, code := runStatus(t, repo, nil, "status")
	if code != ExitOK || errOut != "" {
		t.Fatalf("status: exit %d, stderr %q", code, errOut)
	}
	want := `MISSION  WPS  PLANNED  CLAIMED  IN_PROGRESS  FOR_REVIEW  IN_REVIEW  APPROVED  DONE  BLOCKED  CANCELED  DOING  LAST ACTIVITY
b-tied   1    -        1        -            -           -          -         -     -        -         -      2026-03-01 00:00 UTC
d-tied   1    1        -        -            -           -          -         -     -        -         -      2026-03-01 00:00 UTC
a-old    1    -        -        -            -           -          -         1     -        -         -      2026-01-01 00:00 UTC
e-odd    2    -        -        -            -           -          -         1     -        -         1      2025-01-01 00:00 UTC
c-none   0    -        -        -            -           -          -         -     -        -         -      -
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}

	out, _, code = runStatus(t, repo, nil, "status", "--json")
	if code != ExitOK {
		t.Fatalf("status --json: exit %d", code)
	}
	var v struct {
		Repo     string `json:"repo"`
		Missions []struct {
			Mission      string         `json:"mission"`
			Title        string         `json:"title"`
			Lanes        map[string]int `json:"lanes"`
			LastActivity *string        `json:"last_activity"`
			WPCount      int            `json:"wp_count"`
		} `json:"missions"`
		Malformed int `json:"malformed_lines"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range v.Missions {
		order = append(order, m.Mission)
	}
	if diff := cmp.Diff([]string{"b-tied", "d-tied", "a-old", "e-odd", "c-none"}, order); diff != "" {
		t.Errorf("JSON order (-want +got):\n%s", diff)
	}
	if v.Repo != repo {
		t.Errorf("repo = %q, want %q", v.Repo, repo)
	}
	odd := v.Missions[3]
	if len(odd.Lanes) != 10 || odd.Lanes["doing"] != 1 || odd.Lanes["done"] != 1 || odd.Lanes["planned"] != 0 || odd.WPCount != 2 {
		t.Errorf("e-odd lanes = %v", odd.Lanes)
	}
	if none := v.Missions[4]; none.LastActivity != nil || none.Title != "No events yet" || len(none.Lanes) != 9 {
		t.Errorf("c-none = %+v", none)
	}
}

func TestStatusExitCodes(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{"kitty-specs/m/meta.json": `{}`})
	outside := t.TempDir()
	tests := []struct {
		name string
		dir  string
		args []string
		code int
	}{
		{"list", repo, []string{"status"}, ExitOK},
		{"detail", repo, []string{"status", "--mission", "m"}, ExitOK},
		{"emit", repo, []string{"status", "emit", "--mission", "m", "WP01", "--to", "claimed"}, ExitOK},
		{"outside a project", outside, []string{"status"}, ExitFailure},
		{"emit outside a project", outside, []string{"status", "emit", "--mission", "m", "WP01", "--to", "done"}, ExitFailure},
		{"unknown mission", repo, []string{"status", "--mission", "nope"}, ExitFailure},
		{"emit to unknown mission", repo, []string{"status", "emit", "--mission", "nope", "WP01", "--to", "done"}, ExitFailure},
		{"wrong lane", repo, []string{"status", "emit", "--mission", "m", "WP01", "--to", "doing"}, ExitUsage},
		{"bad WP id", repo, []string{"status", "emit", "--mission", "m", "01", "--to", "done"}, ExitUsage},
		{"two WP ids", repo, []string{"status", "emit", "--mission", "m", "WP01", "WP02", "--to", "done"}, ExitUsage},
		{"no --to", repo, []string{"status", "emit", "--mission", "m", "WP01"}, ExitUsage},
		{"no --mission", repo, []string{"status", "emit", "WP01", "--to", "done"}, ExitUsage},
		{"mission name is a path", repo, []string{"status", "emit", "--mission", "a/b", "WP01", "--to", "done"}, ExitUsage},
		{"stray argument", repo, []string{"status", "x"}, ExitUsage},
		{"help", repo, []string{"status", "emit", "--help"}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runStatus(t, tt.dir, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
		})
	}
}

func TestStatusEmitUsesTheEnvironment(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{"kitty-specs/m/meta.json": `{"mission_id": "MID"}`})
	sub := filepath.Join(repo, "kitty-specs", "m")
	out, errOut, code := runStatus(t, sub, map[string]string{"USER": "dora"}, "status", "emit", "--mission", "m", "WP03", "--to", "blocked", "--reason", "waiting")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(out), &line); err != nil {
		t.Fatalf("stdout is not one JSON line: %v\n%s", err, out)
	}
	want := map[string]any{
		"actor": "dora", "at": "2026-11-27T12:00:00.000000+00:00", "event_id": line["event_id"], "evidence": nil,
		"execution_mode": "direct_repo", "force": false, "from_lane": "planned", "mission_id": "MID", "mission_slug": "m",
		"policy_metadata": nil, "reason": "waiting", "review_ref": nil, "to_lane": "blocked", "wp_id": "WP03",
	}
	if diff := cmp.Diff(want, line); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	data, err := os.ReadFile(filepath.Join(sub, "status.events.jsonl"))
	if err != nil || string(data) != out {
		t.Errorf("events file %q (%v), stdout %q", data, err, out)
	}
}

func TestAffectedHint(t *testing.T) {
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"a"}, "a for details"},
		{[]string{"a", "b"}, "M for details; missions: a, b"},
		{[]string{"a", "b", "c", "d", "e"}, "M for details; missions: a, b, c and 2 more"},
	}
	for _, tt := range tests {
		if got := affectedHint(tt.names); got != tt.want {
			t.Errorf("affectedHint(%v) = %q, want %q", tt.names, got, tt.want)
		}
	}
}
