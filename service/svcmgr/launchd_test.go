package svcmgr

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var plistCases = []struct {
	name string
	cfg  Config
}{
	{"agent", Config{
		Executable: "/Users/kit/.local/bin/spec-kitty", HomeDir: "/Users/kit", UserName: "kit", UserID: "501",
		Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "https://sync.example.com/?a=1&b=<2>"},
	}},
	{"daemon", Config{
		System: true, Executable: "/usr/local/bin/spec-kitty", HomeDir: "/var/root", UserName: "root", UserID: "0",
		Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"},
	}},
}

// plistNode is a generic XML tree for checking the plist's structure.
type plistNode struct {
	XMLName xml.Name
	Text    string      `xml:",chardata"`
	Nodes   []plistNode `xml:",any"`
}

// plistDict turns a <dict> into key → value node.
func plistDict(t *testing.T, n plistNode) map[string]plistNode {
	t.Helper()
	if n.XMLName.Local != "dict" || len(n.Nodes)%2 != 0 {
		t.Fatalf("not a well-formed dict: %+v", n)
	}
	m := map[string]plistNode{}
	for i := 0; i < len(n.Nodes); i += 2 {
		if n.Nodes[i].XMLName.Local != "key" {
			t.Fatalf("dict entry %d is %s, want key", i, n.Nodes[i].XMLName.Local)
		}
		m[n.Nodes[i].Text] = n.Nodes[i+1]
	}
	return m
}

func TestLaunchdPlistGolden(t *testing.T) {
	for _, tc := range plistCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.cfg.withDefaults("darwin")
			if err != nil {
				t.Fatal(err)
			}
			m := newLaunchd(cfg, &recorder{})
			p, err := m.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Files) != 1 {
				t.Fatalf("files %+v", p.Files)
			}
			golden(t, "launchd/"+tc.name+".plist", fmt.Sprintf("# %s\n%s", p.Files[0].Path, p.Files[0].Content))

			var root plistNode
			if err := xml.Unmarshal([]byte(p.Files[0].Content), &root); err != nil {
				t.Fatalf("plist is not well-formed XML: %v", err)
			}
			d := plistDict(t, root.Nodes[0])
			if got := d["Label"].Text; got != Name {
				t.Errorf("Label = %q", got)
			}
			if got := d["RunAtLoad"].XMLName.Local; got != "true" {
				t.Errorf("RunAtLoad = %s", got)
			}
			ka := plistDict(t, d["KeepAlive"])
			if got := ka["SuccessfulExit"].XMLName.Local; len(ka) != 1 || got != "false" {
				t.Errorf("KeepAlive = %+v, want only SuccessfulExit false", ka)
			}
			var argv []string
			for _, n := range d["ProgramArguments"].Nodes {
				argv = append(argv, n.Text)
			}
			if diff := cmp.Diff(append([]string{cfg.Executable}, cfg.Args...), argv); diff != "" {
				t.Errorf("ProgramArguments (-want +got):\n%s", diff)
			}
			envd := plistDict(t, d["EnvironmentVariables"])
			gotEnv := map[string]string{}
			for k, v := range envd {
				gotEnv[k] = v.Text
			}
			if diff := cmp.Diff(cfg.Env, gotEnv); diff != "" {
				t.Errorf("EnvironmentVariables (-want +got):\n%s", diff)
			}
			logDir := filepath.Join(cfg.HomeDir, "Library/Logs/spec-kitty")
			if cfg.System {
				logDir = "/Library/Logs/spec-kitty"
			}
			for _, k := range []string{"StandardOutPath", "StandardErrorPath"} {
				if got := d[k].Text; !strings.HasPrefix(got, logDir+"/") {
					t.Errorf("%s = %q, want it under %s", k, got, logDir)
				}
			}
		})
	}
}

func TestLaunchdLifecycle(t *testing.T) {
	home := t.TempDir()
	cfg, err := Config{Executable: fakeExe(t, filepath.Join(home, "bin")), HomeDir: home, UserName: "kit", UserID: "501", Env: gateEnv}.withDefaults("darwin")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{answers: map[string]answer{}}
	m := newLaunchd(cfg, r)
	ctx := context.Background()
	target := "gui/501/" + Name
	notLoaded := answer{err: errors.New("launchctl print: exit status 113: Could not find service")}
	running := answer{out: "gui/501/spec-kitty-sync = {\n\tactive count = 1\n\tstate = running\n\tpid = 4242\n}\n"}
	exited := answer{out: "gui/501/spec-kitty-sync = {\n\tstate = not running\n\tlast exit code = 1\n}\n"}
	var tr strings.Builder
	step := func(name string, err error) {
		fmt.Fprintf(&tr, "# %s", name)
		if err != nil {
			fmt.Fprintf(&tr, " -> error: %s", strings.ReplaceAll(err.Error(), home, "$HOME"))
		}
		tr.WriteString("\n")
		for _, c := range r.calls {
			tr.WriteString(strings.ReplaceAll(strings.Join(c, " "), home, "$HOME") + "\n")
		}
		r.calls = nil
	}
	status := func(name string, want Status) {
		t.Helper()
		st, err := m.Status(ctx)
		step(name, err)
		want.Manager, want.UnitPath = ManagerLaunchdAgent, m.plistPath
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	status("status before install", Status{State: StateNotInstalled})
	r.answers["launchctl print "+target] = notLoaded
	w, err := m.Install(ctx)
	step("install", err)
	if err != nil || len(w) != 0 {
		t.Fatalf("install: %v %q", err, w)
	}
	b, err := os.ReadFile(m.plistPath)
	if err != nil || string(b) != m.renderPlist() {
		t.Fatalf("plist on disk: %v\n%s", err, b)
	}
	if fi, err := os.Stat(m.logDir); err != nil || !fi.IsDir() {
		t.Errorf("log dir not created: %v", err)
	}
	status("status after install", Status{Installed: true, State: StateStopped})
	tr.WriteString("## start (not loaded)\n")
	step("start", m.Start(ctx))
	r.answers["launchctl print "+target] = running
	status("status while running", Status{Installed: true, Running: true, State: StateRunning})
	step("start when loaded", m.Start(ctx))
	step("restart", m.Restart(ctx))
	step("stop", m.Stop(ctx))
	r.answers["launchctl print "+target] = exited
	status("status after a failure", Status{Installed: true, State: StateFailed})
	_, err = m.Install(ctx)
	step("install again while loaded", err)
	r.answers["launchctl print "+target] = running
	step("uninstall", m.Uninstall(ctx))
	if fileExists(m.plistPath) {
		t.Error("plist left after uninstall")
	}
	err = m.Start(ctx)
	step("start when not installed", err)
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("start when not installed: %v", err)
	}

	// A failing plutil -lint undoes the write.
	r.answers["plutil -lint "+m.plistPath] = answer{err: errors.New("plutil: invalid")}
	_, err = m.Install(ctx)
	step("install with a failing lint", err)
	if err == nil || fileExists(m.plistPath) {
		t.Errorf("failed install: err %v, plist left %v", err, fileExists(m.plistPath))
	}

	// No launchctl at all is an error, not "stopped".
	delete(r.answers, "plutil -lint "+m.plistPath)
	_, err = m.Install(ctx)
	step("install", err)
	if err != nil {
		t.Fatal(err)
	}
	r.answers["launchctl print "+target] = answer{err: fmt.Errorf("launchctl: %w", exec.ErrNotFound)}
	_, err = m.Status(ctx)
	step("status without launchctl", err)
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("status without launchctl: %v", err)
	}
	golden(t, "launchd/agent-argv.txt", tr.String())
}

func TestLaunchdDaemonCommands(t *testing.T) {
	cfg, err := plistCases[1].cfg.withDefaults("darwin")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{answers: map[string]answer{"launchctl print system/" + Name: {err: errors.New("exit status 113")}}}
	m := newLaunchd(cfg, r)
	m.plistPath = filepath.Join(t.TempDir(), Name+".plist") // not /Library
	if err := os.WriteFile(m.plistPath, []byte(m.renderPlist()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"launchctl", "print", "system/" + Name}, {"launchctl", "bootstrap", "system", m.plistPath}}
	if diff := cmp.Diff(want, r.calls); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	st, _ := m.Status(context.Background())
	if st.Manager != ManagerLaunchdDaemon {
		t.Errorf("manager %q", st.Manager)
	}
}

// TestXMLTextMatchesEncodingXML: xmlText escapes as xml.EscapeText does,
// for the characters it escapes, those XML forbids and bytes that are not
// UTF-8.
func TestXMLTextMatchesEncodingXML(t *testing.T) {
	for _, s := range []string{
		"", "plain", `a"b'c&d<e>f`, "tab\tnl\ncr\r", "\x00\x01\x1f\x7f", "é ü 日本 🙂",
		"\uFFFD", "\xff\xfe", "a\xc3", "\ud7ff\ue000\ufffe\uffff", "/Users/o'brien & co/<x>",
	} {
		var want strings.Builder
		if err := xml.EscapeText(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := xmlText(s); got != want.String() {
			t.Errorf("xmlText(%q) = %q, want %q", s, got, want.String())
		}
	}
}

func FuzzXMLText(f *testing.F) {
	f.Add("a\"b'c&d<e>f\t\n\r\x00\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var want strings.Builder
		if err := xml.EscapeText(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := xmlText(s); got != want.String() {
			t.Errorf("xmlText(%q) = %q, want %q", s, got, want.String())
		}
	})
}
