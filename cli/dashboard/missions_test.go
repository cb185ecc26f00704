package dashboard

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The cache re-reads exactly the missions whose files changed.
func TestMissionCache(t *testing.T) {
	repo := smallRepo(t, "002-lightweight-pypi-release", "expected-artifacts-manifest-repair-01KZY498", "kernel-clock-single-door")
	r := newRig(t, withRepo(repo))
	c := r.srv.missions
	ctx := context.Background()
	list := func() map[string]int {
		t.Helper()
		ms, err := c.list(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, m := range ms {
			out[m.Slug] = m.Counts["done"]
		}
		return out
	}
	if got := list(); len(got) != 3 || c.reads.Load() != 3 {
		t.Fatalf("first load: %v, %d reads", got, c.reads.Load())
	}
	list()
	if n := c.reads.Load(); n != 3 {
		t.Fatalf("unchanged files re-read: %d reads", n)
	}
	if _, err := c.get(ctx, "002-lightweight-pypi-release"); err != nil || c.reads.Load() != 3 {
		t.Fatalf("get of a cached mission: %v, %d reads", err, c.reads.Load())
	}

	rowOf := func() string {
		t.Helper()
		body := r.do(http.MethodGet, "/", nil).Body.String()
		i := strings.Index(body, `<tr data-mission="002-lightweight-pypi-release">`)
		if i < 0 {
			t.Fatal("no row for the mission")
		}
		row := body[i:]
		return row[:strings.Index(row, "</tr>")]
	}
	if row := rowOf(); strings.Contains(row, `lane-blocked has`) || !strings.Contains(row, `lane-done has"><span class="pill">4<`) {
		t.Fatalf("row before the move: %s", row)
	}

	// Append a lane move to one mission: only it is read again, and the
	// pages show the move.
	events := filepath.Join(repo, "kitty-specs", "002-lightweight-pypi-release", "status.events.jsonl")
	f, err := os.OpenFile(events, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"event_id":"01KZZZZZZZZZZZZZZZZZZZZZZZ","wp_id":"WP02","from_lane":"done","to_lane":"blocked","actor":"tester","at":"2027-01-01T00:00:00Z"}` + "\n")
	f.Close()
	got := list()
	if n := c.reads.Load(); n != 4 {
		t.Errorf("after one change: %d reads, want 4", n)
	}
	if got["002-lightweight-pypi-release"] != 3 {
		t.Errorf("done WPs after the move: %d, want 3", got["002-lightweight-pypi-release"])
	}
	body := r.do(http.MethodGet, "/missions/002-lightweight-pypi-release", nil).Body.String()
	if !strings.Contains(body, `<p class="who">tester</p>`) {
		t.Error("kanban does not show the new move")
	}
	if row := rowOf(); !strings.Contains(row, `lane-blocked has"><span class="pill">1<`) || !strings.Contains(row, `lane-done has"><span class="pill">3<`) {
		t.Errorf("row after the move: %s", row)
	}

	// Same size, new mtime: read again too.
	meta := filepath.Join(repo, "kitty-specs", "kernel-clock-single-door", "meta.json")
	later := time.Now().Add(time.Hour)
	os.Chtimes(meta, later, later)
	list()
	if n := c.reads.Load(); n != 5 {
		t.Errorf("after a touch: %d reads, want 5", n)
	}

	// Removed and added missions.
	os.RemoveAll(filepath.Join(repo, "kitty-specs", "kernel-clock-single-door"))
	added := latestMission(t)
	if err := copyDir(filepath.Join(fixtureRepo(t), "kitty-specs", added), filepath.Join(repo, "kitty-specs", added)); err != nil {
		t.Fatal(err)
	}
	got = list()
	if _, ok := got["kernel-clock-single-door"]; ok || len(got) != 3 {
		t.Errorf("after remove and add: %v", got)
	}
	if _, ok := c.entries["kernel-clock-single-door"]; ok {
		t.Error("removed mission still cached")
	}
	if n := c.reads.Load(); n != 6 {
		t.Errorf("after remove and add: %d reads, want 6", n)
	}
}

// A repo without kitty-specs/ shows an empty list, not an error.
func TestNoMissions(t *testing.T) {
	r := newRig(t, withRepo(t.TempDir()))
	w := r.do(http.MethodGet, "/", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "No missions under kitty-specs/ yet.") {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	w = r.do(http.MethodGet, "/api/missions", nil)
	if v := decode[missionsJSON](t, w.Body); w.Code != 200 || len(v.Missions) != 0 || v.Missions == nil {
		t.Errorf("status %d, %+v", w.Code, v)
	}
}
