package mission

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// layout creates dirs (ending in /) and files (with content) under root.
func layout(t *testing.T, root string, entries map[string]string) {
	t.Helper()
	for p, content := range entries {
		full := filepath.Join(root, filepath.FromSlash(p))
		if p[len(p)-1] == '/' {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindRepo(t *testing.T) {
	root := t.TempDir()
	layout(t, root, map[string]string{
		// A plain project with .kittify/.
		"kittify/.kittify/":         "",
		"kittify/src/deep/":         "",
		"specs/kitty-specs/":        "", // kitty-specs/ alone also marks a project
		"specs/kitty-specs/m1/":     "",
		"nothing/a/b/":              "",
		"marker-is-a-file/.kittify": "not a dir",
		// A main checkout with a linked worktree inside it (spec-kitty's .worktrees/).
		"main/.git/worktrees/wp01/commondir": "../..\n",
		"main/.git/worktrees/wp01/gitdir":    "",
		"main/.kittify/":                     "",
		"main/kitty-specs/":                  "",
		"main/.worktrees/wp01/.git":          "gitdir: " + filepath.Join(root, "main/.git/worktrees/wp01") + "\n",
		"main/.worktrees/wp01/kitty-specs/":  "",
		"main/.worktrees/wp01/src/":          "",
		// A worktree elsewhere, with a relative gitdir and no commondir file.
		"main2/.git/worktrees/x/HEAD": "",
		"main2/kitty-specs/":          "",
		"wt2/.git":                    "gitdir: ../main2/.git/worktrees/x",
		"wt2/sub/":                    "",
		// A worktree whose main checkout is no spec-kitty project: its own markers count.
		"plain/.git/worktrees/y/commondir": "../..",
		"wt3/.git":                         "gitdir: " + filepath.Join(root, "plain/.git/worktrees/y"),
		"wt3/.kittify/":                    "",
		// A submodule's .git file is not a worktree pointer.
		"super/.kittify/":             "",
		"super/.git/modules/sub/HEAD": "",
		"super/sub/.git":              "gitdir: ../.git/modules/sub",
		"super/sub/kitty-specs/":      "",
		"garbage-git/.git":            "this is not a pointer",
		"garbage-git/kitty-specs/":    "",
	})
	tests := []struct {
		name string
		dir  string
		env  map[string]string
		want string // "" means not found
	}{
		{name: ".kittify in the dir", dir: "kittify", want: "kittify"},
		{name: "walk up to .kittify", dir: "kittify/src/deep", want: "kittify"},
		{name: "kitty-specs marks a project", dir: "specs", want: "specs"},
		{name: "from inside kitty-specs", dir: "specs/kitty-specs/m1", want: "specs"},
		{name: "worktree root leads to the main checkout", dir: "main/.worktrees/wp01", want: "main"},
		{name: "worktree subdir leads to the main checkout", dir: "main/.worktrees/wp01/src", want: "main"},
		{name: "relative gitdir without commondir", dir: "wt2/sub", want: "main2"},
		{name: "main checkout without markers: the worktree's own", dir: "wt3", want: "wt3"},
		{name: "submodule is its own project", dir: "super/sub", want: "super/sub"},
		{name: "unreadable .git file is ignored", dir: "garbage-git", want: "garbage-git"},
		{name: "env var wins", dir: "kittify", env: map[string]string{"SPECIFY_REPO_ROOT": filepath.Join(root, "nothing")}, want: "nothing"},
		{name: "empty env var is unset", dir: "kittify", env: map[string]string{"SPECIFY_REPO_ROOT": ""}, want: "kittify"},
		{name: ".kittify as a file is no marker", dir: "marker-is-a-file", want: ""},
		{name: "not found", dir: "nothing/a/b", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			dir := filepath.Join(root, filepath.FromSlash(tt.dir))
			got, err := FindRepo(dir, getenv)
			if tt.want == "" {
				var nf *NotFoundError
				if !errors.As(err, &nf) {
					// The temp dir may sit below a real project; only a
					// NotFoundError or a directory outside root is acceptable.
					if err != nil || !outside(root, got) {
						t.Fatalf("FindRepo = %q, %v; want a *NotFoundError", got, err)
					}
					return
				}
				want := "not inside a spec-kitty project (no .kittify/ or kitty-specs/ above " + dir + ")"
				if err.Error() != want {
					t.Errorf("error = %q, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindRepo: %v", err)
			}
			if want := filepath.Join(root, filepath.FromSlash(tt.want)); got != want {
				t.Errorf("FindRepo = %q, want %q", got, want)
			}
		})
	}
}

func outside(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && len(rel) >= 2 && rel[:2] == ".."
}

func TestFindRepoEnvNotADirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	_, err := FindRepo(t.TempDir(), func(k string) string {
		if k == "SPECIFY_REPO_ROOT" {
			return missing
		}
		return ""
	})
	if err == nil || err.Error() != "SPECIFY_REPO_ROOT="+missing+": not a directory" {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveMission(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "my-repo")
	layout(t, repo, map[string]string{
		"kitty-specs/aaa/status.events.jsonl": "{}\n",
		"kitty-specs/bbb/status.events.jsonl": "{}\n",
		"kitty-specs/ccc/status.events.jsonl": "{}\n",
		"kitty-specs/ddd/meta.json":           "{}",
	})
	setMod := func(name string, mod time.Time) {
		if err := os.Chtimes(filepath.Join(repo, "kitty-specs", name, "status.events.jsonl"), mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	setMod("aaa", base)
	setMod("bbb", base.Add(time.Hour))
	setMod("ccc", base.Add(time.Minute))

	if got := ResolveMission(repo, "flagged"); got != "flagged" {
		t.Errorf("with flag: %q", got)
	}
	if got := ResolveMission(repo, ""); got != "bbb" {
		t.Errorf("newest events file: %q, want bbb", got)
	}
	setMod("ccc", base.Add(time.Hour))
	if got := ResolveMission(repo, ""); got != "bbb" {
		t.Errorf("tie: %q, want the alphabetically first, bbb", got)
	}
	empty := filepath.Join(t.TempDir(), "empty-repo")
	layout(t, empty, map[string]string{"kitty-specs/only-meta/meta.json": "{}"})
	if got := ResolveMission(empty, ""); got != "empty-repo" {
		t.Errorf("no events files: %q, want the repo's name", got)
	}
	if got := ResolveMission("", ""); got == "" {
		t.Error("ResolveMission returned an empty name")
	}
}

func TestLockPath(t *testing.T) {
	root := t.TempDir()
	layout(t, root, map[string]string{
		"git/.git/HEAD":                      "",
		"git/kitty-specs/m/":                 "",
		"nested/.git/HEAD":                   "",
		"nested/proj/kitty-specs/":           "",
		"wt-main/.git/worktrees/w/commondir": "../..",
		"wt/.git":                            "gitdir: " + filepath.Join(root, "wt-main/.git/worktrees/w"),
	})
	tests := []struct {
		repo string
		want string
	}{
		{"git", "git/.git/spec-kitty-locks/m.status.lock"},
		{"nested/proj", "nested/.git/spec-kitty-locks/m.status.lock"},
		{"wt", "wt-main/.git/spec-kitty-locks/m.status.lock"},
	}
	for _, tt := range tests {
		got := LockPath(filepath.Join(root, tt.repo), "m")
		if want := filepath.Join(root, filepath.FromSlash(tt.want)); got != want {
			t.Errorf("LockPath(%s) = %q, want %q", tt.repo, got, want)
		}
	}
	// Outside git: beside the events file (unless the temp dir itself is
	// inside a git checkout, where the checkout's lock directory is right).
	plain := filepath.Join(root, "plain")
	if _, inGit := gitCommonDir(plain); !inGit {
		if got, want := LockPath(plain, "m"), filepath.Join(plain, "kitty-specs", "m", "status.events.jsonl.lock"); got != want {
			t.Errorf("LockPath outside git = %q, want %q", got, want)
		}
	}
}
