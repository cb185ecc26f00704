package corpus

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h, err := Hash(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	sa, err := Write(a, Small)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Write(b, Small)
	if err != nil {
		t.Fatal(err)
	}
	if ha, hb := treeHash(t, a), treeHash(t, b); ha != hb {
		t.Fatalf("same options, different trees: %s vs %s", ha, hb)
	}
	if diff := cmp.Diff(sa, sb); diff != "" {
		t.Fatalf("same options, different summaries:\n%s", diff)
	}
	other := Small
	other.Seed = 2
	c := t.TempDir()
	if _, err := Write(c, other); err != nil {
		t.Fatal(err)
	}
	if treeHash(t, a) == treeHash(t, c) {
		t.Fatal("another seed gave the same tree")
	}
}

// TestSummaryMatchesFiles re-reads every generated line with encoding/json
// and checks the counts the generator reports, and that every shape the
// issue lists is present.
func TestSummaryMatchesFiles(t *testing.T) {
	for _, o := range []Options{Small, Default} {
		t.Run(fmt.Sprint(o.Lines), func(t *testing.T) {
			if testing.Short() && o.Lines > Small.Lines {
				t.Skip("short")
			}
			dir := t.TempDir()
			s, err := Write(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Missions) != o.Missions || s.Counts.Lines != o.Lines {
				t.Fatalf("%d missions, %d lines; want %d, %d", len(s.Missions), s.Counts.Lines, o.Missions, o.Lines)
			}
			var got Counts
			shapes := map[string]int{}
			for _, m := range s.Missions {
				c := countFile(t, filepath.Join(dir, "kitty-specs", m.Slug, "status.events.jsonl"), shapes)
				if !m.HasEvents {
					if _, err := os.Stat(filepath.Join(dir, "kitty-specs", m.Slug, "status.events.jsonl")); err == nil {
						t.Errorf("%s: events file written for a mission without events", m.Slug)
					}
					shapes["mission without events"]++
				}
				if !m.HasMeta {
					shapes["mission without meta.json"]++
				} else if !json.Valid(mustRead(t, filepath.Join(dir, "kitty-specs", m.Slug, "meta.json"))) {
					t.Errorf("%s: meta.json is not JSON", m.Slug)
				}
				if diff := cmp.Diff(m.Counts, c, cmp.FilterPath(func(p cmp.Path) bool {
					return p.Last().String() == ".Transitions" || p.Last().String() == ".Duplicates"
				}, cmp.Ignore())); diff != "" {
					t.Errorf("%s (-summary +files):\n%s", m.Slug, diff)
				}
				if m.Counts.Transitions+m.Counts.Duplicates != c.Transitions {
					t.Errorf("%s: %d+%d transitions in the summary, %d lines in the file", m.Slug, m.Counts.Transitions, m.Counts.Duplicates, c.Transitions)
				}
				got.add(c)
			}
			if got.Lines != s.Counts.Lines || got.Bytes != s.Counts.Bytes {
				t.Errorf("files: %d lines %d bytes; summary %d, %d", got.Lines, got.Bytes, s.Counts.Lines, s.Counts.Bytes)
			}
			for _, shape := range []string{"transition with from_lane", "transition without from_lane", "forced with reason",
				"done with evidence", "timestamp instead of at", "actor object", "kind line", "event_type line",
				"kind or event_type with to_lane", "annotation", "malformed", "pending tail", "non-ASCII",
				"escaped non-ASCII", "no event_id", "blank", "mission without events", "mission without meta.json", "duplicate"} {
				if shapes[shape] == 0 && !(shape == "duplicate" && s.Counts.Duplicates > 0) {
					t.Errorf("no %q line in the corpus", shape)
				}
			}
			t.Logf("%+v; %d MB; shapes %v", s.Counts, s.Counts.Bytes>>20, shapes)
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countFile counts one events file with encoding/json. Transitions counts
// every lane transition line, duplicates included.
func countFile(t *testing.T, p string, shapes map[string]int) Counts {
	var c Counts
	data, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return c
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Bytes = int64(len(data))
	lines := strings.SplitAfter(string(data), "\n")
	for i, line := range lines {
		if line == "" {
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			c.Blank++
			shapes["blank"]++
			continue
		}
		c.Lines++
		var o map[string]any
		if err := json.Unmarshal([]byte(trimmed), &o); err != nil || o == nil {
			if i == len(lines)-1 && !strings.HasSuffix(line, "\n") {
				c.PendingTail++
				shapes["pending tail"]++
			} else {
				c.Malformed++
				shapes["malformed"]++
			}
			continue
		}
		if _, ok := o["event_id"]; ok {
			c.Synced++
		} else {
			c.NoEventID++
			shapes["no event_id"]++
		}
		_, hasKind := o["kind"]
		_, hasType := o["event_type"]
		wp, _ := o["wp_id"].(string)
		to, _ := o["to_lane"].(string)
		switch {
		case hasKind || hasType:
			c.Other++
			if to != "" {
				shapes["kind or event_type with to_lane"]++
			}
			if hasKind {
				shapes["kind line"]++
			} else {
				shapes["event_type line"]++
			}
			if o["kind"] == "annotation" {
				shapes["annotation"]++
			}
		case wp != "" && to != "":
			c.Transitions++
			if _, ok := o["from_lane"]; ok {
				shapes["transition with from_lane"]++
			} else {
				shapes["transition without from_lane"]++
			}
			if o["force"] == true && o["reason"] != nil {
				shapes["forced with reason"]++
			}
			if to == "done" && o["evidence"] != nil {
				shapes["done with evidence"]++
			}
			if _, ok := o["at"]; !ok {
				shapes["timestamp instead of at"]++
			}
		default:
			c.Other++
		}
		if _, ok := o["actor"].(map[string]any); ok {
			shapes["actor object"]++
		}
		if utf8.RuneCountInString(trimmed) != len(trimmed) {
			shapes["non-ASCII"]++
		}
		if strings.Contains(trimmed, `\u`) {
			shapes["escaped non-ASCII"]++
		}
	}
	return c
}
