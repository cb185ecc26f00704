package mission

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
)

func TestParseLine(t *testing.T) {
	at := time.Date(2026, 8, 17, 13, 32, 0, 274162000, time.UTC)
	tests := []struct {
		name string
		line string
		want Record
		err  string // substring of the error; "" for success
	}{
		{
			name: "lane transition",
			line: `{"actor": "claude", "at": "2026-08-17T13:32:00.274162+00:00", "event_id": "01M07YR0CJ33XQWVZ0GJ3E2KS1", "evidence": null, "execution_mode": "worktree", "force": false, "from_lane": "genesis", "mission_slug": "m", "policy_metadata": {"a": [1, 2.5e3, true]}, "reason": "canonical bootstrap", "review_ref": null, "to_lane": "planned", "wp_id": "WP01"}` + "\n",
			want: Record{EventID: "01M07YR0CJ33XQWVZ0GJ3E2KS1", WPID: "WP01", FromLane: "genesis", ToLane: "planned", Actor: "claude", At: at, Transition: true},
		},
		{
			name: "annotation record is not a transition",
			line: `{"actor": "migration:backfill_runtime_state", "at": "2025-11-02T16:58:36Z", "delta": {"subtasks": {"T007": "done"}}, "event_id": "4BTZT0KZEF20A5RYTZSRV85WXH", "kind": "annotation", "wp_id": "WP04"}`,
			want: Record{EventID: "4BTZT0KZEF20A5RYTZSRV85WXH", WPID: "WP04", Actor: "migration:backfill_runtime_state", At: time.Date(2025, 11, 2, 16, 58, 36, 0, time.UTC), Kind: "annotation"},
		},
		{
			name: "lifecycle record takes its time from timestamp",
			line: `{"aggregate_id": "WP01", "aggregate_type": "WorkPackage", "event_id": "01KV6ECJ5T0K04X9XMR2T8EJZR", "event_type": "WPCreated", "payload": {"wp_id": "WP01", "to_lane": "x"}, "project_slug": null, "schema_version": "5.0.0", "timestamp": "2026-06-15T20:08:24.506333+00:00"}`,
			want: Record{EventID: "01KV6ECJ5T0K04X9XMR2T8EJZR", EventType: "WPCreated", At: time.Date(2026, 6, 15, 20, 8, 24, 506333000, time.UTC)},
		},
		{
			name: "event_type present even as null makes a lifecycle record",
			line: `{"event_type": null, "wp_id": "WP01", "to_lane": "done"}`,
			want: Record{WPID: "WP01", ToLane: "done"},
		},
		{
			name: "actor object: display first",
			line: `{"actor": {"display": "spec-kitty retrospect", "id": "cli", "kind": "human"}, "wp_id": null, "type": "RetrospectiveCaptured", "lamport": 1}`,
			want: Record{Actor: "spec-kitty retrospect"},
		},
		{
			name: "actor object: id when display is null",
			line: `{"actor": {"display": null, "id": "spec-kitty-merge-postcondition", "kind": "runtime"}}`,
			want: Record{Actor: "spec-kitty-merge-postcondition"},
		},
		{
			name: "escapes in keys and values are decoded",
			line: `{"wp\u005fid": "WP\u00301", "to_lane": "done", "actor": "Jos\u00e9 \"J\"", "at": "2026-01-02T03:04:05+02:00"}`,
			want: Record{WPID: "WP01", ToLane: "done", Actor: `José "J"`, At: time.Date(2026, 1, 2, 1, 4, 5, 0, time.UTC), Transition: true},
		},
		{
			name: "non-string fields are ignored",
			line: `{"wp_id": 5, "to_lane": ["done"], "at": true, "event_id": {}}`,
			want: Record{},
		},
		{
			// The uploader's reading (event.TimeValue): Unix seconds and a
			// space for the T are times too.
			name: "Unix seconds at",
			line: `{"at": 1790000000, "event_id": "E"}`,
			want: Record{EventID: "E", At: time.Unix(1790000000, 0).UTC()},
		},
		{
			name: "space-separated timestamp",
			line: `{"timestamp": "2026-01-02 03:04:05", "event_id": "E"}`,
			want: Record{EventID: "E", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
		{
			name: "unknown lane is still a transition",
			line: `{"wp_id": "WP02", "to_lane": "doing", "at": "garbage"}`,
			want: Record{WPID: "WP02", ToLane: "doing", Transition: true},
		},
		{name: "empty object", line: `{}`, want: Record{}},
		{name: "surrounding whitespace", line: " \t{\"kind\": \"x\"}\r\n", want: Record{Kind: "x"}},
		{name: "not an object", line: `["a"]`, err: "not a JSON object"},
		{name: "string", line: `"x"`, err: "not a JSON object"},
		{name: "truncated", line: `{"actor": "cla`, err: "unterminated string"},
		{name: "trailing data", line: `{"a": 1} {"b": 2}`, err: "data after the JSON value"},
		{name: "two objects glued", line: `{"a": 1}{"b": 2}`, err: "data after the JSON value"},
		{name: "trailing comma", line: `{"a": 1,}`, err: "expected string key"},
		{name: "single quotes", line: `{'a': 1}`, err: "expected string key"},
		{name: "bad literal", line: `{"a": nul}`, err: "invalid literal"},
		{name: "NaN is not JSON", line: `{"a": NaN}`, err: "unexpected character"},
		{name: "leading zero", line: `{"a": 01}`, err: "expected , or }"},
		{name: "bad escape", line: `{"a": "\x"}`, err: "invalid escape"},
		{name: "raw control character", line: "{\"a\": \"x\ty\"}", err: "control character"},
		{name: "invalid UTF-8", line: "{\"a\": \"\xff\"}", err: "invalid UTF-8"},
		{name: "empty", line: "", err: "empty input"},
		{name: "blank", line: "   ", err: "empty input"},
		{name: "too deep", line: `{"a": ` + strings.Repeat("[", jsonscan.MaxDepth) + strings.Repeat("]", jsonscan.MaxDepth) + `}`, err: "nesting too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine([]byte(tt.line))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseLine error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLine: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLine (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLineNotObjectIsErrNotObject(t *testing.T) {
	_, err := ParseLine([]byte(" 42 "))
	if !errors.Is(err, ErrNotObject) {
		t.Fatalf("err = %v, want ErrNotObject", err)
	}
	var se *SyntaxError
	_, err = ParseLine([]byte(`{"a":`))
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *SyntaxError", err)
	}
}

// referenceRecord decodes line with encoding/json the slow way; ok is false
// when the line is not a valid JSON object in UTF-8.
func referenceRecord(line []byte) (Record, bool) {
	if !json.Valid(line) || !utf8.Valid(line) {
		return Record{}, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return Record{}, false
	}
	if obj == nil {
		return Record{}, false // the JSON null literal
	}
	str := func(k string) (string, bool) {
		var s string
		raw, ok := obj[k]
		if !ok || json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	var r Record
	r.EventID, _ = str("event_id")
	wp, wpOK := str("wp_id")
	r.WPID = wp
	r.FromLane, _ = str("from_lane")
	to, toOK := str("to_lane")
	r.ToLane = to
	r.Kind, _ = str("kind")
	r.EventType, _ = str("event_type")
	if raw, ok := obj["actor"]; ok {
		var s string
		var m map[string]any
		if json.Unmarshal(raw, &s) == nil {
			r.Actor = s
		} else if json.Unmarshal(raw, &m) == nil {
			for _, k := range []string{"display", "id", "name", "tool"} {
				if v, ok := m[k].(string); ok && strings.TrimSpace(v) != "" {
					r.Actor = v
					break
				}
			}
		}
	}
	r.At = event.TimeValue(obj["at"])
	if r.At.IsZero() {
		r.At = event.TimeValue(obj["timestamp"])
	}
	kindRaw, hasKind := obj["kind"]
	hasKind = hasKind && !bytes.Equal(bytes.TrimSpace(kindRaw), []byte("null"))
	_, hasEventType := obj["event_type"]
	r.Transition = !hasKind && !hasEventType && wpOK && toOK && wp != "" && to != ""
	return r, true
}

// FuzzParseLine checks the fast line parser against encoding/json: the same
// lines are accepted, and the same fields come out of them.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"wp_id": "WP01", "to_lane": "done"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		got, err := ParseLine(line)
		want, ok := referenceRecord(line)
		if ok != (err == nil) {
			t.Fatalf("ParseLine(%q) error = %v; encoding/json accepts it: %v", line, err, ok)
		}
		if !ok {
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ParseLine(%q) (-encoding/json +fast):\n%s", line, diff)
		}
	})
}
