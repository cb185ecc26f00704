package svcmgr

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// runner runs a service-manager command and returns its stdout. A non-zero
// exit is an error that names the command and carries its stderr. Tests
// substitute a recorder.
type runner interface {
	run(ctx context.Context, argv []string) (stdout string, err error)
}

type execRunner struct{}

func (execRunner) run(ctx context.Context, argv []string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg != "" {
			return stdout.String(), fmt.Errorf("%s: %w: %s", joinArgv(argv), err, msg)
		}
		return stdout.String(), fmt.Errorf("%s: %w", joinArgv(argv), err)
	}
	return stdout.String(), nil
}
