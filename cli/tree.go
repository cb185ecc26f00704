package cli

import "github.com/spec-kitty/spec-kitty-sync/core/rollout"

const rootLong = `spec-kitty keeps spec-driven missions and their work packages in your git
repository (kitty-specs/<mission>/status.events.jsonl).

Results go to stdout; progress, warnings and errors to stderr. Read commands
take --json for scripts.

Exit codes: 0 success, 1 a failure you can fix (a missing prerequisite, a
server error, bad state), 2 usage error, 130 interrupted.`

// NewTree builds the command tree for env. Hosted command groups are appended
// only when the rollout gate is on, so with the gate off they do not exist:
// absent from help and unknown to the dispatcher.
func NewTree(env *Env) *Command {
	root := &Command{
		UsageLine: "spec-kitty <command> [flags]",
		Short:     "spec-driven development missions in your git repository",
		Long:      rootLong,
	}
	root.Commands = localCommands(env, func() *Command { return root })
	if rollout.Enabled(env.Getenv) {
		root.Short = "spec-driven development missions, with optional hosted sync"
		root.Commands = append(root.Commands, hostedCommands(env)...)
	}
	return root
}

// localCommands are always visible and never touch the network.
func localCommands(env *Env, root func() *Command) []*Command {
	return []*Command{
		newHelpCmd(root, env),
		newVersionCmd(env),
		newConfigCmd(env),
		newStatusCmd(env),
		newDoctorCmd(env),
		newDashboardCmd(env),
		newCompletionCmd(env),
		// Registration list: one line per local noun.
	}
}

// hostedCommands are the groups of the hosted surface, registered only with
// the rollout gate on (CONTRACTS.md §2).
func hostedCommands(env *Env) []*Command {
	return []*Command{
		newAuthCmd(env),
		newTrackerCmd(env),
		newSyncCmd(env),
		newServiceCmd(env),
		// Registration list: one line per hosted group (auth, tracker, sync, service).
	}
}
