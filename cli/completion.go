package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// completeCommand is the internal entry point the completion scripts call:
// `spec-kitty __complete WORD... CURRENT` prints the candidates for CURRENT,
// one per line as "candidate<TAB>description". It builds the command tree
// from the environment it runs in, so what a shell offers follows the
// rollout gate of that shell at that moment; the scripts themselves name no
// command. It is not part of the tree: help never lists it.
const completeCommand = "__complete"

// completionShells are the shells `spec-kitty completion` supports, with the
// file name each conventionally loads the script from.
var completionShells = []struct{ name, file string }{
	{"bash", "spec-kitty.bash"},
	{"zsh", "_spec-kitty"},
	{"fish", "spec-kitty.fish"},
	{"powershell", "spec-kitty.ps1"},
}

const completionLong = `Completion prints a completion script for SHELL (bash, zsh, fish or
powershell). The script asks spec-kitty itself for the candidates each time
you press TAB, so they always match the installed version and environment.

Load it in the current shell:
  bash:        source <(spec-kitty completion bash)
  zsh:         source <(spec-kitty completion zsh)
  fish:        spec-kitty completion fish | source
  powershell:  spec-kitty completion powershell | Out-String | Invoke-Expression

Or install it once: bash ~/.local/share/bash-completion/completions/spec-kitty,
zsh a directory on $fpath as _spec-kitty, fish
~/.config/fish/completions/spec-kitty.fish, PowerShell a line in $PROFILE.
The packages install these files for you.`

func newCompletionCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty completion SHELL",
		Short:     "print a shell completion script (bash, zsh, fish, powershell)",
		Long:      completionLong,
	}
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usagef("completion takes one argument, the shell: bash, zsh, fish or powershell")
		}
		script, ok := CompletionScript(args[0])
		if !ok {
			return usagef("unsupported shell %q (want bash, zsh, fish or powershell)", args[0])
		}
		_, err := io.WriteString(env.Stdout, script)
		return err
	}
	return c
}

// CompletionScript returns the completion script for shell.
func CompletionScript(shell string) (string, bool) {
	switch shell {
	case "bash":
		return bashCompletion, true
	case "zsh":
		return zshCompletion, true
	case "fish":
		return fishCompletion, true
	case "powershell", "pwsh":
		return powershellCompletion, true
	}
	return "", false
}

// CompletionFiles maps each completion script's conventional file name to
// its content (installer/completions/ holds them; a test keeps them fresh).
func CompletionFiles() map[string]string {
	m := map[string]string{}
	for _, s := range completionShells {
		m[s.file], _ = CompletionScript(s.name)
	}
	return m
}

// complete prints the candidates for the last of words (the word being
// typed, possibly empty) after the earlier ones.
func complete(env *Env, words []string) int {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	if cur == `""` {
		cur = "" // Windows PowerShell cannot pass an empty argument
	}
	root := NewTree(env)
	cmd := root
	var helpTarget *Command // walking `help WORD...`: the named command
	takesValue := false
	for _, w := range words[:len(words)-1] {
		if takesValue {
			takesValue = false
			continue
		}
		if strings.HasPrefix(w, "-") {
			if !strings.Contains(w, "=") {
				takesValue = flagTakesValue(cmd, w)
			}
			continue
		}
		if helpTarget != nil {
			if sub := helpTarget.Lookup(w); sub != nil {
				helpTarget = sub
			}
			continue
		}
		if sub := cmd.Lookup(w); sub != nil {
			cmd = sub
			if cmd.Name() == "help" && cmd.Path() == "spec-kitty help" {
				helpTarget = root
			}
		}
	}
	if takesValue {
		return ExitOK // a flag's value: nothing to offer
	}
	var cands [][2]string
	switch {
	case strings.HasPrefix(cur, "-"):
		fs := cmd.Flags()
		fs.VisitAll(func(f *pflag.Flag) {
			cands = append(cands, [2]string{"--" + f.Name, f.Usage})
		})
		if fs.Lookup("help") == nil {
			cands = append(cands, [2]string{"--help", "show this help"})
		}
	case helpTarget != nil:
		for _, sub := range helpTarget.Commands {
			cands = append(cands, [2]string{sub.Name(), sub.Short})
		}
	default:
		for _, sub := range cmd.Commands {
			cands = append(cands, [2]string{sub.Name(), sub.Short})
		}
	}
	for _, c := range cands {
		if strings.HasPrefix(c[0], cur) {
			fmt.Fprintf(env.Stdout, "%s\t%s\n", c[0], oneLine(c[1]))
		}
	}
	return ExitOK
}

// flagTakesValue reports whether the flag word w (e.g. "--mission" or "-m")
// of cmd consumes the next word.
func flagTakesValue(cmd *Command, w string) bool {
	fs := cmd.Flags()
	var f *pflag.Flag
	if name, ok := strings.CutPrefix(w, "--"); ok {
		f = fs.Lookup(name)
	} else if len(w) == 2 {
		f = fs.ShorthandLookup(w[1:])
	}
	return f != nil && f.NoOptDefVal == ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.IndexAny(s, "\t\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// The scripts name no command of the tree: every candidate comes from
// `spec-kitty __complete`. Keep them free of anything that would need the
// tree (a test checks they are the committed files and stay generic).

const bashCompletion = `# bash completion for spec-kitty.
# Generated by ` + "`spec-kitty completion bash`" + `; the candidates come from
# ` + "`spec-kitty __complete`" + ` each time, so they match the environment.
_spec_kitty() {
    local IFS=$'\n' line out
    COMPREPLY=()
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
    for line in $out; do
        COMPREPLY+=("${line%%$'\t'*}")
    done
}
complete -F _spec_kitty spec-kitty
`

const zshCompletion = `#compdef spec-kitty
# zsh completion for spec-kitty.
# Generated by ` + "`spec-kitty completion zsh`" + `; the candidates come from
# ` + "`spec-kitty __complete`" + ` each time, so they match the environment.
_spec_kitty() {
    local line
    local -a cands
    for line in "${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}"; do
        [[ -n $line ]] || continue
        cands+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
    done
    _describe -V spec-kitty cands
}
if [[ $funcstack[1] == _spec_kitty ]]; then
    _spec_kitty "$@"
else
    compdef _spec_kitty spec-kitty
fi
`

const fishCompletion = `# fish completion for spec-kitty.
# Generated by ` + "`spec-kitty completion fish`" + `; the candidates come from
# ` + "`spec-kitty __complete`" + ` each time, so they match the environment.
function __spec_kitty_complete
    set -l words (commandline -opc)
    set -e words[1]
    spec-kitty __complete $words (commandline -ct) 2>/dev/null
end
complete -c spec-kitty -f -a '(__spec_kitty_complete)'
`

const powershellCompletion = `# PowerShell completion for spec-kitty.
# Generated by ` + "`spec-kitty completion powershell`" + `; the candidates come from
# ` + "`spec-kitty __complete`" + ` each time, so they match the environment.
Register-ArgumentCompleter -Native -CommandName 'spec-kitty', 'spec-kitty.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $program = $commandAst.CommandElements[0].ToString()
    $words = @($commandAst.CommandElements | Select-Object -Skip 1 |
        Where-Object { $_.Extent.EndOffset -le $cursorPosition } |
        ForEach-Object { $_.ToString() })
    if ($wordToComplete -eq '') { $words += '""' }
    & $program __complete @words 2>$null | ForEach-Object {
        $name, $desc = $_ -split "` + "`t" + `", 2
        if (-not $desc) { $desc = $name }
        [System.Management.Automation.CompletionResult]::new($name, $name, 'ParameterValue', $desc)
    }
}
`
