package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printHelp writes the help of cmd: usage, text, flags and children, in
// one write.
func printHelp(out io.Writer, cmd *Command) {
	w := bufio.NewWriterSize(out, 4096)
	defer w.Flush()
	usage := cmd.UsageLine
	if len(cmd.Commands) > 0 && cmd.Run == nil {
		usage = cmd.Path() + " <command> [flags]"
	}
	fmt.Fprintf(w, "Usage: %s\n", usage)
	if len(cmd.Commands) > 0 && cmd.Run != nil {
		fmt.Fprintf(w, "       %s <command> [flags]\n", cmd.Path())
	}
	text := cmd.Long
	if text == "" {
		text = cmd.Short
	}
	if text != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(text, "\n"))
	}
	if len(cmd.Commands) > 0 {
		fmt.Fprintf(w, "\nCommands:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, sub := range cmd.Commands {
			fmt.Fprintf(tw, "  %s\t%s\n", sub.Name(), sub.Short)
		}
		tw.Flush()
	}
	if cmd.hasFlags() {
		usages := cmd.Flags().FlagUsages()
		if strings.TrimSpace(usages) != "" {
			fmt.Fprintf(w, "\nFlags:\n%s", usages)
		}
	}
	if len(cmd.Commands) > 0 {
		sub := strings.TrimPrefix(cmd.Path()+" ", "spec-kitty ")
		fmt.Fprintf(w, "\nRun 'spec-kitty help %s<command>' for more about a command.\n", sub)
	}
}

func newHelpCmd(root func() *Command, env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty help [command...]",
		Short:     "show help for spec-kitty or one of its commands",
		Long: `Help shows the usage of spec-kitty or of the named command, e.g.
'spec-kitty help config set'. 'spec-kitty CMD --help' does the same.`,
	}
	c.Run = func(ctx context.Context, args []string) error {
		cmd := root()
		for i, a := range args {
			sub := cmd.Lookup(a)
			if sub == nil {
				helpCmd := "spec-kitty help"
				if i > 0 {
					helpCmd += " " + strings.Join(args[:i], " ")
				}
				sug := cmd.suggest(a)
				if sug != "" {
					sug = "spec-kitty help " + strings.TrimPrefix(sug, "spec-kitty ")
				}
				return unknownCommandError{name: strings.Join(args[:i+1], " "), helpCmd: helpCmd, suggest: sug}
			}
			cmd = sub
		}
		printHelp(env.Stdout, cmd)
		return nil
	}
	return c
}
