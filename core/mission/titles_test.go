package mission

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWPTitles(t *testing.T) {
	repo := t.TempDir()
	m := filepath.Join(repo, "kitty-specs", "001-demo")
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(m, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tasks.md", "# Tasks\n\n## Work Package WP01: From tasks.md (Priority: P0)\n\n### WP02 - Second one\n\n## WP03\n")
	write("tasks/WP01-setup.md", "---\nwork_package_id: \"WP01\"\ntitle: \"Setup and scaffolding\"\nlane: planned\n---\n# body\ntitle: not this\n")
	write("tasks/WP04-no-front-matter.md", "title: not front matter\n")
	write("tasks/README.md", "---\ntitle: not a WP\n---\n")
	// A tasks file linking out of the repository is never read.
	outside := filepath.Join(t.TempDir(), "secret.md")
	os.WriteFile(outside, []byte("---\ntitle: leaked\n---\n"), 0o644)
	if err := os.Symlink(outside, filepath.Join(m, "tasks", "WP05-link.md")); err != nil {
		t.Fatal(err)
	}
	got := WPTitles(repo, "001-demo")
	want := map[string]string{"WP01": "Setup and scaffolding", "WP02": "Second one"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("titles (-want +got):\n%s", diff)
	}
	if got := WPTitles(repo, "../../etc"); len(got) != 0 {
		t.Errorf("a name outside kitty-specs/ gave %v", got)
	}
}
