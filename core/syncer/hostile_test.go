package syncer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// TestBrokenRepoDoesNotPoisonTheCycle: one registered repo with an invalid
// .kittify/config.yaml and one that vanished must not fail the cycle of the
// others; the vanished one is dropped from the registry and the broken one
// is a warning.
func TestBrokenRepoDoesNotPoisonTheCycle(t *testing.T) {
	r := newRig(t, someMissions(t, 1)...)
	ctx := context.Background()
	broken := filepath.Join(t.TempDir(), "broken")
	if err := os.MkdirAll(filepath.Join(broken, paths.SpecsDir, "m"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(broken, paths.KittifyDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.RepoConfig(broken), []byte("project: [unclosed\n\t: :\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	line := `{"event_id":"01KTESTBROKEN0000000000001","wp_id":"WP01","to_lane":"claimed","at":"2026-11-27T10:00:00Z"}` + "\n"
	if err := os.WriteFile(paths.EventsFile(broken, "m"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(t.TempDir(), "gone")
	for _, repo := range []string{broken, gone} {
		if _, err := r.q.RegisterRepo(ctx, repo); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.eng.Cycle(ctx)
	if err != nil {
		t.Fatalf("Cycle = %v; a broken repo must not fail the cycle", err)
	}
	if rep.Delivered == 0 {
		t.Errorf("the good repo's events were not delivered: %+v", rep)
	}
	if len(rep.RepoWarnings) != 1 {
		t.Errorf("RepoWarnings = %q, want one for %s", rep.RepoWarnings, broken)
	}
	repos, err := r.q.Repos(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range repos {
		if x.Path == gone {
			t.Errorf("vanished repo %s still registered", gone)
		}
	}
}

// TestImporterDoesNotFollowSymlinksOut: an events file linked out of
// kitty-specs/ is never read nor queued.
func TestImporterDoesNotFollowSymlinksOut(t *testing.T) {
	r := newRig(t, someMissions(t, 1)...)
	ctx := context.Background()
	elsewhere := t.TempDir()
	secret := filepath.Join(elsewhere, "secret.jsonl")
	if err := os.WriteFile(secret, []byte(`{"event_id":"01KTESTSECRET0000000000001","wp_id":"WP01","to_lane":"claimed","at":"2026-11-27T10:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(r.repo, paths.SpecsDir, "linked-dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(secret, filepath.Join(elsewhere, paths.EventsFileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	if r.srv.HasEvent("01KTESTSECRET0000000000001") {
		t.Error("an event read through a symlink out of kitty-specs/ reached the host")
	}
}
