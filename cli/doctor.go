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
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
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

func runDoctor(ctx context.Context, env *Env, probeHost bool) doctorReport {
	rep := doctorReport{Version: version.String()}
	add := func(name string, st checkStatus, msg, hint string) {
		rep.Checks = append(rep.Checks, doctorCheck{Name: name, Status: st, Message: msg, Hint: hint})
	}
	add("version", checkInfo, "spec-kitty "+version.String(), "")

	gate := rollout.Enabled(env.Getenv)
	if gate {
		add("gate", checkOK, "hosted sync is enabled ("+rollout.EnvVar+")", "")
	}

	// Configuration.
	cfgOK := false
	var cfg config.Config
	home, herr := env.Home()
	if herr != nil {
		add("config", checkFail, herr.Error(), "set SPEC_KITTY_HOME")
	} else {
		c, err := config.Load(home.Config(), nil)
		switch {
		case err != nil:
			add("config", checkFail, err.Error(), "fix the file or run `spec-kitty config set KEY VALUE`")
		case len(c.Warnings) > 0:
			cfg, cfgOK = c, true
			for _, w := range c.Warnings {
				add("config", checkWarn, w, "run `spec-kitty config set sync.background_daemon auto|manual`")
			}
		case !gate:
			cfg, cfgOK = c, true
			add("config", checkOK, home.Config(), "")
		default:
			cfg, cfgOK = c, true
			add("config", checkOK, fmt.Sprintf("%s (background_daemon %s, max_queue_size %d)", home.Config(), c.Policy(), c.MaxQueueSize), "")
		}
	}

	// Repository and missions.
	repo, rerr := mission.FindRepo(env.Dir, env.Getenv)
	if rerr != nil {
		add("repo", checkInfo, rerr.Error(), "")
	} else {
		add("repo", checkOK, repo, "")
		ms, err := mission.ReadAll(ctx, repo)
		if err != nil {
			add("missions", checkFail, err.Error(), "")
		} else {
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
				add("missions", checkWarn, fmt.Sprintf("%d missions, %d with an unreadable meta.json or events file", len(ms), broken), "run `spec-kitty status` for details")
			case malformed > 0:
				add("missions", checkWarn, fmt.Sprintf("%d missions; %s skipped in %s", len(ms), plural(malformed, "malformed event line", "malformed event lines"), plural(files, "file", "files")), "run `spec-kitty status --mission M` to see the lines")
			default:
				add("missions", checkOK, fmt.Sprintf("%d missions, no malformed event lines", len(ms)), "")
			}
		}
	}
	if !gate {
		return rep // nothing hosted may be touched with the gate off
	}

	// Host.
	host, err := resolveHost(env)
	switch {
	case errors.Is(err, hosted.ErrNoHost):
		msg, next := readiness.Wording(readiness.MissingHostConfig)
		add("host", checkFail, msg, next)
	case err != nil:
		add("host", checkFail, err.Error(), "set `SPEC_KITTY_SAAS_URL` to an https:// URL")
	default:
		add("host", checkOK, host.URL, "")
	}

	// Session.
	store, serr := sessionStore(env)
	if serr == nil {
		sess, err := store.Load(ctx)
		now := env.Now()
		switch {
		case errors.Is(err, session.ErrNoSession):
			msg, next := readiness.Wording(readiness.MissingAuth)
			add("auth", checkFail, msg, next)
		case err != nil:
			add("auth", checkFail, err.Error(), "run `spec-kitty auth login`")
		case host.URL != "" && sess.Host != host.URL:
			add("auth", checkFail, fmt.Sprintf("the stored session belongs to %s, not %s", sess.Host, host.URL), "run `spec-kitty auth login`")
		case sess.RefreshExpired(now):
			add("auth", checkFail, "the stored session has expired", "run `spec-kitty auth login`")
		default:
			add("auth", checkOK, fmt.Sprintf("signed in as %s (storage: %s)", who(sess), store.BackendDetail(ctx)), "")
		}
	}

	// The session file holds tokens: it must be this user's alone.
	if herr == nil && runtime.GOOS != "windows" {
		if fi, err := os.Stat(home.Auth()); err == nil && fi.Mode().Perm()&0o077 != 0 {
			add("auth", checkWarn, fmt.Sprintf("%s can be read or written by other users (mode %04o)", home.Auth(), fi.Mode().Perm()),
				"run `chmod 600 "+home.Auth()+"`")
		}
	}

	// Binding.
	if rerr == nil {
		b, err := binding.Load(repo)
		switch {
		case err != nil:
			add("binding", checkFail, err.Error(), "fix .kittify/config.yaml")
		default:
			if t, ok := b.Binding(); ok {
				add("binding", checkOK, fmt.Sprintf("%s %s", t.Provider, cmp.Or(t.DisplayLabel, t.BindingRef, t.ProjectSlug)), "")
			} else {
				_, next := readiness.Wording(readiness.MissingMissionBinding)
				add("binding", checkInfo, "no tracker binding for this repo (tracker commands need one)", next)
			}
		}
	}

	// Daemon and queue.
	if herr == nil {
		st, running, err := localapi.ReadState(home.DaemonState())
		switch {
		case err != nil:
			add("daemon", checkWarn, err.Error(), "")
		case running:
			msg := fmt.Sprintf("running (pid %d)", st.PID)
			if !st.LastSyncAt.IsZero() {
				msg += ", last sync " + st.LastSyncAt.Local().Format(time.RFC3339)
			}
			if st.LastError != "" {
				add("daemon", checkWarn, msg+"; last error: "+st.LastError, "run `spec-kitty sync status`")
			} else {
				add("daemon", checkOK, msg, "")
			}
		case cfgOK:
			add("daemon", checkInfo, "not running (policy "+string(cfg.Policy())+")", "")
		}
		if q, err := openQueue(ctx, env, false); err == nil {
			qs, qerr := q.Stats(ctx)
			mal := 0
			if repos, err := q.Repos(ctx); err == nil {
				for _, w := range repoWarnings(repos) {
					add("repo", checkWarn, w, "fix or remove that repo; other repos still sync")
				}
				for _, r := range repos {
					cs, _ := q.Cursors(ctx, r.Path)
					for _, c := range cs {
						mal += c.Malformed
					}
				}
			}
			q.Close()
			switch {
			case qerr != nil:
				add("queue", checkFail, qerr.Error(), "")
			case qs.DeadLetters > 0:
				add("queue", checkWarn, fmt.Sprintf("%d queued, %d dead letters, %d malformed lines skipped", qs.Depth, qs.DeadLetters, mal), "run `spec-kitty sync status` to see why; `spec-kitty sync retry --all` once fixed")
			case qs.Unmigrated:
				add("queue", checkInfo, fmt.Sprintf("%d queued, %s", qs.Depth, unmigratedNote), "")
			default:
				add("queue", checkOK, fmt.Sprintf("%d queued, no dead letters, %d malformed lines skipped", qs.Depth, mal), "")
			}
		} else if !isNotExist(err) {
			add("queue", checkFail, err.Error(), "")
		} else {
			add("queue", checkInfo, "no queue yet (nothing queued)", "")
		}
	}

	// Readiness as `sync run` would meet it (auth, host, and with --probe
	// reachability); the tracker binding is reported on its own line above.
	opts := readiness.Options{RequireAuth: true, RequireHost: true, Probe: probeHost}
	p := hostedProbes(env, store)
	res := readiness.Evaluate(ctx, opts, p)
	rep.Readiness = &res
	switch {
	case res.OK():
		add("readiness", checkOK, "ready"+map[bool]string{true: " (host reached)", false: " (host not probed; use --probe)"}[probeHost], "")
	case res.State == readiness.HostUnreachable:
		add("readiness", checkFail, res.Message+" "+res.Details["error"], res.NextAction)
	default:
		add("readiness", checkWarn, string(res.State)+": "+res.Message, res.NextAction)
	}
	return rep
}
