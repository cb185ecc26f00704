package mission

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// NotFoundError is returned by FindRepo outside a spec-kitty project.
type NotFoundError struct {
	Dir string // where the search started
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("not inside a spec-kitty project (no .kittify/ or kitty-specs/ above %s)", e.Dir)
}

// FindRepo returns the repo root for a command run in dir (CONTRACTS §1):
// $SPECIFY_REPO_ROOT when set and non-empty; else the first directory at or
// above dir that holds .kittify/ or kitty-specs/. On the way up, a git
// worktree's root (its .git is a file pointing into <main>/.git/worktrees/)
// leads to the main checkout when that one holds the markers, as in the
// Python CLI: missions are tracked in the main checkout, even though a
// worktree carries its own copy of kitty-specs/.
func FindRepo(dir string, getenv func(string) string) (string, error) {
	if v := getenv(paths.RepoRootEnv); v != "" {
		abs, err := filepath.Abs(v)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", paths.RepoRootEnv, v, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("%s=%s: not a directory", paths.RepoRootEnv, v)
		}
		return abs, nil
	}
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find repo from %s: %w", dir, err)
	}
	for d := start; ; {
		if main, ok := worktreeMain(d); ok && hasMarkers(main) {
			return main, nil
		}
		if hasMarkers(d) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", &NotFoundError{Dir: start}
		}
		d = parent
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func hasMarkers(d string) bool {
	return isDir(filepath.Join(d, paths.KittifyDir)) || isDir(filepath.Join(d, paths.SpecsDir))
}

// gitFileDir reads the "gitdir: X" pointer of a .git file, resolved against
// the file's directory.
func gitFileDir(gitFile string) (string, bool) {
	b, err := os.ReadFile(gitFile)
	if err != nil {
		return "", false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	rest, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("gitdir:"))
	if !ok {
		return "", false
	}
	p := strings.TrimSpace(string(rest))
	if p == "" {
		return "", false
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(gitFile), p)
	}
	return filepath.Clean(p), true
}

// commonDir is the git common dir of a linked worktree's gitdir: from its
// "commondir" file, else from the <common>/worktrees/<name> layout. ok is
// false for a gitdir that is not a linked worktree's (a submodule's).
func commonDir(gitdir string) (string, bool) {
	if b, err := os.ReadFile(filepath.Join(gitdir, "commondir")); err == nil {
		p := strings.TrimSpace(string(b))
		if p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(gitdir, p)
			}
			return filepath.Clean(p), true
		}
	}
	if filepath.Base(filepath.Dir(gitdir)) == "worktrees" {
		return filepath.Dir(filepath.Dir(gitdir)), true
	}
	return "", false
}

// worktreeMain returns the main checkout of the linked worktree rooted at d.
func worktreeMain(d string) (string, bool) {
	gitFile := filepath.Join(d, ".git")
	fi, err := os.Lstat(gitFile)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	gitdir, ok := gitFileDir(gitFile)
	if !ok {
		return "", false
	}
	common, ok := commonDir(gitdir)
	if !ok || filepath.Base(common) != ".git" {
		return "", false // a submodule, or a worktree of a bare repository
	}
	return filepath.Dir(common), true
}

// gitCommonDir finds the git common dir of the checkout holding repo, the way
// `git rev-parse --git-common-dir` does, without running git.
func gitCommonDir(repo string) (string, bool) {
	for d := repo; ; {
		p := filepath.Join(d, ".git")
		if fi, err := os.Stat(p); err == nil {
			if fi.IsDir() {
				return p, true
			}
			if gitdir, ok := gitFileDir(p); ok {
				if common, ok := commonDir(gitdir); ok {
					return common, true
				}
				return gitdir, true // a submodule: its gitdir is its common dir
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}
