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

// TestFixtureMissions reads every real mission of the shared fixture: all
// 412 are listed, no line is lost or malformed, and the counts are reported.
func TestFixtureMissions(t *testing.T) {
	repo, err := fixture.Missions()
	if err != nil {
		t.Fatal(err)
	}
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
	// The fixture: 25,178 lines, of which 17,982 lane transitions and 7,196
	// lifecycle/annotation/retrospective records, none malformed.
	if diff := cmp.Diff(Stats{Lines: 25178, Transitions: 17982, Other: 7196}, total); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if withMeta != 412 || withEvents != 406 {
		t.Errorf("%d missions with meta.json, %d with events; want 412, 406", withMeta, withEvents)
	}
	t.Logf("%d missions (%d with events), %d WPs; lanes %v; %+v", len(ms), withEvents, wps, lanes, total)
}

// TestFixtureLinesMatchEncodingJSON runs every real line through the fast
// parser and through encoding/json and compares what they read.
func TestFixtureLinesMatchEncodingJSON(t *testing.T) {
	repo, err := fixture.Missions()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(repo, "kitty-specs", "*", "status.events.jsonl"))
	if err != nil || len(files) != 406 {
		t.Fatalf("%d events files, %v", len(files), err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue // an empty file
			}
			n++
			got, err := ParseLine(line)
			want, ok := referenceRecord(line)
			if err != nil || !ok {
				t.Errorf("%s:%d: fast parser %v, encoding/json ok %v", f, i+1, err, ok)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s:%d (-encoding/json +fast):\n%s", f, i+1, diff)
			}
		}
	}
	if n != 25178 {
		t.Errorf("%d lines, want 25178", n)
	}
}
