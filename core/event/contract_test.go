package event

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// golden reads testdata/envelope_fields.golden into its sections.
func goldenEnvelope(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("testdata/envelope_fields.golden")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, val, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("golden line %q: want `kind value`", line)
		}
		out[kind] = append(out[kind], val)
	}
	return out
}

// envelopeKeys lists the top-level keys of a JSON object in order.
func envelopeKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestEnvelopeGolden (issue 16 item 2): the envelope carries the Python
// emitter's fields in its order, the contract tables equal the Python
// gate's lists, and every envelope Build makes passes the gate.
func TestEnvelopeGolden(t *testing.T) {
	g := goldenEnvelope(t)
	for _, c := range []struct {
		name string
		got  []string
	}{
		{"required", RequiredEnvelopeFields},
		{"forbidden", ForbiddenEnvelopeFields},
		{"aggregate_type", AllowedAggregateTypes},
	} {
		if diff := cmp.Diff(g[c.name], c.got); diff != "" {
			t.Errorf("%s fields (-golden +Go table):\n%s", c.name, diff)
		}
	}
	for _, raw := range []string{
		`{"at": "2026-06-30T20:18:52.828090+00:00", "event_id": "E1", "from_lane": "planned", "to_lane": "claimed", "wp_id": "WP03"}`,
		`{"event_id": "E2", "event_type": "MissionCreated", "payload": {}, "timestamp": "2026-06-15T19:50:47+00:00"}`,
		`{"event_id": "E3", "kind": "annotation", "at": "2026-07-30T05:52:50Z"}`,
	} {
		l, err := ParseLine(testFile, 1, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		e, err := Build(l, Origin{Project: testProject, TeamSlug: "t", Lamport: 1, Fallback: time.Unix(1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		data, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(g["field"], envelopeKeys(t, data)); diff != "" {
			t.Errorf("envelope keys (-golden +got):\n%s", diff)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			t.Fatal(err)
		}
		if v := CheckEnvelopeContract(lookup(fields)); v != "" {
			t.Errorf("our envelope fails the Python gate: %s\n%s", v, data)
		}
		if string(fields["build_id"]) != `"`+testProject.BuildID+`"` {
			t.Errorf("build_id = %s, want the project's", fields["build_id"])
		}
	}
}

func lookup(m map[string]json.RawMessage) func(string) (json.RawMessage, bool) {
	return func(k string) (json.RawMessage, bool) { v, ok := m[k]; return v, ok }
}

func TestCheckEnvelopeContract(t *testing.T) {
	base := `"event_id": "E", "event_type": "WPStatusChanged", "aggregate_type": "WorkPackage", "schema_version": "3.0.0", "build_id": "b", "payload": {}`
	tests := []struct{ name, data, want string }{
		{"ok", `{` + base + `}`, ""},
		{"empty build_id passes (Python sends build_id or \"\")", `{` + strings.Replace(base, `"b"`, `""`, 1) + `}`, ""},
		{"no build_id", `{"event_id": "E", "event_type": "T", "aggregate_type": "Mission", "schema_version": "3.0.0"}`, "required field 'build_id' missing in envelope payload"},
		{"no schema_version", `{"build_id": "b", "event_type": "T", "aggregate_type": "Mission"}`, "required field 'schema_version' missing in envelope payload"},
		{"lane at top level", `{` + base + `, "to_lane": "done"}`, "forbidden field 'to_lane' present in envelope payload"},
		{"feature aggregate", `{` + strings.Replace(base, `"WorkPackage"`, `"Feature"`, 1) + `}`, "field 'aggregate_type' must be one of ['Build', 'Mission', 'WorkPackage', 'MissionDossier'], got 'Feature'"},
		{"null aggregate", `{` + strings.Replace(base, `"WorkPackage"`, `null`, 1) + `}`, "field 'aggregate_type' must be one of ['Build', 'Mission', 'WorkPackage', 'MissionDossier'], got None"},
		{"old schema", `{` + strings.Replace(base, `"3.0.0"`, `"2.0.0"`, 1) + `}`, "field 'schema_version' must equal '3.0.0', got '2.0.0'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.data), &m); err != nil {
				t.Fatal(err)
			}
			if got := CheckEnvelopeContract(lookup(m)); got != tt.want {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}
