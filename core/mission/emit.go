package mission

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gofrs/flock"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// EmitRequest is one lane change to record.
type EmitRequest struct {
	WPID   string // "WP01"
	ToLane string // one of Lanes()
	Actor  string // "" means "unknown"
	Reason string // "" is written as null
	// Force records a move the transition matrix does not allow, or one
	// whose guard is bypassed; it requires Reason (transition.go).
	Force bool
	// ReviewRef is the review feedback reference ("" is written as null),
	// required by some moves out of approved and for_review.
	ReviewRef string
	// Evidence is the move's evidence (nil: null), required by moves to
	// done and out of in_review unless forced.
	Evidence *Evidence
	// Now is the clock, read once the lock is held (nil: time.Now).
	Now func() time.Time
	// ID makes the event_id for the event's time (nil: a ULID with
	// crypto/rand entropy).
	ID func(at time.Time) (string, error)
}

// Line is a line Emit appended.
type Line struct {
	Path          string // the events file
	Number        int    // 1-based line number
	Offset        int64  // byte offset of the line's first byte
	EventID       string
	MissionSlug   string
	MissionID     string // from meta.json; "" when it has none
	WPID          string
	FromLane      Lane
	ToLane        Lane
	Actor         string
	Reason        string
	At            time.Time
	Force         bool
	ExecutionMode string
	ReviewRef     string
	Evidence      json.RawMessage // nil: null
	Raw           []byte          // the JSON object as written, without the newline
}

// InvalidWPError is a work package id that is not WP followed by digits.
type InvalidWPError struct{ WPID string }

func (e *InvalidWPError) Error() string {
	return fmt.Sprintf("invalid work package id %q (want WP followed by digits, e.g. WP01)", e.WPID)
}

// ValidateWPID checks a work package id against the Python CLI's grammar,
// ^WP[0-9]+$.
func ValidateWPID(id string) error {
	digits, ok := strings.CutPrefix(id, "WP")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return &InvalidWPError{WPID: id}
	}
	return nil
}

// LockPath is the file Emit locks for a mission: the Python CLI's
// `<git common dir>/spec-kitty-locks/<mission>.status.lock`, so both tools
// exclude each other; outside git, `status.events.jsonl.lock` beside the
// events file.
func LockPath(repo, mission string) string {
	if common, ok := gitCommonDir(repo); ok {
		return filepath.Join(common, "spec-kitty-locks", mission+".status.lock")
	}
	return paths.EventsFile(repo, mission) + ".lock"
}

// lockRetry is how often a waiting emitter retries the lock.
const lockRetry = time.Millisecond

// executionMode is what the Python CLI writes for a move made in the
// repository itself rather than in a WP worktree.
const executionMode = "direct_repo"

// Emit appends one lane transition for e.WPID to the mission's events file
// (CONTRACTS §9) and returns it. Under the mission's cross-process lock it
// reads the file for the WP's current lane (from_lane; "planned" for a WP
// the file never moved), then appends the line with one O_APPEND write and
// fsyncs it. A file whose last line lacks its newline gets one first.
//
// The line has the Python CLI's layout (sorted keys, ", " and ": "
// separators, ASCII only) and every field its reader requires: event_id,
// at, mission_slug, mission_id (when meta.json has one), wp_id, from_lane,
// to_lane, actor, reason, force, execution_mode, evidence, review_ref,
// policy_metadata. The Python CLI's transition guards apply first
// (transition.go): a move its matrix does not allow needs Force, Force needs
// a Reason, a move to done needs Evidence, and so on, with its wording.
//
// `at` is the clock's time in UTC with microseconds; if the clock is not past
// the WP's last move, `at` is set just after it so the readers' (at,
// event_id) order keeps the append order.
func Emit(ctx context.Context, repo, mission string, e EmitRequest) (Line, error) {
	if err := ValidateName(mission); err != nil {
		return Line{}, err
	}
	if err := ValidateWPID(e.WPID); err != nil {
		return Line{}, err
	}
	to, err := ParseLane(e.ToLane)
	if err != nil {
		return Line{}, err
	}
	if err := checkRequest(e); err != nil {
		return Line{}, err
	}
	c := confine(repo)
	var unsafe *UnsafePathError
	if _, err := c.missionDir(mission); errors.As(err, &unsafe) {
		return Line{}, err
	}
	if !c.isMission(mission) {
		return Line{}, &UnknownMissionError{Mission: mission, SpecsDir: SpecsDir(repo)}
	}
	var missionID string
	if b, _, err := c.readBounded(paths.MetaFile(repo, mission), MaxMetaBytes, nil); err == nil {
		if m, err := parseMeta(b); err == nil {
			missionID = m.MissionID
		}
	}
	actor := e.Actor
	if actor == "" {
		actor = "unknown"
	}
	now, newID := e.Now, e.ID
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = func(at time.Time) (string, error) { return event.NewID(at, rand.Reader) }
	}

	lockPath := LockPath(repo, mission)
	if within(SpecsDir(repo), lockPath) {
		// Outside git the lock lives beside the events file: confined too.
		real, err := c.resolve(lockPath)
		if err != nil {
			return Line{}, fmt.Errorf("lock %s: %w", lockPath, err)
		}
		if fi, err := os.Lstat(real); err == nil && !fi.Mode().IsRegular() {
			return Line{}, &UnsafePathError{Path: lockPath, Reason: "not a regular file (" + kind(fi.Mode()) + ")"}
		}
		lockPath = real
	}
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		return Line{}, fmt.Errorf("create lock directory for %s: %w", mission, err)
	}
	lock := flock.New(lockPath)
	locked, err := lock.TryLockContext(ctx, lockRetry)
	if err != nil || !locked {
		if err == nil {
			err = ctx.Err()
		}
		return Line{}, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	defer lock.Unlock()

	path := paths.EventsFile(repo, mission)
	var ex tally
	var st Status
	switch f, _, err := c.open(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Line{}, err
	default:
		ex.r = f
		st, err = ReduceReader(&ex)
		f.Close()
		if err != nil {
			return Line{}, fmt.Errorf("read %s: %w", path, err)
		}
	}
	from, last := Planned, time.Time{}
	if w, ok := st.WP(e.WPID); ok {
		from, last = w.Lane, w.At
	}
	if err := checkMove(from, to, e); err != nil {
		return Line{}, err
	}
	at := now().UTC().Truncate(time.Microsecond)
	if !at.After(last) {
		at = last.UTC().Truncate(time.Microsecond).Add(time.Microsecond)
	}
	id, err := newID(at)
	if err != nil {
		return Line{}, fmt.Errorf("new event id: %w", err)
	}
	l := Line{
		Path:          path,
		EventID:       id,
		MissionSlug:   mission,
		MissionID:     missionID,
		WPID:          e.WPID,
		FromLane:      from,
		ToLane:        to,
		Actor:         actor,
		Reason:        e.Reason,
		At:            at,
		Force:         e.Force,
		ExecutionMode: executionMode,
		ReviewRef:     e.ReviewRef,
	}
	if e.Evidence != nil {
		l.Evidence, err = pyJSON(e.Evidence.Raw)
		if err != nil {
			return Line{}, fmt.Errorf("evidence: %w", err)
		}
	}
	l.Raw = l.encode()

	buf := make([]byte, 0, len(l.Raw)+2)
	l.Offset = ex.n
	l.Number = ex.lines + 1
	if ex.n > 0 && ex.last != '\n' {
		buf = append(buf, '\n')
		l.Offset++
	}
	buf = append(buf, l.Raw...)
	buf = append(buf, '\n')
	if err := appendSync(repo, path, buf); err != nil {
		return Line{}, err
	}
	return l, nil
}

// tally passes a file through, counting its bytes and lines (a last one
// without newline included) and keeping its last byte.
type tally struct {
	r     io.Reader
	n     int64
	lines int
	last  byte
}

func (t *tally) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if t.n > 0 && t.last != '\n' {
			t.lines-- // the unterminated tail counted before continues here
		}
		t.n += int64(n)
		t.lines += bytes.Count(p[:n], []byte{'\n'})
		t.last = p[n-1]
		if t.last != '\n' {
			t.lines++
		}
	}
	return n, err
}

// appendSync writes buf at the end of path with one write and fsyncs it. The
// path must resolve inside kitty-specs/ and be a regular file (or not exist
// yet): a repo cannot make this write land anywhere else.
func appendSync(repo, path string, buf []byte) error {
	real, err := resolve(repo, path)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(real); err == nil && !fi.Mode().IsRegular() {
		return &UnsafePathError{Path: path, Reason: "not a regular file (" + kind(fi.Mode()) + ")"}
	}
	f, err := os.OpenFile(real, os.O_WRONLY|os.O_APPEND|os.O_CREATE|openNoFollow|openNonBlock, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return &UnsafePathError{Path: path, Reason: "not a regular file"}
	}
	n, err := f.Write(buf)
	if err == nil && n != len(buf) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(buf))
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil && n > 0 {
		// A full disk can cut the line short: take the part back, so the
		// file holds the whole line or none of it (we hold the emit lock).
		if f.Truncate(fi.Size()) == nil {
			f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	return nil
}

// allowedMoves is the Python CLI's transition matrix
// (specify_cli/status/transitions.py ALLOWED_TRANSITIONS): an array, laid
// out by the linker, where a map would be built in every start (issue 18).
var allowedMoves = [...][2]Lane{
	{Planned, Claimed}, {Claimed, InProgress}, {InProgress, ForReview}, {ForReview, InReview},
	{InReview, Approved}, {InReview, Done}, {InReview, InProgress}, {InReview, Planned},
	{InProgress, Approved}, {Approved, Done}, {Approved, InProgress}, {Approved, Planned},
	{InProgress, Planned}, {Planned, Blocked}, {Claimed, Blocked}, {InProgress, Blocked},
	{ForReview, Blocked}, {InReview, Blocked}, {Approved, Blocked}, {Blocked, InProgress},
	{Planned, Canceled}, {Claimed, Canceled}, {InProgress, Canceled}, {ForReview, Canceled},
	{InReview, Canceled}, {Approved, Canceled}, {Blocked, Canceled},
}

func allowedMove(from, to Lane) bool { return slices.Contains(allowedMoves[:], [2]Lane{from, to}) }

// FormatAt renders a time the way the Python CLI writes `at`:
// 2026-08-17T13:32:00.274162+00:00.
func FormatAt(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00"
}

// encode renders the line like Python's json.dumps(sort_keys=True).
func (l *Line) encode() []byte {
	b := make([]byte, 0, 512)
	field := func(key string) {
		if len(b) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ", "...)
		}
		b = appendPyString(b, key)
		b = append(b, ": "...)
	}
	str := func(key, v string) { field(key); b = appendPyString(b, v) }
	null := func(key string) { field(key); b = append(b, "null"...) }

	str("actor", l.Actor)
	str("at", FormatAt(l.At))
	str("event_id", l.EventID)
	if l.Evidence != nil {
		field("evidence")
		b = append(b, l.Evidence...)
	} else {
		null("evidence")
	}
	str("execution_mode", l.ExecutionMode)
	field("force")
	if l.Force {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	str("from_lane", string(l.FromLane))
	if l.MissionID != "" {
		str("mission_id", l.MissionID)
	}
	str("mission_slug", l.MissionSlug)
	null("policy_metadata")
	if l.Reason != "" {
		str("reason", l.Reason)
	} else {
		null("reason")
	}
	if l.ReviewRef != "" {
		str("review_ref", l.ReviewRef)
	} else {
		null("review_ref")
	}
	str("to_lane", string(l.ToLane))
	str("wp_id", l.WPID)
	return append(b, '}')
}

// appendPyString appends s as a JSON string the way Python's json.dumps does
// with ensure_ascii: non-ASCII as \uXXXX (surrogate pairs above U+FFFF).
func appendPyString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r < 0x20 || r >= 0x7f:
			if r == utf8.RuneError {
				r = 0xfffd
			}
			units := []rune{r}
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				units = []rune{r1, r2}
			}
			for _, u := range units {
				b = append(b, '\\', 'u', hex[u>>12&0xf], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
			}
		default:
			b = append(b, byte(r))
		}
	}
	return append(b, '"')
}

// pyJSON re-encodes a JSON value as the Python CLI's json.dumps(sort_keys=True)
// writes it (", " and ": " separators, ASCII only, numbers as written), so a
// line carrying evidence keeps that CLI's layout.
func pyJSON(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return appendPyValue(nil, v), nil
}

func appendPyValue(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if t {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case json.Number:
		return append(b, t...)
	case string:
		return appendPyString(b, t)
	case []any:
		b = append(b, '[')
		for i, x := range t {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyValue(b, x)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyString(b, k)
			b = append(b, ": "...)
			b = appendPyValue(b, t[k])
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("pyJSON: unexpected %T", v))
}
