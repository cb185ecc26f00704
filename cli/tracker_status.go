package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

// trackerBindingJSON is the local binding in --json output.
type trackerBindingJSON struct {
	Provider        string            `json:"provider"`
	BindingRef      string            `json:"binding_ref,omitempty"`
	ProjectSlug     string            `json:"project_slug,omitempty"`
	DisplayLabel    string            `json:"display_label,omitempty"`
	ProviderContext map[string]string `json:"provider_context,omitempty"`
}

func toBindingJSON(t binding.Tracker) trackerBindingJSON {
	return trackerBindingJSON{Provider: t.Provider, BindingRef: t.BindingRef, ProjectSlug: t.ProjectSlug,
		DisplayLabel: t.DisplayLabel, ProviderContext: t.ProviderContext}
}

// trackerStatusJSON is `tracker status --json`; fields are only ever added.
type trackerStatusJSON struct {
	Repo    string             `json:"repo"`
	Host    string             `json:"host"`
	Binding trackerBindingJSON `json:"binding"`
	// Status is the host's status object as sent (it may hold more fields
	// than the ones printed).
	Status   json.RawMessage   `json:"status"`
	Bindings []teamBindingJSON `json:"bindings,omitempty"`
}

// teamBindingJSON is one of the team's bindings in `status --all --json`.
type teamBindingJSON struct {
	Provider         string          `json:"provider"`
	DisplayLabel     string          `json:"display_label"`
	Workspace        string          `json:"workspace,omitempty"`
	BindingRef       string          `json:"binding_ref"`
	BoundProjectSlug string          `json:"bound_project_slug,omitempty"`
	ThisRepo         bool            `json:"this_repo"`
	Status           json.RawMessage `json:"status"`
}

func newTrackerStatusCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker status [--all] [--json]",
		Short:     "show this repo's binding and its sync status on the host",
		Long: `Status shows this repository's tracker binding and what the host says about
it: whether it is configured, the sync state (idle, running, error), when it
last synced and how many work packages are mapped to tracker items. A binding
the host no longer knows is an error with the way to bind again.

--all also lists every binding of your team, for every provider, with its
sync state; this repo's binding is marked with "*".

--json prints {repo, host, binding: {provider, binding_ref, project_slug,
display_label, provider_context}, status: <the host's status object>} and,
with --all, bindings: [{provider, display_label, workspace, binding_ref,
bound_project_slug, this_repo, status}].`,
	}
	all := c.Flags().Bool("all", false, "also list every binding of your team")
	asJSON := c.Flags().Bool("json", false, "print the status as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if len(args) > 0 {
			return usagef("tracker status takes no arguments")
		}
		repo, err := loadTrackerRepo(env)
		if err != nil {
			return err
		}
		client, err := trackerSession(ctx, env, repo, readiness.Options{RequireBinding: true})
		if err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		t, _ := repo.cfg.Binding()
		st, err := client.TrackerStatus(ctx, t.Provider, t.BindingRef)
		if err != nil {
			return trackerError(err, t.Provider)
		}
		out := trackerStatusJSON{Repo: repo.root, Host: client.Host.URL, Binding: toBindingJSON(t), Status: st.Raw}
		if *all {
			if out.Bindings, err = teamBindings(ctx, client, t); err != nil {
				return err
			}
		}
		if *asJSON {
			return writeJSON(env.Stdout, out)
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(w, "Repository:\t%s\n", term.Sanitize(repo.root))
		fmt.Fprintf(w, "Host:\t%s\n", term.Sanitize(client.Host.URL))
		fmt.Fprintf(w, "Provider:\t%s\n", term.Sanitize(t.Provider))
		fmt.Fprintf(w, "Resource:\t%s\n", dash(printable(firstNonEmpty(st.DisplayLabel, t.DisplayLabel))))
		if ws := t.ProviderContext["workspace"]; ws != "" {
			fmt.Fprintf(w, "Workspace:\t%s\n", printable(ws))
		}
		if t.BindingRef != "" {
			fmt.Fprintf(w, "Binding:\t%s\n", printable(t.BindingRef))
		} else {
			fmt.Fprintf(w, "Project:\t%s\n", printable(t.ProjectSlug))
		}
		fmt.Fprintf(w, "Configured:\t%s\n", yesNo(st.Configured))
		fmt.Fprintf(w, "Sync state:\t%s\n", dash(printable(st.SyncState)))
		fmt.Fprintf(w, "Last sync:\t%s\n", firstNonEmpty(printable(st.LastSyncAt), "never"))
		fmt.Fprintf(w, "Mapped items:\t%d\n", st.MappedItems)
		if err := w.Flush(); err != nil {
			return err
		}
		if *all {
			fmt.Fprintln(env.Stdout)
			return printTeamBindings(env, out.Bindings)
		}
		return nil
	}
	return c
}

// teamBindings lists every binding of the team with its status.
func teamBindings(ctx context.Context, client *hosted.Client, this binding.Tracker) ([]teamBindingJSON, error) {
	out := []teamBindingJSON{}
	for _, p := range trackerProviders {
		res, err := client.TrackerResources(ctx, p.Name)
		if err != nil {
			return nil, trackerError(err, p.Name)
		}
		for _, r := range res {
			if r.BindingRef == "" {
				continue
			}
			st, err := client.TrackerStatus(ctx, p.Name, r.BindingRef)
			if err != nil {
				return nil, trackerError(err, p.Name)
			}
			out = append(out, teamBindingJSON{
				Provider: p.Name, DisplayLabel: r.DisplayLabel, Workspace: workspaceOf(r.ProviderContext),
				BindingRef: r.BindingRef, BoundProjectSlug: r.BoundProjectSlug,
				ThisRepo: p.Name == this.Provider && r.BindingRef == this.BindingRef, Status: st.Raw,
			})
		}
	}
	return out, nil
}

func printTeamBindings(env *Env, bs []teamBindingJSON) error {
	if len(bs) == 0 {
		fmt.Fprintln(env.Stderr, "spec-kitty: your team has no bindings")
		return nil
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  PROVIDER\tRESOURCE\tBINDING\tPROJECT\tSTATE\tLAST SYNC\tMAPPED")
	for _, b := range bs {
		var st hosted.TrackerStatus
		_ = json.Unmarshal(b.Status, &st) // decoded by the client already
		mark := " "
		if b.ThisRepo {
			mark = "*"
		}
		fmt.Fprintf(w, "%s %s\t%s\t%s\t%s\t%s\t%s\t%d\n", mark, b.Provider, printable(b.DisplayLabel), printable(b.BindingRef),
			dash(printable(b.BoundProjectSlug)), dash(printable(st.SyncState)), firstNonEmpty(printable(st.LastSyncAt), "never"), st.MappedItems)
	}
	return w.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// --- map ---

func newTrackerMapCmd(env *Env) *Command {
	return &Command{
		UsageLine: "spec-kitty tracker map <command>",
		Short:     "link work packages to tracker items",
		Long: `Map links this repository's work packages to items (issues) of the bound
tracker resource, on the hosted service. Tracker syncs create the links they
need; map add records one by hand.`,
		Commands: []*Command{newTrackerMapAddCmd(env), newTrackerMapListCmd(env)},
	}
}

func newTrackerMapAddCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker map add --wp-id W --external-id X [--external-key K] [--external-url U]",
		Short:     "link a work package to a tracker item",
		Long: `Map add links work package W (WP followed by digits) to the tracker item with
id X on the bound resource; --external-key is the item's human key (SK-12,
#34) and --external-url its web address. Linking a WP again replaces its
link; an item already linked to another WP is refused by the host.`,
	}
	fs := c.Flags()
	wp := fs.String("wp-id", "", "the work package, e.g. WP01; required")
	extID := fs.String("external-id", "", "the tracker item's id; required")
	extKey := fs.String("external-key", "", "the tracker item's key, e.g. SK-12")
	extURL := fs.String("external-url", "", "the tracker item's web address (http or https)")
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if len(args) > 0 {
			return usagef("tracker map add takes no arguments")
		}
		if *wp == "" {
			return usagef("--wp-id is required")
		}
		if err := mission.ValidateWPID(*wp); err != nil {
			return usagef("--wp-id: %s", err)
		}
		if *extID == "" {
			return usagef("--external-id is required")
		}
		if *extURL != "" {
			if u, err := url.Parse(*extURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usagef("--external-url %q is not an http or https URL", *extURL)
			}
		}
		repo, err := loadTrackerRepo(env)
		if err != nil {
			return err
		}
		client, err := trackerSession(ctx, env, repo, readiness.Options{RequireBinding: true})
		if err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		t, _ := repo.cfg.Binding()
		m, err := client.AddMapping(ctx, hosted.AddMappingRequest{Provider: t.Provider, BindingRef: t.BindingRef,
			Mapping: hosted.Mapping{WPID: *wp, ExternalID: *extID, ExternalKey: *extKey, ExternalURL: *extURL}})
		if err != nil {
			return trackerError(err, t.Provider)
		}
		item := printable(m.ExternalID)
		if m.ExternalKey != "" {
			item = printable(m.ExternalKey) + " (" + item + ")"
		}
		_, err = fmt.Fprintf(env.Stdout, "Mapped %s to %s on %s.\n", printable(m.WPID), item, describeBinding(t))
		return err
	}
	return c
}

func newTrackerMapListCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker map list [--json]",
		Short:     "list the work package links of this repo's binding",
		Long: `Map list shows the links between work packages and tracker items that the
host holds for this repository's binding: WP, item id, key and URL.

--json prints {provider, binding_ref, mappings: [{wp_id, external_id,
external_key, external_url}]}.`,
	}
	asJSON := c.Flags().Bool("json", false, "print the mappings as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if len(args) > 0 {
			return usagef("tracker map list takes no arguments")
		}
		repo, err := loadTrackerRepo(env)
		if err != nil {
			return err
		}
		client, err := trackerSession(ctx, env, repo, readiness.Options{RequireBinding: true})
		if err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		t, _ := repo.cfg.Binding()
		ms, err := client.Mappings(ctx, t.Provider, t.BindingRef)
		if err != nil {
			return trackerError(err, t.Provider)
		}
		if *asJSON {
			if ms == nil {
				ms = []hosted.Mapping{}
			}
			return writeJSON(env.Stdout, struct {
				Provider   string           `json:"provider"`
				BindingRef string           `json:"binding_ref,omitempty"`
				Mappings   []hosted.Mapping `json:"mappings"`
			}{t.Provider, t.BindingRef, ms})
		}
		if len(ms) == 0 {
			fmt.Fprintf(env.Stderr, "spec-kitty: no work packages are mapped for %s yet\n", describeBinding(t))
			return nil
		}
		w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "WP\tEXTERNAL ID\tKEY\tURL")
		for _, m := range ms {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", printable(m.WPID), printable(m.ExternalID), dash(printable(m.ExternalKey)), dash(printable(m.ExternalURL)))
		}
		return w.Flush()
	}
	return c
}
