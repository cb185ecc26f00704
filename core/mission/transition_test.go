package mission

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmitTransitionGuards (issue 16 item 4): Emit applies the Python CLI's
// transition guards with its wording, writes nothing it refuses, and writes
// what it accepts in a shape Python's `agent status validate` does not flag.
func TestEmitTransitionGuards(t *testing.T) {
	good := `{"review": {"reviewer": "alice", "verdict": "approved", "reference": "PR#12"}}`
	noVerdict := `{"review": {"reviewer": "alice", "reference": "PR#12"}}`
	tests := []struct {
		name     string
		from     Lane // the WP's lane before the move ("" = never moved: planned)
		req      EmitRequest
		wantErr  string
		usageErr bool // ErrForceWithoutReason
	}{
		{name: "allowed move", req: EmitRequest{ToLane: "claimed"}},
		{name: "illegal move without force", req: EmitRequest{ToLane: "done"}, wantErr: "Illegal transition: planned -> done"},
		{name: "force without reason", req: EmitRequest{ToLane: "done", Force: true}, wantErr: "Force transitions require actor and reason", usageErr: true},
		{name: "force with blank reason", req: EmitRequest{ToLane: "done", Force: true, Reason: "  "}, wantErr: "Force transitions require actor and reason", usageErr: true},
		{name: "forced with reason", req: EmitRequest{ToLane: "done", Force: true, Reason: "merged by hand"}},
		{name: "forced allowed move still needs reason", req: EmitRequest{ToLane: "claimed", Force: true}, wantErr: "Force transitions require actor and reason", usageErr: true},
		{name: "done without evidence", from: Approved, req: EmitRequest{ToLane: "done"}, wantErr: "Transition to approved/done requires evidence (reviewer identity and approval reference)"},
		{name: "done with evidence", from: Approved, req: EmitRequest{ToLane: "done", Evidence: ev(t, good)}},
		{name: "done evidence without verdict", from: InReview, req: EmitRequest{ToLane: "done", Evidence: ev(t, noVerdict)}, wantErr: "Transition from in_review requires review_result with verdict"},
		{name: "in_review out without result", from: InReview, req: EmitRequest{ToLane: "in_progress"}, wantErr: "Transition from in_review requires review_result (structured review outcome)"},
		{name: "approve without evidence", from: InProgress, req: EmitRequest{ToLane: "approved"}, wantErr: "Transition to approved/done requires evidence (reviewer identity and approval reference)"},
		{name: "back to planned without reason", from: InProgress, req: EmitRequest{ToLane: "planned"}, wantErr: "Transition in_progress -> planned requires reason"},
		{name: "back to planned with reason", from: InProgress, req: EmitRequest{ToLane: "planned", Reason: "scope cut"}},
		{name: "approved back without review_ref", from: Approved, req: EmitRequest{ToLane: "in_progress"}, wantErr: "Transition requires review_ref (review feedback reference)"},
		{name: "approved back with review_ref", from: Approved, req: EmitRequest{ToLane: "in_progress", ReviewRef: "PR#12#r1"}},
		{name: "for_review back forced without review_ref", from: ForReview, req: EmitRequest{ToLane: "in_progress", Force: true, Reason: "rework"}, wantErr: "Transition requires review_ref (review feedback reference)"},
		{name: "for_review back forced with review_ref", from: ForReview, req: EmitRequest{ToLane: "in_progress", Force: true, Reason: "rework", ReviewRef: "r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := newRepo(t)
			path := filepath.Join(repo, "kitty-specs", "m", "status.events.jsonl")
			var before string
			if tt.from != "" {
				before = tr("OLD", "WP01", "planned", string(tt.from), "bob", "2026-01-01T00:00:00Z") + "\n"
				if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tt.req.WPID, tt.req.Now = "WP01", fixedClock(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
			line, err := Emit(context.Background(), repo, "m", tt.req)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var te *TransitionError
				if got := errors.Is(err, ErrForceWithoutReason); got != tt.usageErr || !got && !errors.As(err, &te) {
					t.Errorf("err %T: usage error %v, want %v", err, got, tt.usageErr)
				}
				if got, _ := os.ReadFile(path); string(got) != before {
					t.Errorf("a refused move changed the file: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f := pythonValidate(t, line.Raw); len(f) > 0 {
				t.Errorf("Python's validator would flag %s: %v", line.Raw, f)
			}
		})
	}
}

// TestEmitEvidenceLayout: evidence is written in the Python CLI's layout
// (sorted keys, ", " and ": ", ASCII).
func TestEmitEvidenceLayout(t *testing.T) {
	repo := newRepo(t)
	path := filepath.Join(repo, "kitty-specs", "m", "status.events.jsonl")
	if err := os.WriteFile(path, []byte(tr("OLD", "WP01", "planned", "approved", "bob", "2026-01-01T00:00:00Z")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := ev(t, `{"review":{"verdict":"approved","reviewer":"Zoë","reference":"PR#1"},"tests":[1,2.50,true,null]}`)
	line, err := Emit(context.Background(), repo, "m", EmitRequest{WPID: "WP01", ToLane: "done", Evidence: e})
	if err != nil {
		t.Fatal(err)
	}
	want := `"evidence": {"review": {"reference": "PR#1", "reviewer": "Zo\u00eb", "verdict": "approved"}, "tests": [1, 2.50, true, null]}`
	if !strings.Contains(string(line.Raw), want) {
		t.Errorf("line %s\nlacks %s", line.Raw, want)
	}
}

func TestParseEvidence(t *testing.T) {
	for _, bad := range []string{"", "[]", `"x"`, "{", "null"} {
		if _, err := ParseEvidence(bad); err == nil {
			t.Errorf("ParseEvidence(%q) accepted", bad)
		}
	}
}

func ev(t *testing.T, s string) *Evidence {
	t.Helper()
	e, err := ParseEvidence(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pythonValidate applies the per-event checks of the Python CLI's
// src/specify_cli/status/validate.py (validate_event_schema,
// validate_transition_legality, validate_done_evidence) to one line.
func pythonValidate(t *testing.T, raw []byte) []string {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	var f []string
	for _, k := range []string{"event_id", "mission_slug", "wp_id", "from_lane", "to_lane", "at", "actor", "force", "execution_mode"} {
		if _, ok := e[k]; !ok {
			f = append(f, "Missing required field: "+k)
		}
	}
	force, _ := e["force"].(bool)
	if r, _ := e["reason"].(string); force && r == "" {
		f = append(f, "force=true without reason")
	}
	if rr, _ := e["review_ref"].(string); e["from_lane"] == "for_review" && e["to_lane"] == "in_progress" && rr == "" {
		f = append(f, "for_review->in_progress without review_ref")
	}
	if !force && !allowedMove(Lane(e["from_lane"].(string)), Lane(e["to_lane"].(string))) {
		f = append(f, "illegal transition")
	}
	if e["to_lane"] == "done" && !force {
		evd, _ := e["evidence"].(map[string]any)
		rev, _ := evd["review"].(map[string]any)
		for _, k := range []string{"reviewer", "verdict", "reference"} {
			if s, _ := rev[k].(string); s == "" {
				f = append(f, "done evidence missing "+k)
			}
		}
	}
	return f
}
