package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConfigExitCodes runs the config commands in-process and checks the
// exit code contract: 0 success, 1 a bad config file, 2 usage (unknown key,
// bad value, wrong arguments).
func TestConfigExitCodes(t *testing.T) {
	const badTOML = "[sync]\nmax_queue_size = 1\nbackground_daemon = auto\n"
	tests := []struct {
		name       string
		file       string // config.toml content; "" for none
		args       []string
		wantCode   int
		wantStdout string // exact
		wantStderr string // substring
	}{
		{name: "list defaults", args: []string{"config", "list"}, wantCode: ExitOK,
			wantStdout: "sync.server_url          \"\"       default\nsync.max_queue_size      100000   default\nsync.background_daemon   auto     default\n"},
		{name: "get", file: "[sync]\nmax_queue_size = 12\n", args: []string{"config", "get", "sync.max_queue_size"},
			wantCode: ExitOK, wantStdout: "12\n"},
		{name: "set", args: []string{"config", "set", "sync.background_daemon", "manual"}, wantCode: ExitOK},
		{name: "unset", file: "[sync]\nmax_queue_size = 12\n", args: []string{"config", "unset", "sync.max_queue_size"}, wantCode: ExitOK},
		{name: "get unknown key", args: []string{"config", "get", "sync.nope"}, wantCode: ExitUsage,
			wantStderr: "spec-kitty: hint: known keys: sync.server_url, sync.max_queue_size, sync.background_daemon\n"},
		{name: "unset unknown key", args: []string{"config", "unset", "nope"}, wantCode: ExitUsage},
		{name: "set unknown key", args: []string{"config", "set", "nope", "1"}, wantCode: ExitUsage},
		{name: "set bad value", args: []string{"config", "set", "sync.background_daemon", "banana"}, wantCode: ExitUsage,
			wantStderr: `invalid value "banana" for sync.background_daemon: allowed values are "auto" and "manual"`},
		{name: "set empty value", args: []string{"config", "set", "sync.background_daemon", ""}, wantCode: ExitUsage},
		{name: "set negative queue", args: []string{"config", "set", "sync.max_queue_size", "-1"}, wantCode: ExitUsage},
		{name: "unknown key beats bad file", file: badTOML, args: []string{"config", "get", "nope"}, wantCode: ExitUsage},
		{name: "list bad file", file: badTOML, args: []string{"config", "list"}, wantCode: ExitFailure,
			wantStderr: "config.toml:3:21: invalid TOML"},
		{name: "get bad file", file: badTOML, args: []string{"config", "get", "sync.server_url"}, wantCode: ExitFailure},
		{name: "set bad file", file: badTOML, args: []string{"config", "set", "sync.max_queue_size", "2"}, wantCode: ExitFailure},
		{name: "unset bad file", file: badTOML, args: []string{"config", "unset", "sync.max_queue_size"}, wantCode: ExitFailure},
		{name: "empty policy in file", file: "[sync]\nbackground_daemon = \"\"\n", args: []string{"config", "list"}, wantCode: ExitFailure,
			wantStderr: `config.toml:2:21: sync.background_daemon: empty value; allowed values are "auto" and "manual"`},
		{name: "no verb", args: []string{"config"}, wantCode: ExitOK},
		{name: "too many arguments", args: []string{"config", "get", "a", "b"}, wantCode: ExitUsage},
		{name: "unknown flag", args: []string{"config", "list", "--yaml"}, wantCode: ExitUsage},
		{name: "help", args: []string{"help", "config", "unset"}, wantCode: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			if tt.file != "" {
				if err := os.MkdirAll(home, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, stdout, stderr := runConfigMain(t, home, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if tt.wantStdout != "" && stdout != tt.wantStdout {
				t.Errorf("stdout %q, want %q", stdout, tt.wantStdout)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.wantStderr)
			}
			if tt.file == "" && !slices.Contains(tt.args, "set") {
				if _, err := os.Lstat(home); err == nil {
					t.Errorf("%v created the state home", tt.args)
				}
			}
		})
	}
}

func runConfigMain(t *testing.T, home string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	userHome := t.TempDir()
	env := &Env{
		Getenv: func(k string) string {
			if k == "SPEC_KITTY_HOME" {
				return home
			}
			return ""
		},
		Stdin:      strings.NewReader(""),
		Stdout:     &out,
		Stderr:     &errb,
		Now:        time.Now,
		Dir:        t.TempDir(),
		UserHome:   func() (string, error) { return userHome, nil },
		Executable: os.Executable,
	}
	code = Main(context.Background(), args, env)
	return code, out.String(), errb.String()
}

// TestLoadConfigOncePerInvocation: within one Main call config.toml is read
// once (every caller gets the same answer), a write by config set/unset is
// seen by later reads, and a live env (daemon, dashboard) reads afresh.
func TestLoadConfigOncePerInvocation(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "config.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := &Env{Getenv: func(k string) string {
		if k == "SPEC_KITTY_HOME" {
			return home
		}
		return ""
	}, Stderr: &bytes.Buffer{}}
	queueSize := func(env *Env) int {
		t.Helper()
		c, err := loadConfig(env)
		if err != nil {
			t.Fatal(err)
		}
		return c.MaxQueueSize
	}

	write("[sync]\nmax_queue_size = 1\n")
	env := base.once()
	if got := queueSize(env); got != 1 {
		t.Fatalf("max_queue_size = %d, want 1", got)
	}
	write("[sync]\nmax_queue_size = 2\n")
	if got := queueSize(env); got != 1 {
		t.Errorf("second read in one invocation = %d, want the first answer 1", got)
	}
	if got := queueSize(env.live()); got != 2 {
		t.Errorf("live read = %d, want 2", got)
	}
	// The host is resolved once too, from the same config.
	write("[sync]\nmax_queue_size = 2\nserver_url = \"https://a.example.com\"\n")
	env = base.once()
	if h, err := resolveHost(env); err != nil || h.URL != "https://a.example.com" {
		t.Fatalf("host = %+v, %v", h, err)
	}
	write("[sync]\nmax_queue_size = 2\nserver_url = \"https://b.example.com\"\n")
	if h, _ := resolveHost(env); h.URL != "https://a.example.com" {
		t.Errorf("second host in one invocation = %q, want the first answer", h.URL)
	}
	if h, _ := resolveHost(env.live()); h.URL != "https://b.example.com" {
		t.Errorf("live host = %q, want https://b.example.com", h.URL)
	}
	env.conf.forget()
	if h, _ := resolveHost(env); h.URL != "https://b.example.com" {
		t.Errorf("host after a write = %q, want https://b.example.com", h.URL)
	}
	if got := queueSize(env); got != 2 {
		t.Errorf("read after a write = %d, want 2", got)
	}
	// A broken file is one answer too: the same error every time.
	write("[sync]\nmax_queue_size = \n")
	env = base.once()
	_, err1 := loadConfig(env)
	write("[sync]\nmax_queue_size = 3\n")
	_, err2 := loadConfig(env)
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() || !strings.Contains(err1.Error(), path+":2:") {
		t.Errorf("errors = %v, %v; want the same error naming %s:2:", err1, err2, path)
	}
	if got := queueSize(base); got != 3 {
		t.Errorf("an env outside Main reads afresh: got %d, want 3", got)
	}
}
