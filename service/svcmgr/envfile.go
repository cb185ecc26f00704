package svcmgr

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The env file carries the recorded environment where the service manager
// cannot (Windows tasks). Format: UTF-8 lines `KEY=VALUE` (value verbatim to
// the end of the line, CRLF accepted), blank lines and lines starting with
// '#' ignored. Only EnvKeys are allowed, each at most once.

const envFileHeader = "# Written by `spec-kitty service install`; read by `spec-kitty service run --env-file`.\n"

// maxEnvFile bounds what ParseEnvFile reads.
const maxEnvFile = 64 << 10

// FormatEnvFile renders env (keys sorted) in the env-file format.
func FormatEnvFile(env map[string]string) string {
	var b strings.Builder
	b.WriteString(envFileHeader)
	for _, k := range sortedKeys(env) {
		b.WriteString(k + "=" + env[k] + "\n")
	}
	return b.String()
}

// ParseEnvFile parses env-file data; name is used in errors.
func ParseEnvFile(name string, data []byte) (map[string]string, error) {
	if len(data) > maxEnvFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxEnvFile)
	}
	env := make(map[string]string)
	for i, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSuffix(string(line), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(strings.TrimSpace(s), "#") {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", name, i+1)
		}
		if !slices.Contains(EnvKeys, k) {
			return nil, fmt.Errorf("%s:%d: variable %q is not allowed (allowed: %s)", name, i+1, k, strings.Join(EnvKeys, ", "))
		}
		if _, dup := env[k]; dup {
			return nil, fmt.Errorf("%s:%d: %s is set twice", name, i+1, k)
		}
		if err := checkText(k, v); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
		env[k] = v
	}
	return env, nil
}

// LoadEnvFile reads and parses the env file at path. `spec-kitty service run
// --env-file PATH` applies the result to its environment before anything
// reads the rollout gate.
func LoadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return nil, fmt.Errorf("read env file %s: %w", path, err)
	}
	return ParseEnvFile(path, data)
}
