package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

// corpusCmd is the `corpus` script command: the scripts' repositories come
// from the generated corpus of the public repository's scale
// (core/corpus.Default), and their expectations from its summary.
//
//	corpus copy [SLUG...]      copy these missions (all when none) into $WORK/kitty-specs
//	corpus pick VAR KIND       set $VAR to the slug of a generated mission of KIND,
//	                           $VAR_TITLE to its title and $VAR_WPS to its WP count;
//	                           KIND: plain (meta.json, events, a title, no bad line),
//	                           meta-only, malformed (has malformed lines)
//	corpus count VAR WHAT      set $VAR to a corpus figure: missions, rows (missions + 1),
//	                           malformed (bad lines), malformed-files
//	corpus status-json FILE    FILE (`status --json` of a full copy) agrees with the
//	                           generator's model of every mission
func corpusCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! corpus")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: corpus copy|pick|count|status-json ...")
	}
	dir, sum, err := fixture.Corpus(corpus.Default)
	ts.Check(err)
	switch args[0] {
	case "copy":
		ts.Check(fixture.CopyMissions(dir, ts.Getenv("WORK"), args[1:]...))
	case "pick":
		if len(args) != 3 {
			ts.Fatalf("usage: corpus pick VAR KIND")
		}
		m, ok := pickMission(sum, args[2])
		if !ok {
			ts.Fatalf("no generated mission of kind %q", args[2])
		}
		ts.Setenv(args[1], m.Slug)
		ts.Setenv(args[1]+"_TITLE", m.Title)
		ts.Setenv(args[1]+"_WPS", fmt.Sprint(len(m.Lanes)))
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: corpus count VAR WHAT")
		}
		var n int
		switch args[2] {
		case "missions":
			n = len(sum.Missions)
		case "rows":
			n = len(sum.Missions) + 1
		case "malformed":
			n = sum.Counts.Malformed + sum.Counts.PendingTail
		case "malformed-files":
			for _, m := range sum.Missions {
				if m.Counts.Malformed+m.Counts.PendingTail > 0 {
					n++
				}
			}
		default:
			ts.Fatalf("corpus count: unknown figure %q", args[2])
		}
		ts.Setenv(args[1], fmt.Sprint(n))
	case "status-json":
		if len(args) != 2 {
			ts.Fatalf("usage: corpus status-json FILE")
		}
		checkStatusJSON(ts, sum, ts.ReadFile(args[1]))
	default:
		ts.Fatalf("corpus: unknown subcommand %q", args[0])
	}
}

func pickMission(sum *corpus.Summary, kind string) (corpus.Mission, bool) {
	for _, m := range sum.Missions {
		bad := m.Counts.Malformed + m.Counts.PendingTail
		switch kind {
		case "plain":
			if m.HasMeta && m.HasEvents && m.Title != "" && isPlainASCII(m.Title) && bad == 0 && len(m.Lanes) >= 2 {
				return m, true
			}
		case "meta-only":
			if m.HasMeta && !m.HasEvents {
				return m, true
			}
		case "malformed":
			if m.HasMeta && bad > 0 {
				return m, true
			}
		}
	}
	return corpus.Mission{}, false
}

func isPlainASCII(s string) bool {
	for _, c := range s {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// checkStatusJSON compares `status --json` with the generator's model.
func checkStatusJSON(ts *testscript.TestScript, sum *corpus.Summary, out string) {
	var got statusListJSON
	ts.Check(json.Unmarshal([]byte(out), &got))
	type row struct {
		Title                               string
		WPs                                 int
		Lanes                               map[string]int
		Last                                string
		Lines, Trans, Dups, Other, Malformd int
	}
	gotRows := map[string]row{}
	for _, m := range got.Missions {
		lanes := map[string]int{}
		for l, n := range m.Lanes {
			if n > 0 {
				lanes[l] = n
			}
		}
		last := ""
		if m.LastActivity != nil {
			last = *m.LastActivity
		}
		gotRows[m.Mission] = row{m.Title, m.WPCount, lanes, last, m.Lines, m.Transitions, m.DuplicateLines, m.OtherLines, m.MalformedLines}
	}
	wantRows := map[string]row{}
	malformed := 0
	for _, m := range sum.Missions {
		lanes := map[string]int{}
		for _, l := range m.Lanes {
			lanes[l]++
		}
		title := m.Title
		if title == "" {
			title = m.Slug
		}
		last := ""
		if !m.LastActivity.IsZero() {
			last = m.LastActivity.UTC().Format(time.RFC3339Nano)
		}
		c := m.Counts
		wantRows[m.Slug] = row{title, len(m.Lanes), lanes, last, c.Lines, c.Transitions, c.Duplicates, c.Other, c.Malformed + c.PendingTail}
		malformed += c.Malformed + c.PendingTail
	}
	if diff := cmp.Diff(wantRows, gotRows); diff != "" {
		ts.Fatalf("status --json disagrees with the generated corpus (-generated +status):\n%s", diff)
	}
	if got.Malformed != malformed {
		ts.Fatalf("status --json: %d malformed lines, generated %d", got.Malformed, malformed)
	}
}
