//go:build unix

package mission

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const secretLine = `{"event_id": "01KN2371WNZX28ME4MN97B67PA", "wp_id": "WP66", "to_lane": "done", "at": "2026-01-01T00:00:00+00:00"}` + "\n"

// hostileRepo is a repo whose kitty-specs/ links out: x is a directory
// symlink to a directory elsewhere, y holds file symlinks to files
// elsewhere, z a dangling events symlink to a path elsewhere.
func hostileRepo(t *testing.T) (repo, elsewhere string) {
	t.Helper()
	repo, elsewhere = t.TempDir(), t.TempDir()
	layout(t, repo, map[string]string{".kittify/": "", "kitty-specs/y/": "", "kitty-specs/z/meta.json": `{"slug": "z"}`})
	layout(t, elsewhere, map[string]string{
		"dir/meta.json":           `{"friendly_name": "SECRET"}`,
		"dir/status.events.jsonl": secretLine,
		"secret.json":             `{"friendly_name": "SECRET"}`,
		"secret.jsonl":            secretLine,
	})
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(repo, "kitty-specs", name)); err != nil {
			t.Fatal(err)
		}
	}
	link(filepath.Join(elsewhere, "dir"), "x")
	link(filepath.Join(elsewhere, "secret.json"), "y/meta.json")
	link(filepath.Join(elsewhere, "secret.jsonl"), "y/status.events.jsonl")
	link(filepath.Join(elsewhere, "created.jsonl"), "z/status.events.jsonl")
	return repo, elsewhere
}

func TestSymlinksOutOfKittySpecsAreNotFollowed(t *testing.T) {
	repo, elsewhere := hostileRepo(t)
	ctx := context.Background()
	ms, err := ReadAll(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if len(m.WPs) != 0 || m.Meta.FriendlyName != "" {
			t.Errorf("mission %s read through a symlink: %+v", m.Slug, m)
		}
	}
	for _, name := range []string{"x", "y"} {
		m, err := Read(ctx, repo, name)
		var unsafe *UnsafePathError
		if err == nil && !errors.As(m.MetaErr, &unsafe) && !errors.As(m.EventsErr, &unsafe) {
			t.Errorf("Read(%s) = %+v, want a refusal", name, m)
		}
		if err == nil && len(m.WPs) > 0 {
			t.Errorf("Read(%s) read the secret", name)
		}
	}
	for _, name := range []string{"x", "y", "z"} {
		_, err := Emit(ctx, repo, name, EmitRequest{WPID: "WP01", ToLane: "claimed"})
		if err == nil {
			t.Errorf("Emit(%s) wrote through a symlink", name)
		}
	}
	for _, f := range []string{"dir/status.events.jsonl", "secret.jsonl"} {
		b, _ := os.ReadFile(filepath.Join(elsewhere, f))
		if string(b) != secretLine {
			t.Errorf("%s changed: %q", f, b)
		}
	}
	if _, err := os.Lstat(filepath.Join(elsewhere, "created.jsonl")); err == nil {
		t.Error("Emit created a file through a dangling symlink")
	}
	if got := ResolveMission(repo, ""); got == "x" || got == "y" {
		t.Errorf("ResolveMission chose %s, a linked-out mission", got)
	}
}

func TestSymlinkInsideKittySpecsIsFollowed(t *testing.T) {
	repo := newRepo(t)
	if err := os.Symlink("m", filepath.Join(repo, "kitty-specs", "alias")); err != nil {
		t.Fatal(err)
	}
	if _, err := Emit(context.Background(), repo, "alias", EmitRequest{WPID: "WP01", ToLane: "claimed"}); err != nil {
		t.Fatal(err)
	}
	m, err := Read(context.Background(), repo, "m")
	if err != nil || len(m.WPs) != 1 {
		t.Fatalf("Read = %+v, %v", m, err)
	}
}

func TestNonRegularFilesAreSkipped(t *testing.T) {
	repo := newRepo(t)
	fifo := filepath.Join(repo, "kitty-specs", "m", "status.events.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	layout(t, repo, map[string]string{"kitty-specs/d/meta.json": `{}`})
	if err := os.Symlink("/dev/zero", filepath.Join(repo, "kitty-specs", "d", "status.events.jsonl")); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadAll(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("ReadAll = %d missions", len(ms))
	}
	for _, m := range ms {
		var unsafe *UnsafePathError
		if !errors.As(m.EventsErr, &unsafe) {
			t.Errorf("%s: EventsErr = %v, want a refusal", m.Slug, m.EventsErr)
		}
	}
	if !strings.Contains(ms[1].EventsErr.Error(), "FIFO") {
		t.Errorf("FIFO error = %v", ms[1].EventsErr)
	}
	if _, err := Emit(context.Background(), repo, "m", EmitRequest{WPID: "WP01", ToLane: "claimed"}); err == nil {
		t.Error("Emit wrote to a FIFO")
	}
}

func TestHugeLineIsSkippedAndBounded(t *testing.T) {
	repo := newRepo(t)
	huge := strings.Repeat("x", 3*MaxLineBytes)
	layout(t, repo, map[string]string{"kitty-specs/m/status.events.jsonl": huge + "\n" + secretLine + huge})
	m, err := Read(context.Background(), repo, "m")
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.Malformed != 2 || len(m.WPs) != 1 {
		t.Fatalf("stats = %+v, WPs = %+v", m.Stats, m.WPs)
	}
	if !strings.Contains(m.Malformed[0].Err, "longer than") {
		t.Errorf("issue = %+v", m.Malformed[0])
	}
}

func TestMetaSizeIsBounded(t *testing.T) {
	repo := newRepo(t)
	layout(t, repo, map[string]string{"kitty-specs/m/meta.json": `{"x": "` + strings.Repeat("a", MaxMetaBytes) + `"}`})
	m, err := Read(context.Background(), repo, "m")
	if err != nil {
		t.Fatal(err)
	}
	var unsafe *UnsafePathError
	if !errors.As(m.MetaErr, &unsafe) {
		t.Errorf("MetaErr = %v", m.MetaErr)
	}
}
