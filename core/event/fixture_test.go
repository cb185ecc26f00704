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

// TestCorpusLines parses every line of the generated corpus: nothing
// panics, the counts are the generator's, every synced line builds an
// envelope that marshals, and every payload comes back byte for byte.
func TestCorpusLines(t *testing.T) {
	root, sum := fixture.Default(t)
	counts, types := scanCorpus(t, root, false)
	want := Counts{Valid: sum.Counts.Synced, NoEventID: sum.Counts.NoEventID, Malformed: sum.Counts.Malformed}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("counts (-generated +scanned):\n%s", diff)
	}
	if types[TypeWPStatusChanged] == 0 || types["annotation"] == 0 || types["MissionCreated"] == 0 || types[TypeStatusRecord] == 0 {
		t.Errorf("expected every kind of record among the corpus types, got %v", types)
	}
}

// TestRealLines does the same over the public spec-kitty repository's lines.
func TestRealLines(t *testing.T) {
	root := fixture.SkipWithoutReal(t)
	counts, _ := scanCorpus(t, root, true)
	// The real files have neither kind of bad line; scanCorpus adds one of
	// each to the first file (in memory) so both counters are exercised.
	if diff := cmp.Diff(Counts{Valid: 25178, NoEventID: 1, Malformed: 1}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func scanCorpus(t *testing.T, root string, addBad bool) (Counts, map[string]int) {
	files, err := filepath.Glob(filepath.Join(root, "kitty-specs", "*", "status.events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no events files under %s", root)
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
		if i == 0 && addBad {
			data = append(bytes.Clone(data), "{\"event_id\": \"torn\n{\"note\": \"no id\"}\n"...)
		}
		s := NewScanner(bytes.NewReader(data), file, 0, 0)
		for s.Scan() {
			l, err := s.Line()
			counts.Add(l, err)
			if err != nil {
				continue
			}
			if !l.Synced() {
				continue
			}
			if prev, dup := ids[l.EventID]; dup && prev != file {
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
			if want := referenceJSON(env); !bytes.Equal(out, want) {
				t.Fatalf("%s:%d: envelope differs from the json.Marshal encoding:\n%s\n%s", file, l.Number, out, want)
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
		// The scan stops before an unterminated incomplete last line only.
		if rest := data[s.Offset():]; len(rest) > 0 && bytes.IndexByte(rest, '\n') >= 0 {
			t.Errorf("%s: scan stopped at %d of %d bytes", file, s.Offset(), len(data))
		}
	}
	t.Logf("%d files, %d lines with event_id, %d without, %d malformed", len(files), counts.Valid, counts.NoEventID, counts.Malformed)
	t.Logf("event types: %v", types)
	t.Logf("aggregates: %v", aggs)
	return counts, types
}
