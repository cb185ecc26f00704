package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/cli/dashboard"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
	"github.com/spec-kitty/spec-kitty-sync/tray"
)

// The front-ends of the sync status (core/status).
const (
	feText   = "sync status"
	feJSON   = "sync status --json"
	feDoctor = "doctor"
	feDash   = "dashboard"
	feTray   = "tray"
)

var frontEnds = []string{feText, feJSON, feDoctor, feDash, feTray}

// renders is one status as every front-end renders it.
type renders struct {
	st     status.Status
	now    time.Time
	text   string
	json   map[string]any
	doctor []doctorCheck
	// dash is GET /api/sync/status; panel the server-rendered page.
	dash  map[string]any
	panel string
	tray  tray.View
}

// frontEndNotes holds, for a fact, what each front-end shows of it: a check
// of the rendering against the model, or nil with why it shows nothing.
type frontEndNotes map[string]func(r *renders) error

// fact is one piece of the model; fields are the leaf fields of
// status.Status it stands for (dotted paths).
type fact struct {
	name   string
	fields []string
	shown  frontEndNotes
	// hidden says why a front-end absent from shown does not show it.
	hidden map[string]string
}

// TestOneStatusEveryFrontEnd feeds each status of a table, ONE model, to the
// five renderings — `sync status`, `sync status --json`, doctor, the
// dashboard panel (JSON and HTML) and the tray menu — and checks that every
// fact of the model each front-end claims to show is shown as the model
// says. Every leaf field of status.Status must be a fact of the table, with
// each front-end either checked or named as not showing it and why: a field
// added to the model, or dropped by one front-end, fails here.
func TestOneStatusEveryFrontEnd(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	facts := statusFacts()

	// Every leaf field of the model is a fact, once; every front-end is
	// decided for each fact.
	seen := map[string]bool{}
	for _, f := range facts {
		for _, p := range f.fields {
			if seen[p] {
				t.Errorf("field %s is in two facts", p)
			}
			seen[p] = true
		}
		for _, fe := range frontEnds {
			_, shown := f.shown[fe]
			_, hidden := f.hidden[fe]
			if shown == hidden {
				t.Errorf("fact %q: %s must be either checked or named as not showing it (with why)", f.name, fe)
			}
		}
	}
	for _, p := range leafFields(reflect.TypeFor[status.Status](), "") {
		if !seen[p] {
			t.Errorf("model field %s is in no fact: decide what each front-end shows of it", p)
		}
		delete(seen, p)
	}
	for p := range seen {
		t.Errorf("fact field %s is not a field of the model", p)
	}

	checked := map[string]map[string]bool{} // fact -> front-end -> checked in some case
	for _, tc := range statusCases(now) {
		t.Run(tc.name, func(t *testing.T) {
			r := renderAll(t, tc.st, now)
			for _, f := range facts {
				for fe, check := range f.shown {
					if check == nil {
						continue
					}
					err := check(r)
					if errors.Is(err, errNotApplicable) {
						continue
					}
					if checked[f.name] == nil {
						checked[f.name] = map[string]bool{}
					}
					checked[f.name][fe] = true
					if err != nil {
						t.Errorf("%s: %s: %v", fe, f.name, err)
					}
				}
			}
			if t.Failed() {
				t.Logf("sync status:\n%s\ndoctor: %+v\ntray: %+v", r.text, r.doctor, r.tray)
			}
		})
	}
	for _, f := range facts {
		for fe := range f.shown {
			if !checked[f.name][fe] {
				t.Errorf("fact %q is never checked for %s: add a case where it shows", f.name, fe)
			}
		}
	}
}

// errNotApplicable: the front-end does not show the fact in this state
// (e.g. the tray's status line names the most urgent thing only).
var errNotApplicable = errors.New("not shown in this state")

func statusCases(now time.Time) []struct {
	name string
	st   status.Status
} {
	ready := readiness.Result{State: readiness.Ready}
	notReady := func(s readiness.State) readiness.Result {
		r := readiness.Result{State: s}
		r.Message, r.NextAction = readiness.Wording(s)
		return r
	}
	running := localapi.State{PID: 4242, StartedAt: now.Add(-time.Hour), Host: "https://sync.example.com", Policy: "auto",
		LastSyncAt: now.Add(-2 * time.Minute), Delivered: 17, QueueDepth: 3, DeadLetters: 1}
	failing := localapi.State{PID: 4243, StartedAt: now.Add(-time.Hour), Host: "https://sync.example.com",
		LastSyncAt: now.Add(-20 * time.Minute), LastError: "https://sync.example.com: POST /api/v1/events/batch/: connection refused",
		LastErrorAt: now.Add(-time.Minute), LastErrorState: string(readiness.HostUnreachable), ConsecutiveFailures: 3}
	return []struct {
		name string
		st   status.Status
	}{
		{"running with dead letters", status.Status{Gate: true, Policy: policy.Auto, Readiness: ready,
			Daemon:   status.Daemon{Running: true, State: running},
			LastSync: localapi.LastSync{At: now.Add(-time.Hour), By: "sync run", Synced: 5},
			Queue: status.Queue{Present: true, Depth: 3, Retried: 1, DeadLetters: 1, OldestAge: 90 * time.Second,
				NextAttemptAt: now.Add(time.Minute), LastError: "HTTP 503",
				Dead:         []status.DeadLetter{{EventID: "01DEAD", Type: "WPStatusChanged", Reason: "rejected: bad lane", FailedAt: now.Add(-time.Hour)}},
				Malformed:    2,
				Files:        []status.MalformedFile{{Path: "kitty-specs/001-x/status.events.jsonl", Malformed: 2, LastError: "line 3: bad JSON"}},
				RepoWarnings: []string{"/work/gone: gone (dropped from the registry at the next sync)"}},
			CheckedAt: now}},
		{"running, all synced", status.Status{Gate: true, Policy: policy.Auto, Readiness: ready,
			Daemon: status.Daemon{Running: true, State: localapi.State{PID: 4245, LastSyncAt: now.Add(-3 * time.Minute), Delivered: 1}},
			Queue:  status.Queue{Present: true}, CheckedAt: now}},
		{"auto, ready, no daemon", status.Status{Gate: true, Policy: policy.Auto, Readiness: ready,
			Queue: status.Queue{Present: true, Depth: 1}, CheckedAt: now}},
		{"manual, signed out, one-shot sync", status.Status{Gate: true, Policy: policy.Manual, Readiness: notReady(readiness.MissingAuth),
			Daemon:   status.Daemon{State: localapi.State{PID: 99999999, LastSyncAt: now.Add(-3 * time.Hour)}},
			LastSync: localapi.LastSync{At: now.Add(-5 * time.Minute), By: "sync run", Synced: 2},
			Queue:    status.Queue{Present: true, Depth: 12, Unmigrated: true}, CheckedAt: now}},
		{"manual and ready, one-shot sync", status.Status{Gate: true, Policy: policy.Manual, Readiness: ready,
			LastSync: localapi.LastSync{At: now.Add(-5 * time.Minute), By: "sync run", Synced: 2}, CheckedAt: now}},
		{"running and failing", status.Status{Gate: true, Policy: policy.Auto, Readiness: ready,
			Daemon: status.Daemon{Running: true, State: failing}, Queue: status.Queue{Present: true}, CheckedAt: now}},
		{"waiting for login", status.Status{Gate: true, Policy: policy.Auto, Readiness: ready,
			Daemon: status.Daemon{Running: true, State: localapi.State{PID: 4244, AuthMissing: true}}, CheckedAt: now}},
		{"host unreachable, probed", status.Status{Gate: true, Policy: policy.Auto,
			Readiness: readiness.Result{State: readiness.HostUnreachable, Message: "The configured SaaS host did not respond within 2 seconds.",
				NextAction: "Check network connectivity to `https://sync.example.com` and retry.", Details: map[string]string{"error": "dial tcp: refused"}},
			CheckedAt: now}},
		{"unreadable config, state file and queue", status.Status{Gate: true, Policy: policy.Default, ConfigErr: "config.toml:3:1: bad",
			Readiness: ready, Daemon: status.Daemon{Err: "read daemon state: garbled"}, Queue: status.Queue{Err: errors.New("open queue: disk I/O error")},
			CheckedAt: now}},
		{"gate off", status.Status{Policy: policy.Auto, Readiness: notReady(readiness.RolloutDisabled), CheckedAt: now}},
	}
}

// renderAll renders st with every front-end.
func renderAll(t *testing.T, st status.Status, now time.Time) *renders {
	t.Helper()
	r := &renders{st: st, now: now}
	var out bytes.Buffer
	printSyncStatus(&Env{Stdout: &out}, st)
	r.text = out.String()
	out.Reset()
	if err := writeJSON(&out, syncStatusWire(st)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.Bytes(), &r.json); err != nil {
		t.Fatal(err)
	}
	r.doctor = statusChecks(st, st.Readiness.State == readiness.HostUnreachable)

	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "kitty-specs"), 0o755); err != nil {
		t.Fatal(err)
	}
	const addr = "127.0.0.1:1"
	srv, err := dashboard.New(dashboard.Config{Repo: repo, Addr: addr,
		Getenv:   func(k string) string { return map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}[k] },
		Launcher: noLauncher{}, Status: func(context.Context) status.Status { return st }, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path string) []byte {
		req := httptest.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	if err := json.Unmarshal(get("/api/sync/status"), &r.dash); err != nil {
		t.Fatal(err)
	}
	r.panel = string(get("/"))

	r.tray = tray.Build(tray.Input{Status: st, Errors: tray.Track(tray.ErrorTrack{}, st.Daemon, now), Now: now})
	return r
}

type noLauncher struct{}

func (noLauncher) EnsureRunning(context.Context, policy.Intent) policy.Outcome {
	return policy.Outcome{SkippedReason: policy.ReasonLocalOnly}
}

// leafFields lists the dotted paths of t's leaf fields: structs of this
// module are entered; times, slices, maps and errors are leaves.
func leafFields(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		p := prefix + f.Name
		ft := f.Type
		if ft.Kind() == reflect.Struct && strings.HasPrefix(ft.PkgPath(), "github.com/spec-kitty/") {
			out = append(out, leafFields(ft, p+".")...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// Helpers of the checks.

func contains(s, sub string) error {
	if !strings.Contains(s, sub) {
		return fmt.Errorf("lacks %q", sub)
	}
	return nil
}

// listed checks that text has the line head and a line per item.
func listed[T any](text, head string, items []T, line func(T) string) error {
	if err := contains(text, head); err != nil {
		return err
	}
	for _, it := range items {
		if err := contains(text, line(it)); err != nil {
			return err
		}
	}
	return nil
}

// jlist checks the JSON count at countKey and the list at key against
// want, entry by entry.
func jlist[T any](m map[string]any, countKey, key string, count int, want []T, same func(map[string]any, T) bool) error {
	if err := jeq(m, countKey, count); err != nil {
		return err
	}
	got, _ := jpath(m, key).([]any)
	if len(got) != len(want) {
		return fmt.Errorf("%d %s, want %d", len(got), key, len(want))
	}
	for i, w := range want {
		if e, _ := got[i].(map[string]any); !same(e, w) {
			return fmt.Errorf("%s[%d] = %v, want %+v", key, i, got[i], w)
		}
	}
	return nil
}

func lacks(s, sub string) error {
	if strings.Contains(s, sub) {
		return fmt.Errorf("shows %q", sub)
	}
	return nil
}

func jpath(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// jeq compares a JSON value with want (numbers as float64, times as RFC 3339).
func jeq(m map[string]any, path string, want any) error {
	got := jpath(m, path)
	switch w := want.(type) {
	case int:
		want = float64(w)
	case int64:
		want = float64(w)
	case time.Time:
		if w.IsZero() {
			want = nil
		} else {
			g, _ := got.(string)
			if pt, err := time.Parse(time.RFC3339Nano, g); err == nil && pt.Equal(w) {
				return nil
			}
			want = w.Format(time.RFC3339)
		}
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s = %#v, want %#v", path, got, want)
	}
	return nil
}

// jeqs is jeq for each path and value of pairs.
func jeqs(m map[string]any, pairs ...any) error {
	var errs []error
	for i := 0; i+1 < len(pairs); i += 2 {
		errs = append(errs, jeq(m, pairs[i].(string), pairs[i+1]))
	}
	return errors.Join(errs...)
}

// field is the text of the panel's data-field k.
func field(panel, k string) string {
	const open = `data-field="`
	i := strings.Index(panel, open+k+`">`)
	if i < 0 {
		return "<absent>"
	}
	rest := panel[i+len(open)+len(k)+2:]
	return html.UnescapeString(rest[:strings.IndexByte(rest, '<')])
}

// display checks the dashboard's wording of k, in the JSON and on the page.
func display(r *renders, k, want string) error {
	if err := jeq(r.dash, "display."+k, want); err != nil {
		return err
	}
	if got := field(r.panel, k); got != want {
		return fmt.Errorf("panel %s = %q, want %q", k, got, want)
	}
	return nil
}

func doctorLine(r *renders, name string) (doctorCheck, error) {
	for _, c := range r.doctor {
		if c.Name == name {
			return c, nil
		}
	}
	return doctorCheck{}, fmt.Errorf("no %s line in %+v", name, r.doctor)
}

func plainPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// trayUrgent reports whether the tray's status line names something more
// urgent than the fact at hand (so it does not show it in this state).
func trayUrgent(st status.Status) bool {
	return !st.Gate || st.ConfigErr != "" || !st.Readiness.OK() || st.Daemon.WaitingForLogin() || st.Daemon.Failing()
}

func stamp(t time.Time) string { return t.Local().Format(time.RFC3339) }

func statusFacts() []fact {
	na := errNotApplicable
	return []fact{
		{
			name: "gate", fields: []string{"Gate"},
			shown: frontEndNotes{feTray: func(r *renders) error {
				if r.st.Gate {
					return lacks(r.tray.Tooltip, "hosted sync not enabled")
				}
				return contains(r.tray.Tooltip, "hosted sync not enabled")
			}},
			hidden: map[string]string{feText: "the command exists only with the gate on", feJSON: "the command exists only with the gate on",
				feDoctor: "doctor's gate line comes before the model, from the environment", feDash: "the panel is served only with the gate on"},
		},
		{
			name: "policy", fields: []string{"Policy"},
			shown: frontEndNotes{
				feText: func(r *renders) error { return contains(r.text, "policy:        "+string(r.st.Policy)+"\n") },
				feJSON: func(r *renders) error { return jeq(r.json, "policy", string(r.st.Policy)) },
				feDoctor: func(r *renders) error {
					if r.st.Daemon.Running || r.st.Daemon.Err != "" || r.st.ConfigErr != "" {
						return na
					}
					c, err := doctorLine(r, "daemon")
					if err != nil {
						return err
					}
					return contains(c.Message, "(policy "+string(r.st.Policy)+")")
				},
				feDash: func(r *renders) error {
					if r.st.ConfigErr != "" {
						return na
					}
					if err := jeq(r.dash, "policy", string(r.st.Policy)); err != nil {
						return err
					}
					return display(r, "policy", string(r.st.Policy))
				},
				feTray: func(r *renders) error {
					if !r.st.Gate || r.st.ConfigErr != "" {
						return na
					}
					if got := r.tray.Item(tray.ItemAutoSync).Checked; got != r.st.Policy.Background() {
						return fmt.Errorf("automatic sync checked %v under %s", got, r.st.Policy)
					}
					return nil
				},
			},
		},
		{
			name: "config error", fields: []string{"ConfigErr"},
			shown: frontEndNotes{
				feDash: func(r *renders) error {
					if r.st.ConfigErr == "" {
						return na
					}
					return display(r, "policy", "unreadable: "+r.st.ConfigErr)
				},
				feTray: func(r *renders) error {
					if r.st.ConfigErr == "" || !r.st.Gate {
						return na
					}
					return contains(r.tray.StatusLine, r.st.ConfigErr)
				},
				feDoctor: func(r *renders) error {
					if r.st.ConfigErr == "" {
						return na
					}
					// Doctor's config line says it; the daemon line needs the policy.
					if _, err := doctorLine(r, "daemon"); err == nil && !r.st.Daemon.Running && r.st.Daemon.Err == "" {
						return errors.New("a stopped daemon's line names a policy that could not be read")
					}
					return nil
				},
			},
			hidden: map[string]string{feText: "an unreadable config fails the command before the model is built",
				feJSON: "an unreadable config fails the command before the model is built"},
		},
		{
			name: "readiness", fields: []string{"Readiness.State", "Readiness.Message", "Readiness.NextAction"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					if r.st.Readiness.OK() {
						return contains(r.text, "readiness:     ready\n")
					}
					return contains(r.text, "readiness:     "+r.st.Readiness.Message+" "+r.st.Readiness.NextAction+"\n")
				},
				feJSON: func(r *renders) error {
					for k, v := range map[string]string{"state": string(r.st.Readiness.State), "message": r.st.Readiness.Message, "next_action": r.st.Readiness.NextAction} {
						if v == "" {
							continue
						}
						if err := jeq(r.json, "readiness."+k, v); err != nil {
							return err
						}
					}
					return nil
				},
				feDoctor: func(r *renders) error {
					c, err := doctorLine(r, "readiness")
					if err != nil {
						return err
					}
					if r.st.Readiness.OK() {
						return contains(c.Message, "ready")
					}
					if c.Hint != r.st.Readiness.NextAction {
						return fmt.Errorf("hint %q, want %q", c.Hint, r.st.Readiness.NextAction)
					}
					return contains(c.Message, r.st.Readiness.Message)
				},
				feDash: func(r *renders) error {
					if err := jeq(r.dash, "readiness.state", string(r.st.Readiness.State)); err != nil {
						return err
					}
					if r.st.Readiness.OK() {
						return display(r, "readiness", "Ready")
					}
					if err := display(r, "readiness", r.st.Readiness.Message); err != nil {
						return err
					}
					return display(r, "readiness_action", r.st.Readiness.NextAction)
				},
				feTray: func(r *renders) error {
					if !r.st.Gate || r.st.ConfigErr != "" {
						return na
					}
					if r.st.Readiness.OK() {
						if r.st.Daemon.WaitingForLogin() {
							return na // the daemon's refused session, a fact of its own
						}
						return lacks(r.tray.Tooltip, "needs attention. Run")
					}
					if err := contains(r.tray.StatusLine, r.st.Readiness.Message); err != nil {
						return err
					}
					return contains(r.tray.Tooltip, r.st.Readiness.NextAction)
				},
			},
		},
		{
			name: "readiness details", fields: []string{"Readiness.Details"},
			shown: frontEndNotes{
				feJSON: func(r *renders) error {
					if len(r.st.Readiness.Details) == 0 {
						return na
					}
					return jeq(r.json, "readiness.details.error", r.st.Readiness.Details["error"])
				},
				feDoctor: func(r *renders) error {
					if r.st.Readiness.State != readiness.HostUnreachable {
						return na
					}
					c, _ := doctorLine(r, "readiness")
					return contains(c.Message, r.st.Readiness.Details["error"])
				},
				feDash: func(r *renders) error {
					if len(r.st.Readiness.Details) == 0 {
						return na
					}
					return jeq(r.dash, "readiness.details.error", r.st.Readiness.Details["error"])
				},
			},
			hidden: map[string]string{feText: "one line per fact: the message and next step say it", feTray: "the menu has room for the message only"},
		},
		{
			name: "daemon running, pid", fields: []string{"Daemon.Running", "Daemon.State.PID"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					if r.st.Daemon.Running {
						return contains(r.text, fmt.Sprintf("daemon:        running (pid %d)\n", r.st.Daemon.State.PID))
					}
					return contains(r.text, "daemon:        stopped\n")
				},
				feJSON: func(r *renders) error {
					if err := jeq(r.json, "daemon.running", r.st.Daemon.Running); err != nil {
						return err
					}
					if r.st.Daemon.Running {
						return jeq(r.json, "daemon.pid", r.st.Daemon.State.PID)
					}
					return jeq(r.json, "daemon.pid", nil)
				},
				feDoctor: func(r *renders) error {
					c, err := doctorLine(r, "daemon")
					if r.st.Daemon.Running {
						if err != nil {
							return err
						}
						return contains(c.Message, fmt.Sprintf("running (pid %d)", r.st.Daemon.State.PID))
					}
					if err == nil {
						return lacks(c.Message, "running (pid")
					}
					return nil
				},
				feDash: func(r *renders) error {
					if err := jeq(r.dash, "daemon.state", string(r.st.Mode())); err != nil {
						return err
					}
					if r.st.Daemon.Running {
						return display(r, "pid", strconv.Itoa(r.st.Daemon.State.PID))
					}
					return display(r, "pid", "—")
				},
				feTray: func(r *renders) error {
					if trayUrgent(r.st) || r.st.Queue.DeadLetters > 0 || !r.st.Policy.Background() {
						return na
					}
					if (r.tray.Look == tray.Stopped) == r.st.Daemon.Running {
						return fmt.Errorf("look %s with the daemon running %v", r.tray.Look, r.st.Daemon.Running)
					}
					return nil
				},
			},
		},
		{
			name: "daemon started at", fields: []string{"Daemon.State.StartedAt"},
			shown: frontEndNotes{
				feJSON: func(r *renders) error {
					if !r.st.Daemon.Running {
						return na
					}
					return jeq(r.json, "daemon.started_at", r.st.Daemon.State.StartedAt)
				},
				feDash: func(r *renders) error {
					if !r.st.Daemon.Running {
						return na
					}
					return jeq(r.dash, "daemon.started_at", r.st.Daemon.State.StartedAt)
				},
			},
			hidden: map[string]string{feText: "the last sync says more", feDoctor: "the last sync says more", feTray: "the last sync says more"},
		},
		{
			name:   "daemon bookkeeping",
			fields: []string{"Daemon.State.Version", "Daemon.State.Socket", "Daemon.State.Policy"},
			shown:  frontEndNotes{},
			hidden: map[string]string{feText: "internal to the daemon and its clients", feJSON: "internal", feDoctor: "internal", feDash: "internal", feTray: "internal"},
		},
		{
			name: "daemon host", fields: []string{"Daemon.State.Host"},
			shown: frontEndNotes{
				feDash: func(r *renders) error {
					if r.st.Daemon.State.LastErrorState != string(readiness.HostUnreachable) {
						return na
					}
					return contains(jpath(r.dash, "display.last_error").(string), r.st.Daemon.State.Host)
				},
				feTray: func(r *renders) error {
					if r.st.Daemon.State.LastErrorState != string(readiness.HostUnreachable) || !r.st.Daemon.Failing() || !r.st.Readiness.OK() {
						return na
					}
					return contains(r.tray.Tooltip, r.st.Daemon.State.Host)
				},
			},
			hidden: map[string]string{feText: "the readiness line names the host when it matters", feJSON: "the readiness names the host when it matters",
				feDoctor: "doctor's host line comes from the configuration"},
		},
		{
			name: "last sync", fields: []string{"Daemon.State.LastSyncAt", "LastSync.At", "LastSync.Synced"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					d := r.st.Daemon.State
					if r.st.Daemon.Running && !d.LastSyncAt.IsZero() {
						if err := contains(r.text, "last sync:     "+stamp(d.LastSyncAt)+"\n"); err != nil {
							return err
						}
					}
					if r.st.OneShotNewer() {
						return contains(r.text, fmt.Sprintf("last sync run: %s (%d events)\n", stamp(r.st.LastSync.At), r.st.LastSync.Synced))
					}
					return lacks(r.text, "last sync run:")
				},
				feJSON: func(r *renders) error {
					if r.st.Daemon.Running {
						if err := jeq(r.json, "daemon.last_sync_at", r.st.Daemon.State.LastSyncAt); err != nil {
							return err
						}
					}
					if r.st.LastSync.At.IsZero() {
						return jeq(r.json, "last_one_shot_sync", nil)
					}
					if err := jeq(r.json, "last_one_shot_sync.at", r.st.LastSync.At); err != nil {
						return err
					}
					return jeq(r.json, "last_one_shot_sync.synced", r.st.LastSync.Synced)
				},
				feDoctor: func(r *renders) error {
					if !r.st.Daemon.Running || r.st.Daemon.State.LastSyncAt.IsZero() {
						return na
					}
					c, err := doctorLine(r, "daemon")
					if err != nil {
						return err
					}
					return contains(c.Message, "last sync "+stamp(r.st.Daemon.State.LastSyncAt))
				},
				feDash: func(r *renders) error {
					want := "—"
					if at := r.st.LastSyncAt(); !at.IsZero() {
						want = at.UTC().Format("2006-01-02 15:04 UTC")
					}
					if err := jeq(r.dash, "last_one_shot_sync_at", r.st.LastSync.At); err != nil {
						return err
					}
					return display(r, "last_sync", want)
				},
				feTray: func(r *renders) error {
					if trayUrgent(r.st) || r.st.Queue.DeadLetters > 0 || (r.st.Policy.Background() && !r.st.Daemon.Running) {
						return na
					}
					at := r.st.LastSyncAt()
					if at.IsZero() {
						return lacks(strings.ToLower(r.tray.StatusLine), "synced ")
					}
					return contains(strings.ToLower(r.tray.StatusLine), fmt.Sprintf("synced %d min ago", int(r.now.Sub(at)/time.Minute)))
				},
			},
		},
		{
			name:   "last one-shot sync by",
			fields: []string{"LastSync.By"},
			shown: frontEndNotes{feJSON: func(r *renders) error {
				if r.st.LastSync.At.IsZero() {
					return na
				}
				return jeq(r.json, "last_one_shot_sync.by", r.st.LastSync.By)
			}},
			hidden: map[string]string{feText: "\"last sync run\" says it", feDoctor: "the daemon line is about the daemon",
				feDash: "\"last sync\" is the later of both", feTray: "\"Synced N min ago\" is the later of both"},
		},
		{
			name: "daemon last error", fields: []string{"Daemon.State.LastError", "Daemon.State.LastErrorAt", "Daemon.State.LastErrorState",
				"Daemon.State.LastErrorStatus", "Daemon.State.ConsecutiveFailures"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					d := r.st.Daemon.State
					if !r.st.Daemon.Running || d.LastError == "" {
						return lacks(r.text, "last error:")
					}
					return contains(r.text, fmt.Sprintf("last error:    %s (%d consecutive failures)\n", d.LastError, d.ConsecutiveFailures))
				},
				feJSON: func(r *renders) error {
					if !r.st.Daemon.Running {
						return na
					}
					if err := jeq(r.json, "daemon.consecutive_failures", r.st.Daemon.State.ConsecutiveFailures); err != nil {
						return err
					}
					if r.st.Daemon.State.LastError == "" {
						return jeq(r.json, "daemon.last_error", nil)
					}
					return jeq(r.json, "daemon.last_error", r.st.Daemon.State.LastError)
				},
				feDoctor: func(r *renders) error {
					if !r.st.Daemon.Running || r.st.Daemon.State.LastError == "" {
						return na
					}
					c, _ := doctorLine(r, "daemon")
					if c.Status != checkWarn {
						return fmt.Errorf("daemon line %s, want warn", c.Status)
					}
					return contains(c.Message, "last error: "+r.st.Daemon.State.LastError)
				},
				feDash: func(r *renders) error {
					d := r.st.Daemon.State
					if err := display(r, "failures", strconv.Itoa(d.ConsecutiveFailures)); err != nil {
						return err
					}
					if d.LastError == "" {
						return display(r, "last_error", "none")
					}
					msg, next := d.ErrorWording()
					if err := jeq(r.dash, "daemon.last_error_message", msg); err != nil {
						return err
					}
					return display(r, "last_error", msg+" "+next+" ("+d.LastErrorAt.UTC().Format("2006-01-02 15:04 UTC")+")")
				},
				feTray: func(r *renders) error {
					if !r.st.Daemon.Failing() || !r.st.Readiness.OK() || r.st.ConfigErr != "" || r.st.Daemon.WaitingForLogin() {
						return na
					}
					msg, _ := r.st.Daemon.State.ErrorWording()
					if r.tray.Look != tray.Error {
						return fmt.Errorf("look %s, want error", r.tray.Look)
					}
					return contains(r.tray.StatusLine, msg)
				},
			},
		},
		{
			name: "delivered", fields: []string{"Daemon.State.Delivered"},
			shown: frontEndNotes{feDash: func(r *renders) error {
				if !r.st.Daemon.Running {
					return display(r, "delivered", "—")
				}
				return display(r, "delivered", plainPlural(int(r.st.Daemon.State.Delivered), "event", "events")+" since the daemon started")
			}},
			hidden: map[string]string{feText: "a count since an arbitrary start; the queue figures matter", feJSON: "as the text",
				feDoctor: "as the text", feTray: "as the text"},
		},
		{
			name: "waiting for login", fields: []string{"Daemon.State.AuthMissing"},
			shown: frontEndNotes{
				feDash: func(r *renders) error {
					if !r.st.Daemon.WaitingForLogin() {
						return na
					}
					return display(r, "daemon", "running, waiting for `spec-kitty auth login`")
				},
				feTray: func(r *renders) error {
					if !r.st.Daemon.WaitingForLogin() || !r.st.Readiness.OK() {
						return na
					}
					if !r.tray.Item(tray.ItemLogin).Visible {
						return errors.New("no Log in item")
					}
					return nil
				},
			},
			hidden: map[string]string{feText: "the readiness line says what to run", feJSON: "the daemon's own flag, in its local API",
				feDoctor: "the readiness line says what to run"},
		},
		{
			name: "daemon's own queue figures", fields: []string{"Daemon.State.QueueDepth", "Daemon.State.DeadLetters"},
			shown: frontEndNotes{},
			hidden: map[string]string{feText: "the queue figures come from queue.db", feJSON: "as the text", feDoctor: "as the text", feDash: "as the text",
				feTray: "shown as the queue figures (status.FromDaemon)"},
		},
		{
			name: "daemon state unreadable", fields: []string{"Daemon.Err"},
			shown: frontEndNotes{
				feDoctor: func(r *renders) error {
					if r.st.Daemon.Err == "" {
						return na
					}
					c, err := doctorLine(r, "daemon")
					if err != nil {
						return err
					}
					return contains(c.Message, r.st.Daemon.Err)
				},
				feDash: func(r *renders) error {
					if r.st.Daemon.Err == "" {
						return na
					}
					return jeq(r.dash, "daemon.error", r.st.Daemon.Err)
				},
			},
			hidden: map[string]string{feText: "an unreadable state file fails the command", feJSON: "an unreadable state file fails the command",
				feTray: "logged once; the daemon counts as stopped"},
		},
		{
			name: "queue depth", fields: []string{"Queue.Depth", "Queue.Present"},
			shown: frontEndNotes{
				feText: func(r *renders) error { return contains(r.text, fmt.Sprintf("queued:        %d", r.st.Queue.Depth)) },
				feJSON: func(r *renders) error { return jeq(r.json, "queue_depth", r.st.Queue.Depth) },
				feDoctor: func(r *renders) error {
					c, err := doctorLine(r, "queue")
					if err != nil || r.st.Queue.Err != nil {
						return err
					}
					if !r.st.Queue.Present {
						return contains(c.Message, "no queue yet")
					}
					return contains(c.Message, fmt.Sprintf("%d queued", r.st.Queue.Depth))
				},
				feDash: func(r *renders) error {
					if r.st.Queue.Err != nil {
						return na
					}
					if err := jeqs(r.dash, "queue.depth", r.st.Queue.Depth, "queue.present", r.st.Queue.Present); err != nil {
						return err
					}
					if !r.st.Queue.Present {
						return display(r, "queue_depth", "empty (no queue yet)")
					}
					return contains(field(r.panel, "queue_depth"), plainPlural(r.st.Queue.Depth, "event", "events")+" waiting")
				},
				feTray: func(r *renders) error {
					if !r.st.Gate {
						return na
					}
					if r.st.Queue.Depth == 0 {
						return lacks(r.tray.Tooltip, "queued")
					}
					return contains(r.tray.Tooltip, "("+plainPlural(r.st.Queue.Depth, "event", "events")+" queued)")
				},
			},
		},
		{
			name: "retrying", fields: []string{"Queue.Retried", "Queue.NextAttemptAt"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					if r.st.Queue.Retried == 0 {
						return lacks(r.text, "retrying")
					}
					return contains(r.text, fmt.Sprintf("(%d retrying, next attempt %s)", r.st.Queue.Retried, stamp(r.st.Queue.NextAttemptAt)))
				},
				feJSON: func(r *renders) error {
					if err := jeq(r.json, "retried", r.st.Queue.Retried); err != nil {
						return err
					}
					return jeq(r.json, "next_attempt_at", r.st.Queue.NextAttemptAt)
				},
				feDash: func(r *renders) error {
					if r.st.Queue.Retried == 0 {
						return na
					}
					if err := jeq(r.dash, "queue.retrying", r.st.Queue.Retried); err != nil {
						return err
					}
					return contains(field(r.panel, "queue_depth"), fmt.Sprintf("(%d retrying)", r.st.Queue.Retried))
				},
			},
			hidden: map[string]string{feDoctor: "sync status has the detail; doctor says what to fix", feTray: "retries are automatic: nothing to do"},
		},
		{
			name: "oldest age", fields: []string{"Queue.OldestAge"},
			shown: frontEndNotes{feJSON: func(r *renders) error {
				if r.st.Queue.OldestAge == 0 {
					return jeq(r.json, "oldest_age", nil)
				}
				return jeq(r.json, "oldest_age", r.st.Queue.OldestAge.Round(time.Second).String())
			}},
			hidden: map[string]string{feText: "for scripts", feDoctor: "for scripts", feDash: "for scripts", feTray: "for scripts"},
		},
		{
			name: "queue's last error", fields: []string{"Queue.LastError"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					if r.st.Queue.LastError == "" {
						return lacks(r.text, "queue error:")
					}
					return contains(r.text, "queue error:   "+r.st.Queue.LastError+"\n")
				},
				feJSON: func(r *renders) error {
					if r.st.Queue.LastError == "" {
						return jeq(r.json, "last_error", nil)
					}
					return jeq(r.json, "last_error", r.st.Queue.LastError)
				},
				feDash: func(r *renders) error {
					if r.st.Queue.LastError == "" {
						return na
					}
					return jeq(r.dash, "queue.last_error", r.st.Queue.LastError)
				},
			},
			hidden: map[string]string{feDoctor: "the daemon line has the last error", feTray: "the daemon's failing look has it"},
		},
		{
			name: "dead letters", fields: []string{"Queue.DeadLetters", "Queue.Dead"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					return listed(r.text, fmt.Sprintf("dead letters:  %d\n", r.st.Queue.DeadLetters), r.st.Queue.Dead,
						func(d status.DeadLetter) string { return fmt.Sprintf("  %s %s: %s\n", d.EventID, d.Type, d.Reason) })
				},
				feJSON: func(r *renders) error {
					return jlist(r.json, "dead_letters", "dead_letter_events", r.st.Queue.DeadLetters, r.st.Queue.Dead, func(e map[string]any, d status.DeadLetter) bool {
						return e["event_id"] == d.EventID && e["event_type"] == d.Type && e["reason"] == d.Reason
					})
				},
				feDoctor: func(r *renders) error {
					if r.st.Queue.DeadLetters == 0 || r.st.Queue.Err != nil {
						return na
					}
					c, _ := doctorLine(r, "queue")
					return contains(c.Message, fmt.Sprintf("%d dead letters", r.st.Queue.DeadLetters))
				},
				feDash: func(r *renders) error {
					if r.st.Queue.Err != nil {
						return na
					}
					return errors.Join(jeq(r.dash, "queue.dead_letters", r.st.Queue.DeadLetters),
						display(r, "dead_letters", strconv.Itoa(r.st.Queue.DeadLetters)))
				},
				feTray: func(r *renders) error {
					if trayUrgent(r.st) {
						return na
					}
					if r.st.Queue.DeadLetters == 0 {
						return lacks(r.tray.StatusLine, "rejected")
					}
					return contains(r.tray.StatusLine, plainPlural(r.st.Queue.DeadLetters, "event", "events")+" rejected by the host")
				},
			},
		},
		{
			name: "python queue", fields: []string{"Queue.Unmigrated"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					if !r.st.Queue.Unmigrated {
						return lacks(r.text, status.UnmigratedNote)
					}
					return contains(r.text, status.UnmigratedNote)
				},
				feJSON: func(r *renders) error {
					if !r.st.Queue.Unmigrated {
						return jeq(r.json, "queue_unmigrated", nil)
					}
					return jeq(r.json, "queue_unmigrated", true)
				},
				feDoctor: func(r *renders) error {
					if !r.st.Queue.Unmigrated {
						return na
					}
					c, _ := doctorLine(r, "queue")
					return contains(c.Message, status.UnmigratedNote)
				},
			},
			hidden: map[string]string{feDash: "nothing to do: the next sync upgrades it", feTray: "nothing to do: the next sync upgrades it"},
		},
		{
			name: "malformed lines", fields: []string{"Queue.Malformed", "Queue.Files"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					return listed(r.text, fmt.Sprintf("malformed:     %d lines skipped\n", r.st.Queue.Malformed), r.st.Queue.Files,
						func(f status.MalformedFile) string {
							return fmt.Sprintf("  %s: %d (%s)\n", f.Path, f.Malformed, f.LastError)
						})
				},
				feJSON: func(r *renders) error {
					return jlist(r.json, "malformed_lines", "files_with_malformed_lines", r.st.Queue.Malformed, r.st.Queue.Files, func(e map[string]any, f status.MalformedFile) bool {
						return e["path"] == f.Path && e["malformed"] == float64(f.Malformed) && e["last_error"] == f.LastError
					})
				},
				feDoctor: func(r *renders) error {
					if !r.st.Queue.Present || r.st.Queue.Err != nil || r.st.Queue.Unmigrated {
						return na
					}
					c, _ := doctorLine(r, "queue")
					return contains(c.Message, fmt.Sprintf("%d malformed lines skipped", r.st.Queue.Malformed))
				},
			},
			hidden: map[string]string{feDash: "the mission pages show each repository's malformed lines",
				feTray: "the tray has one status line; sync status lists them"},
		},
		{
			name: "repo warnings", fields: []string{"Queue.RepoWarnings"},
			shown: frontEndNotes{
				feText: func(r *renders) error {
					for _, w := range r.st.Queue.RepoWarnings {
						if err := contains(r.text, "repo warning:  "+w+"\n"); err != nil {
							return err
						}
					}
					return nil
				},
				feJSON: func(r *renders) error {
					ws, _ := jpath(r.json, "repo_warnings").([]any)
					var got []string
					for _, w := range ws {
						got = append(got, w.(string))
					}
					if !slices.Equal(got, r.st.Queue.RepoWarnings) {
						return fmt.Errorf("repo_warnings %q, want %q", got, r.st.Queue.RepoWarnings)
					}
					return nil
				},
				feDoctor: func(r *renders) error {
					var got []string
					for _, c := range r.doctor {
						if c.Name == "repo" {
							got = append(got, c.Message)
						}
					}
					if !slices.Equal(got, r.st.Queue.RepoWarnings) {
						return fmt.Errorf("repo lines %q, want %q", got, r.st.Queue.RepoWarnings)
					}
					return nil
				},
			},
			hidden: map[string]string{feDash: "the panel is about this repository", feTray: "the tray has one status line; sync status lists them"},
		},
		{
			name: "queue unreadable", fields: []string{"Queue.Err"},
			shown: frontEndNotes{
				feDoctor: func(r *renders) error {
					if r.st.Queue.Err == nil {
						return na
					}
					c, err := doctorLine(r, "queue")
					if err != nil {
						return err
					}
					if c.Status != checkFail {
						return fmt.Errorf("queue line %s, want fail", c.Status)
					}
					return contains(c.Message, r.st.Queue.Err.Error())
				},
				feDash: func(r *renders) error {
					if r.st.Queue.Err == nil {
						return na
					}
					if err := jeq(r.dash, "queue.error", r.st.Queue.Err.Error()); err != nil {
						return err
					}
					return display(r, "queue_depth", "unreadable: "+r.st.Queue.Err.Error())
				},
			},
			hidden: map[string]string{feText: "an unreadable queue fails the command", feJSON: "an unreadable queue fails the command",
				feTray: "the tray never reads the queue"},
		},
		{
			name: "checked at", fields: []string{"CheckedAt"},
			shown: frontEndNotes{feDash: func(r *renders) error { return jeq(r.dash, "checked_at", r.st.CheckedAt) }},
			hidden: map[string]string{feText: "printed at once", feJSON: "printed at once", feDoctor: "printed at once",
				feTray: "the tray keeps its own clock"},
		},
	}
}
