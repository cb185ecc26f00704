package cli

import "testing"

func TestDaemonExecutable(t *testing.T) {
	has := func(want string) func(string) bool { return func(p string) bool { return p == want } }
	tests := []struct {
		name   string
		goos   string
		system bool
		exe    string
		exists func(string) bool
		want   string
	}{
		{"windows task with the GUI build", "windows", false, `C:\Users\a b\spec-kitty\spec-kitty.exe`, has(`C:\Users\a b\spec-kitty\spec-kitty-service.exe`), `C:\Users\a b\spec-kitty\spec-kitty-service.exe`},
		{"windows task without it", "windows", false, `C:\x\spec-kitty.exe`, has(""), `C:\x\spec-kitty.exe`},
		{"windows machine-wide service", "windows", true, `C:\x\spec-kitty.exe`, has(`C:\x\spec-kitty-service.exe`), `C:\x\spec-kitty.exe`},
		{"windows alias linked to the install", "windows", false, `C:\Links\spec-kitty.exe`, has(`C:\pkg\spec-kitty-service.exe`), `C:\pkg\spec-kitty-service.exe`},
		{"linux", "linux", false, "/usr/bin/spec-kitty", func(string) bool { return true }, "/usr/bin/spec-kitty"},
		{"darwin", "darwin", false, "/opt/bin/spec-kitty", func(string) bool { return true }, "/opt/bin/spec-kitty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resolve := func(p string) (string, error) {
				if p == `C:\Links\spec-kitty.exe` {
					return `C:\pkg\spec-kitty.exe`, nil
				}
				return p, nil
			}
			if got := daemonExecutable(tt.goos, tt.system, tt.exe, tt.exists, resolve); got != tt.want {
				t.Errorf("daemonExecutable = %q, want %q", got, tt.want)
			}
		})
	}
}
