package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/spec-kitty/spec-kitty-sync/cli/internal/stealthtest"
	"github.com/spec-kitty/spec-kitty-sync/service/svcmgr"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/cli.md")

func treeFor(gate string) *Command {
	env := &Env{Getenv: func(k string) string {
		if k == "SPEC_KITTY_ENABLE_SAAS_SYNC" {
			return gate
		}
		return ""
	}, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Dir: "."}
	return NewTree(env)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cli -run %s -update)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run `go test ./cli -run %s -update` (-want +got):\n%s", path, t.Name(), diff)
	}
}

// TestReference: docs/cli.md is the help of every command of the gate-on tree.
func TestReference(t *testing.T) {
	var b bytes.Buffer
	if err := WriteReference(&b, treeFor("1")); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("..", "docs", "cli.md"), b.Bytes())
}

// TestHelpGateOff pins the whole gate-off help tree: nothing hosted in it.
func TestHelpGateOff(t *testing.T) {
	var b bytes.Buffer
	root := treeFor("")
	if err := WriteReference(&b, root); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"auth", "tracker", "sync", "service"} {
		if root.Lookup(name) != nil {
			t.Errorf("gate off: %q is registered", name)
		}
	}
	// Hosted group names must not appear as commands anywhere in the text.
	for _, line := range strings.Split(b.String(), "\n") {
		for _, name := range []string{"spec-kitty auth", "spec-kitty tracker", "spec-kitty sync", "spec-kitty service"} {
			if strings.Contains(line, name) {
				t.Errorf("gate-off help mentions %q: %s", name, line)
			}
		}
	}
	// The reference's own header (a developer document) aside, no help text
	// may name the hosted surface.
	helps := b.String()[strings.Index(b.String(), "\n## "):]
	if words := stealthtest.Find(helps); words != nil {
		t.Errorf("gate-off help names the hosted surface: %q", words)
	}
	golden(t, filepath.Join("testdata", "help-gate-off.golden"), b.Bytes())
}

// TestHostedGroupsAppendedWithGate: every hosted group appears with the gate
// on, and local commands are the same in both trees.
func TestHostedGroupsAppendedWithGate(t *testing.T) {
	off, on := treeFor("0"), treeFor("yes")
	var offNames, onNames []string
	for _, c := range off.Commands {
		offNames = append(offNames, c.Name())
	}
	for _, c := range on.Commands {
		onNames = append(onNames, c.Name())
	}
	if len(onNames) < len(offNames) || !cmp.Equal(offNames, onNames[:len(offNames)]) {
		t.Errorf("gate on does not extend the gate-off tree: off=%v on=%v", offNames, onNames)
	}
	for _, c := range hostedCommands(&Env{Getenv: func(string) string { return "1" }, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}) {
		if on.Lookup(c.Name()) == nil {
			t.Errorf("hosted group %q missing with the gate on", c.Name())
		}
		if off.Lookup(c.Name()) != nil {
			t.Errorf("hosted group %q present with the gate off", c.Name())
		}
	}
}

// TestEveryCommandHasHelp: each command has a short description and a usage
// line whose path matches its place in the tree.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(c *Command, path string)
	walk = func(c *Command, path string) {
		if c.Short == "" {
			t.Errorf("%s has no Short help", path)
		}
		if c.Path() != path {
			t.Errorf("usage line %q does not match its place %q", c.UsageLine, path)
		}
		if c.Run == nil && len(c.Commands) == 0 {
			t.Errorf("%s neither runs nor has subcommands", path)
		}
		for _, sub := range c.Commands {
			walk(sub, path+" "+sub.Name())
		}
	}
	walk(treeFor("1"), "spec-kitty")
}

// TestUsageLinesNameEveryFlag: a command's usage line (the first line of
// its help and of docs/cli.md) lists every flag it takes, and no help text
// cites design documents users do not have.
func TestUsageLinesNameEveryFlag(t *testing.T) {
	var walk func(c *Command)
	walk = func(c *Command) {
		if c.hasFlags() {
			c.Flags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				if !strings.Contains(c.UsageLine, "--"+f.Name) {
					t.Errorf("usage line %q omits --%s", c.UsageLine, f.Name)
				}
			})
		}
		if strings.Contains(c.Long+c.Short, "CONTRACTS") {
			t.Errorf("%s: help cites CONTRACTS, a file users do not have", c.Path())
		}
		for _, sub := range c.Commands {
			walk(sub)
		}
	}
	walk(treeFor("1"))
}

// TestServiceInstallHelpNamesRecordedVars: the help of `service install`
// names every variable the service definition records.
func TestServiceInstallHelpNamesRecordedVars(t *testing.T) {
	c := treeFor("1").Lookup("service").Lookup("install")
	text := strings.Join(strings.Fields(c.Long), " ")
	for _, k := range svcmgr.EnvKeys {
		if !strings.Contains(text, k) {
			t.Errorf("service install help does not name %s, which it records", k)
		}
	}
}
