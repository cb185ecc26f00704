package event

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testProject = Project{UUID: "8a4a7da6-a97c-4bb4-893a-b31664abfee4", Slug: "spec-kitty", NodeID: "d036a097a835", BuildID: "0a7c3a8e-5a2b-5c1d-9e3f-4b6d8e0f1a2c"}

func TestBuild(t *testing.T) {
	fallback := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	origin := Origin{Project: testProject, TeamSlug: "team-a", Lamport: 42, Fallback: fallback}
	tests := []struct {
		name      string
		raw       string
		wantType  string
		wantAgg   AggregateType
		wantAggID string
		wantTime  time.Time
	}{
		{
			name:      "lane transition",
			raw:       `{"at": "2026-06-30T20:18:52.828090+00:00", "event_id": "E1", "from_lane": "planned", "to_lane": "claimed", "wp_id": "WP03", "kind": null}`,
			wantType:  TypeWPStatusChanged,
			wantAgg:   AggregateWorkPackage,
			wantAggID: "m-01/WP03",
			wantTime:  time.Date(2026, 6, 30, 20, 18, 52, 828090000, time.UTC),
		},
		{
			// CONTRACTS §9: a line with its own event_type is no lane
			// transition, even with wp_id and to_lane, and keeps its type.
			name:      "event_type with wp_id and to_lane keeps its event_type",
			raw:       `{"at": "2026-06-30 20:18:52.828090", "event_id": "E1", "from_lane": "planned", "to_lane": "claimed", "wp_id": "WP03", "event_type": "WPLaneProposed"}`,
			wantType:  "WPLaneProposed",
			wantAgg:   AggregateMission,
			wantAggID: "m-01",
			wantTime:  time.Date(2026, 6, 30, 20, 18, 52, 828090000, time.UTC),
		},
		{
			name:      "kind with wp_id and to_lane keeps its kind",
			raw:       `{"at": 1790000000, "event_id": "E1", "to_lane": "claimed", "wp_id": "WP03", "kind": "lane_hint"}`,
			wantType:  "lane_hint",
			wantAgg:   AggregateMission,
			wantAggID: "m-01",
			wantTime:  time.Unix(1790000000, 0).UTC(),
		},
		{
			name:      "null event_type with wp_id and to_lane is a status record",
			raw:       `{"at": "2026-06-30T20:18:52.828090Z", "event_id": "E1", "to_lane": "claimed", "wp_id": "WP03", "event_type": null}`,
			wantType:  TypeStatusRecord,
			wantAgg:   AggregateMission,
			wantAggID: "m-01",
			wantTime:  time.Date(2026, 6, 30, 20, 18, 52, 828090000, time.UTC),
		},
		{
			name:      "lifecycle record keeps its event_type",
			raw:       `{"aggregate_id": "01KV", "aggregate_type": "Mission", "event_id": "E2", "event_type": "MissionCreated", "payload": {}, "timestamp": "2026-06-15T19:50:47.852618+00:00"}`,
			wantType:  "MissionCreated",
			wantAgg:   AggregateMission,
			wantAggID: "m-01",
			wantTime:  time.Date(2026, 6, 15, 19, 50, 47, 852618000, time.UTC),
		},
		{
			name:      "kind record",
			raw:       `{"at": "2026-07-30T05:52:50Z", "delta": {}, "event_id": "E3", "kind": "annotation", "wp_id": "WP01"}`,
			wantType:  "annotation",
			wantAgg:   AggregateMission,
			wantAggID: "m-01",
			wantTime:  time.Date(2026, 7, 30, 5, 52, 50, 0, time.UTC),
		},
		{
			name:      "other record without time uses the fallback",
			raw:       `{"event_id": "E4", "type": "RetrospectiveCaptured", "wp_id": "WP01"}`,
			wantType:  TypeStatusRecord,
			wantAgg:   AggregateMission,
			wantAggID: "m-01",
			wantTime:  fallback.UTC(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLine(testFile, 1, []byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Build(l, origin)
			if err != nil {
				t.Fatal(err)
			}
			want := Envelope{
				EventID:       l.EventID,
				EventType:     tt.wantType,
				AggregateID:   tt.wantAggID,
				AggregateType: tt.wantAgg,
				SchemaVersion: "3.0.0",
				BuildID:       testProject.BuildID,
				Payload:       json.RawMessage(tt.raw),
				NodeID:        "d036a097a835",
				LamportClock:  42,
				Timestamp:     tt.wantTime,
				ProjectUUID:   testProject.UUID,
				ProjectSlug:   "spec-kitty",
				TeamSlug:      "team-a",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Build (-want +got):\n%s", diff)
			}
			data, err := got.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			checkEnvelopeJSON(t, data, got)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	line, err := ParseLine(testFile, 9, []byte(`{"event_id": "E1"}`))
	if err != nil {
		t.Fatal(err)
	}
	noID, _ := ParseLine(testFile, 9, []byte(`{"x": 1}`))
	noMission, _ := ParseLine("", 9, []byte(`{"event_id": "E1"}`))
	ok := Origin{Project: testProject, Fallback: time.Unix(1, 0)}
	tests := []struct {
		name   string
		line   Line
		origin Origin
		want   string
	}{
		{"no event id", noID, ok, "line has no event_id"},
		{"no mission", noMission, ok, "no mission slug"},
		{"no project uuid", line, Origin{Project: Project{Slug: "s", NodeID: "n"}, Fallback: time.Unix(1, 0)}, "project uuid is empty"},
		{"no project slug", line, Origin{Project: Project{UUID: "u", NodeID: "n"}, Fallback: time.Unix(1, 0)}, "project slug is empty"},
		{"no node id", line, Origin{Project: Project{UUID: "u", Slug: "s"}, Fallback: time.Unix(1, 0)}, "node id is empty"},
		{"no build id", line, Origin{Project: Project{UUID: "u", Slug: "s", NodeID: "n"}, Fallback: time.Unix(1, 0)}, "build id is empty"},
		{"no time at all", line, Origin{Project: testProject}, "no usable timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.line, tt.origin)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// checkEnvelopeJSON asserts the wire shape: keys in WIRE order, payload byte
// for byte, and a round trip back to the same envelope.
func checkEnvelopeJSON(t *testing.T, data []byte, want Envelope) {
	t.Helper()
	if !json.Valid(data) {
		t.Fatalf("envelope is not valid JSON: %s", data)
	}
	var back Envelope
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("unmarshal envelope: %v", err)
	}
	if !bytes.Equal(back.Payload, want.Payload) {
		t.Fatalf("payload changed:\n got %s\nwant %s", back.Payload, want.Payload)
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	parsed, err := ParseEnvelope(data)
	if err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	if diff := cmp.Diff(want, parsed); diff != "" {
		t.Errorf("ParseEnvelope (-want +got):\n%s", diff)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
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
	wantKeys := []string{"event_id", "event_type", "aggregate_id", "aggregate_type", "schema_version", "build_id", "payload",
		"node_id", "lamport_clock", "causation_id", "timestamp", "team_slug", "project_uuid", "project_slug",
		"git_branch", "head_commit_sha", "repo_slug"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("envelope keys (-want +got):\n%s", diff)
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    Envelope
		wantErr string
	}{
		{
			name: "python envelope with extra fields and null slug",
			data: `{"event_id": "E1", "event_type": "WPStatusChanged", "payload": {"a": 1}, "lamport_clock": 7, "timestamp": "2026-06-15T19:50:47.852618+00:00", "project_slug": null, "correlation_id": "x"}`,
			want: Envelope{EventID: "E1", EventType: "WPStatusChanged", Payload: json.RawMessage(`{"a": 1}`), LamportClock: 7,
				Timestamp: time.Date(2026, 6, 15, 19, 50, 47, 852618000, time.UTC)},
		},
		{name: "not JSON", data: `{"event_id"`, wantErr: "parse envelope: "},
		{name: "no event id", data: `{"event_type": "X", "payload": {}}`, wantErr: "missing field event_id"},
		{name: "no event type", data: `{"event_id": "E", "payload": {}}`, wantErr: "missing field event_type"},
		{name: "payload not object", data: `{"event_id": "E", "event_type": "X", "payload": "s"}`, wantErr: "missing field payload"},
		{name: "no payload", data: `{"event_id": "E", "event_type": "X"}`, wantErr: "missing field payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseEnvelope (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalRejectsInvalidPayload(t *testing.T) {
	if _, err := (Envelope{EventID: "E", Payload: json.RawMessage(`{`)}).MarshalJSON(); err == nil {
		t.Fatal("MarshalJSON accepted an invalid payload")
	}
}
