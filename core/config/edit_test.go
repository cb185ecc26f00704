package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name       string
		before     *string // nil: no file
		key, value string
		after      string
	}{
		{
			name:   "replace keeps spacing and comment",
			before: ptr("[sync]\nbackground_daemon   =   \"auto\"    # \"auto\" | \"manual\"\n"),
			key:    KeyBackgroundDaemon, value: "manual",
			after: "[sync]\nbackground_daemon   =   \"manual\"    # \"auto\" | \"manual\"\n",
		},
		{
			name:   "replace without spaces or comment",
			before: ptr("[sync]\nmax_queue_size=10\n"),
			key:    KeyMaxQueueSize, value: "20",
			after: "[sync]\nmax_queue_size=20\n",
		},
		{
			name:   "replace literal string and canonicalise policy",
			before: ptr("[sync]\n\tbackground_daemon = 'auto'#c\n"),
			key:    KeyBackgroundDaemon, value: "  MANUAL ",
			after: "[sync]\n\tbackground_daemon = \"manual\"#c\n",
		},
		{
			name:   "replace a multi-line value of the wrong type",
			before: ptr("[sync]\nserver_url = [\n  \"a\", # old\n  \"b\",\n] # fix me\nmax_queue_size = 1\n"),
			key:    KeyServerURL, value: "https://sync.example.com",
			after: "[sync]\nserver_url = \"https://sync.example.com\" # fix me\nmax_queue_size = 1\n",
		},
		{
			name:   "replace in crlf file",
			before: ptr("# c\r\n[sync]\r\nmax_queue_size = 1 # one\r\n"),
			key:    KeyMaxQueueSize, value: "2",
			after: "# c\r\n[sync]\r\nmax_queue_size = 2 # one\r\n",
		},
		{
			name:   "replace on last line without newline",
			before: ptr("[sync]\nmax_queue_size = 1"),
			key:    KeyMaxQueueSize, value: "+42",
			after: "[sync]\nmax_queue_size = 42",
		},
		{
			name:   "replace top-level dotted key",
			before: ptr("title = \"x\"\nsync.background_daemon = \"auto\" # dotted\n\n[ui]\n"),
			key:    KeyBackgroundDaemon, value: "manual",
			after: "title = \"x\"\nsync.background_daemon = \"manual\" # dotted\n\n[ui]\n",
		},
		{
			name:   "replace under quoted and spaced header",
			before: ptr("[ \"sync\" ] # the table\n\"max_queue_size\" = 5\n"),
			key:    KeyMaxQueueSize, value: "6",
			after: "[ \"sync\" ] # the table\n\"max_queue_size\" = 6\n",
		},
		{
			name: "insert after the last key of sync, before sub-table and its comments",
			before: ptr(`# user config
[sync]
  server_url = "https://a.example.com"   # host
  max_queue_size = 5

# extra settings below
[sync.extra]
x = 1
`),
			key: KeyBackgroundDaemon, value: "manual",
			after: `# user config
[sync]
  server_url = "https://a.example.com"   # host
  max_queue_size = 5
  background_daemon = "manual"

# extra settings below
[sync.extra]
x = 1
`,
		},
		{
			name:   "insert under an empty header at end of file without newline",
			before: ptr("[ui]\ntheme = \"dark\"\n[sync]"),
			key:    KeyMaxQueueSize, value: "3",
			after: "[ui]\ntheme = \"dark\"\n[sync]\nmax_queue_size = 3\n",
		},
		{
			name:   "insert after a multi-line value",
			before: ptr("[sync]\nextra = \"\"\"\nline\n\"\"\"\n[ui]\n"),
			key:    KeyMaxQueueSize, value: "3",
			after: "[sync]\nextra = \"\"\"\nline\n\"\"\"\nmax_queue_size = 3\n[ui]\n",
		},
		{
			name:   "insert in crlf file",
			before: ptr("[sync]\r\nmax_queue_size = 1\r\n"),
			key:    KeyBackgroundDaemon, value: "auto",
			after: "[sync]\r\nmax_queue_size = 1\r\nbackground_daemon = \"auto\"\r\n",
		},
		{
			name:   "insert next to top-level dotted keys",
			before: ptr("sync.max_queue_size = 1\nother = 2\n\n[ui]\n"),
			key:    KeyBackgroundDaemon, value: "manual",
			after: "sync.max_queue_size = 1\nsync.background_daemon = \"manual\"\nother = 2\n\n[ui]\n",
		},
		{
			name:   "append table after a blank line",
			before: ptr("[ui]\ntheme = \"dark\"\n"),
			key:    KeyBackgroundDaemon, value: "manual",
			after: "[ui]\ntheme = \"dark\"\n\n[sync]\nbackground_daemon = \"manual\"\n",
		},
		{
			name:   "append table to file without trailing newline",
			before: ptr("[ui]\ntheme = \"dark\""),
			key:    KeyMaxQueueSize, value: "9",
			after: "[ui]\ntheme = \"dark\"\n\n[sync]\nmax_queue_size = 9\n",
		},
		{
			name:   "append table to file ending in a blank line",
			before: ptr("[ui]\n\n"),
			key:    KeyMaxQueueSize, value: "9",
			after: "[ui]\n\n[sync]\nmax_queue_size = 9\n",
		},
		{
			name:   "append table after sub-table only",
			before: ptr("[sync.extra]\nx = 1\n"),
			key:    KeyMaxQueueSize, value: "9",
			after: "[sync.extra]\nx = 1\n\n[sync]\nmax_queue_size = 9\n",
		},
		{
			name:   "append table in crlf file",
			before: ptr("[ui]\r\nx = 1\r\n"),
			key:    KeyMaxQueueSize, value: "9",
			after: "[ui]\r\nx = 1\r\n\r\n[sync]\r\nmax_queue_size = 9\r\n",
		},
		{
			name:   "byte order mark kept",
			before: ptr("\xef\xbb\xbf[sync]\nmax_queue_size = 1\n"),
			key:    KeyMaxQueueSize, value: "2",
			after: "\xef\xbb\xbf[sync]\nmax_queue_size = 2\n",
		},
		{
			name:   "empty file",
			before: ptr(""),
			key:    KeyServerURL, value: "http://127.0.0.1:8080",
			after: "[sync]\nserver_url = \"http://127.0.0.1:8080\"\n",
		},
		{
			name:   "missing file",
			before: nil,
			key:    KeyServerURL, value: " https://sync.example.com/api ",
			after: "[sync]\nserver_url = \"https://sync.example.com/api\"\n",
		},
		{
			name:   "value that needs escaping",
			before: nil,
			key:    KeyServerURL, value: `https://x.example/"q"\`,
			after: "[sync]\nserver_url = \"https://x.example/\\\"q\\\"\\\\\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if tt.before != nil {
				if err := os.WriteFile(path, []byte(*tt.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := Set(path, tt.key, tt.value); err != nil {
				t.Fatalf("Set(%s, %q): %v", tt.key, tt.value, err)
			}
			got := readFile(t, path)
			if diff := cmp.Diff(tt.after, got); diff != "" {
				t.Errorf("file after Set (-want +got):\n%s", diff)
			}
			if _, err := Load(path, nil); err != nil && !strings.Contains(err.Error(), "server_url = [") {
				t.Errorf("Load after Set: %v", err)
			}
		})
	}
}

func TestSetRefuses(t *testing.T) {
	const good = "# keep me\n[sync]\nmax_queue_size = 1\n"
	tests := []struct {
		name       string
		before     string
		key, value string
		wantErr    string
		check      func(error) bool
	}{
		{name: "unknown key", before: good, key: "sync.colour", value: "x",
			wantErr: `unknown config key "sync.colour"; known keys: sync.server_url, sync.max_queue_size, sync.background_daemon`,
			check:   isErr[*KeyError]},
		{name: "unknown table", before: good, key: "ui.theme", value: "x", check: isErr[*KeyError]},
		{name: "bare key", before: good, key: "background_daemon", value: "auto", check: isErr[*KeyError]},
		{name: "unknown policy", before: good, key: KeyBackgroundDaemon, value: "banana",
			wantErr: `invalid value "banana" for sync.background_daemon: allowed values are "auto" and "manual"`,
			check:   isErr[*ValueError]},
		{name: "empty policy", before: good, key: KeyBackgroundDaemon, value: " ",
			wantErr: `invalid value " " for sync.background_daemon: allowed values are "auto" and "manual"`,
			check:   isErr[*ValueError]},
		{name: "queue zero", before: good, key: KeyMaxQueueSize, value: "0", check: isErr[*ValueError]},
		{name: "queue negative", before: good, key: KeyMaxQueueSize, value: "-1", check: isErr[*ValueError]},
		{name: "queue float", before: good, key: KeyMaxQueueSize, value: "1.5", check: isErr[*ValueError]},
		{name: "queue word", before: good, key: KeyMaxQueueSize, value: "lots",
			wantErr: `invalid value "lots" for sync.max_queue_size: must be a whole number from 1 to`,
			check:   isErr[*ValueError]},
		{name: "queue overflow", before: good, key: KeyMaxQueueSize, value: "99999999999999999999", check: isErr[*ValueError]},
		{name: "url empty", before: good, key: KeyServerURL, value: "", check: isErr[*ValueError]},
		{name: "url ftp", before: good, key: KeyServerURL, value: "ftp://x.example", check: isErr[*ValueError]},
		{name: "url no scheme", before: good, key: KeyServerURL, value: "sync.example.com", check: isErr[*ValueError]},
		{name: "url plain http", before: good, key: KeyServerURL, value: "http://sync.example.com",
			wantErr: `invalid value "http://sync.example.com" for sync.server_url: must use https://`,
			check:   isErr[*ValueError]},
		{name: "url credentials", before: good, key: KeyServerURL, value: "https://u:p@x.example", check: isErr[*ValueError]},
		{name: "url query", before: good, key: KeyServerURL, value: "https://x.example/?a=1", check: isErr[*ValueError]},
		{name: "url no host", before: good, key: KeyServerURL, value: "https://", check: isErr[*ValueError]},
		{name: "url bad utf8", before: good, key: KeyServerURL, value: "https://x.example/\xff", check: isErr[*ValueError]},
		{name: "syntax error", before: "[sync]\nmax_queue_size = \n", key: KeyMaxQueueSize, value: "2",
			wantErr: ":2:18: invalid TOML: ", check: isErr[*FileError]},
		{name: "inline sync table", before: "sync = { max_queue_size = 1 }\n", key: KeyMaxQueueSize, value: "2",
			wantErr: "line 1: sync is written as `sync = ...`"},
		{name: "array of sync tables", before: "[[sync]]\nmax_queue_size = 1\n", key: KeyMaxQueueSize, value: "2",
			wantErr: "line 1: [[sync]] is an array of tables"},
		{name: "key is a table", before: "[sync.server_url]\nx = 1\n", key: KeyServerURL, value: "https://x.example",
			wantErr: "sync.server_url is a table, not a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.before)
			err := Set(path, tt.key, tt.value)
			if err == nil {
				t.Fatalf("Set(%s, %q) succeeded; file now %q", tt.key, tt.value, readFile(t, path))
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(err) {
				t.Errorf("error %T %v has the wrong type", err, err)
			}
			if got := readFile(t, path); got != tt.before {
				t.Errorf("file changed by a refused Set: %q", got)
			}
		})
	}
}

func isErr[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestUnset(t *testing.T) {
	tests := []struct {
		name   string
		before string
		key    string
		after  string
	}{
		{
			name:   "removes the line with its comment",
			before: "# top\n[sync]\nserver_url = \"https://x.example\" # host\nmax_queue_size = 4\n\n[ui]\n",
			key:    KeyServerURL,
			after:  "# top\n[sync]\nmax_queue_size = 4\n\n[ui]\n",
		},
		{
			name:   "crlf",
			before: "[sync]\r\nbackground_daemon = \"manual\"\r\nmax_queue_size = 4\r\n",
			key:    KeyBackgroundDaemon,
			after:  "[sync]\r\nmax_queue_size = 4\r\n",
		},
		{
			name:   "last line without newline",
			before: "[sync]\nmax_queue_size = 4\nbackground_daemon = \"manual\"",
			key:    KeyBackgroundDaemon,
			after:  "[sync]\nmax_queue_size = 4\n",
		},
		{
			name:   "multi-line value",
			before: "[sync]\nserver_url = \"\"\"\nhttps://x.example\"\"\"\nmax_queue_size = 4\n",
			key:    KeyServerURL,
			after:  "[sync]\nmax_queue_size = 4\n",
		},
		{
			name:   "only dotted key",
			before: "a = 1\nsync.max_queue_size = 4\n[ui]\n",
			key:    KeyMaxQueueSize,
			after:  "a = 1\n[ui]\n",
		},
		{
			name:   "header stays when the table empties",
			before: "[sync]\nmax_queue_size = 4\n",
			key:    KeyMaxQueueSize,
			after:  "[sync]\n",
		},
		{
			name:   "key not set",
			before: "[sync] # nothing\n",
			key:    KeyMaxQueueSize,
			after:  "[sync] # nothing\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.before)
			if err := Unset(path, tt.key); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.after, readFile(t, path)); diff != "" {
				t.Errorf("file after Unset (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnsetWritesNothingWhenNothingChanges(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	path := filepath.Join(home, "config.toml")
	if err := Unset(path, KeyMaxQueueSize); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(home); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Unset without a file created %s (%v)", home, err)
	}
	var ke *KeyError
	if err := Unset(path, "sync.nope"); !errors.As(err, &ke) {
		t.Errorf("Unset(unknown key) = %v, want *KeyError", err)
	}
	if runtime.GOOS != "windows" {
		// A file the editor would have to rewrite is left alone, mode and all.
		path := writeConfig(t, "[sync]\n")
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Unset(path, KeyServerURL); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("unchanged file was rewritten: %v %v", fi.Mode(), err)
		}
	}
}

// TestRoundTrip edits a realistic file and checks that every line the edit
// does not own stays byte for byte, and that undoing the edits restores the
// original exactly.
func TestRoundTrip(t *testing.T) {
	const original = `# spec-kitty user configuration
top_level = "kept"   # odd   spacing

[ui]
theme="dark"
  indent   =    4

[sync]
# the policy, see CONTRACTS.md
background_daemon    =    "auto"    # "auto" | "manual"
future_option = { a = 1, b = [ "x", "y" ] }

[sync.extra]
note = '''
multi
line'''
`
	variants := map[string]string{
		"lf":                  original,
		"crlf":                strings.ReplaceAll(original, "\n", "\r\n"),
		"no trailing newline": strings.TrimSuffix(original, "\n"),
	}
	for name, orig := range variants {
		t.Run(name, func(t *testing.T) {
			path := writeConfig(t, orig)
			steps := []struct {
				set        bool
				key, value string
			}{
				{true, KeyBackgroundDaemon, "manual"},
				{true, KeyMaxQueueSize, "250"},
				{true, KeyServerURL, "https://sync.example.com"},
				{false, KeyServerURL, ""},
				{false, KeyMaxQueueSize, ""},
				{true, KeyBackgroundDaemon, "auto"},
			}
			prev := orig
			for _, s := range steps {
				var err error
				if s.set {
					err = Set(path, s.key, s.value)
				} else {
					err = Unset(path, s.key)
				}
				if err != nil {
					t.Fatalf("%s %s: %v", map[bool]string{true: "set", false: "unset"}[s.set], s.key, err)
				}
				cur := readFile(t, path)
				assertOneStatementChanged(t, prev, cur)
				prev = cur
				c, err := Load(path, nil)
				if err != nil {
					t.Fatalf("Load after editing %s: %v", s.key, err)
				}
				if s.set {
					if got, _ := c.Get(s.key); fmt.Sprint(got.Value) != s.value || got.Source != SourceFile {
						t.Errorf("after set %s=%s, Get = %+v", s.key, s.value, got)
					}
				} else if c.Source(s.key) != SourceDefault {
					t.Errorf("after unset %s, source %s", s.key, c.Source(s.key))
				}
			}
			if got, want := readFile(t, path), orig; got != want {
				t.Errorf("after undoing every edit:\n got %q\nwant %q", got, want)
			}
			c, err := Load(path, nil)
			if err != nil || c.Policy() != policy.Auto {
				t.Fatalf("final Load = %+v, %v", c, err)
			}
		})
	}
}

// assertOneStatementChanged fails unless after is before with one contiguous
// region of lines replaced, added or removed.
func assertOneStatementChanged(t *testing.T, before, after string) {
	t.Helper()
	a, b := splitLines(before), splitLines(after)
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	removed, added := a[p:len(a)-s], b[p:len(b)-s]
	if len(removed) > 1 || len(added) > 2 {
		t.Errorf("edit changed more than one statement:\n removed %q\n added %q", removed, added)
	}
}

func splitLines(s string) []string { return strings.SplitAfter(s, "\n") }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSetCreatesHomeAndWritesPrivately(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	path := filepath.Join(home, "config.toml")
	if err := Set(path, KeyBackgroundDaemon, "manual"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "[sync]\nbackground_daemon = \"manual\"\n" {
		t.Errorf("new file = %q", got)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("home holds %d entries, want only config.toml (no temp files left)", len(entries))
	}
	if runtime.GOOS == "windows" {
		return // modes are not POSIX permissions there
	}
	if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("home mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Set(path, KeyMaxQueueSize, "5"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode after Set = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

func TestSetWritesThroughSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		return // creating symlinks needs a privilege there
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "spec-kitty.toml")
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("[sync]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.toml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := Set(link, KeyMaxQueueSize, "8"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	if got := readFile(t, real); got != "[sync]\nmax_queue_size = 8\n" {
		t.Errorf("target = %q", got)
	}
}
