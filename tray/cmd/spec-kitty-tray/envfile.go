package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// envKeys are the variables an autostart entry records (the same three
// `spec-kitty service install` records for the daemon).
var envKeys = []string{"SPEC_KITTY_ENABLE_SAAS_SYNC", "SPEC_KITTY_SAAS_URL", "SPEC_KITTY_HOME"}

// envFileArgs handles `spec-kitty-tray --env-file PATH`: a Windows Run key
// cannot carry environment variables, so install.ps1 writes them to a file
// (KEY=VALUE lines, '#' comments, the format of the daemon's service.env) and
// the Run entry passes it. The variables are applied before anything reads
// the rollout gate.
func envFileArgs(args []string) error {
	if len(args) == 0 {
		return nil
	}
	path, ok := strings.CutPrefix(args[0], "--env-file=")
	if !ok {
		if args[0] != "--env-file" || len(args) != 2 {
			return fmt.Errorf("usage: spec-kitty-tray [--version | --env-file PATH]")
		}
		path = args[1]
	} else if len(args) != 1 {
		return fmt.Errorf("usage: spec-kitty-tray [--version | --env-file PATH]")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read env file: %w", err)
	}
	defer f.Close()
	vars, err := parseEnvFile(path, io.LimitReader(f, 64<<10))
	if err != nil {
		return err
	}
	for k, v := range vars {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

func parseEnvFile(name string, r io.Reader) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // Windows PowerShell writes UTF-8 with a BOM
		}
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", name, n)
		}
		if !slices.Contains(envKeys, k) {
			return nil, fmt.Errorf("%s:%d: variable %q is not allowed (allowed: %s)", name, n, k, strings.Join(envKeys, ", "))
		}
		vars[k] = v
	}
	return vars, sc.Err()
}
