package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spec-kitty/spec-kitty-sync/core/version"
)

func newVersionCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty version [--json]",
		Short:     "print the version of spec-kitty",
		Long: `Version prints the version of spec-kitty, the system it was built for and
the Go release that built it. 'spec-kitty --version' prints the same line.`,
	}
	asJSON := c.Flags().Bool("json", false, "print the version as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("version takes no arguments")
		}
		v := struct {
			Version string `json:"version"`
			GoOS    string `json:"goos"`
			GoArch  string `json:"goarch"`
			Go      string `json:"go"`
		}{version.String(), runtime.GOOS, runtime.GOARCH, runtime.Version()}
		if *asJSON {
			return writeJSON(env.Stdout, v)
		}
		_, err := fmt.Fprintf(env.Stdout, "spec-kitty %s (%s/%s, %s)\n", v.Version, v.GoOS, v.GoArch, v.Go)
		return err
	}
	return c
}
