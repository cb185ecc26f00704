package svcmgr

import (
	"fmt"
	"slices"
	"strings"
)

// systemdTemplate is our unit in kardianos v1.3.0 template syntax ({{Key}},
// {{Key | fn}}, {{range Key}}…{{.}}…{{end}}; the pre-1.3 {{.Path}} form fails
// to render). The environment is written in as literal, systemd-quoted lines
// because kardianos formats Config.EnvVars as unquoted Environment=K=V, which
// breaks on spaces and '%'. Exit 0 is success and is not restarted: the
// daemon exits 0 under the manual policy and with the gate off.
func systemdTemplate(cfg Config) string {
	var b strings.Builder
	b.WriteString("[Unit]\nDescription={{Description}}\n")
	if cfg.System {
		b.WriteString("Wants=network-online.target\nAfter=network-online.target\n")
	}
	b.WriteString("StartLimitIntervalSec=300\nStartLimitBurst=10\n\n")
	b.WriteString("[Service]\nType=simple\n")
	b.WriteString("ExecStart={{Path | cmdEscape}}{{range Arguments}} {{. | cmd}}{{end}}\n")
	b.WriteString("Restart=on-failure\nRestartSec=5\nTimeoutStopSec=15\n")
	for _, k := range sortedKeys(cfg.Env) {
		b.WriteString("Environment=" + systemdQuote(k+"="+cfg.Env[k]) + "\n")
	}
	b.WriteString("\n[Install]\n")
	if cfg.System {
		b.WriteString("WantedBy=multi-user.target\n")
	} else {
		b.WriteString("WantedBy=default.target\n")
	}
	return b.String()
}

// renderSystemd expands systemdTemplate exactly as kardianos did for the
// three actions it contains (cmdEscape and cmd are copies of kardianos'
// functions), so units written before the Linux manager stopped going
// through kardianos are byte for byte what it writes now.
func renderSystemd(cfg Config) string {
	var args strings.Builder
	for _, a := range cfg.Args {
		args.WriteString(" " + kardianosCmd(a))
	}
	return strings.NewReplacer(
		"{{Description}}", Description,
		"{{Path | cmdEscape}}", kardianosCmdEscape(cfg.Executable),
		"{{range Arguments}} {{. | cmd}}{{end}}", args.String(),
	).Replace(systemdTemplate(cfg))
}

func kardianosCmd(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func kardianosCmdEscape(s string) string { return strings.ReplaceAll(s, " ", `\x20`) }

// systemdQuote quotes one Environment= assignment: inside double quotes
// systemd undoes C escapes, and it expands % specifiers everywhere.
func systemdQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`).Replace(s) + `"`
}

// checkSystemd rejects what kardianos' cmdEscape/cmd would pass through
// unescaped into ExecStart: systemd would expand % and $ and undo \ escapes.
func checkSystemd(cfg Config) error {
	if i := strings.IndexAny(cfg.Executable, `%$\"'`); i >= 0 {
		return fmt.Errorf("service executable %q: a systemd unit cannot hold %q in the path; install spec-kitty under a path without it", cfg.Executable, cfg.Executable[i])
	}
	for _, a := range cfg.Args {
		if i := strings.IndexAny(a, `%$\`); i >= 0 {
			return fmt.Errorf("service argument %q: a systemd unit cannot hold %q", a, a[i])
		}
	}
	return nil
}

// SystemdUnit renders the unit text for cfg (defaults applied as by New on
// Linux) without touching the system. The packaging uses it for the unit
// shipped in /usr/lib/systemd/user.
func SystemdUnit(cfg Config) (string, error) {
	cfg, err := cfg.withDefaults("linux")
	if err != nil {
		return "", err
	}
	if err := checkSystemd(cfg); err != nil {
		return "", err
	}
	return renderSystemd(cfg), nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
