package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"unicode/utf16"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// The per-user Windows service is a Task Scheduler task with a logon trigger
// that runs as the user with an interactive token: kardianos installs only
// SCM services, which run as LocalSystem and cannot read the user's
// Credential Manager or home. A task cannot carry environment variables, so
// install writes them to <home>\service.env and the task runs
// `spec-kitty service run --env-file <that file>`.
type taskManager struct {
	cfg      Config
	r        runner
	join     func(elem ...string) string
	stateDir string
	envPath  string
	xmlPath  string
}

// TaskName is the Task Scheduler task name of the per-user Windows service.
const TaskName = Name

// EnvFileName is the file under the state home that holds the recorded
// environment of the Windows task.
const EnvFileName = "service.env"

func newTask(cfg Config, r runner, join func(elem ...string) string) *taskManager {
	m := &taskManager{cfg: cfg, r: r, join: join}
	m.stateDir = cfg.Env[paths.HomeEnv]
	if m.stateDir == "" {
		m.stateDir = join(cfg.HomeDir, ".spec-kitty")
	}
	m.envPath = join(m.stateDir, EnvFileName)
	m.xmlPath = join(m.stateDir, Name+".task.xml")
	return m
}

// windowsArg quotes one argument so CommandLineToArgvW (and the Go runtime)
// read it back unchanged; the same algorithm as syscall.EscapeArg.
func windowsArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, " \t\"\\") {
		return s
	}
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	quote := strings.ContainsAny(s, " \t")
	var b strings.Builder
	if quote {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			for ; slashes > 0; slashes-- {
				b.WriteByte('\\')
			}
			b.WriteByte('\\')
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	if quote {
		for ; slashes > 0; slashes-- {
			b.WriteByte('\\')
		}
		b.WriteByte('"')
	}
	return b.String()
}

func windowsCommandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = windowsArg(a)
	}
	return strings.Join(q, " ")
}

func (m *taskManager) args() []string {
	return append(append([]string(nil), m.cfg.Args...), "--env-file", m.envPath)
}

// renderTaskXML renders the task definition (Task Scheduler schema 1.2,
// Windows 7 and later). ExecutionTimeLimit PT0S lifts the default 72-hour
// limit; RestartOnFailure's interval cannot be under one minute.
func (m *taskManager) renderTaskXML() string {
	user := xmlText(m.cfg.UserName)
	return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>` + xmlText(DisplayName+": runs `spec-kitty service run` at logon.") + `</Description>
    <URI>\` + xmlText(TaskName) + `</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>` + user + `</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>` + user + `</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>false</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <WakeToRun>false</WakeToRun>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>10</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>` + xmlText(m.cfg.Executable) + `</Command>
      <Arguments>` + xmlText(windowsCommandLine(m.args())) + `</Arguments>
      <WorkingDirectory>` + xmlText(m.cfg.HomeDir) + `</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
`
}

// encodeUTF16 encodes s as UTF-16LE with a byte-order mark, the encoding
// schtasks itself exports and reliably imports.
func encodeUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2+2*len(u))
	b = append(b, 0xff, 0xfe)
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

func (m *taskManager) Plan(ctx context.Context) (Plan, error) {
	if err := ctx.Err(); err != nil {
		return Plan{}, err
	}
	if err := m.cfg.gateOn(); err != nil {
		return Plan{}, err
	}
	return Plan{
		Manager: ManagerWindowsTask,
		Files: []File{
			{Path: m.envPath, Mode: 0o600, Content: FormatEnvFile(m.cfg.Env)},
			{Path: m.xmlPath, Mode: 0o600, Content: m.renderTaskXML(), UTF16: true},
		},
		Commands: [][]string{{"schtasks", "/Create", "/TN", TaskName, "/XML", m.xmlPath, "/F"}},
		Notes:    []string{"the task starts at your next logon; `spec-kitty service start` starts it now"},
	}, nil
}

func (m *taskManager) Install(ctx context.Context) ([]string, error) {
	p, err := m.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkExecutable(m.cfg.Executable); err != nil {
		return nil, err
	}
	undo, err := writeFiles(p.Files, atomicfile.Write)
	if err != nil {
		return nil, err
	}
	for _, argv := range p.Commands {
		if _, err := m.r.run(ctx, argv); err != nil {
			undo()
			return nil, fmt.Errorf("install task %s: %w", TaskName, err)
		}
	}
	return nil, nil
}

func (m *taskManager) installed() error {
	if !fileExists(m.xmlPath) {
		return ErrNotInstalled
	}
	return nil
}

func (m *taskManager) Start(ctx context.Context) error {
	if err := m.installed(); err != nil {
		return err
	}
	_, err := m.r.run(ctx, []string{"schtasks", "/Run", "/TN", TaskName})
	return err
}

// Stop ends the task. schtasks /End terminates the process without a
// console signal; the daemon's queue survives that (events are acknowledged
// only after the server confirmed them).
func (m *taskManager) Stop(ctx context.Context) error {
	if err := m.installed(); err != nil {
		return err
	}
	_, err := m.r.run(ctx, []string{"schtasks", "/End", "/TN", TaskName})
	return err
}

func (m *taskManager) Restart(ctx context.Context) error {
	if err := m.installed(); err != nil {
		return err
	}
	// /End fails when the task is not running; that is fine here.
	_, _ = m.r.run(ctx, []string{"schtasks", "/End", "/TN", TaskName})
	_, err := m.r.run(ctx, []string{"schtasks", "/Run", "/TN", TaskName})
	return err
}

func (m *taskManager) Uninstall(ctx context.Context) error {
	if err := m.installed(); err != nil {
		return err
	}
	_, _ = m.r.run(ctx, []string{"schtasks", "/End", "/TN", TaskName})
	if _, err := m.r.run(ctx, []string{"schtasks", "/Delete", "/TN", TaskName, "/F"}); err != nil {
		return fmt.Errorf("uninstall task %s: %w", TaskName, err)
	}
	return errors.Join(removeIfExists(m.xmlPath), removeIfExists(m.envPath))
}

// statusArgv asks PowerShell for the task state: unlike schtasks' table, the
// ScheduledTask State enum is not localized.
var taskStatusArgv = []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-Command",
	"(Get-ScheduledTask -TaskName '" + TaskName + "' -ErrorAction Stop).State"}

func (m *taskManager) Status(ctx context.Context) (Status, error) {
	st := Status{Manager: ManagerWindowsTask, UnitPath: m.xmlPath, State: StateNotInstalled}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if m.installed() != nil {
		return st, nil
	}
	st.Installed = true
	out, err := m.r.run(ctx, taskStatusArgv)
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return st, err
	case err != nil:
		st.State = StateUnknown
	case strings.TrimSpace(out) == "Running":
		st.State, st.Running = StateRunning, true
	default:
		st.State = StateStopped
	}
	return st, nil
}
