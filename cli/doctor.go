package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/binding"
	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/probe/local"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
	"github.com/spec-kitty/spec-kitty-sync/core/version"
)

// checkStatus is the outcome of one doctor check.
type checkStatus string

const (
	checkOK   checkStatus = "ok"
	checkInfo checkStatus = "info"
	checkWarn checkStatus = "warn"
	checkFail checkStatus = "fail"
)

// doctorCheck is one line of `doctor`; JSON fields are only ever added.
type doctorCheck struct {
	Name    string      `json:"name"`
	Status  checkStatus `json:"status"`
	Message string      `json:"message"`
	Hint    string      `json:"hint,omitempty"`
}

type doctorReport struct {
	Version   string            `json:"version"`
	Readiness *readiness.Result `json:"readiness,omitempty"`
	Checks    []doctorCheck     `json:"checks"`
}

func newDoctorCmd(env *Env) *Command {
	// With the gate off nothing a user can see names the hosted surface
	// (CONTRACTS §2): the help, the flags and the checks are the local ones.
	gate := rollout.Enabled(env.Getenv)
	c := &Command{
		UsageLine: "spec-kitty doctor [--json]",
		Short:     "check this machine's setup and say what to fix",
		Long: `Doctor prints every check it can make locally: the configuration file and
the repository and its missions (with malformed event lines).

It never touches the network and writes nothing.
Exit status 1 when a check failed.`,
	}
	probeHost := new(bool)
	if gate {
		c.UsageLine = "spec-kitty doctor [--probe] [--json]"
		c.Long = `Doctor prints every check it can make locally: the rollout gate, the
configuration file, the repository and its missions (with malformed event
lines), the host URL, the stored session and its file permissions, the
tracker binding, every registered repository, the sync daemon and the
offline queue, ending with the readiness state a hosted command would meet.

It never touches the network unless --probe is given (one HEAD request to
the host, 2 s at most), never starts the daemon and writes nothing.
Exit status 1 when a check failed.`
		probeHost = c.Flags().Bool("probe", false, "also check that the host answers (one request, 2 s at most)")
	}
	asJSON := c.Flags().Bool("json", false, "print the checks as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("doctor takes no arguments")
		}
		rep := runDoctor(ctx, env, *probeHost)
		if *asJSON {
			if err := writeJSON(env.Stdout, rep); err != nil {
				return err
			}
		} else {
			for _, ch := range rep.Checks {
				fmt.Fprintf(env.Stdout, "%-6s %-10s %s\n", "["+string(ch.Status)+"]", ch.Name, term.Lines(ch.Message))
				if ch.Hint != "" {
					fmt.Fprintf(env.Stdout, "%-17s -> %s\n", "", term.Lines(ch.Hint))
				}
			}
		}
		for _, ch := range rep.Checks {
			if ch.Status == checkFail {
				return silentExit(ExitFailure)
			}
		}
		return nil
	}
	return c
}

// doctorRun is what the checks of one `doctor` run look at: read once,
// before the first check, so no two checks read a thing differently.
type doctorRun struct {
	env   *Env
	gate  bool
	probe bool

	home    paths.Home
	homeErr error
	cfg     config.Config
	cfgErr  error // config.toml could not be read (or home resolved)
	repo    string
	repoErr error
	// st is the sync status, as `sync status` builds it but with doctor's
	// readiness row (auth, host, and with --probe reachability); built only
	// with the gate on (nothing hosted is touched with it off).
	st status.Status
	// host is the resolved host (zero, with hostErr, when none resolves).
	host    hosted.Host
	hostErr error
	// store is the session storage (nil when the home does not resolve).
	store *session.Store
}

// doctorChecks is doctor's table: its checks in output order. A hosted
// check runs only with the gate on.
var doctorChecks = []struct {
	hosted bool
	run    func(ctx context.Context, r *doctorRun) []doctorCheck
}{
	{false, checkVersion},
	{true, checkGate},
	{false, checkConfig},
	{false, checkRepo},
	{true, checkHost},
	{true, checkSession},
	{true, checkSessionFile},
	{true, checkBinding},
	{true, checkSyncStatus},
}

func runDoctor(ctx context.Context, env *Env, probeHost bool) doctorReport {
	r := &doctorRun{env: env, gate: rollout.Enabled(env.Getenv), probe: probeHost}
	r.home, r.homeErr = env.Home()
	if r.homeErr == nil {
		r.cfg, r.cfgErr = config.Load(r.home.Config(), nil)
	} else {
		r.cfgErr = r.homeErr
	}
	r.repo, r.repoErr = mission.FindRepo(env.Dir, env.Getenv)
	rep := doctorReport{Version: version.String()}
	if r.gate {
		r.host, r.hostErr = resolveHost(env)
		r.store, _ = sessionStore(env)
		r.st = doctorStatus(ctx, r)
		rep.Readiness = &r.st.Readiness
	}
	for _, c := range doctorChecks {
		if c.hosted && !r.gate {
			continue
		}
		rep.Checks = append(rep.Checks, c.run(ctx, r)...)
	}
	return rep
}

// doctorStatus builds the sync status the daemon, queue and readiness
// checks show.
func doctorStatus(ctx context.Context, r *doctorRun) status.Status {
	ready := func(ctx context.Context) readiness.Result {
		opts := readiness.Options{RequireAuth: true, RequireHost: true, Probe: r.probe}
		return readiness.Evaluate(ctx, opts, hostedProbes(r.env, r.store))
	}
	if r.homeErr != nil {
		return status.Build(ctx, status.Sources{Gate: func() bool { return r.gate }, Readiness: ready, Now: r.env.Now})
	}
	src := statusSources(r.env, r.home, r.cfg, ready)
	if r.cfgErr != nil {
		// The queue is not opened without its configuration.
		src.Policy = func() (policy.Policy, error) { return "", r.cfgErr }
		src.Queue = func(context.Context, status.Daemon) status.Queue { return status.Queue{Err: r.cfgErr} }
	}
	return status.Build(ctx, src)
}

func check(name string, st checkStatus, msg, hint string) []doctorCheck {
	return []doctorCheck{{Name: name, Status: st, Message: msg, Hint: hint}}
}

func checkVersion(context.Context, *doctorRun) []doctorCheck {
	return check("version", checkInfo, "spec-kitty "+version.String(), "")
}

func checkGate(context.Context, *doctorRun) []doctorCheck {
	return check("gate", checkOK, "hosted sync is enabled ("+rollout.EnvVar+")", "")
}

func checkConfig(_ context.Context, r *doctorRun) []doctorCheck {
	switch {
	case r.homeErr != nil:
		return check("config", checkFail, r.homeErr.Error(), "set SPEC_KITTY_HOME")
	case r.cfgErr != nil:
		return check("config", checkFail, r.cfgErr.Error(), "fix the file or run `spec-kitty config set KEY VALUE`")
	case len(r.cfg.Warnings) > 0:
		var out []doctorCheck
		for _, w := range r.cfg.Warnings {
			out = append(out, check("config", checkWarn, w, "run `spec-kitty config set sync.background_daemon auto|manual`")...)
		}
		return out
	case !r.gate:
		return check("config", checkOK, r.home.Config(), "")
	}
	return check("config", checkOK, fmt.Sprintf("%s (background_daemon %s, max_queue_size %d)", r.home.Config(), r.cfg.Policy(), r.cfg.MaxQueueSize), "")
}

// checkRepo is the repository and its missions.
func checkRepo(ctx context.Context, r *doctorRun) []doctorCheck {
	if r.repoErr != nil {
		return check("repo", checkInfo, r.repoErr.Error(), "")
	}
	out := check("repo", checkOK, r.repo, "")
	ms, err := mission.ReadAll(ctx, r.repo)
	if err != nil {
		return append(out, check("missions", checkFail, err.Error(), "")...)
	}
	malformed, files, broken := 0, 0, 0
	for _, m := range ms {
		if m.Stats.Malformed > 0 {
			malformed += m.Stats.Malformed
			files++
		}
		if m.MetaErr != nil || m.EventsErr != nil {
			broken++
		}
	}
	switch {
	case broken > 0:
		return append(out, check("missions", checkWarn, fmt.Sprintf("%d missions, %d with an unreadable meta.json or events file", len(ms), broken), "run `spec-kitty status` for details")...)
	case malformed > 0:
		return append(out, check("missions", checkWarn, fmt.Sprintf("%d missions; %s skipped in %s", len(ms), plural(malformed, "malformed event line", "malformed event lines"), plural(files, "file", "files")), "run `spec-kitty status --mission M` to see the lines")...)
	}
	return append(out, check("missions", checkOK, fmt.Sprintf("%d missions, no malformed event lines", len(ms)), "")...)
}

func checkHost(_ context.Context, r *doctorRun) []doctorCheck {
	switch {
	case errors.Is(r.hostErr, hosted.ErrNoHost):
		msg, next := readiness.Wording(readiness.MissingHostConfig)
		return check("host", checkFail, msg, next)
	case r.hostErr != nil:
		return check("host", checkFail, r.hostErr.Error(), "set `SPEC_KITTY_SAAS_URL` to an https:// URL")
	}
	return check("host", checkOK, r.host.URL, "")
}

// checkSession is the stored session, checked by core/probe/local as the
// readiness auth check does, with the reason it does not count.
func checkSession(ctx context.Context, r *doctorRun) []doctorCheck {
	if r.store == nil {
		return nil
	}
	// Another host's session and an expired one are worded by CheckSession.
	sess, err := local.CheckSession(ctx, r.store, r.host.URL, r.env.Now())
	switch {
	case errors.Is(err, session.ErrNoSession):
		msg, next := readiness.Wording(readiness.MissingAuth)
		return check("auth", checkFail, msg, next)
	case err != nil:
		return check("auth", checkFail, err.Error(), "run `spec-kitty auth login`")
	}
	return check("auth", checkOK, fmt.Sprintf("signed in as %s (storage: %s)", who(sess), r.store.BackendDetail(ctx)), "")
}

// checkSessionFile: the session file holds tokens, so it must be this
// user's alone.
func checkSessionFile(_ context.Context, r *doctorRun) []doctorCheck {
	if r.homeErr != nil || runtime.GOOS == "windows" {
		return nil
	}
	if fi, err := os.Stat(r.home.Auth()); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return check("auth", checkWarn, fmt.Sprintf("%s can be read or written by other users (mode %04o)", r.home.Auth(), fi.Mode().Perm()),
			"run `chmod 600 "+r.home.Auth()+"`")
	}
	return nil
}

func checkBinding(_ context.Context, r *doctorRun) []doctorCheck {
	if r.repoErr != nil {
		return nil
	}
	b, err := binding.Load(r.repo)
	if err != nil {
		return check("binding", checkFail, err.Error(), "fix .kittify/config.yaml")
	}
	if t, ok := b.Binding(); ok {
		return check("binding", checkOK, fmt.Sprintf("%s %s", t.Provider, cmp.Or(t.DisplayLabel, t.BindingRef, t.ProjectSlug)), "")
	}
	_, next := readiness.Wording(readiness.MissingMissionBinding)
	return check("binding", checkInfo, "no tracker binding for this repo (tracker commands need one)", next)
}

// checkSyncStatus renders the sync status: the daemon, the registered
// repositories, the queue and readiness (only readiness without a home).
func checkSyncStatus(_ context.Context, r *doctorRun) []doctorCheck {
	if r.homeErr != nil {
		return readinessChecks(r.st, r.probe)
	}
	return statusChecks(r.st, r.probe)
}

// statusChecks are doctor's lines for a sync status: the daemon, the
// registered repositories, the queue and readiness.
func statusChecks(st status.Status, probed bool) []doctorCheck {
	out := daemonChecks(st, st.ConfigErr == "")
	out = append(out, queueChecks(st)...)
	return append(out, readinessChecks(st, probed)...)
}

// daemonChecks: a stopped daemon is worth a line only when its policy is
// known.
func daemonChecks(st status.Status, policyKnown bool) []doctorCheck {
	d := st.Daemon
	switch {
	case d.Err != "":
		return check("daemon", checkWarn, d.Err, "")
	case d.Running:
		msg := fmt.Sprintf("running (pid %d)", d.State.PID)
		if !d.State.LastSyncAt.IsZero() {
			msg += ", last sync " + d.State.LastSyncAt.Local().Format(time.RFC3339)
		}
		if d.State.LastError != "" {
			return check("daemon", checkWarn, msg+"; last error: "+d.State.LastError, "run `spec-kitty sync status`")
		}
		return check("daemon", checkOK, msg, "")
	case policyKnown:
		return check("daemon", checkInfo, "not running (policy "+string(st.Policy)+")", "")
	}
	return nil
}

func queueChecks(st status.Status) []doctorCheck {
	var out []doctorCheck
	q := st.Queue
	for _, w := range q.RepoWarnings {
		out = append(out, check("repo", checkWarn, w, "fix or remove that repo; other repos still sync")...)
	}
	switch {
	case q.Err != nil:
		return append(out, check("queue", checkFail, q.Err.Error(), "")...)
	case !q.Present:
		return append(out, check("queue", checkInfo, "no queue yet (nothing queued)", "")...)
	case q.DeadLetters > 0:
		return append(out, check("queue", checkWarn, fmt.Sprintf("%d queued, %d dead letters, %d malformed lines skipped", q.Depth, q.DeadLetters, q.Malformed), "run `spec-kitty sync status` to see why; `spec-kitty sync retry --all` once fixed")...)
	case q.Unmigrated:
		return append(out, check("queue", checkInfo, fmt.Sprintf("%d queued, %s", q.Depth, status.UnmigratedNote), "")...)
	}
	return append(out, check("queue", checkOK, fmt.Sprintf("%d queued, no dead letters, %d malformed lines skipped", q.Depth, q.Malformed), "")...)
}

// readinessChecks is readiness as `sync run` would meet it (auth, host, and
// with --probe reachability); the tracker binding has its own line.
func readinessChecks(st status.Status, probed bool) []doctorCheck {
	res := st.Readiness
	switch {
	case res.OK():
		return check("readiness", checkOK, "ready"+map[bool]string{true: " (host reached)", false: " (host not probed; use --probe)"}[probed], "")
	case res.State == readiness.HostUnreachable:
		return check("readiness", checkFail, res.Message+" "+res.Details["error"], res.NextAction)
	}
	return check("readiness", checkWarn, string(res.State)+": "+res.Message, res.NextAction)
}
