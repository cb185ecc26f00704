package svcmgr

import (
	"strings"
	"testing"
)

// unitCases are rendered to golden files here and, on Linux, verified with
// systemd-analyze and installed against a fake systemctl.
var unitCases = []struct {
	name string
	cfg  Config
}{
	{"user", Config{
		Executable: "/home/kit/.local/bin/spec-kitty", HomeDir: "/home/kit", UserName: "kit", UserID: "1000",
		Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "https://sync.example.com"},
	}},
	{"user-quoting", Config{
		Executable: "/home/kit/My Tools/spec-kitty", HomeDir: "/home/kit", UserName: "kit", UserID: "1000",
		Env: map[string]string{
			"SPEC_KITTY_ENABLE_SAAS_SYNC": "yes",
			"SPEC_KITTY_HOME":             `/home/kit/state "dir" 100%\x`,
			"SPEC_KITTY_SAAS_URL":         "https://sync.example.com/a%20b?x=$HOME",
		},
	}},
	{"system", Config{
		System: true, Executable: "/usr/bin/spec-kitty", HomeDir: "/root", UserName: "root", UserID: "0",
		Env: map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"},
	}},
	{"packaged", Config{
		Executable: "/usr/bin/spec-kitty", HomeDir: "/root", UserName: "root", UserID: "0",
	}},
}

func TestSystemdUnitGolden(t *testing.T) {
	for _, tc := range unitCases {
		t.Run(tc.name, func(t *testing.T) {
			unit, err := SystemdUnit(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "systemd/"+tc.name+".service", unit)
			for _, bad := range []string{"/var/log", "Restart=always", "{{"} {
				if strings.Contains(unit, bad) {
					t.Errorf("unit contains %q", bad)
				}
			}
			if !tc.cfg.System && strings.Contains(unit, "network") {
				t.Error("user unit names a network target")
			}
		})
	}
}

func TestSystemdQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A=1", `"A=1"`},
		{"A=a b", `"A=a b"`},
		{`A=say "hi"`, `"A=say \"hi\""`},
		{`A=C:\x`, `"A=C:\\x"`},
		{"A=100%", `"A=100%%"`},
		{"A=$HOME", `"A=$HOME"`},
	}
	for _, tt := range tests {
		if got := systemdQuote(tt.in); got != tt.want {
			t.Errorf("systemdQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSystemdRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"percent in executable", Config{Executable: "/opt/100%/spec-kitty"}, `cannot hold '%'`},
		{"dollar in executable", Config{Executable: "/opt/$x/spec-kitty"}, `cannot hold '$'`},
		{"backslash in executable", Config{Executable: `/opt/a\b/spec-kitty`}, `cannot hold '\\'`},
		{"quote in executable", Config{Executable: `/opt/"a"/spec-kitty`}, `cannot hold '"'`},
		{"percent in argument", Config{Executable: "/usr/bin/spec-kitty", Args: []string{"%h"}}, `service argument "%h"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.HomeDir, tt.cfg.UserName, tt.cfg.UserID = "/home/kit", "kit", "1000"
			_, err := SystemdUnit(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %s", err, tt.want)
			}
		})
	}
}
