package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Runner runs the spec-kitty binary with args until it exits or ctx ends,
// writing its stdout and stderr to out. Tests substitute a fake.
type Runner func(ctx context.Context, args []string, out io.Writer) error

// Opener shows an http(s) URL in the user's browser.
type Opener func(ctx context.Context, rawURL string) error

// CLIName is the CLI binary the tray runs for its actions.
const CLIName = "spec-kitty"

// stopGrace is how long a child gets to exit after the tray asks it to stop.
const stopGrace = 3 * time.Second

// FindCLI returns the spec-kitty binary: the one next to the tray's own
// executable when there is one (an install puts both in one directory), else
// the first on PATH.
func FindCLI(executable func() (string, error), lookPath func(string) (string, error)) (string, error) {
	name := CLIName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if executable != nil {
		if self, err := executable(); err == nil {
			if resolved, err := filepath.EvalSymlinks(self); err == nil {
				self = resolved
			}
			p := filepath.Join(filepath.Dir(self), name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	p, err := lookPath(CLIName)
	if err != nil {
		return "", fmt.Errorf("find %s: not next to the tray and not on PATH", CLIName)
	}
	return p, nil
}

// ExecRunner runs the binary that find returns (looked up on each call, so
// an install or upgrade while the tray runs is picked up). The child gets the
// tray's environment and no stdin; on cancellation it is asked to stop (an
// interrupt where the OS has one) and killed after a grace period.
func ExecRunner(find func() (string, error)) Runner {
	return func(ctx context.Context, args []string, out io.Writer) error {
		bin, err := find()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = childAttr()
		cmd.Cancel = func() error { return interrupt(cmd.Process) }
		cmd.WaitDelay = stopGrace
		return cmd.Run()
	}
}

// OpenURL is the Opener of the desktop (xdg-open, open, or the Windows URL
// handler). Only http and https URLs are opened.
func OpenURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("refusing to open %q: not an http(s) URL", rawURL)
	}
	name, args := openCommand(u.String())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open %s: %w", u.Redacted(), err)
	}
	// xdg-open and friends return at once; reap them in the background.
	go cmd.Wait()
	return nil
}

// tail keeps the last max bytes written to it and reports lines as they
// complete.
type tail struct {
	mu     sync.Mutex
	buf    []byte
	max    int
	line   []byte
	onLine func(string)
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	if t.onLine == nil {
		return len(p), nil
	}
	for _, b := range p {
		if b == '\n' {
			t.onLine(string(bytes.TrimRight(t.line, "\r")))
			t.line = t.line[:0]
			continue
		}
		if len(t.line) < 4096 {
			t.line = append(t.line, b)
		}
	}
	return len(p), nil
}

// lastLine is the last non-empty output line without the CLI's prefixes.
func (t *tail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "spec-kitty: hint:") {
			continue
		}
		l = strings.TrimPrefix(l, "spec-kitty: error: ")
		if l != "" {
			return l
		}
	}
	return ""
}

// failure describes why an action's command failed: its last output line,
// else the exec error.
func failure(err error, out *tail) string {
	if l := out.lastLine(); l != "" {
		return l
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	return err.Error()
}

// loginPrompt is the device-code line of `spec-kitty auth login --json`.
type loginPrompt struct {
	Step                    string `json:"step"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	UserCode                string `json:"user_code"`
}

// parseLoginPrompt reads one output line and reports whether it is the
// device-code prompt with a verification page. The user code, shown in the
// status line, is kept only if it is short and printable.
func parseLoginPrompt(line string) (loginPrompt, bool) {
	var p loginPrompt
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &p) != nil ||
		p.Step != "device_code" || p.VerificationURI == "" {
		return loginPrompt{}, false
	}
	if len(p.UserCode) > 32 || strings.ContainsFunc(p.UserCode, func(r rune) bool { return !unicode.IsPrint(r) }) {
		p.UserCode = ""
	}
	return p, true
}
