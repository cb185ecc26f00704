package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
)

// launchd is driven directly (not through kardianos, whose darwin backend
// renders KeepAlive only as a bool, logs under $HOME or /var/log, and uses
// the deprecated launchctl load/unload): the plist is rendered here, purely,
// so it is golden-tested on every OS, and launchctl runs through a runner.
type launchdManager struct {
	cfg       Config
	r         runner
	plistPath string
	logDir    string
	domain    string // gui/<uid> or system
}

func newLaunchd(cfg Config, r runner) *launchdManager {
	m := &launchdManager{cfg: cfg, r: r, logDir: cfg.LogDir}
	if cfg.System {
		m.plistPath = "/Library/LaunchDaemons/" + Name + ".plist"
		m.domain = "system"
		if m.logDir == "" {
			m.logDir = "/Library/Logs/spec-kitty"
		}
	} else {
		m.plistPath = filepath.Join(cfg.HomeDir, "Library", "LaunchAgents", Name+".plist")
		m.domain = "gui/" + cfg.UserID
		if m.logDir == "" {
			m.logDir = filepath.Join(cfg.HomeDir, "Library", "Logs", "spec-kitty")
		}
	}
	return m
}

// xmlText escapes s for XML character data exactly as encoding/xml's
// EscapeText does (TestXMLTextMatchesEncodingXML), without linking
// encoding/xml, whose init builds its entity maps in every spec-kitty start
// (issue 18: --help start-up).
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s { // a byte that is not UTF-8 comes as utf8.RuneError
		switch {
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\t':
			b.WriteString("&#x9;")
		case r == '\n':
			b.WriteString("&#xA;")
		case r == '\r':
			b.WriteString("&#xD;")
		case !xmlChar(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// xmlChar reports whether r is in XML 1.0's Char production.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// renderPlist renders the launchd job. KeepAlive restarts the daemon only
// when it exits non-zero (SuccessfulExit false), so the exit 0 of the manual
// policy or a stop stays stopped.
func (m *launchdManager) renderPlist() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + xmlText(Name) + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{m.cfg.Executable}, m.cfg.Args...) {
		b.WriteString("\t\t<string>" + xmlText(a) + "</string>\n")
	}
	b.WriteString("\t</array>\n")
	if len(m.cfg.Env) > 0 {
		b.WriteString("\t<key>EnvironmentVariables</key>\n\t<dict>\n")
		for _, k := range sortedKeys(m.cfg.Env) {
			b.WriteString("\t\t<key>" + xmlText(k) + "</key>\n\t\t<string>" + xmlText(m.cfg.Env[k]) + "</string>\n")
		}
		b.WriteString("\t</dict>\n")
	}
	if !m.cfg.System {
		b.WriteString("\t<key>WorkingDirectory</key>\n\t<string>" + xmlText(m.cfg.HomeDir) + "</string>\n")
	}
	b.WriteString(`	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ProcessType</key>
	<string>Background</string>
	<key>StandardOutPath</key>
	<string>` + xmlText(filepath.Join(m.logDir, Name+".out.log")) + `</string>
	<key>StandardErrorPath</key>
	<string>` + xmlText(filepath.Join(m.logDir, Name+".err.log")) + `</string>
</dict>
</plist>
`)
	return b.String()
}

func (m *launchdManager) manager() string {
	if m.cfg.System {
		return ManagerLaunchdDaemon
	}
	return ManagerLaunchdAgent
}

func (m *launchdManager) target() string { return m.domain + "/" + Name }

func (m *launchdManager) Plan(ctx context.Context) (Plan, error) {
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	if err := m.cfg.gateOn(); err != nil {
		return Plan{}, err
	}
	p := Plan{
		Manager:  m.manager(),
		Files:    []File{{Path: m.plistPath, Mode: 0o644, Content: m.renderPlist()}},
		Commands: [][]string{{"plutil", "-lint", m.plistPath}},
	}
	when := "at login"
	if m.cfg.System {
		when = "at boot"
	}
	p.Notes = []string{
		"create the log directory " + m.logDir,
		"launchd loads the job " + when + "; `spec-kitty service start` loads and starts it now",
	}
	return p, nil
}

func (m *launchdManager) Install(ctx context.Context) ([]string, error) {
	p, err := m.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkExecutable(m.cfg.Executable); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.logDir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", m.logDir, err)
	}
	undo, err := writeFiles(p.Files, atomicfile.Write)
	if err != nil {
		return nil, err
	}
	for _, argv := range p.Commands {
		if _, err := m.r.run(ctx, argv); err != nil {
			undo()
			return nil, fmt.Errorf("install %s: %w", m.plistPath, err)
		}
	}
	var warnings []string
	if loaded, _, err := m.query(ctx); err == nil && loaded {
		warnings = append(warnings, "the service is loaded with the previous definition; run `spec-kitty service restart` to use the new one")
	}
	return warnings, nil
}

var (
	launchdRunningRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*state = running\s*$`) })
	launchdExitRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*last exit code = (-?\d+)`) })
)

// query asks launchd about the job: loaded reports whether it is in the
// domain; out is `launchctl print` output. launchctl exits non-zero (113)
// for an unknown job; only a missing launchctl is an error.
func (m *launchdManager) query(ctx context.Context) (loaded bool, out string, err error) {
	out, err = m.r.run(ctx, []string{"launchctl", "print", m.target()})
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || ctx.Err() != nil {
			return false, "", err
		}
		return false, "", nil
	}
	return true, out, nil
}

func (m *launchdManager) installed() error {
	if !fileExists(m.plistPath) {
		return ErrNotInstalled
	}
	return nil
}

func (m *launchdManager) bootstrap(ctx context.Context) error {
	_, err := m.r.run(ctx, []string{"launchctl", "bootstrap", m.domain, m.plistPath})
	return err
}

func (m *launchdManager) bootout(ctx context.Context) error {
	_, err := m.r.run(ctx, []string{"launchctl", "bootout", m.target()})
	return err
}

func (m *launchdManager) Start(ctx context.Context) error {
	if err := m.installed(); err != nil {
		return err
	}
	loaded, _, err := m.query(ctx)
	if err != nil {
		return err
	}
	if loaded {
		_, err = m.r.run(ctx, []string{"launchctl", "kickstart", m.target()})
		return err
	}
	return m.bootstrap(ctx)
}

// Stop unloads the job (bootout): a loaded job with RunAtLoad would otherwise
// be restarted by launchd after a non-zero exit. It loads again at the next
// login or boot, or with Start.
func (m *launchdManager) Stop(ctx context.Context) error {
	if err := m.installed(); err != nil {
		return err
	}
	loaded, _, err := m.query(ctx)
	if err != nil || !loaded {
		return err
	}
	return m.bootout(ctx)
}

// Restart unloads and loads again, so a reinstalled plist takes effect.
func (m *launchdManager) Restart(ctx context.Context) error {
	if err := m.Stop(ctx); err != nil {
		return err
	}
	return m.bootstrap(ctx)
}

func (m *launchdManager) Uninstall(ctx context.Context) error {
	if err := m.Stop(ctx); err != nil {
		return err
	}
	return removeIfExists(m.plistPath)
}

func (m *launchdManager) Status(ctx context.Context) (Status, error) {
	st := Status{Manager: m.manager(), UnitPath: m.plistPath, State: StateNotInstalled}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if !fileExists(m.plistPath) {
		return st, nil
	}
	st.Installed, st.State = true, StateStopped
	loaded, out, err := m.query(ctx)
	if err != nil {
		return st, err
	}
	switch {
	case !loaded:
	case launchdRunningRE().MatchString(out):
		st.State, st.Running = StateRunning, true
	default:
		if mm := launchdExitRE().FindStringSubmatch(out); mm != nil && mm[1] != "0" {
			st.State = StateFailed
		}
	}
	return st, nil
}
