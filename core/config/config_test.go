package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
)

// resetWarning forgets that the unknown-policy warning was printed.
func resetWarning(t *testing.T) {
	t.Helper()
	warned.Store(false)
	t.Cleanup(func() { warned.Store(false) })
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	src := func(keys ...string) map[string]Source {
		m := map[string]Source{}
		for _, k := range keys {
			m[k] = SourceFile
		}
		return m
	}
	def := func(mod func(*Config)) Config {
		c := Default()
		mod(&c)
		return c
	}
	tests := []struct {
		name    string
		content *string // nil: no file
		want    Config  // Path is filled in by the test
		wantErr string  // substring of the error, after the path
		warn    string  // substring of the warning line
	}{
		{name: "missing file", content: nil, want: Default()},
		{name: "empty file", content: ptr(""), want: Default()},
		{name: "only comments", content: ptr("# nothing here\n\n"), want: Default()},
		{name: "no sync table", content: ptr("[ui]\ntheme = \"dark\"\n"), want: Default()},
		{name: "empty sync table", content: ptr("[sync]\n"), want: Default()},
		{
			name: "all keys",
			content: ptr(`[sync]
server_url = "https://sync.example.com"   # optional
max_queue_size = 500                      # optional
background_daemon = "manual"              # "auto" | "manual"
`),
			want: def(func(c *Config) {
				c.ServerURL = "https://sync.example.com"
				c.MaxQueueSize = 500
				c.BackgroundDaemon = policy.Manual
				c.Sources = src(KeyServerURL, KeyMaxQueueSize, KeyBackgroundDaemon)
			}),
		},
		{name: "policy upper case", content: ptr("[sync]\nbackground_daemon = \"AUTO\"\n"),
			want: def(func(c *Config) { c.Sources = src(KeyBackgroundDaemon) })},
		{name: "policy padded mixed case", content: ptr("[sync]\nbackground_daemon = \" Manual \"\n"),
			want: def(func(c *Config) { c.BackgroundDaemon = policy.Manual; c.Sources = src(KeyBackgroundDaemon) })},
		{name: "policy literal string", content: ptr("[sync]\nbackground_daemon = 'manual'\n"),
			want: def(func(c *Config) { c.BackgroundDaemon = policy.Manual; c.Sources = src(KeyBackgroundDaemon) })},
		{name: "dotted keys at top level", content: ptr("sync.background_daemon = \"manual\"\nsync.max_queue_size = 7\n"),
			want: def(func(c *Config) {
				c.BackgroundDaemon = policy.Manual
				c.MaxQueueSize = 7
				c.Sources = src(KeyBackgroundDaemon, KeyMaxQueueSize)
			})},
		{name: "inline table", content: ptr("sync = { background_daemon = \"manual\" }\n"),
			want: def(func(c *Config) { c.BackgroundDaemon = policy.Manual; c.Sources = src(KeyBackgroundDaemon) })},
		{name: "quoted table name", content: ptr("[ \"sync\" ]\nmax_queue_size = 3\n"),
			want: def(func(c *Config) { c.MaxQueueSize = 3; c.Sources = src(KeyMaxQueueSize) })},
		{name: "crlf", content: ptr("[sync]\r\nmax_queue_size = 9\r\nbackground_daemon = \"manual\"\r\n"),
			want: def(func(c *Config) {
				c.MaxQueueSize = 9
				c.BackgroundDaemon = policy.Manual
				c.Sources = src(KeyMaxQueueSize, KeyBackgroundDaemon)
			})},
		{name: "byte order mark", content: ptr("\xef\xbb\xbf[sync]\nmax_queue_size = 2\n"),
			want: def(func(c *Config) { c.MaxQueueSize = 2; c.Sources = src(KeyMaxQueueSize) })},
		{name: "unknown tables and keys allowed", content: ptr(`top = 1
[ui]
theme = "dark"
[sync]
future_key = true
max_queue_size = 1
[sync.extra]
x = [1, 2]
`), want: def(func(c *Config) { c.MaxQueueSize = 1; c.Sources = src(KeyMaxQueueSize) })},
		{name: "empty server url is kept", content: ptr("[sync]\nserver_url = \"\"\n"),
			want: def(func(c *Config) { c.Sources = src(KeyServerURL) })},
		{name: "unknown policy warns and means auto", content: ptr("[sync]\nbackground_daemon = \"banana\"\n"),
			want: def(func(c *Config) {
				c.Warnings = []string{`PATH: sync.background_daemon: unknown value "banana" (allowed values are "auto" and "manual"); using "auto"`}
			}),
			warn: `spec-kitty: warning: PATH: sync.background_daemon: unknown value "banana" (allowed values are "auto" and "manual"); using "auto"` + "\n"},
		// Issue 16 item 5: a non-string value warns (naming the key and the
		// file) and means auto, as in the Python CLI.
		{name: "policy not a string warns and means auto", content: ptr("[sync]\nbackground_daemon = true\n"),
			want: def(func(c *Config) {
				c.Warnings = []string{`PATH: sync.background_daemon: must be a string, not a boolean (allowed values are "auto" and "manual"); using "auto"`}
			}),
			warn: `spec-kitty: warning: PATH: sync.background_daemon: must be a string, not a boolean (allowed values are "auto" and "manual"); using "auto"` + "\n"},
		{name: "policy an integer warns and means auto", content: ptr("[sync]\nbackground_daemon = 1\n"),
			want: def(func(c *Config) {
				c.Warnings = []string{`PATH: sync.background_daemon: must be a string, not an integer (allowed values are "auto" and "manual"); using "auto"`}
			}),
			warn: `spec-kitty: warning: PATH: sync.background_daemon: must be a string, not an integer (allowed values are "auto" and "manual"); using "auto"` + "\n"},

		{name: "empty policy", content: ptr("[sync]\nbackground_daemon = \"\"\n"),
			wantErr: `:2:21: sync.background_daemon: empty value; allowed values are "auto" and "manual"`},
		{name: "blank policy", content: ptr("[sync]\n  background_daemon   =   \"  \"  # x\n"),
			wantErr: `:2:27: sync.background_daemon: empty value; allowed values are "auto" and "manual"`},
		{name: "queue size zero", content: ptr("[sync]\nmax_queue_size = 0\n"),
			wantErr: `:2:18: sync.max_queue_size: must be >= 1, got 0`},
		{name: "queue size negative", content: ptr("[sync]\nmax_queue_size = -5\n"),
			wantErr: `:2:18: sync.max_queue_size: must be >= 1, got -5`},
		{name: "queue size float", content: ptr("[sync]\nmax_queue_size = 1.5\n"),
			wantErr: `:2:18: sync.max_queue_size: must be an integer, not a float`},
		{name: "queue size string", content: ptr("[sync]\nmax_queue_size = \"10\"\n"),
			wantErr: `:2:18: sync.max_queue_size: must be an integer, not a string`},
		{name: "queue size in dotted form", content: ptr("a = 1\nsync.max_queue_size = 0\n"),
			wantErr: `:2:23: sync.max_queue_size: must be >= 1, got 0`},
		{name: "server url not a string", content: ptr("[sync]\nserver_url = 443\n"),
			wantErr: `:2:14: sync.server_url: must be a string, not an integer`},
		{name: "server url in inline table", content: ptr("sync = {server_url = [1]}\n"),
			wantErr: `:1:8: sync.server_url: must be a string, not an array`},
		{name: "sync not a table", content: ptr("sync = \"on\"\n"),
			wantErr: `:1:8: sync: must be a table, not a string`},
		{name: "sync array of tables", content: ptr("[ui]\n[[sync]]\nmax_queue_size = 1\n"),
			wantErr: `:2:1: sync: must be a table, not an array of tables`},
		{name: "syntax error", content: ptr("[sync]\nmax_queue_size = 1\nbackground_daemon = auto\n"),
			wantErr: `:3:21: invalid TOML: `},
		{name: "syntax error in later table", content: ptr("[sync]\nmax_queue_size = 1\n\n[ui\n"),
			wantErr: `:4:4: invalid TOML: `},
		{name: "duplicate key", content: ptr("[sync]\nmax_queue_size = 1\nmax_queue_size = 2\n"),
			wantErr: `:3:1: invalid TOML: `},
		{name: "lone carriage return", content: ptr("[sync]\rmax_queue_size = 1\n"),
			wantErr: `:1:6: invalid TOML: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resetWarning(t)
			path := filepath.Join(t.TempDir(), "config.toml")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var warn bytes.Buffer
			got, err := Load(path, &warn)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load succeeded with %+v, want error %q", got, tt.wantErr)
				}
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("error %T %v is not a *FileError", err, err)
				}
				if want := path + tt.wantErr; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error\n got %q\nwant prefix %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := tt.want
			want.Path = path
			for i, w := range want.Warnings {
				want.Warnings[i] = strings.ReplaceAll(w, "PATH", path)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
			if w := strings.ReplaceAll(tt.warn, "PATH", path); warn.String() != w {
				t.Errorf("warning output %q, want %q", warn.String(), w)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestLoadWarnsOncePerProcess(t *testing.T) {
	resetWarning(t)
	path := writeConfig(t, "[sync]\nbackground_daemon = \"banana\"\n")
	other := writeConfig(t, "[sync]\nbackground_daemon = \"cherry\"\n")
	var first, second bytes.Buffer
	for range 2 {
		c, err := Load(path, &first)
		if err != nil {
			t.Fatal(err)
		}
		if c.Policy() != policy.Auto || len(c.Warnings) != 1 {
			t.Fatalf("policy %q, warnings %q; want auto and one warning", c.Policy(), c.Warnings)
		}
	}
	if _, err := Load(other, &second); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(first.String(), "\n"); n != 1 || !strings.Contains(first.String(), `"banana"`) {
		t.Errorf("first writer got %q, want exactly one line naming banana", first.String())
	}
	if second.Len() != 0 {
		t.Errorf("second writer got %q, want nothing: one warning per process", second.String())
	}
}

func TestLoadNilWriterDoesNotUseTheWarning(t *testing.T) {
	resetWarning(t)
	path := writeConfig(t, "[sync]\nbackground_daemon = \"banana\"\n")
	if _, err := Load(path, nil); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if _, err := Load(path, &w); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.String(), "banana") {
		t.Errorf("warning after a silent load = %q; a nil writer must not use up the one warning", w.String())
	}
}

func TestLoadUnreadable(t *testing.T) {
	t.Run("directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "read config "+path+": ") {
			t.Fatalf("Load of a directory: %v, want a read error naming %s", err, path)
		}
	})
	if runtime.GOOS != "windows" && os.Geteuid() != 0 { // root and Windows ignore mode 0
		t.Run("no permission", func(t *testing.T) {
			path := writeConfig(t, "[sync]\n")
			if err := os.Chmod(path, 0); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, nil)
			if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load of an unreadable file: %v, want a permission error naming %s", err, path)
			}
		})
	}
}

func TestLoadCreatesNothing(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	c, err := Load(filepath.Join(home, "config.toml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy() != policy.Auto || c.MaxQueueSize != DefaultMaxQueueSize {
		t.Errorf("defaults: %+v", c)
	}
	if _, err := os.Lstat(home); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load created %s (stat: %v)", home, err)
	}
}

func TestGetAndList(t *testing.T) {
	path := writeConfig(t, "[sync]\nbackground_daemon = \"MANUAL\"\n")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{KeyServerURL, "", SourceDefault},
		{KeyMaxQueueSize, DefaultMaxQueueSize, SourceDefault},
		{KeyBackgroundDaemon, "manual", SourceFile},
	}
	if diff := cmp.Diff(want, c.List()); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	for _, w := range want {
		got, err := c.Get(w.Key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("Get(%s) (-want +got):\n%s", w.Key, diff)
		}
	}
	_, err = c.Get("sync.colour")
	var ke *KeyError
	if !errors.As(err, &ke) || !strings.Contains(err.Error(), strings.Join(Keys(), ", ")) {
		t.Errorf("Get(unknown) = %v, want a *KeyError listing the known keys", err)
	}
}

func TestZeroConfigPolicy(t *testing.T) {
	if got := (Config{}).Policy(); got != policy.Auto {
		t.Errorf("zero Config policy = %q, want auto", got)
	}
	d, err := policy.Decide(true, policy.RemoteRequired, Default().Policy)
	if err != nil || !d.Start {
		t.Errorf("Decide with the default policy = %+v, %v; want start", d, err)
	}
}

// BenchmarkLoad measures what every command that reads the policy pays.
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.toml")
	content := "# user config\n[ui]\ntheme = \"dark\"\n\n[sync]\nserver_url = \"https://sync.example.com\"   # optional\nmax_queue_size = 100000\nbackground_daemon = \"manual\"\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Load(path, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSet measures one comment-preserving edit with its atomic write.
func BenchmarkSet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.toml")
	values := []string{"auto", "manual"}
	i := 0
	for b.Loop() {
		if err := Set(path, KeyBackgroundDaemon, values[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
