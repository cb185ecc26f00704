package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenDir checks that dir holds exactly files (name -> content); with
// -update it rewrites dir.
func goldenDir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range old {
			if _, ok := files[filepath.Base(p)]; !ok {
				os.Remove(p)
			}
		}
	}
	var want []string
	for name, content := range files {
		want = append(want, name)
		golden(t, filepath.Join(dir, name), []byte(content))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s holds other files than the generator writes; run `go test ./cli -run %s -update` (-want +got):\n%s", dir, t.Name(), diff)
	}
}

// TestManPages: docs/man/ is the manual of the gate-off tree.
func TestManPages(t *testing.T) {
	goldenDir(t, filepath.Join("..", "docs", "man"), ManPages(treeFor("")))
}

// TestCompletionFiles: installer/completions/ holds the scripts
// `spec-kitty completion SHELL` prints.
func TestCompletionFiles(t *testing.T) {
	goldenDir(t, filepath.Join("..", "installer", "completions"), CompletionFiles())
}

// The shipped man pages and completion scripts are what a user sees without
// opting in: no hosted command may appear in them, and the scripts name no
// command at all (the candidates come from `spec-kitty __complete`).
func TestManAndCompletionStealth(t *testing.T) {
	for name, page := range ManPages(treeFor("")) {
		text := strings.ReplaceAll(page, `\-`, "-")
		for _, hosted := range []string{"spec-kitty auth", "spec-kitty tracker", "spec-kitty sync", "spec-kitty service", "spec-kitty-auth", "spec-kitty-tracker", "spec-kitty-sync", "spec-kitty-service"} {
			if strings.Contains(text, hosted) {
				t.Errorf("man page %s names %q", name, hosted)
			}
		}
	}
	for name, script := range CompletionFiles() {
		lower := strings.ToLower(script)
		for _, word := range []string{"saas", "host", "session", "tracker", "sync", "queue", "auth", "service", "daemon", "status", "config"} {
			if strings.Contains(lower, word) {
				t.Errorf("completion script %s contains %q", name, word)
			}
		}
	}
	if on := ManPages(treeFor("1")); len(on) == len(ManPages(treeFor(""))) {
		t.Errorf("the gate-on tree has no more pages than the gate-off tree; is ManPages ignoring the tree?")
	}
}

// The pages render with man(1) and groff finds nothing to warn about.
func TestManPagesRender(t *testing.T) {
	man := needTool(t, "man")
	groff := needTool(t, "groff")
	dir := t.TempDir()
	for name, page := range ManPages(treeFor("")) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", p)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff %s: %v\n%s", name, err, stderr.String())
		}
		stdout.Reset()
		stderr.Reset()
		cmd = exec.Command(man, "-l", p)
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=80", "LANG=C.UTF-8")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("man -l %s: %v\n%s", name, err, stderr.String())
		}
		out := strings.Join(strings.Fields(stdout.String()), " ")
		title := strings.TrimSuffix(name, ".1")
		for _, want := range []string{"NAME", title + " - ", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"} {
			if !strings.Contains(out, want) {
				t.Errorf("man -l %s lacks %q:\n%s", name, want, out)
			}
		}
	}
}

// needTool finds a program the test drives; missing, it fails under CI=true
// and skips otherwise (make test installs it: scripts/test-tools.sh).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required (CI=true): %v", name, err)
		}
		t.Skipf("%s not found (scripts/test-tools.sh installs it): %v", name, err)
	}
	return p
}
