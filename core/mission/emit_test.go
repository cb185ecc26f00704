package mission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/google/go-cmp/cmp"
	"github.com/oklog/ulid/v2"
)

// emitterEnv makes the test binary an emitter process for
// TestEmitConcurrentProcesses: "repo|mission|count|actor".
const emitterEnv = "SPEC_KITTY_TEST_EMITTER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(emitterEnv); spec != "" {
		if err := runEmitter(spec); err != nil {
			fmt.Fprintln(os.Stderr, "emitter:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runEmitter(spec string) error {
	parts := strings.Split(spec, "|")
	if len(parts) != 4 {
		return fmt.Errorf("bad %s %q", emitterEnv, spec)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil {
		return err
	}
	lanes := Lanes()
	for i := range n {
		_, err := Emit(context.Background(), parts[0], parts[1], EmitRequest{
			WPID:      fmt.Sprintf("WP%02d", i%3+1),
			ToLane:    string(lanes[(i*7+len(parts[3]))%len(lanes)]),
			Actor:     parts[3],
			Reason:    fmt.Sprintf("%s #%d", parts[3], i),
			Force:     true, // arbitrary moves: forced, with a reason
			ReviewRef: "review-1",
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// newRepo makes a repo with one mission "m" holding meta.json.
func newRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	layout(t, repo, map[string]string{
		".kittify/":               "",
		"kitty-specs/m/meta.json": `{"mission_id": "01KN2371WNZX28ME4MN97B67PJ", "slug": "m", "friendly_name": "M"}`,
	})
	return repo
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func fixedID(id string) func(time.Time) (string, error) {
	return func(time.Time) (string, error) { return id, nil }
}

func readEvents(t *testing.T, repo, m string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "kitty-specs", m, "status.events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEmitWritesThePythonLayout(t *testing.T) {
	repo := newRepo(t)
	now := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	line, err := Emit(context.Background(), repo, "m", EmitRequest{
		WPID: "WP01", ToLane: "claimed", Actor: "alice", Reason: "José → done 🎉 \"quoted\"\n",
		Now: fixedClock(now), ID: fixedID("01KZZ3ZZPPGD7W2CZP71SVPC12"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"actor": "alice", "at": "2026-11-27T09:00:00.123456+00:00", "event_id": "01KZZ3ZZPPGD7W2CZP71SVPC12", "evidence": null, "execution_mode": "direct_repo", "force": false, "from_lane": "planned", "mission_id": "01KN2371WNZX28ME4MN97B67PJ", "mission_slug": "m", "policy_metadata": null, "reason": "Jos\u00e9 \u2192 done \ud83c\udf89 \"quoted\"\n", "review_ref": null, "to_lane": "claimed", "wp_id": "WP01"}`
	if diff := cmp.Diff(want, string(line.Raw)); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if got := readEvents(t, repo, "m"); got != want+"\n" {
		t.Errorf("file = %q", got)
	}
	if line.Number != 1 || line.Offset != 0 || line.FromLane != Planned || line.ToLane != Claimed || line.Force ||
		line.MissionID != "01KN2371WNZX28ME4MN97B67PJ" || !line.At.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("Line = %+v", line)
	}
	// Every field the Python reader (StatusEvent.from_dict) requires is there.
	var obj map[string]any
	if err := json.Unmarshal(line.Raw, &obj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"event_id", "wp_id", "from_lane", "to_lane", "at", "actor", "force", "execution_mode", "mission_slug", "reason"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("line lacks %q", k)
		}
	}
	if obj["reason"] != "José → done 🎉 \"quoted\"\n" {
		t.Errorf("reason decodes to %q", obj["reason"])
	}
}

func TestEmitChainsLanes(t *testing.T) {
	repo := newRepo(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		wp, to    string
		from      Lane
		force     bool
		reasonNil bool
	}{
		{"WP01", "claimed", Planned, false, true},
		{"WP01", "in_progress", Claimed, false, true},
		{"WP02", "done", Planned, true, false}, // planned -> done needs --force (and a reason) in the Python CLI
		{"WP01", "for_review", InProgress, false, true},
		{"WP02", "done", Done, true, false},
	}
	for i, s := range steps {
		req := EmitRequest{WPID: s.wp, ToLane: s.to, Force: s.force, Now: fixedClock(base.Add(time.Duration(i) * time.Second))}
		if !s.reasonNil {
			req.Reason = "skip review"
		}
		line, err := Emit(context.Background(), repo, "m", req)
		if err != nil {
			t.Fatal(err)
		}
		if line.FromLane != s.from || line.Force != s.force || line.Number != i+1 || line.Actor != "unknown" {
			t.Errorf("step %d: from %s force %v line %d actor %q; want from %s force %v line %d actor unknown",
				i, line.FromLane, line.Force, line.Number, line.Actor, s.from, s.force, i+1)
		}
		if s.reasonNil && !strings.Contains(string(line.Raw), `"reason": null`) {
			t.Errorf("step %d: empty reason not written as null: %s", i, line.Raw)
		}
	}
	st := Reduce([]byte(readEvents(t, repo, "m")))
	got := map[string]Lane{}
	for _, w := range st.WPs {
		got[w.ID] = w.Lane
	}
	if diff := cmp.Diff(map[string]Lane{"WP01": ForReview, "WP02": Done}, got); diff != "" {
		t.Errorf("lanes after emits (-want +got):\n%s", diff)
	}
}

func TestEmitDefaultIDIsAULIDOfTheEventTime(t *testing.T) {
	repo := newRepo(t)
	now := time.Date(2026, 5, 5, 5, 5, 5, 5e6, time.UTC)
	line, err := Emit(context.Background(), repo, "m", EmitRequest{WPID: "WP01", ToLane: "claimed", Now: fixedClock(now)})
	if err != nil {
		t.Fatal(err)
	}
	id, err := ulid.ParseStrict(line.EventID)
	if err != nil {
		t.Fatalf("event_id %q: %v", line.EventID, err)
	}
	if got := ulid.Time(id.Time()); !got.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("ULID time %v, want %v", got, now)
	}
}

func TestEmitAfterALineWithoutNewline(t *testing.T) {
	repo := newRepo(t)
	old := tr("OLD", "WP01", "planned", "in_review", "bob", "2026-01-01T00:00:00Z") // no trailing newline
	path := filepath.Join(repo, "kitty-specs", "m", "status.events.jsonl")
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	ev, err := ParseEvidence(`{"review": {"reviewer": "bob", "verdict": "approved", "reference": "PR#1"}}`)
	if err != nil {
		t.Fatal(err)
	}
	line, err := Emit(context.Background(), repo, "m", EmitRequest{WPID: "WP01", ToLane: "approved", Evidence: ev, Now: fixedClock(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readEvents(t, repo, "m"), old+"\n"+string(line.Raw)+"\n"; got != want {
		t.Fatalf("file = %q, want %q", got, want)
	}
	if line.Number != 2 || line.Offset != int64(len(old)+1) || line.FromLane != InReview {
		t.Errorf("Line: number %d offset %d from %s", line.Number, line.Offset, line.FromLane)
	}
	if st := Reduce([]byte(readEvents(t, repo, "m"))); st.Stats.Malformed != 0 || st.WPs[0].Lane != Approved {
		t.Errorf("after emit: %+v", st)
	}
}

func TestEmitKeepsTimeOrderWhenTheClockIsBehind(t *testing.T) {
	repo := newRepo(t)
	future := "2030-01-01T00:00:00.000001+00:00"
	path := filepath.Join(repo, "kitty-specs", "m", "status.events.jsonl")
	if err := os.WriteFile(path, []byte(tr("F", "WP01", "planned", "claimed", "x", future)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	line, err := Emit(context.Background(), repo, "m", EmitRequest{WPID: "WP01", ToLane: "in_progress", Now: fixedClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if want := ts("2030-01-01T00:00:00.000002Z"); !line.At.Equal(want) {
		t.Errorf("at = %v, want %v", line.At, want)
	}
	if st := Reduce([]byte(readEvents(t, repo, "m"))); st.WPs[0].Lane != InProgress {
		t.Errorf("status disagrees with emit: %+v", st.WPs)
	}
}

func TestEmitCreatesTheEventsFile(t *testing.T) {
	repo := newRepo(t)
	if _, err := Emit(context.Background(), repo, "m", EmitRequest{WPID: "WP07", ToLane: "blocked"}); err != nil {
		t.Fatal(err)
	}
	if st := Reduce([]byte(readEvents(t, repo, "m"))); len(st.WPs) != 1 || st.WPs[0].Lane != Blocked {
		t.Errorf("status = %+v", st)
	}
	// Outside git the lock sits beside the events file.
	if _, inGit := gitCommonDir(repo); !inGit {
		if _, err := os.Stat(filepath.Join(repo, "kitty-specs", "m", "status.events.jsonl.lock")); err != nil {
			t.Errorf("lock file: %v", err)
		}
	}
}

func TestEmitErrors(t *testing.T) {
	repo := newRepo(t)
	layout(t, repo, map[string]string{"kitty-specs/empty-dir/": "", "kitty-specs/m/status.events.jsonl": ""})
	tests := []struct {
		name    string
		mission string
		wp, to  string
		check   func(error) bool
		msg     string
	}{
		{"lowercase wp", "m", "wp01", "done", isErr[*InvalidWPError], `invalid work package id "wp01" (want WP followed by digits, e.g. WP01)`},
		{"wp without number", "m", "WP", "done", isErr[*InvalidWPError], ""},
		{"wp with suffix", "m", "WP01a", "done", isErr[*InvalidWPError], ""},
		{"bad lane", "m", "WP01", "doing", isErr[*InvalidLaneError], `invalid lane "doing" (valid lanes: planned, claimed, in_progress, for_review, in_review, approved, done, blocked, canceled)`},
		{"empty lane", "m", "WP01", "", isErr[*InvalidLaneError], ""},
		{"path as mission", "../m", "WP01", "done", isErr[*InvalidNameError], `invalid mission name "../m" (want a directory name under kitty-specs/)`},
		{"hidden mission", ".git", "WP01", "done", isErr[*InvalidNameError], ""},
		{"unknown mission", "nope", "WP01", "done", isErr[*UnknownMissionError],
			fmt.Sprintf("unknown mission %q (no meta.json or status.events.jsonl in %s)", "nope", filepath.Join(repo, "kitty-specs", "nope"))},
		{"directory without mission files", "empty-dir", "WP01", "done", isErr[*UnknownMissionError], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Emit(context.Background(), repo, tt.mission, EmitRequest{WPID: tt.wp, ToLane: tt.to})
			if err == nil || !tt.check(err) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err, tt.msg)
			}
		})
	}
	if got := readEvents(t, repo, "m"); got != "" {
		t.Errorf("a failed emit wrote %q", got)
	}
}

func isErr[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// TestEmitWaitsForTheLockAndHonoursCancellation: while another process (here
// another lock handle) holds the mission's lock, Emit waits, and gives up
// when its context ends, writing nothing.
func TestEmitWaitsForTheLockAndHonoursCancellation(t *testing.T) {
	repo := newRepo(t)
	held := flock.New(LockPath(repo, "m"))
	if err := os.MkdirAll(filepath.Dir(held.Path()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := held.Lock(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Emit(ctx, repo, "m", EmitRequest{WPID: "WP01", ToLane: "claimed"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if _, err := os.Stat(filepath.Join(repo, "kitty-specs", "m", "status.events.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("events file touched while locked: %v", err)
	}
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := Emit(context.Background(), repo, "m", EmitRequest{WPID: "WP01", ToLane: "claimed"}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

// TestEmitConcurrentProcesses: two processes append 500 lines each to one
// mission at the same time. All 1000 lines arrive whole, and each WP's
// from_lane chain is unbroken in file order.
func TestEmitConcurrentProcesses(t *testing.T) {
	repo := newRepo(t)
	const perProcess = 500
	var cmds []*exec.Cmd
	for _, actor := range []string{"alpha", "bravo-two"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|m|%d|%s", emitterEnv, repo, perProcess, actor))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("emitter: %v", err)
		}
	}
	data := readEvents(t, repo, "m")
	if !strings.HasSuffix(data, "\n") {
		t.Fatal("file does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	if len(lines) != 2*perProcess {
		t.Fatalf("%d lines, want %d", len(lines), 2*perProcess)
	}
	type ev struct {
		EventID  string `json:"event_id"`
		WPID     string `json:"wp_id"`
		FromLane string `json:"from_lane"`
		ToLane   string `json:"to_lane"`
		Actor    string `json:"actor"`
		At       string `json:"at"`
	}
	ids := map[string]bool{}
	perActor := map[string]int{}
	current := map[string]string{}
	lastAt := map[string]time.Time{}
	for i, l := range lines {
		var e ev
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %d does not parse (interleaved?): %v\n%s", i+1, err, l)
		}
		if ids[e.EventID] {
			t.Errorf("line %d: duplicate event_id %s", i+1, e.EventID)
		}
		ids[e.EventID] = true
		perActor[e.Actor]++
		want, ok := current[e.WPID]
		if !ok {
			want = string(Planned)
		}
		if e.FromLane != want {
			t.Errorf("line %d: %s from_lane %s, want %s (the previous to_lane)", i+1, e.WPID, e.FromLane, want)
		}
		current[e.WPID] = e.ToLane
		at := ts(e.At)
		if !at.After(lastAt[e.WPID]) {
			t.Errorf("line %d: %s at %s is not after the previous move", i+1, e.WPID, e.At)
		}
		lastAt[e.WPID] = at
	}
	if diff := cmp.Diff(map[string]int{"alpha": perProcess, "bravo-two": perProcess}, perActor); diff != "" {
		t.Errorf("lines per emitter (-want +got):\n%s", diff)
	}
	st := Reduce([]byte(data))
	for _, w := range st.WPs {
		if string(w.Lane) != current[w.ID] {
			t.Errorf("status says %s is %s, the last line says %s", w.ID, w.Lane, current[w.ID])
		}
	}
}
