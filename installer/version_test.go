//go:build linux

package installer_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionScript runs scripts/version.sh in a scratch repository through
// its cases, and checks that dpkg accepts every result both as written and
// in the form nfpm gives a pre-release (`-` before it becomes `~`), and that
// they sort the way releases do.
func TestVersionScript(t *testing.T) {
	dpkg := needTool(t, "dpkg")
	needTool(t, "git")
	script, err := filepath.Abs(filepath.Join("..", "scripts", "version.sh"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "scripts", "version.sh"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
		"GIT_AUTHOR_DATE=2026-12-04T10:00:00Z", "GIT_COMMITTER_DATE=2026-12-04T10:00:00Z", "GIT_CONFIG_GLOBAL=/dev/null"}
	git := func(args ...string) string { return strings.TrimSpace(runCmd(t, repo, env, "git", args...)) }
	version := func() string { return strings.TrimSpace(runCmd(t, repo, nil, "sh", "scripts/version.sh")) }

	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "one")
	sha := git("rev-parse", "--short=12", "HEAD")
	var got []string
	check := func(name, want string) {
		t.Helper()
		v := version()
		if !regexp.MustCompile("^" + want + "$").MatchString(v) {
			t.Errorf("%s: version %q, want %s", name, v, want)
		}
		for _, form := range []string{v, strings.Replace(v, "-", "~", 1)} {
			if out, err := exec.Command(dpkg, "--validate-version", form).CombinedOutput(); err != nil {
				t.Errorf("%s: dpkg refuses %q: %v %s", name, form, err, out)
			}
		}
		got = append(got, v)
	}
	check("no tag", `0\.0\.0-dev\.20261204\.1\+g`+sha)
	if err := os.WriteFile(filepath.Join(repo, "scripts", "version.sh"), append(data, '\n'), 0o755); err != nil {
		t.Fatal(err)
	}
	check("dirty", `0\.0\.0-dev\.20261204\.1\+g`+sha+`\.dirty`)
	git("commit", "-qam", "two")
	git("tag", "v1.2.3")
	check("tagged", `1\.2\.3`)
	git("commit", "-q", "--allow-empty", "-m", "three")
	check("after the tag", `1\.2\.3\+1\.g`+git("rev-parse", "--short=12", "HEAD"))

	// dev < tagged < after the tag, in dpkg's order (nfpm's "~" form).
	for i := 1; i < len(got); i++ {
		if i == 1 {
			continue // the dirty build of the same commit
		}
		a, b := strings.Replace(got[i-1], "-", "~", 1), strings.Replace(got[i], "-", "~", 1)
		if err := exec.Command(dpkg, "--compare-versions", a, "lt", b).Run(); err != nil {
			t.Errorf("dpkg does not sort %q before %q", a, b)
		}
	}
}
