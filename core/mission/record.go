package mission

import (
	"bytes"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
)

// Record is what status reading takes from one line of status.events.jsonl.
// Every other field of the line is ignored here (and kept untouched in the
// file).
type Record struct {
	EventID   string
	WPID      string // wp_id when a string
	FromLane  string
	ToLane    string
	Actor     string    // actor string, or display/id/name/tool of an actor object
	At        time.Time // from "at", else "timestamp" (event.TimeValue); zero when neither is usable
	Kind      string    // "kind" (e.g. "annotation") when a string
	EventType string    // "event_type" (lifecycle records) when a string

	// Transition tells whether the record is a WP lane transition, by the
	// rule the uploader applies too (event.IsLaneTransition): non-empty
	// string wp_id and to_lane, and neither event_type nor a non-null kind.
	Transition bool
}

// SyntaxError is a line (or meta.json) that is not valid JSON.
type SyntaxError = jsonscan.SyntaxError

// ErrNotObject is a line (or meta.json) holding valid JSON that is not an
// object. It is event.ErrNotObject too.
var ErrNotObject = jsonscan.ErrNotObject

// str is the content of a raw JSON string value (escapes decoded), or nil
// when val is absent or not a string.
func str(val []byte) []byte {
	s, _ := jsonscan.String(val)
	return s
}

// actorName renders an actor value: a string as is; an object by its
// display, id, name or tool, the first that is a non-empty string.
func actorName(val []byte) string {
	if s, ok := jsonscan.String(val); ok {
		return string(s)
	}
	if len(val) == 0 || val[0] != '{' {
		return ""
	}
	var found [4][]byte
	names := [4]string{"display", "id", "name", "tool"}
	_ = jsonscan.UTF8.Object(val, func(key, v []byte) {
		for i, n := range names {
			if string(key) == n {
				found[i] = nil // a repeated key: the last one counts
				if s := str(v); len(bytes.TrimSpace(s)) > 0 {
					found[i] = s
				}
			}
		}
	})
	for _, f := range found {
		if f != nil {
			return string(f)
		}
	}
	return ""
}

// ParseLine parses one line of an events file (without or with its line
// terminator) as the status reader does: scanned by event.ScanLine, as the
// uploader scans it. It returns a *SyntaxError or ErrNotObject for a line
// that is not a JSON object; anything else is a valid record, whatever its
// shape.
func ParseLine(line []byte) (Record, error) {
	var m event.Members
	if err := event.ScanLine(line, &m); err != nil {
		return Record{}, err
	}
	return Record{
		EventID:    string(str(m.EventID)),
		WPID:       string(str(m.WPID)),
		FromLane:   string(str(m.FromLane)),
		ToLane:     string(str(m.ToLane)),
		Actor:      actorName(m.Actor),
		At:         m.Time(),
		Kind:       string(str(m.Kind)),
		EventType:  string(str(m.EventType)),
		Transition: m.Transition(),
	}, nil
}
