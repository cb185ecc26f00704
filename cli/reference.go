package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// WriteReference writes the Markdown CLI reference of the tree under root:
// every command's help text, depth first, exactly as `--help` prints it.
// docs/cli.md is this output for the gate-on tree, checked by a test.
func WriteReference(w io.Writer, root *Command) error {
	fmt.Fprintf(w, "# spec-kitty command reference\n\n")
	fmt.Fprintf(w, "Generated from the command tree (`go test ./cli -run TestReference -update`).\n")
	fmt.Fprintf(w, "Hosted commands (auth, tracker, sync, service) exist only when `SPEC_KITTY_ENABLE_SAAS_SYNC` opts the machine in.\n")
	var walk func(c *Command)
	walk = func(c *Command) {
		var b bytes.Buffer
		printHelp(&b, c)
		fmt.Fprintf(w, "\n## %s\n\n```\n%s```\n", c.Path(), strings.TrimLeft(b.String(), "\n"))
		for _, sub := range c.Commands {
			walk(sub)
		}
	}
	walk(root)
	return nil
}
