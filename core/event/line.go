// Package event owns the reading of `kitty-specs/<mission>/status.events.jsonl`
// lines, the upload envelope built around them (CONTRACTS §9, WIRE "Events")
// and ULID generation for new event ids. Every reader of those lines goes
// through it: the one scan of a line (ScanLine: validation and the top-level
// members in one pass, with core/jsonscan), what a lane transition is
// (IsLaneTransition) and how a line's time is read (TimeValue) — so the
// status reader (core/mission, which reads the files' bytes and hands each
// line here) and the uploader (ParseLine, Scanner) cannot disagree.
//
// It is pure: it never opens, locks or writes files, never talks to the
// network and never reads `.kittify/config.yaml` (project identity is passed
// in). Time and randomness are injected. A line is kept byte for byte as the
// envelope payload; nothing in it is rewritten or dropped.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
)

// MaxLineBytes is the longest line accepted. Longer lines are malformed: an
// event that size could never be uploaded (a batch is at most 4 MiB).
const MaxLineBytes = 1 << 20

// Line is one parsed line of an events file.
type Line struct {
	File    string // path as given by the caller, for messages
	Number  int    // 1-based line number
	Mission string // mission slug: the name of the file's directory, else the line's mission_slug

	// Raw is the line's JSON object exactly as written, without the line
	// terminator and surrounding JSON whitespace. It becomes the payload.
	Raw json.RawMessage

	EventID   string    // "" when the line has none: such lines are not synced
	EventType string    // the line's own event_type, if a string
	Kind      string    // the line's kind, if a string
	WPID      string    // wp_id, if a string
	FromLane  string    // from_lane, if a string
	ToLane    string    // to_lane, if a string
	At        time.Time // from `at`, else `timestamp` (TimeValue); zero when neither is usable

	// Transition is CONTRACTS §9's verdict (IsLaneTransition): wp_id and
	// to_lane are non-empty strings and the line has neither event_type nor
	// a non-null kind.
	Transition bool
}

// Synced reports whether the line carries an event_id and so is uploaded.
func (l Line) Synced() bool { return l.EventID != "" }

// LaneTransition reports whether the line records a WP lane change (the
// Transition field).
func (l Line) LaneTransition() bool { return l.Transition }

// LineError is a malformed line. The line is skipped; the file goes on.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("event line %s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ErrNotObject is the cause of a LineError for valid JSON that is not an
// object (jsonscan.ErrNotObject, so errors.Is holds across the readers).
var ErrNotObject = jsonscan.ErrNotObject

// ParseLine parses one line of the events file named file (used for messages
// and for the mission slug). raw may carry its line terminator. A line
// without event_id is returned without error and with Synced() false; a line
// that is not a JSON object, not UTF-8, too long, or whose event_id is not a
// string gives a *LineError.
func ParseLine(file string, number int, raw []byte) (Line, error) {
	return parseLine(file, missionFromPath(file), number, raw)
}

// parseLine is ParseLine with the mission slug of file's path given.
func parseLine(file, pathMission string, number int, raw []byte) (Line, error) {
	l := Line{File: file, Number: number}
	fail := func(err error) (Line, error) {
		return Line{File: file, Number: number}, &LineError{File: file, Line: number, Err: err}
	}
	if number == 1 {
		raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	}
	raw = bytes.Trim(raw, " \t\r\n")
	switch {
	case len(raw) == 0:
		return fail(errors.New("empty line"))
	case len(raw) > MaxLineBytes:
		return fail(fmt.Errorf("line longer than %d bytes", MaxLineBytes))
	}
	var m Members
	if err := ScanLine(raw, &m); err != nil {
		return fail(lineFault(raw, err))
	}
	id, isString := stringField(m.EventID)
	if !isString && !isNull(m.EventID) {
		return fail(errors.New("event_id is not a string"))
	}
	l.EventID = id
	l.EventType, _ = stringField(m.EventType)
	l.Kind, _ = stringField(m.Kind)
	l.WPID, _ = stringField(m.WPID)
	l.FromLane, _ = stringField(m.FromLane)
	l.ToLane, _ = stringField(m.ToLane)
	l.Transition = m.Transition()
	l.At = m.Time()
	l.Mission = pathMission
	if l.Mission == "" {
		l.Mission, _ = stringField(m.MissionSlug)
	}
	l.Raw = json.RawMessage(raw)
	return l, nil
}

// missionFromPath returns `<mission>` for `.../<mission>/status.events.jsonl`.
func missionFromPath(file string) string {
	if file == "" {
		return ""
	}
	dir := filepath.Base(filepath.Dir(file))
	if dir == "." || dir == string(filepath.Separator) {
		return ""
	}
	return dir
}

// lineFault names what is wrong with a line ScanLine refused, in the
// words of the uploader's reports: an encoding (UTF-8) fault first, then
// encoding/json's description of a syntax error. The line is decoded again
// only on this path, to name the error.
func lineFault(raw []byte, err error) error {
	switch {
	case !utf8.Valid(raw):
		// The host parses the batch as UTF-8 JSON; one such line would make
		// it refuse the whole batch.
		return errors.New("line is not valid UTF-8")
	case errors.Is(err, ErrNotObject):
		return ErrNotObject
	}
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(raw, new(json.RawMessage)), &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return errors.New("invalid JSON")
}

// stringField returns a JSON string's value; ok is false for absent, null or
// non-string values. raw must be valid JSON.
func stringField(raw []byte) (string, bool) {
	s, ok := jsonscan.String(raw)
	return string(s), ok
}

func isNull(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

// Counts tallies the outcome of parsing the lines of one or more files.
type Counts struct {
	Valid     int // lines with an event_id: synced
	NoEventID int // well-formed lines without event_id: kept in the file, not synced
	Malformed int // lines that gave a *LineError
}

// Add counts one ParseLine (or Scanner) result.
func (c *Counts) Add(l Line, err error) {
	switch {
	case err != nil:
		c.Malformed++
	case l.Synced():
		c.Valid++
	default:
		c.NoEventID++
	}
}
