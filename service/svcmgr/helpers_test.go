package svcmgr

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", p, diff)
	}
}

// needTool finds a tool; a missing tool fails the test under CI=true.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required (CI=true): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

// recorder is a runner that records argv and answers from a table keyed by
// the joined argv; an entry's err makes the command fail.
type recorder struct {
	calls   [][]string
	answers map[string]answer
}

type answer struct {
	out string
	err error
}

func (r *recorder) run(ctx context.Context, argv []string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.calls = append(r.calls, append([]string(nil), argv...))
	a, ok := r.answers[strings.Join(argv, " ")]
	if !ok {
		return "", nil
	}
	return a.out, a.err
}

// fakeExe creates an executable file standing in for spec-kitty.
func fakeExe(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "spec-kitty")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var gateEnv = map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}
