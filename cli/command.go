// Package cli owns the spec-kitty command tree: dispatch, help, flags, exit
// codes and the wording of errors. Commands are plain structs in the style of
// the go command; each noun lives in its own file and is built from an *Env, so
// tests can build the tree with the rollout gate on or off. Nothing here calls
// os.Exit: Main returns the exit code.
package cli

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Command is one node of the command tree.
type Command struct {
	// UsageLine is the full usage, e.g. "spec-kitty config set KEY VALUE".
	// The command's name is derived from it, so help and dispatch cannot drift.
	UsageLine string
	// Short is a one-line description shown in the parent's command list.
	Short string
	// Long is the full help text; Short is used when empty.
	Long string
	// Run executes the command with the positional arguments left after flag
	// parsing. Nil for pure groups.
	Run func(ctx context.Context, args []string) error
	// Commands are the children, in help order.
	Commands []*Command

	flags *pflag.FlagSet
}

// Name is the last command word of the usage line ("set" for
// "spec-kitty config set KEY VALUE").
func (c *Command) Name() string {
	words := c.pathWords()
	return words[len(words)-1]
}

// Path is the command words of the usage line ("spec-kitty config set").
func (c *Command) Path() string { return strings.Join(c.pathWords(), " ") }

func (c *Command) pathWords() []string {
	var words []string
	for _, w := range strings.Fields(c.UsageLine) {
		if !isCommandWord(w) {
			break
		}
		words = append(words, w)
	}
	if len(words) == 0 {
		return []string{"?"}
	}
	return words
}

func isCommandWord(w string) bool {
	if w == "" {
		return false
	}
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return w[0] != '-'
}

// Flags returns the command's flag set, created on first use. Parse errors
// are returned, never printed, so the dispatcher owns the wording.
func (c *Command) Flags() *pflag.FlagSet {
	if c.flags == nil {
		c.flags = pflag.NewFlagSet(c.Name(), pflag.ContinueOnError)
		c.flags.SetOutput(io.Discard)
		c.flags.SortFlags = false
	}
	return c.flags
}

func (c *Command) hasFlags() bool {
	return c.flags != nil && c.flags.HasFlags()
}

// Lookup returns the direct child called name.
func (c *Command) Lookup(name string) *Command {
	for _, sub := range c.Commands {
		if sub.Name() == name {
			return sub
		}
	}
	return nil
}
