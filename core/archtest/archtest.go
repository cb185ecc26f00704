// Package archtest checks the import rule of ARCHITECTURE.md from tests: it
// asks `go list` for the real import graph of a package pattern on each target
// OS, so build-tagged files count too. Only _test.go files import it.
package archtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Module is this repository's module path.
const Module = "github.com/spec-kitty/spec-kitty-sync"

// GOOSes are the platforms the rule is checked for.
var GOOSes = []string{"linux", "darwin", "windows"}

// Package is one package's imports as go list reports them.
type Package struct {
	ImportPath string
	Imports    []string // direct imports, non-test files
	Deps       []string // transitive
}

// List runs go list for pattern with GOOS and CGO_ENABLED=0.
func List(t testing.TB, goos, pattern string) []Package {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, pattern)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s (GOOS=%s): %v\n%s", pattern, goos, err, stderr.String())
	}
	var pkgs []Package
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			continue
		}
		pkgs = append(pkgs, Package{ImportPath: parts[0], Imports: strings.Fields(parts[1]), Deps: strings.Fields(parts[2])})
	}
	return pkgs
}

// IsStd reports whether path is a standard-library import path.
func IsStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// Rule forbids direct imports with any of the prefixes in Forbidden.
type Rule struct {
	Forbidden []string
	// StdOnly lists packages (import paths) that may import only the standard
	// library, transitively.
	StdOnly []string
}

// Check applies r to every package of pattern on every GOOS.
func Check(t *testing.T, pattern string, r Rule) {
	for _, goos := range GOOSes {
		t.Run(goos, func(t *testing.T) {
			pkgs := List(t, goos, pattern)
			if len(pkgs) == 0 {
				t.Fatalf("go list %s matched nothing", pattern)
			}
			for _, p := range pkgs {
				for _, imp := range p.Imports {
					for _, f := range r.Forbidden {
						if imp == f || strings.HasPrefix(imp, f+"/") {
							t.Errorf("%s imports %s (forbidden by ARCHITECTURE.md)", p.ImportPath, imp)
						}
					}
				}
				for _, s := range r.StdOnly {
					if p.ImportPath != s {
						continue
					}
					for _, d := range p.Deps {
						if !IsStd(d) {
							t.Errorf("%s depends on %s; it may use only the standard library", p.ImportPath, d)
						}
					}
				}
			}
		})
	}
}

// Describe is a helper for failure messages.
func Describe(p Package) string { return fmt.Sprintf("%s -> %v", p.ImportPath, p.Imports) }
