package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// page writes out to stdout, through $PAGER when stdout is a terminal and
// out has more lines than the screen (rows) can show, as git and gh do.
// With PAGER unset, less is used when installed (with LESS=FRX unless LESS
// is set: quit when it fits, keep colours, leave the text on screen).
// PAGER=cat, or a pager that cannot be started, prints plainly.
func page(ctx context.Context, env *Env, out []byte, rows int) error {
	if !env.StdoutTTY || bytes.Count(out, []byte("\n")) < rows-1 {
		_, err := env.Stdout.Write(out)
		return err
	}
	pager := strings.TrimSpace(env.Getenv("PAGER"))
	extra := []string{}
	if pager == "" {
		if p, err := exec.LookPath("less"); err == nil {
			pager = p
			if env.Getenv("LESS") == "" {
				extra = append(extra, "LESS=FRX")
			}
		}
	}
	if pager == "" || pager == "cat" {
		_, err := env.Stdout.Write(out)
		return err
	}
	var cmd *exec.Cmd
	if runtime.GOOS == "windows" {
		f := strings.Fields(pager)
		cmd = exec.CommandContext(ctx, f[0], f[1:]...)
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", pager)
	}
	cmd.Stdin = bytes.NewReader(out)
	cmd.Stdout, cmd.Stderr = env.Stdout, env.Stderr
	cmd.Env = append(os.Environ(), extra...)
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 127 {
			return nil // the pager ran; how it ended is the user's business
		}
		// The pager could not be started (the shell's 127: not found).
		_, werr := env.Stdout.Write(out)
		return werr
	}
	return nil
}
