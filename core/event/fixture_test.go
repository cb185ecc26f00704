package event

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

// TestFixtureLines parses every line of the real missions: nothing panics,
// every synced line builds an envelope that marshals, and every payload comes
// back byte for byte.
func TestFixtureLines(t *testing.T) {
	root, err := fixture.Missions()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "kitty-specs", "*", "status.events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 400 {
		t.Fatalf("found %d events files, want the ~406 of the fixture", len(files))
	}
	var (
		counts Counts
		ids    = map[string]string{}
		types  = map[string]int{}
		aggs   = map[AggregateType]int{}
	)
	origin := Origin{Project: testProject, TeamSlug: "team", Fallback: time.Unix(1790000000, 0)}
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// The fixture has neither kind of bad line: add one of each to the
			// first file (in memory) so both counters are exercised.
			data = append(bytes.Clone(data), "{\"event_id\": \"torn\n{\"note\": \"no id\"}\n"...)
		}
		s := NewScanner(bytes.NewReader(data), file, 0, 0)
		for s.Scan() {
			l, err := s.Line()
			counts.Add(l, err)
			if err != nil {
				t.Logf("malformed: %v", err)
				continue
			}
			if !l.Synced() {
				continue
			}
			if prev, dup := ids[l.EventID]; dup {
				t.Errorf("event_id %s in %s and %s:%d", l.EventID, prev, file, l.Number)
			}
			ids[l.EventID] = file
			origin.Lamport++
			env, err := Build(l, origin)
			if err != nil {
				t.Fatalf("%s:%d: %v", file, l.Number, err)
			}
			types[env.EventType]++
			aggs[env.AggregateType]++
			out, err := env.MarshalJSON()
			if err != nil {
				t.Fatalf("%s:%d: %v", file, l.Number, err)
			}
			var back struct {
				EventID string          `json:"event_id"`
				Payload json.RawMessage `json:"payload"`
			}
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("%s:%d: envelope does not unmarshal: %v", file, l.Number, err)
			}
			if back.EventID != l.EventID || !bytes.Equal(back.Payload, l.Raw) {
				t.Fatalf("%s:%d: payload not byte-identical", file, l.Number)
			}
			if !bytes.Contains(data, back.Payload) {
				t.Fatalf("%s:%d: payload is not a slice of the file", file, l.Number)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if s.Offset() != int64(len(data)) {
			t.Errorf("%s: scan stopped at %d of %d bytes", file, s.Offset(), len(data))
		}
	}
	t.Logf("fixture: %d files, %d lines with event_id, %d without, %d malformed", len(files), counts.Valid, counts.NoEventID, counts.Malformed)
	t.Logf("event types: %v", types)
	t.Logf("aggregates: %v", aggs)
	if diff := cmp.Diff(Counts{Valid: 25178, NoEventID: 1, Malformed: 1}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if types[TypeWPStatusChanged] == 0 || types["annotation"] == 0 || types["MissionCreated"] == 0 || types[TypeStatusRecord] == 0 {
		t.Errorf("expected every kind of record among the fixture types, got %v", types)
	}
}
