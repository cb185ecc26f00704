// Package event owns the reading of `kitty-specs/<mission>/status.events.jsonl`
// lines, the upload envelope built around them (CONTRACTS §9, WIRE "Events")
// and ULID generation for new event ids. It also holds the rules every reader
// of those lines shares — what a lane transition is (IsLaneTransition) and how
// a line's time is read (TimeValue) — so the status reader (core/mission) and
// the uploader cannot disagree.
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

// ErrNotObject is the cause of a LineError for valid JSON that is not an object.
var ErrNotObject = errors.New("not a JSON object")

// ParseLine parses one line of the events file named file (used for messages
// and for the mission slug). raw may carry its line terminator. A line
// without event_id is returned without error and with Synced() false; a line
// that is not a JSON object, not UTF-8, too long, or whose event_id is not a
// string gives a *LineError.
func ParseLine(file string, number int, raw []byte) (Line, error) {
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
	case !utf8.Valid(raw):
		// The host parses the batch as UTF-8 JSON; one such line would make
		// it refuse the whole batch.
		return fail(errors.New("line is not valid UTF-8"))
	case raw[0] != '{':
		if json.Valid(raw) {
			return fail(ErrNotObject)
		}
	}
	if !json.Valid(raw) {
		// Decode again only to name the position of the error.
		err := json.Unmarshal(raw, new(json.RawMessage))
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fail(fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se))
		}
		return fail(errors.New("invalid JSON"))
	}
	fields := topLevel(raw)
	id, isString := stringField(fields.eventID)
	if !isString && !isNull(fields.eventID) {
		return fail(errors.New("event_id is not a string"))
	}
	l.EventID = id
	l.EventType, _ = stringField(fields.eventType)
	l.Kind, _ = stringField(fields.kind)
	l.WPID, _ = stringField(fields.wpID)
	l.FromLane, _ = stringField(fields.fromLane)
	l.ToLane, _ = stringField(fields.toLane)
	l.Transition = IsLaneTransition(fields.wpID, fields.toLane, fields.eventType, fields.kind)
	l.At = TimeValue(fields.at)
	if l.At.IsZero() {
		l.At = TimeValue(fields.timestamp)
	}
	l.Mission = missionFromPath(file)
	if l.Mission == "" {
		l.Mission, _ = stringField(fields.missionSlug)
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

// stringField returns a JSON string's value; ok is false for absent, null or
// non-string values. raw must be valid JSON.
func stringField(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if body := raw[1 : len(raw)-1]; !hasBackslash(body) {
		return string(body), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
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
