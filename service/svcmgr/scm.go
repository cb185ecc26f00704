package svcmgr

import (
	"fmt"
	"strings"
)

// scmKey is where the SCM keeps the service, including the Environment value
// kardianos writes.
const scmKey = `HKLM\SYSTEM\CurrentControlSet\Services\` + Name

// scmPlan describes the SCM install, which is API calls made by kardianos
// rather than commands.
func scmPlan(cfg Config) Plan {
	cmdline := windowsCommandLine(append([]string{cfg.Executable}, cfg.Args...))
	var env []string
	for _, k := range sortedKeys(cfg.Env) {
		env = append(env, k+"="+cfg.Env[k])
	}
	return Plan{
		Manager: ManagerWindowsSCM,
		Notes: []string{
			fmt.Sprintf("create the Windows service %s (%q) through the Service Control Manager: command line %s, start type automatic, account LocalSystem", Name, DisplayName, cmdline),
			"set the service environment (" + scmKey + `\Environment): ` + strings.Join(env, "; "),
			"set recovery: restart 5 s after a failure, including a non-zero exit",
			"register the event log source " + Name,
			"the service starts at boot; `spec-kitty service start` starts it now",
		},
		Warnings: []string{"a machine-wide service runs as LocalSystem: it cannot read your Credential Manager entries or your profile, and keeps its state in " + cfg.Env["SPEC_KITTY_HOME"]},
	}
}
