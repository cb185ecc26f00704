package cli

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// ManPages renders the manual pages of the tree under root: spec-kitty(1)
// and one page per top-level command, spec-kitty-NAME(1), which also covers
// its subcommands. The pages shipped in the packages (docs/man/) are those
// of the gate-off tree, so they never name the hosted surface; with the gate
// on, `spec-kitty help` and docs/cli.md describe it. The result maps file
// names to page text and holds no date or version, so it only changes when
// the tree does (a test keeps docs/man/ fresh).
func ManPages(root *Command) map[string]string {
	pages := map[string]string{}
	var b bytes.Buffer
	th(&b, "spec-kitty", root.Short)
	fmt.Fprintf(&b, ".SH SYNOPSIS\n")
	nf(&b, "spec-kitty <command> [flags]\nspec-kitty --version")
	fmt.Fprintf(&b, ".SH DESCRIPTION\n")
	nf(&b, root.Long)
	fmt.Fprintf(&b, ".SH COMMANDS\n")
	for _, sub := range root.Commands {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n(see \\fBspec\\-kitty\\-%s\\fR(1))\n", roff(sub.Name()), roff(sub.Short), roff(sub.Name()))
	}
	fmt.Fprintf(&b, ".SH ENVIRONMENT\n")
	fmt.Fprintf(&b, ".TP\n.B SPEC_KITTY_HOME\n%s\n", roff("the directory of the user configuration (config.toml); default ~/.spec-kitty"))
	fmt.Fprintf(&b, ".TP\n.B SPECIFY_REPO_ROOT\n%s\n", roff("the repository to work on; default: the first directory, from the working directory up, that holds .kittify/ or kitty-specs/"))
	fmt.Fprintf(&b, ".SH SEE ALSO\n")
	var refs []string
	for _, sub := range root.Commands {
		refs = append(refs, fmt.Sprintf("\\fBspec\\-kitty\\-%s\\fR(1)", roff(sub.Name())))
	}
	fmt.Fprintf(&b, "%s\n", strings.Join(refs, ",\n"))
	pages["spec-kitty.1"] = b.String()

	for _, top := range root.Commands {
		b.Reset()
		name := "spec-kitty-" + top.Name()
		th(&b, name, top.Short)
		fmt.Fprintf(&b, ".SH SYNOPSIS\n")
		var usages []string
		walkCommands(top, func(c *Command) {
			if c.Run != nil {
				usages = append(usages, c.UsageLine)
			}
		})
		nf(&b, strings.Join(usages, "\n"))
		fmt.Fprintf(&b, ".SH DESCRIPTION\n")
		nf(&b, helpText(top))
		manFlags(&b, top)
		if len(top.Commands) > 0 {
			fmt.Fprintf(&b, ".SH COMMANDS\n")
			for _, sub := range top.Commands {
				walkCommands(sub, func(c *Command) {
					fmt.Fprintf(&b, ".SS \"%s\"\n", roff(c.UsageLine))
					nf(&b, helpText(c))
					manFlags(&b, c)
				})
			}
		}
		fmt.Fprintf(&b, ".SH SEE ALSO\n\\fBspec\\-kitty\\fR(1)\n")
		pages[name+".1"] = b.String()
	}
	return pages
}

func walkCommands(c *Command, f func(*Command)) {
	f(c)
	for _, sub := range c.Commands {
		walkCommands(sub, f)
	}
}

func helpText(c *Command) string {
	if c.Long != "" {
		return c.Long
	}
	return c.Short
}

// th writes the title and NAME section. The title line carries no date or
// version so the pages are reproducible.
func th(b *bytes.Buffer, name, short string) {
	fmt.Fprintf(b, ".\\\" Generated from the spec-kitty command tree; do not edit.\n")
	fmt.Fprintf(b, ".TH %s 1 \"\" \"spec-kitty\" \"User Commands\"\n", roff(strings.ToUpper(name)))
	fmt.Fprintf(b, ".SH NAME\n%s \\- %s\n", roff(name), roff(short))
}

// nf writes text as a no-fill block, laid out exactly as --help prints it.
func nf(b *bytes.Buffer, text string) {
	fmt.Fprintf(b, ".nf\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" {
			fmt.Fprintf(b, "\n")
			continue
		}
		fmt.Fprintf(b, "%s\n", roff(line))
	}
	fmt.Fprintf(b, ".fi\n")
}

func manFlags(b *bytes.Buffer, c *Command) {
	if !c.hasFlags() {
		return
	}
	first := true
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if first {
			fmt.Fprintf(b, ".PP\nFlags:\n")
			first = false
		}
		varname, usage := pflag.UnquoteUsage(f)
		head := "\\-\\-" + roff(f.Name)
		if f.Shorthand != "" {
			head = "\\-" + roff(f.Shorthand) + ", " + head
		}
		if varname != "" {
			head += " \\fI" + roff(varname) + "\\fR"
		}
		fmt.Fprintf(b, ".TP\n\\fB%s\\fR\n%s\n", head, roff(usage))
	})
}

// roff escapes text for a man page line: backslashes, hyphens (so they stay
// ASCII minus signs a reader can copy), a leading control character and
// anything outside ASCII.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	var b strings.Builder
	for _, r := range s {
		if r > 0x7e {
			fmt.Fprintf(&b, `\[u%04X]`, r) // groff's input is ASCII
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
