package svcmgr

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// winJoin joins like filepath.Join on Windows for the cases used here.
func winJoin(elem ...string) string {
	for i := range elem[:len(elem)-1] {
		elem[i] = strings.TrimRight(elem[i], `\`)
	}
	return strings.Join(elem, `\`)
}

var taskCases = []struct {
	name string
	cfg  Config
}{
	{"task", Config{
		Executable: `C:\Users\kit\AppData\Local\Programs\spec-kitty\spec-kitty.exe`, HomeDir: `C:\Users\kit`,
		UserName: `DESKTOP-1\kit`, UserID: "S-1-5-21-1-2-3-1001",
		Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "https://sync.example.com/?a=1&b=2"},
	}},
	{"task-custom-home", Config{
		Executable: `C:\Program Files\spec kitty\spec-kitty.exe`, HomeDir: `C:\Users\Kit O'Hara`,
		UserName: `CORP\kit`, UserID: "S-1-5-21-1-2-3-1002",
		Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "true", "SPEC_KITTY_HOME": `D:\kitty state\`},
	}},
}

// taskXML is the part of the schema the test checks.
type taskXML struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/windows/2004/02/mit/task Task"`
	Version  string   `xml:"version,attr"`
	URI      string   `xml:"RegistrationInfo>URI"`
	Logon    string   `xml:"Triggers>LogonTrigger>UserId"`
	User     string   `xml:"Principals>Principal>UserId"`
	Logon2   string   `xml:"Principals>Principal>LogonType"`
	RunLevel string   `xml:"Principals>Principal>RunLevel"`
	Limit    string   `xml:"Settings>ExecutionTimeLimit"`
	Restart  string   `xml:"Settings>RestartOnFailure>Interval"`
	Count    int      `xml:"Settings>RestartOnFailure>Count"`
	Command  string   `xml:"Actions>Exec>Command"`
	Args     string   `xml:"Actions>Exec>Arguments"`
	Dir      string   `xml:"Actions>Exec>WorkingDirectory"`
}

func TestTaskGolden(t *testing.T) {
	for _, tc := range taskCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.cfg.withDefaults("windows")
			if err != nil {
				t.Fatal(err)
			}
			m := newTask(cfg, &recorder{}, winJoin)
			p, err := m.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			for _, f := range p.Files {
				fmt.Fprintf(&all, "# %s (mode %o, utf16 %v)\n%s", f.Path, f.Mode, f.UTF16, f.Content)
			}
			for _, c := range p.Commands {
				fmt.Fprintf(&all, "$ %q\n", c)
			}
			golden(t, "windows/"+tc.name+".txt", all.String())

			// The XML declares UTF-16; encoding/xml needs the declaration
			// dropped to read the text.
			text := p.Files[1].Content
			text = text[strings.Index(text, "?>")+2:]
			var got taskXML
			if err := xml.Unmarshal([]byte(text), &got); err != nil {
				t.Fatalf("task XML: %v", err)
			}
			want := taskXML{
				XMLName: got.XMLName, Version: "1.2", URI: `\` + TaskName,
				Logon: cfg.UserName, User: cfg.UserName, Logon2: "InteractiveToken", RunLevel: "LeastPrivilege",
				Limit: "PT0S", Restart: "PT1M", Count: 10,
				Command: cfg.Executable, Args: windowsCommandLine(append(cfg.Args, "--env-file", m.envPath)), Dir: cfg.HomeDir,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("task (-want +got):\n%s", diff)
			}
			env, err := ParseEnvFile("service.env", []byte(p.Files[0].Content))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cfg.Env, env); diff != "" {
				t.Errorf("env file round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// windowsArg must produce what CommandLineToArgvW splits back; the cases
// are the documented rules for backslashes and quotes.
func TestWindowsArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"run", "run"},
		{`C:\x\y`, `C:\x\y`},
		{`C:\Program Files\x`, `"C:\Program Files\x"`},
		{`D:\state dir\`, `"D:\state dir\\"`},
		{`a"b`, `a\"b`},
		{`a\"b`, `a\\\"b`},
		{`say "hi there"`, `"say \"hi there\""`},
		{"tab\there", "\"tab\there\""},
	}
	for _, tt := range tests {
		if got := windowsArg(tt.in); got != tt.want {
			t.Errorf("windowsArg(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestEncodeUTF16(t *testing.T) {
	s := "<a>ü 𝄞</a>\n"
	b := encodeUTF16(s)
	if b[0] != 0xff || b[1] != 0xfe {
		t.Fatalf("no UTF-16LE BOM: % x", b[:2])
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 2; i < len(b); i += 2 {
		u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
	}
	if got := string(utf16.Decode(u)); got != s {
		t.Errorf("round trip = %q", got)
	}
}

func TestTaskLifecycle(t *testing.T) {
	home := t.TempDir()
	cfg, err := Config{Executable: fakeExe(t, filepath.Join(home, "bin")), HomeDir: home, UserName: `PC\kit`, UserID: "S-1", Env: gateEnv}.withDefaults("linux")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{answers: map[string]answer{}}
	m := newTask(cfg, r, filepath.Join)
	ctx := context.Background()
	statusKey := strings.Join(taskStatusArgv, " ")
	var tr strings.Builder
	step := func(name string, err error) {
		fmt.Fprintf(&tr, "# %s", name)
		if err != nil {
			fmt.Fprintf(&tr, " -> error: %s", strings.ReplaceAll(err.Error(), home, "%HOME%"))
		}
		tr.WriteString("\n")
		for _, c := range r.calls {
			fmt.Fprintf(&tr, "%q\n", strings.Split(strings.ReplaceAll(strings.Join(c, "\x00"), home, "%HOME%"), "\x00"))
		}
		r.calls = nil
	}
	status := func(name string, want Status) {
		t.Helper()
		st, err := m.Status(ctx)
		step(name, err)
		want.Manager, want.UnitPath = ManagerWindowsTask, m.xmlPath
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	status("status before install", Status{State: StateNotInstalled})
	_, err = m.Install(ctx)
	step("install", err)
	if err != nil {
		t.Fatal(err)
	}
	xmlBytes, _ := os.ReadFile(m.xmlPath)
	if string(xmlBytes) != string(encodeUTF16(m.renderTaskXML())) {
		t.Error("task XML on disk is not the UTF-16 rendering")
	}
	if env, err := LoadEnvFile(m.envPath); err != nil || env["SPEC_KITTY_ENABLE_SAAS_SYNC"] != "1" {
		t.Errorf("env file: %v %v", env, err)
	}
	r.answers[statusKey] = answer{out: "Ready\r\n"}
	status("status when ready", Status{Installed: true, State: StateStopped})
	step("start", m.Start(ctx))
	r.answers[statusKey] = answer{out: "Running\r\n"}
	status("status when running", Status{Installed: true, Running: true, State: StateRunning})
	r.answers["schtasks /End /TN "+TaskName] = answer{err: errors.New("exit status 1: ERROR: The task is not running")}
	step("restart (not running)", m.Restart(ctx))
	delete(r.answers, "schtasks /End /TN "+TaskName)
	step("stop", m.Stop(ctx))
	r.answers[statusKey] = answer{err: errors.New("exit status 1")}
	status("status when powershell fails", Status{Installed: true, State: StateUnknown})
	step("uninstall", m.Uninstall(ctx))
	if fileExists(m.xmlPath) || fileExists(m.envPath) {
		t.Error("files left after uninstall")
	}
	err = m.Stop(ctx)
	step("stop when not installed", err)
	if !errors.Is(err, ErrNotInstalled) {
		t.Errorf("stop when not installed: %v", err)
	}

	// A failing schtasks /Create leaves no files behind.
	create := fmt.Sprintf("schtasks /Create /TN %s /XML %s /F", TaskName, m.xmlPath)
	r.answers[create] = answer{err: errors.New("exit status 1: ERROR: Access is denied.")}
	_, err = m.Install(ctx)
	step("install denied", err)
	if err == nil || fileExists(m.xmlPath) || fileExists(m.envPath) {
		t.Errorf("denied install: err %v, files left %v %v", err, fileExists(m.xmlPath), fileExists(m.envPath))
	}
	golden(t, "windows/task-argv.txt", tr.String())
}

func TestSCMPlan(t *testing.T) {
	cfg, err := Config{System: true, Executable: `C:\Program Files\spec-kitty\spec-kitty.exe`, HomeDir: `C:\Users\Administrator`,
		UserName: `PC\Administrator`, UserID: "S-1", Env: gateEnv}.withDefaults("windows")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Env["SPEC_KITTY_HOME"] = `C:\ProgramData\spec-kitty` // independent of this machine's %ProgramData%
	p := scmPlan(cfg)
	golden(t, "windows/scm-plan.txt", strings.Join(append(append([]string{p.Manager}, p.Notes...), p.Warnings...), "\n")+"\n")
}
