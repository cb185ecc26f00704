package mission

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

// The status reader (this package) and the importer/uploader (core/event)
// scan a line alike (event.ScanLine) and then each take what they need from
// it. CONTRACTS §9 gives them one rule for "lane transition" and the
// envelope's event_type; these tests hold them to it line by line.

var agreeOrigin = event.Origin{
	Project:  event.Project{UUID: "u", Slug: "s", NodeID: "n", BuildID: "b"},
	TeamSlug: "t",
	Fallback: time.Unix(1790000000, 0),
}

// contractType is the envelope event_type CONTRACTS §9 gives a line, from
// the status reader's view of it.
func contractType(r Record) string {
	switch {
	case r.Transition:
		return event.TypeWPStatusChanged
	case r.EventType != "":
		return r.EventType
	case r.Kind != "":
		return r.Kind
	}
	return event.TypeStatusRecord
}

// compareReaders checks one line that both readers accepted.
func compareReaders(t *testing.T, where string, rec Record, l event.Line) {
	t.Helper()
	if rec.Transition != l.LaneTransition() {
		t.Fatalf("%s: status reader says transition=%v, uploader %v", where, rec.Transition, l.LaneTransition())
	}
	if !rec.At.Equal(l.At) {
		t.Fatalf("%s: status reader time %v, uploader %v", where, rec.At, l.At)
	}
	got := struct{ EventID, WPID, FromLane, ToLane, Kind, EventType string }{l.EventID, l.WPID, l.FromLane, l.ToLane, l.Kind, l.EventType}
	want := struct{ EventID, WPID, FromLane, ToLane, Kind, EventType string }{rec.EventID, rec.WPID, rec.FromLane, rec.ToLane, rec.Kind, rec.EventType}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: fields (-status +uploader):\n%s", where, diff)
	}
	if !l.Synced() {
		return
	}
	env, err := event.Build(l, agreeOrigin)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if want := contractType(rec); env.EventType != want {
		t.Fatalf("%s: envelope event_type %q, want %q (CONTRACTS §9)", where, env.EventType, want)
	}
}

// TestReadersAgreeOnCorpus reads every line of the generated corpus with
// both readers: same verdict, same time, the envelope type follows the
// rule, and the envelope types of the synced lines are the ones the
// generator counted by the contract (sum.EventTypes).
func TestReadersAgreeOnCorpus(t *testing.T) {
	repo, sum := fixture.Default(t)
	types := map[string]int{}
	transitions, typedWithLane := 0, 0
	for _, m := range mustList(t, repo) {
		file := filepath.Join(repo, "kitty-specs", m, "status.events.jsonl")
		data, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.SplitAfter(data, []byte("\n"))
		for i, raw := range lines {
			if len(bytes.TrimSpace(raw)) == 0 || raw[len(raw)-1] != '\n' {
				continue // blank, or the pending tail the importer leaves for later
			}
			where := file + ":" + strconv.Itoa(i+1)
			rec, merr := ParseLine(raw)
			l, eerr := event.ParseLine(file, i+1, raw)
			if (merr == nil) != (eerr == nil) {
				t.Fatalf("%s: status reader error %v, uploader error %v", where, merr, eerr)
			}
			if merr != nil {
				continue
			}
			compareReaders(t, where, rec, l)
			if rec.Transition {
				transitions++
			} else if rec.WPID != "" && rec.ToLane != "" {
				typedWithLane++
			}
			if l.Synced() {
				env, _ := event.Build(l, agreeOrigin)
				types[env.EventType]++
			}
		}
	}
	if transitions == 0 || typedWithLane == 0 {
		t.Fatalf("corpus has %d transitions and %d typed lines with wp_id and to_lane; want both", transitions, typedWithLane)
	}
	if diff := cmp.Diff(sum.EventTypes, types); diff != "" {
		t.Errorf("envelope event types over the corpus (-summary +uploader):\n%s", diff)
	}
}

// FuzzReadersAgree: on any line, a line the uploader accepts the status
// reader accepts too, and both classify and time it alike; a line the status
// reader refuses, the uploader refuses too.
func FuzzReadersAgree(f *testing.F) {
	f.Add([]byte(`{"event_id": "E", "wp_id": "WP01", "to_lane": "done", "at": "2026-01-02 03:04:05"}`))
	f.Add([]byte(`{"event_id": "E", "wp_id": "WP01", "to_lane": "done", "kind": "lane_hint", "at": 1790000000}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, eerr := event.ParseLine("kitty-specs/m/status.events.jsonl", 2, raw)
		rec, merr := ParseLine(raw)
		if merr != nil && eerr == nil {
			t.Fatalf("status reader refuses %q (%v), the uploader accepts it", raw, merr)
		}
		if eerr != nil {
			return // the uploader refuses more (a non-string event_id, long or blank lines)
		}
		compareReaders(t, string(raw), rec, l)
	})
}
