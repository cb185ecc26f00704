package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

const statusLong = `Status shows the missions under kitty-specs/ and where their work packages
stand, read from each mission's status.events.jsonl: one row per mission with
the number of WPs in each lane and the time of its last recorded activity,
most recent first. With --mission it shows one mission in detail: every WP,
its lane, who moved it last and when.

A WP's lane is that of its last lane transition, in the order of the lines'
"at" times (as the Python spec-kitty CLI reads the file). Lines that are not a
JSON object are skipped and counted in a warning on stderr; --mission lists
them with their line numbers. Status only reads files in the repository: it
never touches the network or the state home. It reads only regular files
inside the repository's own kitty-specs/ (a symlink leading elsewhere, a FIFO
or a device is skipped with a warning), streams the events files, and
replaces control characters in what it prints (--json output stays exact).

On a terminal the table fits its width (lanes no mission uses are left out,
then headers are abbreviated, then the narrow layout shows mission, WPs, done
and the last active date, with long names shortened) and output longer than
the screen goes through $PAGER (less when PAGER is unset; PAGER=cat turns it
off). Piped, it is the full table, unpaged.

The repository is $SPECIFY_REPO_ROOT, else the first directory at or above
the working directory holding .kittify/ or kitty-specs/ (from a git worktree:
the main checkout).

--json prints an object with fields (only ever added to):
  repo               the repository root
  missions           list of missions, most recent activity first, each with:
    mission            directory name under kitty-specs/
    title              friendly name from meta.json (else the directory name)
    mission_id, mission_number, mission_type, created_at   from meta.json ("" if absent)
    wp_count           number of WPs
    lanes              WPs per lane: all nine lanes, plus any unknown lane met
    last_activity      RFC 3339 UTC time of the latest record, or null
    lines, transitions, duplicate_lines, other_lines, malformed_lines
                       counters of status.events.jsonl (other: records
                       without a lane meaning, e.g. lifecycle events)
  malformed_lines    total malformed lines
With --mission the object is that one mission, plus:
    events_file        path of status.events.jsonl
    work_packages      list of {wp_id, lane, actor, at, event_id, line}
    malformed          the first malformed lines: {line, error}`

func newStatusCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty status [--mission M] [--json]",
		Short:     "show missions and their work package lanes",
		Long:      statusLong,
		Commands:  []*Command{newStatusEmitCmd(env)},
	}
	name := c.Flags().String("mission", "", "show this mission in detail")
	asJSON := c.Flags().Bool("json", false, "print JSON (fields listed above)")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", args[0])
		}
		repo, err := findRepo(env)
		if err != nil {
			return err
		}
		if env.StdoutTTY && !*asJSON {
			// A terminal: fit the width, and page what is longer than
			// the screen.
			cols, rows, ok := size(env.StdoutSize)
			if !ok {
				cols, rows = 80, 24
			}
			var buf bytes.Buffer
			if *name != "" {
				err = statusOne(ctx, env, &buf, repo, *name, false)
			} else {
				err = statusAll(ctx, env, &buf, repo, false, cols)
			}
			if perr := page(ctx, env, buf.Bytes(), rows); err == nil {
				err = perr
			}
			return err
		}
		out := bufio.NewWriterSize(env.Stdout, 64<<10)
		if *name != "" {
			err = statusOne(ctx, env, out, repo, *name, *asJSON)
		} else {
			err = statusAll(ctx, env, out, repo, *asJSON, 0)
		}
		if ferr := out.Flush(); err == nil {
			err = ferr
		}
		return err
	}
	return c
}

// findRepo locates the repository or fails with the contract's wording.
func findRepo(env *Env) (string, error) {
	repo, err := mission.FindRepo(env.Dir, env.Getenv)
	if err != nil {
		return "", failf("%s", err)
	}
	return repo, nil
}

// noMissionsHint is the next step in a repository without missions: this
// binary reads and moves work packages, the Python spec-kitty CLI creates
// missions.
const noMissionsHint = "create a mission with the Python spec-kitty CLI (`spec-kitty specify`, or `spec-kitty agent` from your coding agent)"

// hasMissionDirs reports whether specsDir holds at least one directory.
func hasMissionDirs(specsDir string) bool {
	entries, err := os.ReadDir(specsDir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

// missionError turns a core/mission error into the CLI's error.
func missionError(err error) error {
	var unknown *mission.UnknownMissionError
	var badName *mission.InvalidNameError
	var badLane *mission.InvalidLaneError
	var badWP *mission.InvalidWPError
	switch {
	case errors.As(err, &unknown):
		if !hasMissionDirs(unknown.SpecsDir) {
			return withHint(failf("%s", err), noMissionsHint)
		}
		return withHint(failf("%s", err), "run 'spec-kitty status' to list the missions")
	case errors.As(err, &badName), errors.As(err, &badLane), errors.As(err, &badWP), errors.Is(err, mission.ErrForceWithoutReason):
		return usagef("%s", err)
	}
	var move *mission.TransitionError
	if errors.As(err, &move) {
		return withHint(failf("%s", err), "see 'spec-kitty help status emit' for what each move needs (--force with --reason, --evidence-json, --review-ref)")
	}
	return failf("%s", err)
}

func statusAll(ctx context.Context, env *Env, out io.Writer, repo string, asJSON bool, width int) error {
	ms, err := mission.ReadAll(ctx, repo)
	if err != nil {
		return failf("%s", err)
	}
	slices.SortStableFunc(ms, func(a, b *mission.Mission) int {
		if c := b.LastActivity.Compare(a.LastActivity); c != 0 {
			return c
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	warnFileProblems(env.Stderr, repo, ms)
	var malformed int
	var affected []string
	for _, m := range ms {
		if m.Stats.Malformed > 0 {
			malformed += m.Stats.Malformed
			affected = append(affected, m.Slug)
		}
	}
	if asJSON {
		v := statusListJSON{Repo: repo, Missions: make([]missionJSON, 0, len(ms)), Malformed: malformed}
		for _, m := range ms {
			v.Missions = append(v.Missions, toMissionJSON(m))
		}
		if err := writeJSON(out, v); err != nil {
			return err
		}
	} else {
		writeStatusFitted(out, ms, width, ellipsisFor(env.Getenv))
		if len(ms) == 0 {
			fmt.Fprintf(env.Stderr, "spec-kitty: no missions in %s\n", term.Sanitize(mission.SpecsDir(repo)))
			fmt.Fprintf(env.Stderr, "spec-kitty: hint: %s\n", noMissionsHint)
		}
	}
	if malformed > 0 {
		slices.Sort(affected)
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s skipped in %s (run with --mission %s)\n",
			plural(malformed, "malformed line", "malformed lines"), plural(len(affected), "mission", "missions"),
			term.Sanitize(affectedHint(affected)))
	}
	return nil
}

// affectedHint names the mission to look at: "NAME for details" for the only
// one, else "M for details" and the first few names.
func affectedHint(names []string) string {
	if len(names) == 1 {
		return names[0] + " for details"
	}
	const show = 3
	s := "M for details; missions: " + strings.Join(names[:min(show, len(names))], ", ")
	if len(names) > show {
		s += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// warnFileProblems reports meta.json and events files that could not be read
// (at most a few, then a count).
func warnFileProblems(w io.Writer, repo string, ms []*mission.Mission) {
	const show = 5
	n := 0
	for _, m := range ms {
		for _, err := range []error{m.MetaErr, m.EventsErr} {
			if err == nil {
				continue
			}
			if n < show {
				fmt.Fprintf(w, "spec-kitty: warning: %s\n", term.Lines(relErr(repo, err)))
			}
			n++
		}
	}
	if n > show {
		fmt.Fprintf(w, "spec-kitty: warning: %d more unreadable mission files\n", n-show)
	}
}

// relErr shortens absolute paths under repo in an error message.
func relErr(repo string, err error) string {
	return strings.ReplaceAll(err.Error(), repo+string(filepath.Separator), "")
}

// statusLanes is the lane columns: the nine lanes plus unknown lanes met.
func statusLanes(ms []*mission.Mission) []mission.Lane {
	lanes := mission.Lanes()
	var extra []mission.Lane
	for _, m := range ms {
		for l := range m.Counts {
			if !l.Valid() && !slices.Contains(extra, l) {
				extra = append(extra, l)
			}
		}
	}
	slices.Sort(extra)
	return append(lanes, extra...)
}

func count(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func longTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func statusOne(ctx context.Context, env *Env, out io.Writer, repo, name string, asJSON bool) error {
	m, err := mission.Read(ctx, repo, name)
	if err != nil {
		return missionError(err)
	}
	warnFileProblems(env.Stderr, repo, []*mission.Mission{m})
	if asJSON {
		v := missionDetailJSON{
			missionJSON:  toMissionJSON(m),
			EventsFile:   paths.EventsFile(repo, m.Slug),
			WorkPackages: make([]wpJSON, 0, len(m.WPs)),
			MalformedAt:  make([]lineIssueJSON, 0, len(m.Malformed)),
		}
		for _, w := range m.WPs {
			v.WorkPackages = append(v.WorkPackages, wpJSON{
				WPID: w.ID, Lane: string(w.Lane), Actor: w.Actor, At: jsonTime(w.At), EventID: w.EventID, Line: w.Line,
			})
		}
		for _, is := range m.Malformed {
			v.MalformedAt = append(v.MalformedAt, lineIssueJSON{Line: is.Line, Error: is.Err})
		}
		if err := writeJSON(out, v); err != nil {
			return err
		}
	} else {
		writeMissionDetail(out, m)
	}
	if m.Stats.Malformed > 0 {
		rel := filepath.Join(paths.SpecsDir, m.Slug, paths.EventsFileName)
		for _, is := range m.Malformed {
			fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s:%d: malformed line skipped: %s\n", term.Sanitize(rel), is.Line, term.Sanitize(is.Err))
		}
		if more := m.Stats.Malformed - len(m.Malformed); more > 0 {
			fmt.Fprintf(env.Stderr, "spec-kitty: warning: %s: %s more skipped\n", term.Sanitize(rel), plural(more, "malformed line", "malformed lines"))
		}
	}
	return nil
}

func writeMissionDetail(out io.Writer, m *mission.Mission) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, term.Sanitize(v))
		}
	}
	row("Mission:", m.Slug)
	if m.Meta.FriendlyName != "" {
		row("Title:", m.Meta.FriendlyName)
	}
	row("Number:", m.Meta.Number)
	row("Type:", m.Meta.Type)
	row("Created:", m.Meta.CreatedAt)
	row("Last activity:", longTime(m.LastActivity))
	s := m.Stats
	row("Events:", fmt.Sprintf("%s: %d transitions, %d other, %d malformed", plural(s.Lines, "line", "lines"),
		s.Transitions, s.Other, s.Malformed))
	var lanes []string
	for _, l := range statusLanes([]*mission.Mission{m}) {
		if n := m.Counts[l]; n > 0 {
			lanes = append(lanes, fmt.Sprintf("%s %d", term.Sanitize(string(l)), n))
		}
	}
	if len(lanes) > 0 {
		row("Lanes:", strings.Join(lanes, ", "))
	}
	tw.Flush()
	if len(m.WPs) == 0 {
		fmt.Fprintf(out, "\nNo work package has moved yet.\n")
		return
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "WP\tLANE\tACTOR\tLAST MOVE\n")
	for _, w := range m.WPs {
		actor := w.Actor
		if actor == "" {
			actor = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", term.Sanitize(w.ID), term.Sanitize(string(w.Lane)), term.Sanitize(actor), longTime(w.At))
	}
	tw.Flush()
}

// JSON shapes of `status --json`; field names are only ever added to.
type statusListJSON struct {
	Repo      string        `json:"repo"`
	Missions  []missionJSON `json:"missions"`
	Malformed int           `json:"malformed_lines"`
}

type missionJSON struct {
	Mission        string         `json:"mission"`
	Title          string         `json:"title"`
	MissionID      string         `json:"mission_id"`
	MissionNumber  string         `json:"mission_number"`
	MissionType    string         `json:"mission_type"`
	CreatedAt      string         `json:"created_at"`
	WPCount        int            `json:"wp_count"`
	Lanes          map[string]int `json:"lanes"`
	LastActivity   *string        `json:"last_activity"`
	Lines          int            `json:"lines"`
	Transitions    int            `json:"transitions"`
	DuplicateLines int            `json:"duplicate_lines"`
	OtherLines     int            `json:"other_lines"`
	MalformedLines int            `json:"malformed_lines"`
}

type missionDetailJSON struct {
	missionJSON
	EventsFile   string          `json:"events_file"`
	WorkPackages []wpJSON        `json:"work_packages"`
	MalformedAt  []lineIssueJSON `json:"malformed"`
}

type wpJSON struct {
	WPID    string  `json:"wp_id"`
	Lane    string  `json:"lane"`
	Actor   string  `json:"actor"`
	At      *string `json:"at"`
	EventID string  `json:"event_id"`
	Line    int     `json:"line"`
}

type lineIssueJSON struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func toMissionJSON(m *mission.Mission) missionJSON {
	lanes := make(map[string]int, 9)
	for _, l := range mission.Lanes() {
		lanes[string(l)] = 0
	}
	for l, n := range m.Counts {
		lanes[string(l)] = n
	}
	return missionJSON{
		Mission:        m.Slug,
		Title:          m.Title(),
		MissionID:      m.Meta.MissionID,
		MissionNumber:  m.Meta.Number,
		MissionType:    m.Meta.Type,
		CreatedAt:      m.Meta.CreatedAt,
		WPCount:        len(m.WPs),
		Lanes:          lanes,
		LastActivity:   jsonTime(m.LastActivity),
		Lines:          m.Stats.Lines,
		Transitions:    m.Stats.Transitions,
		DuplicateLines: m.Stats.Duplicates,
		OtherLines:     m.Stats.Other,
		MalformedLines: m.Stats.Malformed,
	}
}

const statusEmitLong = `Emit records that work package WPxx of mission M moved to lane LANE: it
appends one line to kitty-specs/M/status.events.jsonl and prints that line
(JSON) on stdout.

The line carries a new ULID event_id, the time (at, UTC), mission_slug, wp_id,
from_lane (the WP's current lane; "planned" for a WP that never moved),
to_lane, actor (--actor, else $USER, else "unknown") and reason, plus the
fields the Python spec-kitty CLI requires, in its layout. The append happens
under the lock that CLI uses, so concurrent emitters never interleave or
lose lines.

Lanes: planned, claimed, in_progress, for_review, in_review, approved, done,
blocked, canceled. A wrong lane or WP id is a usage error (exit 2); an
unknown mission fails with exit 1.

The Python spec-kitty CLI's transition rules apply, with its wording. A move
its state machine does not allow (planned -> done, say) needs --force, and
--force needs --reason (exit 2 without one). A move to done, or out of
in_review, needs --evidence-json with a review (reviewer, verdict and
reference), e.g.
  --evidence-json '{"review": {"reviewer": "alice", "verdict": "approved", "reference": "PR#12"}}'
unless forced; in_progress -> approved and approved -> done need a reviewer
and reference too; approved -> in_progress or planned, and a forced
for_review -> in_progress, need --review-ref; in_progress -> planned needs
--reason. A move these rules refuse writes nothing and exits 1.`

// statusEmitHostedNote is shown with the rollout gate on, where emitted
// events are also uploaded.
const statusEmitHostedNote = `

With hosted sync enabled, the new event is also queued for upload to the
hosted service. Once the line is written the command exits 0: when queueing
fails (a full disk, a full queue) it says so on stderr, and the line stays in
its file for the next sync to import.`

func newStatusEmitCmd(env *Env) *Command {
	long := statusEmitLong
	if rollout.Enabled(env.Getenv) {
		long += statusEmitHostedNote
	}
	c := &Command{
		UsageLine: "spec-kitty status emit --mission M WPxx --to LANE [--actor A] [--reason R] [--force] [--evidence-json JSON] [--review-ref REF]",
		Short:     "record a work package's move to another lane",
		Long:      long,
	}
	fs := c.Flags()
	name := fs.String("mission", "", "the mission (directory under kitty-specs/); required")
	to := fs.String("to", "", "the lane the work package moves to; required")
	actor := fs.String("actor", "", "who moved it (default: $USER)")
	reason := fs.String("reason", "", "why it moved (required with --force)")
	force := fs.Bool("force", false, "record a move the transition rules refuse (needs --reason)")
	evidence := fs.String("evidence-json", "", "the move's evidence, a JSON object with a review (reviewer, verdict, reference)")
	reviewRef := fs.String("review-ref", "", "the review feedback reference")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usagef("status emit takes one work package id (e.g. WP01), got %d arguments", len(args))
		}
		if *name == "" {
			return usagef("--mission is required")
		}
		if *to == "" {
			return usagef("--to is required")
		}
		if err := mission.ValidateName(*name); err != nil {
			return missionError(err)
		}
		if err := mission.ValidateWPID(args[0]); err != nil {
			return missionError(err)
		}
		if _, err := mission.ParseLane(*to); err != nil {
			return missionError(err)
		}
		if *force && strings.TrimSpace(*reason) == "" {
			return withHint(usagef("%s", mission.ErrForceWithoutReason), "add --reason with why the move is forced")
		}
		var ev *mission.Evidence
		if *evidence != "" {
			var err error
			if ev, err = mission.ParseEvidence(*evidence); err != nil {
				return usagef("--evidence-json: %s", err)
			}
		}
		repo, err := findRepo(env)
		if err != nil {
			return err
		}
		who := *actor
		for _, k := range []string{"USER", "USERNAME"} {
			if who == "" {
				who = env.Getenv(k)
			}
		}
		line, err := mission.Emit(ctx, repo, *name, mission.EmitRequest{
			WPID: args[0], ToLane: *to, Actor: who, Reason: *reason, Now: env.Now,
			Force: *force, Evidence: ev, ReviewRef: *reviewRef,
		})
		if err != nil {
			return missionError(err)
		}
		if _, err := fmt.Fprintf(env.Stdout, "%s\n", line.Raw); err != nil {
			return err
		}
		return uploadEmitted(ctx, env, repo, line)
	}
	return c
}
