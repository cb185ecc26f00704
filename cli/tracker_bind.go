package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

const trackerBindLong = `Bind connects this repository to one resource (project, board, repository)
of the tracker, as known to the hosted service, and writes the binding to the
"tracker:" section of .kittify/config.yaml.

Without --bind-ref or --select, bind asks the host which resources fit this
project (identified by "project:" in .kittify/config.yaml, created when
missing):
  - an exact match (the project is already bound on the host) is used as is;
  - otherwise the candidates are listed, numbered, and bind asks which one to
    use, reading the answer from the terminal;
  - with no candidate at all, bind fails and says so.
--select N picks candidate N of that list without asking (for scripts).
--bind-ref R uses an existing binding R after the host confirmed it is valid.

When the repo is already bound to something else, bind asks before replacing
it (default: no). Without a terminal on stdin bind never waits for an answer:
a choice it would have to ask for is a usage error (exit 2) naming the flag
to pass, and replacing a binding needs 'spec-kitty tracker unbind' first.

A successful bind also registers the repository for event upload.`

func newTrackerBindCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker bind --provider P [--bind-ref R | --select N]",
		Short:     "bind this repo to a tracker resource",
		Long:      trackerBindLong,
	}
	fs := c.Flags()
	provider := fs.String("provider", "", "the tracker: "+providerNames())
	bindRef := fs.String("bind-ref", "", "use this existing binding (validated by the host)")
	sel := fs.Int("select", 0, "pick candidate N of the list without asking")
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if len(args) > 0 {
			return usagef("tracker bind takes no arguments")
		}
		if err := checkProvider(*provider); err != nil {
			return err
		}
		selected := fs.Changed("select")
		if selected && *bindRef != "" {
			return usagef("--bind-ref and --select cannot be combined")
		}
		if fs.Changed("bind-ref") && strings.TrimSpace(*bindRef) == "" {
			return usagef("--bind-ref needs a binding reference")
		}
		if selected && *sel < 1 {
			return usagef("--select needs a candidate number from 1, got %d", *sel)
		}
		repo, err := loadTrackerRepo(env)
		if err != nil {
			return err
		}
		client, err := trackerSession(ctx, env, repo, readiness.Options{})
		if err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		b := &binder{env: env, repo: repo, client: client, provider: *provider, in: bufio.NewReader(env.Stdin)}
		if selected {
			b.selectN = *sel
		}
		return b.run(ctx, strings.TrimSpace(*bindRef))
	}
	return c
}

// binder carries one `tracker bind`.
type binder struct {
	env      *Env
	repo     *trackerRepo
	client   *hosted.Client
	provider string
	selectN  int // 0: ask
	in       *bufio.Reader
}

func (b *binder) run(ctx context.Context, bindRef string) error {
	var target binding.Tracker
	var candidate *hosted.Resource
	var project binding.Project
	if bindRef != "" {
		v, err := b.client.BindValidate(ctx, b.provider, bindRef)
		if err != nil {
			return trackerError(err, b.provider)
		}
		if !v.Valid {
			reason := printable(v.Reason)
			if reason == "" {
				reason = "no reason given"
			}
			return withHint(failf("%s rejected %s binding %q: %s", b.client.Host.URL, b.provider, bindRef, reason),
				fmt.Sprintf("run `spec-kitty tracker discover --provider %s` to see the bound resources", b.provider))
		}
		target = binding.Tracker{Provider: b.provider, BindingRef: bindRef, DisplayLabel: v.DisplayLabel}
	} else {
		p, _, err := binding.EnsureProject(b.repo.root, b.env.Now, rand.Reader)
		if err != nil {
			return failf("%s", err)
		}
		project = p
		res, err := b.client.BindResolve(ctx, hosted.BindResolveRequest{Provider: b.provider, ProjectSlug: p.Slug, ProjectUUID: p.UUID})
		if err != nil {
			return trackerError(err, b.provider)
		}
		switch res.MatchType {
		case hosted.MatchExact:
			fmt.Fprintf(b.env.Stderr, "Project %s is already bound on the host to %s %q.\n", printable(p.Slug), b.provider, printable(res.DisplayLabel))
			target = binding.Tracker{Provider: b.provider, BindingRef: res.BindingRef, DisplayLabel: res.DisplayLabel}
		case hosted.MatchCandidates:
			if len(res.Candidates) == 0 {
				return b.noCandidates(p)
			}
			cand, err := b.choose(res.Candidates)
			if err != nil {
				return err
			}
			candidate = &cand
			target = binding.Tracker{Provider: b.provider, DisplayLabel: cand.DisplayLabel, ProviderContext: contextStrings(cand.ProviderContext)}
		default:
			return b.noCandidates(p)
		}
	}

	if candidate == nil {
		target.ProviderContext = b.contextOf(ctx, target.BindingRef)
	}

	cur, bound := b.repo.cfg.Binding()
	if bound && candidate == nil && cur.Provider == target.Provider && cur.BindingRef == target.BindingRef {
		_, err := fmt.Fprintf(b.env.Stdout, "Already bound to %s.\n", describeBinding(cur))
		b.register(ctx)
		return err
	}
	if bound {
		if err := b.confirmReplace(cur, target); err != nil {
			return err
		}
	}

	if candidate != nil {
		pending, err := newPendingStore(b.env)
		if err != nil {
			return err
		}
		req := hosted.BindConfirmRequest{Provider: b.provider, CandidateToken: candidate.CandidateToken, ProjectSlug: project.Slug, ProjectUUID: project.UUID}
		op, err := pending.acquire("bind-confirm", b.client.Host.URL, b.repo.root, req)
		if err != nil {
			return err
		}
		got, err := b.client.BindConfirm(ctx, op.IdempotencyKey, req)
		if err != nil {
			pending.settle(op, err)
			return trackerError(err, b.provider)
		}
		target.BindingRef = got.BindingRef
		if got.DisplayLabel != "" {
			target.DisplayLabel = got.DisplayLabel
		}
		if pc := contextStrings(got.ProviderContext); len(pc) > 0 {
			target.ProviderContext = pc
		}
		if err := binding.SetTracker(b.repo.root, target); err != nil {
			// The key stays: running bind again replays the same
			// confirmation and retries the write.
			return failf("%s", err)
		}
		pending.done(op)
	} else {
		if err := binding.SetTracker(b.repo.root, target); err != nil {
			return failf("%s", err)
		}
		// A confirmation whose answer was lost may have bound the project
		// already (the host now answers with an exact match): its key is
		// no longer needed.
		if pending, err := newPendingStore(b.env); err == nil {
			pending.clear("bind-confirm", b.client.Host.URL, b.repo.root)
		}
	}
	b.register(ctx)
	_, err := fmt.Fprintf(b.env.Stdout, "Bound to %s.\n", describeBinding(target))
	return err
}

// contextOf looks up the provider_context of an existing binding in the
// team's resources. It only adds detail to the binding, so a failure leaves
// it out rather than failing the bind.
func (b *binder) contextOf(ctx context.Context, ref string) map[string]string {
	res, err := b.client.TrackerResources(ctx, b.provider)
	if err != nil {
		return nil
	}
	for _, r := range res {
		if r.BindingRef == ref {
			return contextStrings(r.ProviderContext)
		}
	}
	return nil
}

// register adds the repo to the importer's list so its events are uploaded;
// the binding is already written, so a failure here is a warning. Binding
// never creates the queue: without one nothing has been uploaded yet, and
// the first upload from this repo (`status emit`, `sync run`, `tracker
// sync`) registers it.
func (b *binder) register(ctx context.Context) {
	home, err := b.env.Home()
	if err != nil {
		return
	}
	if _, err := os.Stat(home.Queue()); err != nil {
		return
	}
	q, err := openQueue(ctx, b.env, true)
	if err == nil {
		_, err = q.RegisterRepo(ctx, b.repo.root)
		q.Close()
	}
	if err != nil {
		fmt.Fprintf(b.env.Stderr, "spec-kitty: warning: the repo is not registered for event upload: %s\n", err)
		fmt.Fprintf(b.env.Stderr, "spec-kitty: hint: `spec-kitty sync run` in this repo registers it\n")
	}
}

func (b *binder) noCandidates(p binding.Project) error {
	return withHint(failf("%s has no %s resource that project %s can bind", b.client.Host.URL, b.provider, printable(p.Slug)),
		fmt.Sprintf("connect a %s project to your team on the hosted service, or pass --bind-ref R", b.provider))
}

// listCandidates prints the numbered candidates on stderr.
func (b *binder) listCandidates(cands []hosted.Resource) {
	fmt.Fprintf(b.env.Stderr, "%s resources this repo can bind:\n", b.provider)
	for i, c := range cands {
		line := fmt.Sprintf("  %d) %s", i+1, printable(c.DisplayLabel))
		if ws := printable(workspaceOf(c.ProviderContext)); ws != "" {
			line += " [" + ws + "]"
		}
		fmt.Fprintln(b.env.Stderr, line)
	}
}

// choose picks a candidate: --select, else an answer from the terminal.
func (b *binder) choose(cands []hosted.Resource) (hosted.Resource, error) {
	if b.selectN > 0 {
		if b.selectN > len(cands) {
			b.listCandidates(cands)
			return hosted.Resource{}, usagef("--select %d is out of range: there are %d candidates", b.selectN, len(cands))
		}
		return cands[b.selectN-1], nil
	}
	b.listCandidates(cands)
	if !b.env.StdinTTY {
		return hosted.Resource{}, withHint(usagef("bind must ask which resource to use, but stdin is not a terminal"),
			fmt.Sprintf("pass --select N (1-%d) for one of the resources above, or --bind-ref R", len(cands)))
	}
	for range 3 {
		ans, ok, err := b.ask(fmt.Sprintf("Bind which one? [1-%d, Enter to cancel]: ", len(cands)))
		if err != nil {
			return hosted.Resource{}, err
		}
		if !ok || ans == "" {
			return hosted.Resource{}, failf("bind cancelled: no resource chosen; nothing changed")
		}
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(cands) {
			return cands[n-1], nil
		}
		fmt.Fprintf(b.env.Stderr, "%q is not a number from 1 to %d.\n", printable(ans), len(cands))
	}
	return hosted.Resource{}, failf("bind cancelled: no valid choice; nothing changed")
}

// confirmReplace asks before a binding is replaced.
func (b *binder) confirmReplace(cur, next binding.Tracker) error {
	if !b.env.StdinTTY {
		return withHint(usagef("this repo is already bound to %s, and stdin is not a terminal to confirm replacing it", describeBinding(cur)),
			"run `spec-kitty tracker unbind` first, then bind again")
	}
	fmt.Fprintf(b.env.Stderr, "This repo is bound to %s.\n", describeBinding(cur))
	ans, _, err := b.ask(fmt.Sprintf("Replace it with %s? [y/N]: ", describeBinding(next)))
	if err != nil {
		return err
	}
	switch strings.ToLower(ans) {
	case "y", "yes":
		return nil
	}
	return failf("bind cancelled: the repo stays bound to %s", describeBinding(cur))
}

// ask prompts on stderr and reads one line; ok is false at end of input.
func (b *binder) ask(prompt string) (answer string, ok bool, err error) {
	fmt.Fprint(b.env.Stderr, prompt)
	line, err := b.in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, failf("read answer: %s", err)
	}
	if errors.Is(err, io.EOF) && line == "" {
		fmt.Fprintln(b.env.Stderr)
		return "", false, nil
	}
	return strings.TrimSpace(line), true, nil
}

// --- unbind ---

func newTrackerUnbindCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty tracker unbind",
		Short:     "remove this repo's tracker binding",
		Long: `Unbind removes the "tracker:" section from .kittify/config.yaml, keeping every
other byte of the file. It changes nothing on the hosted service (the
resource stays connected to your team and can be bound again) and needs
neither sign-in nor the network.`,
	}
	c.Run = func(ctx context.Context, args []string) error {
		if err := hostedGate(env); err != nil {
			return err
		}
		if len(args) > 0 {
			return usagef("tracker unbind takes no arguments")
		}
		repo, err := loadTrackerRepo(env)
		if err != nil {
			return err
		}
		p := hostedProbes(env, nil)
		p.Binding = repo.bindingProbe()
		if res := readiness.Evaluate(ctx, readiness.Options{RequireBinding: true, Mission: repo.mission()}, p); !res.OK() {
			return notReady(res)
		}
		cur, _ := repo.cfg.Binding()
		if _, err := binding.RemoveTracker(repo.root); err != nil {
			return failf("%s", err)
		}
		_, err = fmt.Fprintf(env.Stdout, "Unbound from %s.\n", describeBinding(cur))
		return err
	}
	return c
}
