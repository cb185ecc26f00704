package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindCLI(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a Unix file name")
	}
	beside := t.TempDir()
	onPath := filepath.Join(t.TempDir(), "spec-kitty")
	self := filepath.Join(beside, "spec-kitty-tray")
	lookPath := func(string) (string, error) { return onPath, nil }
	noPath := func(string) (string, error) { return "", errors.New("not found") }
	exe := func() (string, error) { return self, nil }

	if got, err := FindCLI(exe, lookPath); err != nil || got != onPath {
		t.Errorf("nothing beside the tray: %q, %v; want PATH's %q", got, err, onPath)
	}
	if _, err := FindCLI(exe, noPath); err == nil || !strings.Contains(err.Error(), "not next to the tray and not on PATH") {
		t.Errorf("nowhere: %v", err)
	}
	cli := filepath.Join(beside, "spec-kitty")
	if err := os.WriteFile(cli, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := FindCLI(exe, lookPath); err != nil || got != cli {
		t.Errorf("beside the tray: %q, %v; want %q", got, err, cli)
	}
	// A symlinked tray (e.g. /usr/local/bin/spec-kitty-tray) finds the CLI
	// beside its target.
	if err := os.WriteFile(self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "spec-kitty-tray")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	if got, err := FindCLI(func() (string, error) { return link, nil }, noPath); err != nil || got != cli {
		t.Errorf("through a symlink: %q, %v; want %q", got, err, cli)
	}
}

func TestExecRunner(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script")
	}
	dir := t.TempDir()
	cli := filepath.Join(dir, "spec-kitty")
	script := `#!/bin/sh
case "$1" in
sync) echo "args: $*"; echo "gate: $SPEC_KITTY_ENABLE_SAAS_SYNC"; echo "oops" >&2; exit 0;;
fail) echo "spec-kitty: error: the host answered 503" >&2; exit 1;;
hang) exec sleep 30;;
esac
`
	if err := os.WriteFile(cli, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "1")
	run := ExecRunner(func() (string, error) { return cli, nil })

	var out bytes.Buffer
	if err := run(t.Context(), []string{"sync", "start"}, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("args: sync start\ngate: 1\noops\n", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}

	tl := &tail{max: 64}
	err := run(t.Context(), []string{"fail"}, tl)
	if err == nil {
		t.Fatal("a failing command succeeded")
	}
	if got := failure(err, tl); got != "the host answered 503" {
		t.Errorf("failure %q", got)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- run(ctx, []string{"hang"}, &bytes.Buffer{}) }()
	cancel()
	if err := <-done; err == nil {
		t.Error("a cancelled command reported success")
	}

	missing := ExecRunner(func() (string, error) { return "", errors.New("find spec-kitty: nowhere") })
	if err := missing(t.Context(), []string{"sync", "run"}, &out); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("missing binary: %v", err)
	}
}

func TestTail(t *testing.T) {
	var lines []string
	tl := &tail{max: 16, onLine: func(l string) { lines = append(lines, l) }}
	for _, chunk := range []string{"first li", "ne\r\nsecond\n", "spec-kitty: error: third line is long\n", "spec-kitty: hint: ignore me\n"} {
		tl.Write([]byte(chunk))
	}
	if diff := cmp.Diff([]string{"first line", "second", "spec-kitty: error: third line is long", "spec-kitty: hint: ignore me"}, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if len(tl.buf) != 16 {
		t.Errorf("kept %d bytes, want the last 16", len(tl.buf))
	}
	tl = &tail{max: 1024}
	tl.Write([]byte("spec-kitty: error: host answered 503\nspec-kitty: hint: run x\n\n"))
	if got := tl.lastLine(); got != "host answered 503" {
		t.Errorf("lastLine %q", got)
	}
	if got := failure(errors.New("exit status 2"), &tail{max: 8}); got != "exit status 2" {
		t.Errorf("failure without output: %q", got)
	}
}

func TestLoginPrompt(t *testing.T) {
	tests := []struct {
		line, link, code string
	}{
		{"To sign in, open https://h.example/device and enter the code WDJB-MJHT", "https://h.example/device", "WDJB-MJHT"},
		{"  (or open https://h.example/device?user_code=WDJB-MJHT)", "https://h.example/device?user_code=WDJB-MJHT", ""},
		{"Waiting for approval...", "", ""},
		{"Visit http://127.0.0.1:8080/device.", "http://127.0.0.1:8080/device", ""},
		{"enter code: abcd1234 now", "", ""},
		{"Code: ABCD1234", "", "ABCD1234"},
		{"open `https://h.example/x` please", "https://h.example/x", ""},
		{"file:///etc/passwd javascript:alert(1)", "", ""},
	}
	for _, tt := range tests {
		link, code := loginPrompt(tt.line)
		if link != tt.link || code != tt.code {
			t.Errorf("loginPrompt(%q) = %q, %q; want %q, %q", tt.line, link, code, tt.link, tt.code)
		}
	}
}

func TestOpenURLRefusesOtherSchemes(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "ftp://h/x", "https://", "not a url", "-e"} {
		if err := OpenURL(t.Context(), u); err == nil {
			t.Errorf("OpenURL(%q) accepted it", u)
		}
	}
}

// FuzzLoginPrompt: whatever the CLI prints, a link is one http(s) token and
// a code is a short code.
func FuzzLoginPrompt(f *testing.F) {
	f.Add("To sign in, open https://h.example/device and enter the code WDJB-MJHT")
	f.Add("  (or open https://h.example/device?user_code=WDJB-MJHT)")
	f.Fuzz(func(t *testing.T, line string) {
		link, code := loginPrompt(line)
		if link != "" {
			if !strings.HasPrefix(link, "http://") && !strings.HasPrefix(link, "https://") {
				t.Fatalf("link %q is not http(s)", link)
			}
			if strings.ContainsAny(link, " \t\n\"'<>`") || !strings.Contains(line, link) {
				t.Fatalf("link %q is not one token of %q", link, line)
			}
		}
		if code != "" && (len(code) < 8 || len(code) > 9 || !strings.Contains(line, code)) {
			t.Fatalf("code %q from %q", code, line)
		}
	})
}
