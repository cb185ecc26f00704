package event

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testFile = "repo/kitty-specs/m-01/status.events.jsonl"

func TestParseLine(t *testing.T) {
	at := time.Date(2026, 6, 30, 20, 18, 52, 828090000, time.UTC)
	tests := []struct {
		name    string
		file    string
		number  int
		raw     string
		want    Line // Raw, File, Number filled in by the test
		wantErr string
	}{
		{
			name: "lane transition",
			raw:  `{"actor": "a", "at": "2026-06-30T20:18:52.828090+00:00", "event_id": "01KWD2YGRWXYRRZ66K189ZGP9Y", "from_lane": "genesis", "to_lane": "planned", "wp_id": "WP01", "x": [1, {"y": null}]}` + "\n",
			want: Line{Mission: "m-01", EventID: "01KWD2YGRWXYRRZ66K189ZGP9Y", WPID: "WP01", FromLane: "genesis", ToLane: "planned", At: at, Transition: true},
		},
		{
			name: "lifecycle record with timestamp",
			raw:  `{"aggregate_id": "01KV", "event_id": "01KVBBT6W9C24PGHW3K4KJH1W1", "event_type": "MissionCreated", "payload": {"a": 1}, "timestamp": "2026-06-30T20:18:52.82809Z"}`,
			want: Line{Mission: "m-01", EventID: "01KVBBT6W9C24PGHW3K4KJH1W1", EventType: "MissionCreated", At: at},
		},
		{
			name: "kind delta record, CRLF",
			raw:  `{"at": "2026-07-30T05:52:50Z", "delta": {"subtasks": {"T001": "done"}}, "event_id": "1FSR8GDTY817M4A0W844V2726F", "kind": "annotation", "wp_id": "WP01"}` + "\r\n",
			want: Line{Mission: "m-01", EventID: "1FSR8GDTY817M4A0W844V2726F", Kind: "annotation", WPID: "WP01", At: time.Date(2026, 7, 30, 5, 52, 50, 0, time.UTC)},
		},
		{
			name: "naive isoformat is UTC, numbers are not strings",
			raw:  `{"at": "2026-07-30T05:52:50.5", "event_id": "E1", "to_lane": 5, "wp_id": "WP02"}`,
			want: Line{Mission: "m-01", EventID: "E1", WPID: "WP02", At: time.Date(2026, 7, 30, 5, 52, 50, 500000000, time.UTC)},
		},
		{
			name: "epoch seconds and unparseable at falls back to timestamp",
			raw:  `{"at": "yesterday", "timestamp": 1790000000, "event_id": "E2"}`,
			want: Line{Mission: "m-01", EventID: "E2", At: time.Unix(1790000000, 0).UTC()},
		},
		{
			name: "no event_id",
			raw:  `{"at": "2026-07-30T05:52:50Z", "note": "hello"}`,
			want: Line{Mission: "m-01", At: time.Date(2026, 7, 30, 5, 52, 50, 0, time.UTC)},
		},
		{
			name: "null event_id",
			raw:  `{"event_id": null}`,
			want: Line{Mission: "m-01"},
		},
		{
			name:   "mission from the line when the file has no directory",
			file:   "status.events.jsonl",
			number: 3,
			raw:    `{"event_id": "E3", "mission_slug": "from-line"}`,
			want:   Line{Mission: "from-line", EventID: "E3"},
		},
		{
			name:   "BOM on line 1",
			number: 1,
			raw:    "\xef\xbb\xbf{\"event_id\": \"E4\"}",
			want:   Line{Mission: "m-01", EventID: "E4"},
		},
		{name: "truncated JSON", raw: `{"event_id": "E5", "at": "2026`, wantErr: testFile + ":7: invalid JSON"},
		{name: "garbage", raw: `hello world`, wantErr: testFile + ":7: invalid JSON at byte 1"},
		{name: "array", raw: `[1,2]`, wantErr: "not a JSON object"},
		{name: "string", raw: `"x"`, wantErr: "not a JSON object"},
		{name: "empty", raw: " \r\n", wantErr: "empty line"},
		{name: "numeric event_id", raw: `{"event_id": 12}`, wantErr: "event_id is not a string"},
		{name: "invalid UTF-8", raw: "{\"event_id\": \"E\xff\"}", wantErr: "not valid UTF-8"},
		{name: "two objects", raw: `{"event_id": "a"}{"event_id": "b"}`, wantErr: "invalid JSON"},
		{name: "too long", raw: `{"x": "` + strings.Repeat("a", MaxLineBytes) + `"}`, wantErr: "line longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, number := tt.file, tt.number
			if file == "" {
				file = testFile
			}
			if number == 0 {
				number = 7
			}
			got, err := ParseLine(file, number, []byte(tt.raw))
			if tt.wantErr != "" {
				var le *LineError
				if !errors.As(err, &le) {
					t.Fatalf("err = %v, want a *LineError", err)
				}
				if le.File != file || le.Line != number {
					t.Errorf("LineError names %s:%d, want %s:%d", le.File, le.Line, file, number)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.File, want.Number = file, number
			want.Raw = []byte(strings.Trim(strings.TrimPrefix(tt.raw, "\xef\xbb\xbf"), " \r\n"))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseLine (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	var c Counts
	for i, raw := range []string{`{"event_id":"a"}`, `{"b":1}`, `{`, `{"event_id":"c"}`, `[]`} {
		c.Add(ParseLine(testFile, i+1, []byte(raw)))
	}
	if diff := cmp.Diff(Counts{Valid: 2, NoEventID: 1, Malformed: 2}, c); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-06-30T20:18:52.828090+00:00", time.Date(2026, 6, 30, 20, 18, 52, 828090000, time.UTC)},
		{"2026-06-30T22:18:52+02:00", time.Date(2026, 6, 30, 20, 18, 52, 0, time.UTC)},
		{"2026-06-30 20:18:52Z", time.Date(2026, 6, 30, 20, 18, 52, 0, time.UTC)},
		{"2026-06-30T20:18:52", time.Date(2026, 6, 30, 20, 18, 52, 0, time.UTC)},
		{"2026-06-30", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseTime(tt.in); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) = %v, want %v UTC", tt.in, got, tt.want)
			}
		})
	}
}

// TestScanLine: the members are the top-level ones only, the last of a
// repeated key, matched after decoding escapes; faults are the scanner's.
func TestScanLine(t *testing.T) {
	var m Members
	line := `{"wp_id": "WP01", "payload": {"to_lane": "no"}, "to_\u006cane": "done", "actor": {"name": "a"}, "review_ref": null, "wp_id": "WP02"}`
	if err := ScanLine([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"wp_id": string(m.WPID), "to_lane": string(m.ToLane), "actor": string(m.Actor), "review_ref": string(m.ReviewRef), "kind": string(m.Kind)}
	want := map[string]string{"wp_id": `"WP02"`, "to_lane": `"done"`, "actor": `{"name": "a"}`, "review_ref": "null", "kind": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if !m.Transition() {
		t.Error("not a transition")
	}
	if err := ScanLine([]byte("[1]"), &m); !errors.Is(err, ErrNotObject) {
		t.Errorf("ScanLine of an array = %v, want ErrNotObject", err)
	}
	if err := ScanLine([]byte(`{"a": "`), &m); err == nil || err.Error() != "invalid JSON at byte 6: unterminated string" {
		t.Errorf("ScanLine of a cut line = %v", err)
	}
}
