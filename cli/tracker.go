package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

const trackerLong = `Tracker connects this repository to an issue tracker (Linear, Jira, GitHub,
GitLab) through the hosted service, and runs tracker syncs.

The binding lives in .kittify/config.yaml, section "tracker:" (provider,
binding_ref or project_slug, display_label, provider_context); binding and
unbinding rewrite only that section and keep every other byte of the file.
The repo's identity (section "project:") is created by the first command that
needs it.

Each command checks its prerequisites in this order and stops at the first
one missing, naming the next step: the repository (every command except
providers and discover), sign-in, the host URL, the host's reachability
(tracker sync only) and the binding (unbind, status, map, sync).

Operations that change state on the host (bind, tracker sync) send an
Idempotency-Key. Until the host has answered with a final result, the key is
kept in <home>/tracker-pending/ (one small JSON file per repo, host,
operation and request; ignored after 24 hours), so running the same command
again after a lost answer, a failure or an interrupt repeats the same
operation instead of starting a second one.`

// trackerProviders are the providers the hosted service integrates, in the
// order commands list them.
var trackerProviders = []struct{ Name, Label string }{
	{"linear", "Linear"},
	{"jira", "Jira"},
	{"github", "GitHub"},
	{"gitlab", "GitLab"},
}

func providerNames() string {
	names := make([]string, len(trackerProviders))
	for i, p := range trackerProviders {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// checkProvider validates a --provider value (a usage error when wrong).
func checkProvider(p string) error {
	if p == "" {
		return usagef("--provider is required (one of %s)", providerNames())
	}
	for _, known := range trackerProviders {
		if p == known.Name {
			return nil
		}
	}
	return usagef("unknown provider %q; use one of %s", p, providerNames())
}

func newTrackerCmd(env *Env) *Command {
	return &Command{
		UsageLine: "spec-kitty tracker <command>",
		Short:     "bind this repo to an issue tracker and sync with it",
		Long:      trackerLong,
		Commands: []*Command{
			newTrackerProvidersCmd(env),
			newTrackerDiscoverCmd(env),
			newTrackerBindCmd(env),
			newTrackerUnbindCmd(env),
			newTrackerStatusCmd(env),
			newTrackerMapCmd(env),
			newTrackerSyncCmd(env),
		},
	}
}

// trackerRepo is what a repo-bound tracker command knows before it talks to
// anyone: the repository root and what .kittify/config.yaml says.
type trackerRepo struct {
	root string
	cfg  binding.Config
}

// loadTrackerRepo is the repo pre-check of CONTRACTS §4 plus the read of
// .kittify/config.yaml. A malformed file is reported as itself (file:line),
// never disguised as a readiness state.
func loadTrackerRepo(env *Env) (*trackerRepo, error) {
	root, err := findRepo(env)
	if err != nil {
		return nil, err
	}
	cfg, err := binding.Load(root)
	if err != nil {
		return nil, withHint(failf("%s", err), "fix the file by hand; spec-kitty never rewrites a file it cannot parse")
	}
	return &trackerRepo{root: root, cfg: cfg}, nil
}

// mission is the {mission} of the readiness wording.
func (r *trackerRepo) mission() string { return mission.ResolveMission(r.root, "") }

// bindingProbe answers from the file already read, so the probe itself can
// neither fail nor read a different version of the file.
func (r *trackerRepo) bindingProbe() func(context.Context) (bool, error) {
	bound := r.cfg.Tracker.Bound()
	return func(context.Context) (bool, error) { return bound, nil }
}

// trackerSession runs the rest of a tracker command's readiness row (sign-in,
// host, and whatever opts adds) and returns a client for the signed-in user.
// repo is nil for the commands that do not work on a repo.
func trackerSession(ctx context.Context, env *Env, repo *trackerRepo, opts readiness.Options) (*hosted.Client, error) {
	var probe func(context.Context) (bool, error)
	if repo != nil {
		opts.Mission = repo.mission()
		probe = repo.bindingProbe()
	}
	return hostedSession(ctx, env, opts, probe)
}

// trackerError turns a failed tracker call into one line naming the host and
// the server's message; a binding the host no longer knows gets the way out.
func trackerError(err error, provider string) error {
	if hosted.CodeOf(err) == hosted.CodeBindingNotFound {
		return withHint(failf("%s", err), fmt.Sprintf("the host no longer knows this binding; run `spec-kitty tracker unbind`, then `spec-kitty tracker bind --provider %s`", provider))
	}
	return hostedError(err)
}

// printable keeps text that came from the host to one line without control
// characters, so it cannot rewrite the user's terminal.
func printable(s string) string {
	return strings.TrimSpace(term.Sanitize(s))
}

// contextStrings flattens a provider_context object to strings (values that
// are not strings keep their JSON text).
func contextStrings(m map[string]any) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		out[k] = string(b)
	}
	return out
}

// describeBinding names a binding for people: `linear "Spec Kitty (SK)"
// (binding bind_linear_sk)`.
func describeBinding(t binding.Tracker) string {
	var b strings.Builder
	b.WriteString(t.Provider)
	if t.DisplayLabel != "" {
		fmt.Fprintf(&b, " %q", printable(t.DisplayLabel))
	}
	switch {
	case t.BindingRef != "":
		fmt.Fprintf(&b, " (binding %s)", printable(t.BindingRef))
	case t.ProjectSlug != "":
		fmt.Fprintf(&b, " (project %s)", printable(t.ProjectSlug))
	}
	return b.String()
}

// --- providers ---

type providerJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

func newTrackerProvidersCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker providers [--json]",
		Short:     "list the issue trackers the hosted service can bind",
		Long: `Providers lists the issue trackers the hosted service integrates: one line
per provider, its name (the value of --provider) and its display name. It
needs no sign-in and no repository, and contacts nothing.

--json prints {"providers": [{"name", "display_name"}]}.`,
	}
	asJSON := c.Flags().Bool("json", false, "print the providers as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if len(args) > 0 {
			return usagef("tracker providers takes no arguments")
		}
		if *asJSON {
			out := struct {
				Providers []providerJSON `json:"providers"`
			}{}
			for _, p := range trackerProviders {
				out.Providers = append(out.Providers, providerJSON{p.Name, p.Label})
			}
			return writeJSON(env.Stdout, out)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		for _, p := range trackerProviders {
			fmt.Fprintf(w, "%s\t%s\n", p.Name, p.Label)
		}
		return w.Flush()
	}
	return c
}

// --- discover ---

type resourceJSON struct {
	Number           int            `json:"number"`
	DisplayLabel     string         `json:"display_label"`
	Provider         string         `json:"provider"`
	Workspace        string         `json:"workspace,omitempty"`
	ProviderContext  map[string]any `json:"provider_context,omitempty"`
	CandidateToken   string         `json:"candidate_token"`
	Status           string         `json:"status"`
	BindingRef       string         `json:"binding_ref,omitempty"`
	BoundProjectSlug string         `json:"bound_project_slug,omitempty"`
}

func toResourceJSON(i int, r hosted.Resource) resourceJSON {
	st := "available"
	if r.BindingRef != "" {
		st = "bound"
	}
	return resourceJSON{
		Number: i + 1, DisplayLabel: r.DisplayLabel, Provider: r.Provider, Workspace: workspaceOf(r.ProviderContext),
		ProviderContext: r.ProviderContext, CandidateToken: r.CandidateToken, Status: st,
		BindingRef: r.BindingRef, BoundProjectSlug: r.BoundProjectSlug,
	}
}

func workspaceOf(ctx map[string]any) string {
	return contextStrings(ctx)["workspace"]
}

func newTrackerDiscoverCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker discover --provider P [--json]",
		Short:     "list the tracker resources your team can bind",
		Long: `Discover lists the resources (projects, boards, repositories) of one
provider that your team has connected on the hosted service, numbered, with
their workspace and whether a project is already bound to them. It works
outside a repository; it needs sign-in and the host URL.

--json prints {"provider", "resources": [{number, display_label, provider,
workspace, provider_context, candidate_token, status ("bound" or
"available"), binding_ref, bound_project_slug}]}.`,
	}
	provider := c.Flags().String("provider", "", "the tracker: "+providerNames())
	asJSON := c.Flags().Bool("json", false, "print the resources as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if len(args) > 0 {
			return usagef("tracker discover takes no arguments")
		}
		if err := checkProvider(*provider); err != nil {
			return err
		}
		client, err := trackerSession(ctx, env, nil, readiness.Options{})
		if err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		res, err := client.TrackerResources(ctx, *provider)
		if err != nil {
			return trackerError(err, *provider)
		}
		if *asJSON {
			out := struct {
				Provider  string         `json:"provider"`
				Resources []resourceJSON `json:"resources"`
			}{Provider: *provider, Resources: []resourceJSON{}}
			for i, r := range res {
				out.Resources = append(out.Resources, toResourceJSON(i, r))
			}
			return writeJSON(env.Stdout, out)
		}
		if len(res) == 0 {
			fmt.Fprintf(env.Stderr, "spec-kitty: no %s resources are connected to your team on %s\n", term.Sanitize(*provider), term.Sanitize(client.Host.URL))
			return nil
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "#\tRESOURCE\tPROVIDER\tWORKSPACE\tSTATUS")
		for i, r := range res {
			rj := toResourceJSON(i, r)
			st := "available"
			if rj.Status == "bound" {
				st = "bound"
				if r.BoundProjectSlug != "" {
					st += " to " + printable(r.BoundProjectSlug)
				}
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", rj.Number, printable(r.DisplayLabel), printable(r.Provider), dash(printable(rj.Workspace)), st)
		}
		return w.Flush()
	}
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
