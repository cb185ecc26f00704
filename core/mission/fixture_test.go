package mission

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

// TestCorpusMissions reads a generated repository of the public one's scale
// and compares every mission with the generator's own model of it: counts
// by line kind, the lane of every WP (ordered by time, backfilled lines
// included), the last activity and the title.
func TestCorpusMissions(t *testing.T) {
	repo, sum := fixture.Default(t)
	ms, err := ReadAll(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(sum.Missions) {
		t.Fatalf("%d missions, want %d", len(ms), len(sum.Missions))
	}
	var total Stats
	for _, m := range ms {
		want, ok := sum.Mission(m.Slug)
		if !ok {
			t.Errorf("%s: not generated", m.Slug)
			continue
		}
		if m.MetaErr != nil || m.EventsErr != nil {
			t.Errorf("%s: meta %v, events %v", m.Slug, m.MetaErr, m.EventsErr)
		}
		if m.HasMeta != want.HasMeta || m.HasEvents != want.HasEvents {
			t.Errorf("%s: meta %v events %v; generated %v %v", m.Slug, m.HasMeta, m.HasEvents, want.HasMeta, want.HasEvents)
		}
		wantStats := Stats{
			Lines:       want.Counts.Lines,
			Transitions: want.Counts.Transitions,
			Duplicates:  want.Counts.Duplicates,
			Other:       want.Counts.Other,
			Malformed:   want.Counts.Malformed + want.Counts.PendingTail,
		}
		if diff := cmp.Diff(wantStats, m.Stats); diff != "" {
			t.Errorf("%s: stats (-generated +read):\n%s", m.Slug, diff)
		}
		got := map[string]string{}
		for _, w := range m.WPs {
			got[w.ID] = string(w.Lane)
		}
		if diff := cmp.Diff(want.Lanes, got); diff != "" {
			t.Errorf("%s: lanes (-generated +read):\n%s", m.Slug, diff)
		}
		if !m.LastActivity.Equal(want.LastActivity) {
			t.Errorf("%s: last activity %v, generated %v", m.Slug, m.LastActivity, want.LastActivity)
		}
		if wantTitle := want.Title; wantTitle != "" && m.Title() != wantTitle || wantTitle == "" && m.Title() != m.Slug {
			t.Errorf("%s: title %q, generated %q", m.Slug, m.Title(), wantTitle)
		}
		total.Lines += m.Stats.Lines
		total.Transitions += m.Stats.Transitions
		total.Malformed += m.Stats.Malformed
	}
	t.Logf("%d missions, %d lines, %d transitions, %d malformed", len(ms), total.Lines, total.Transitions, total.Malformed)
}

// TestRealMissions reads every mission of the public spec-kitty repository:
// all 412 are listed, no line is lost or malformed.
func TestRealMissions(t *testing.T) {
	repo := fixture.SkipWithoutReal(t)
	ms, err := ReadAll(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 412 {
		t.Fatalf("%d missions, want 412", len(ms))
	}
	var total Stats
	lanes := map[Lane]int{}
	var wps, withEvents, withMeta int
	for _, m := range ms {
		if m.MetaErr != nil || m.EventsErr != nil {
			t.Errorf("%s: meta %v, events %v", m.Slug, m.MetaErr, m.EventsErr)
		}
		if m.HasMeta {
			withMeta++
			if m.Meta.Slug == "" || m.Meta.MissionID == "" || m.Meta.FriendlyName == "" {
				t.Errorf("%s: meta.json read as %+v", m.Slug, m.Meta)
			}
		}
		if m.HasEvents {
			withEvents++
		}
		total.Lines += m.Stats.Lines
		total.Transitions += m.Stats.Transitions
		total.Duplicates += m.Stats.Duplicates
		total.Other += m.Stats.Other
		total.Malformed += m.Stats.Malformed
		wps += len(m.WPs)
		for l, n := range m.Counts {
			lanes[l] += n
			if !l.Valid() {
				t.Errorf("%s: unknown lane %q", m.Slug, l)
			}
		}
		if len(m.WPs) > 0 && m.LastActivity.IsZero() {
			t.Errorf("%s: WPs but no last activity", m.Slug)
		}
	}
	// The public repository: 25,178 lines, of which 17,982 lane transitions
	// and 7,196 lifecycle/annotation/retrospective records, none malformed.
	if diff := cmp.Diff(Stats{Lines: 25178, Transitions: 17982, Other: 7196}, total); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if withMeta != 412 || withEvents != 406 {
		t.Errorf("%d missions with meta.json, %d with events; want 412, 406", withMeta, withEvents)
	}
	t.Logf("%d missions (%d with events), %d WPs; lanes %v; %+v", len(ms), withEvents, wps, lanes, total)
}

// TestLinesMatchEncodingJSON runs every line of the generated corpus, and of
// the real one when present, through the fast parser and through
// encoding/json and compares what they read.
func TestLinesMatchEncodingJSON(t *testing.T) {
	gen, sum := fixture.Default(t)
	t.Run("generated", func(t *testing.T) {
		n, bad := compareLines(t, gen)
		if want := sum.Counts.Lines; n != want {
			t.Errorf("%d lines, want %d", n, want)
		}
		if want := sum.Counts.Malformed + sum.Counts.PendingTail; bad != want {
			t.Errorf("%d lines both parsers refuse, want %d", bad, want)
		}
	})
	t.Run("real", func(t *testing.T) {
		repo := fixture.SkipWithoutReal(t)
		n, bad := compareLines(t, repo)
		if n != 25178 || bad != 0 {
			t.Errorf("%d lines, %d refused; want 25178, 0", n, bad)
		}
	})
}

func compareLines(t *testing.T, repo string) (n, refused int) {
	files, err := filepath.Glob(filepath.Join(repo, "kitty-specs", "*", "status.events.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%d events files, %v", len(files), err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue // an empty file, a blank line
			}
			n++
			got, err := ParseLine(line)
			want, ok := referenceRecord(line)
			if (err == nil) != ok {
				t.Errorf("%s:%d: fast parser %v, encoding/json ok %v", f, i+1, err, ok)
				continue
			}
			if !ok {
				refused++
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s:%d (-encoding/json +fast):\n%s", f, i+1, diff)
			}
		}
	}
	return n, refused
}
