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
	"unicode"

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

func TestParseLoginPrompt(t *testing.T) {
	tests := []struct {
		line string
		want loginPrompt
		ok   bool
	}{
		{`{"step":"device_code","verification_uri":"https://h.example/device","verification_uri_complete":"https://h.example/device?user_code=WDJB-MJHT","user_code":"WDJB-MJHT","expires_in":900}`,
			loginPrompt{Step: "device_code", VerificationURI: "https://h.example/device", VerificationURIComplete: "https://h.example/device?user_code=WDJB-MJHT", UserCode: "WDJB-MJHT"}, true},
		{`{"step":"device_code","verification_uri":"http://127.0.0.1:8080/device","user_code":"ABCD1234","expires_in":900,"added_later":1}`,
			loginPrompt{Step: "device_code", VerificationURI: "http://127.0.0.1:8080/device", UserCode: "ABCD1234"}, true},
		{`{"step":"device_code","verification_uri":"https://h.example/device","user_code":"\u001b[2J"}`,
			loginPrompt{Step: "device_code", VerificationURI: "https://h.example/device"}, true},
		{`{"step":"signed_in","signed_in":true,"host":"https://h.example"}`, loginPrompt{}, false},
		{`{"step":"device_code","user_code":"WDJB-MJHT"}`, loginPrompt{}, false},
		{"To sign in, open https://h.example/device and enter the code WDJB-MJHT", loginPrompt{}, false},
		{"Waiting for approval...", loginPrompt{}, false},
		{`{"step":`, loginPrompt{}, false},
	}
	for _, tt := range tests {
		got, ok := parseLoginPrompt(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseLoginPrompt(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
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

// FuzzLoginPrompt: whatever the CLI prints, a prompt has a page to open and
// a user code that is short and printable (it goes to the status line); the
// page itself is checked by OpenURL before anything opens it.
func FuzzLoginPrompt(f *testing.F) {
	f.Add(`{"step":"device_code","verification_uri":"https://h.example/device","user_code":"WDJB-MJHT","expires_in":900}`)
	f.Add("To sign in, open https://h.example/device and enter the code WDJB-MJHT")
	f.Fuzz(func(t *testing.T, line string) {
		p, ok := parseLoginPrompt(line)
		if !ok {
			if p != (loginPrompt{}) {
				t.Fatalf("rejected %q but returned %+v", line, p)
			}
			return
		}
		if p.VerificationURI == "" {
			t.Fatalf("prompt without a page from %q", line)
		}
		if len(p.UserCode) > 32 || strings.ContainsFunc(p.UserCode, func(r rune) bool { return !unicode.IsPrint(r) }) {
			t.Fatalf("code %q from %q", p.UserCode, line)
		}
	})
}
