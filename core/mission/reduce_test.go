package mission

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
)

// tr builds a lane transition line in the Python CLI's layout.
func tr(id, wp, from, to, actor, at string) string {
	return fmt.Sprintf(`{"actor": %q, "at": %q, "event_id": %q, "evidence": null, "execution_mode": "worktree", "force": false, "from_lane": %q, "mission_slug": "m", "policy_metadata": null, "reason": null, "review_ref": null, "to_lane": %q, "wp_id": %q}`,
		actor, at, id, from, to, wp)
}

func ts(s string) time.Time {
	t := event.ParseTime(s)
	if t.IsZero() {
		panic(s)
	}
	return t
}

func TestReduce(t *testing.T) {
	const (
		t1 = "2026-01-01T10:00:00.000001+00:00"
		t2 = "2026-01-01T10:00:00.000002+00:00"
		t3 = "2026-01-01T10:00:00.000003+00:00"
	)
	tests := []struct {
		name string
		data string
		want Status
	}{
		{name: "empty file", data: "", want: Status{}},
		{name: "only blank lines", data: "\n  \n\r\n", want: Status{}},
		{
			name: "last transition by time wins",
			data: strings.Join([]string{
				tr("A1", "WP01", "planned", "claimed", "alice", t1),
				tr("A2", "WP01", "claimed", "in_progress", "alice", t2),
				tr("B1", "WP02", "planned", "claimed", "bob", t1),
			}, "\n") + "\n",
			want: Status{
				WPs: []WP{
					{ID: "WP01", Lane: InProgress, Actor: "alice", At: ts(t2), EventID: "A2", Line: 2},
					{ID: "WP02", Lane: Claimed, Actor: "bob", At: ts(t1), EventID: "B1", Line: 3},
				},
				Counts:       map[Lane]int{InProgress: 1, Claimed: 1},
				LastActivity: ts(t2),
				Stats:        Stats{Lines: 3, Transitions: 3},
			},
		},
		{
			name: "a backfilled line appended late with an old time does not win",
			data: strings.Join([]string{
				tr("01B", "WP01", "in_review", "approved", "user", t3),
				tr("6HW", "WP01", "planned", "claimed", "migration", t1),
			}, "\n"),
			want: Status{
				WPs:          []WP{{ID: "WP01", Lane: Approved, Actor: "user", At: ts(t3), EventID: "01B", Line: 1}},
				Counts:       map[Lane]int{Approved: 1},
				LastActivity: ts(t3),
				Stats:        Stats{Lines: 2, Transitions: 2},
			},
		},
		{
			name: "same time: event_id decides",
			data: tr("B", "WP01", "planned", "done", "x", t1) + "\n" + tr("A", "WP01", "planned", "blocked", "y", t1) + "\n",
			want: Status{
				WPs:          []WP{{ID: "WP01", Lane: Done, Actor: "x", At: ts(t1), EventID: "B", Line: 1}},
				Counts:       map[Lane]int{Done: 1},
				LastActivity: ts(t1),
				Stats:        Stats{Lines: 2, Transitions: 2},
			},
		},
		{
			name: "a forward move at the same time does not override a review rollback",
			data: tr("A", "WP01", "in_review", "in_progress", "rev", t1) + "\n" + tr("B", "WP01", "in_review", "approved", "dev", t1) + "\n",
			want: Status{
				WPs:          []WP{{ID: "WP01", Lane: InProgress, Actor: "rev", At: ts(t1), EventID: "A", Line: 1}},
				Counts:       map[Lane]int{InProgress: 1},
				LastActivity: ts(t1),
				Stats:        Stats{Lines: 2, Transitions: 2},
			},
		},
		{
			name: "duplicate event_id: the first occurrence counts",
			data: tr("A", "WP01", "planned", "claimed", "x", t1) + "\n" + tr("A", "WP01", "claimed", "done", "y", t2) + "\n",
			want: Status{
				WPs:          []WP{{ID: "WP01", Lane: Claimed, Actor: "x", At: ts(t1), EventID: "A", Line: 1}},
				Counts:       map[Lane]int{Claimed: 1},
				LastActivity: ts(t2),
				Stats:        Stats{Lines: 2, Transitions: 1, Duplicates: 1},
			},
		},
		{
			name: "unknown lane is counted under its own name",
			data: tr("A", "WP01", "planned", "doing", "x", t1),
			want: Status{
				WPs:          []WP{{ID: "WP01", Lane: "doing", Actor: "x", At: ts(t1), EventID: "A", Line: 1}},
				Counts:       map[Lane]int{"doing": 1},
				LastActivity: ts(t1),
				Stats:        Stats{Lines: 1, Transitions: 1},
			},
		},
		{
			name: "malformed lines are counted with their numbers and skipped",
			data: "\xef\xbb\xbf" + tr("A", "WP01", "planned", "claimed", "x", t1) + "\n\n{\"broken\n[1]\n" +
				tr("B", "WP01", "claimed", "done", "x", t2) + "\n{\"a\": \"\xff\"}",
			want: Status{
				WPs:          []WP{{ID: "WP01", Lane: Done, Actor: "x", At: ts(t2), EventID: "B", Line: 5}},
				Counts:       map[Lane]int{Done: 1},
				LastActivity: ts(t2),
				Stats:        Stats{Lines: 5, Transitions: 2, Malformed: 3},
				Malformed: []LineIssue{
					{Line: 3, Err: "invalid JSON at byte 1: unterminated string"},
					{Line: 4, Err: "not a JSON object"},
					{Line: 6, Err: "invalid JSON at byte 7: invalid UTF-8"},
				},
			},
		},
		{
			name: "records without a lane meaning only count and date the activity",
			data: strings.Join([]string{
				`{"aggregate_id": "WP01", "event_id": "E1", "event_type": "WPCreated", "payload": {"wp_id": "WP01"}, "timestamp": "2026-03-01T00:00:00+00:00"}`,
				`{"actor": "m", "at": "2026-02-01T00:00:00Z", "delta": {}, "event_id": "E2", "kind": "annotation", "wp_id": "WP01"}`,
				`{"actor": {"id": "cli"}, "at": "2026-01-01T00:00:00Z", "event_id": "E3", "type": "RetrospectiveCaptured", "wp_id": null}`,
			}, "\n"),
			want: Status{
				LastActivity: ts("2026-03-01T00:00:00Z"),
				Stats:        Stats{Lines: 3, Other: 3},
			},
		},
		{
			name: "WP ids sort naturally",
			data: tr("A", "WP10", "planned", "claimed", "x", t1) + "\n" + tr("B", "WP2", "planned", "claimed", "x", t1) + "\n" + tr("C", "extra", "planned", "claimed", "x", t1),
			want: Status{
				WPs: []WP{
					{ID: "WP2", Lane: Claimed, Actor: "x", At: ts(t1), EventID: "B", Line: 2},
					{ID: "WP10", Lane: Claimed, Actor: "x", At: ts(t1), EventID: "A", Line: 1},
					{ID: "extra", Lane: Claimed, Actor: "x", At: ts(t1), EventID: "C", Line: 3},
				},
				Counts:       map[Lane]int{Claimed: 3},
				LastActivity: ts(t1),
				Stats:        Stats{Lines: 3, Transitions: 3},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reduce([]byte(tt.data))
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Reduce (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReduceKeepsOnlyTheFirstIssues(t *testing.T) {
	var b strings.Builder
	for range MaxIssuesKept + 5 {
		b.WriteString("oops\n")
	}
	st := Reduce([]byte(b.String()))
	if st.Stats.Malformed != MaxIssuesKept+5 || len(st.Malformed) != MaxIssuesKept {
		t.Fatalf("Malformed = %d counted, %d kept; want %d, %d", st.Stats.Malformed, len(st.Malformed), MaxIssuesKept+5, MaxIssuesKept)
	}
	if st.Malformed[MaxIssuesKept-1].Line != MaxIssuesKept {
		t.Errorf("last kept issue is line %d, want %d", st.Malformed[MaxIssuesKept-1].Line, MaxIssuesKept)
	}
}

// TestReduceDoesNotKeepTheBuffer: a reader reuses its buffer for the next
// file, so nothing in a Status may point into the data.
func TestReduceDoesNotKeepTheBuffer(t *testing.T) {
	data := []byte(tr("EVT", "WP01", "planned", "claimed", "alice", "2026-01-01T00:00:00Z") + "\nbad\n")
	st := Reduce(data)
	for i := range data {
		data[i] = 'X'
	}
	w := st.WPs[0]
	if w.ID != "WP01" || w.Lane != Claimed || w.Actor != "alice" || w.EventID != "EVT" || st.Malformed[0].Err != "invalid JSON at byte 0: unexpected character 'b'" {
		t.Errorf("Status changed with its input: %+v", st)
	}
}

func TestCompareWPIDs(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"WP01", "WP02", -1},
		{"WP2", "WP10", -1},
		{"WP10", "WP2", 1},
		{"WP01", "WP1", -1}, // same number: plain order
		{"WP99", "WPx", -1},
		{"abc", "WP1", 1},
		{"abc", "abd", -1},
		{"WP03", "WP03", 0},
	}
	for _, tt := range tests {
		if got := CompareWPIDs(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareWPIDs(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestParseLane(t *testing.T) {
	for _, l := range Lanes() {
		if got, err := ParseLane(string(l)); err != nil || got != l {
			t.Errorf("ParseLane(%q) = %q, %v", l, got, err)
		}
	}
	for _, bad := range []string{"", "doing", "DONE", " done", "genesis"} {
		_, err := ParseLane(bad)
		want := fmt.Sprintf("invalid lane %q (valid lanes: planned, claimed, in_progress, for_review, in_review, approved, done, blocked, canceled)", bad)
		if err == nil || err.Error() != want {
			t.Errorf("ParseLane(%q) error = %v, want %q", bad, err, want)
		}
	}
}
