package mission

import (
	"bytes"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
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

// rawRecord is a parsed line whose byte fields point into the line.
type rawRecord struct {
	eventID, wpID, fromLane, toLane []byte
	actor                           []byte // raw JSON value
	kind, eventType                 []byte
	reviewRef                       bool // review_ref present and not null

	// Raw JSON values (nil when absent) for the rules shared with core/event.
	rawWPID, rawToLane, rawKind, rawEventType []byte
	rawAt, rawTimestamp                       []byte
}

func (r *rawRecord) transition() bool {
	return event.IsLaneTransition(r.rawWPID, r.rawToLane, r.rawEventType, r.rawKind)
}

// parseRaw parses one line into r. r's slices point into line (or into fresh
// memory when a value had escapes).
func parseRaw(line []byte, r *rawRecord) error {
	*r = rawRecord{}
	return walkObject(line, func(key []byte, esc bool, val []byte) {
		if esc {
			s, ok := unescape(key)
			if !ok {
				return
			}
			key = []byte(s)
		}
		switch string(key) {
		case "event_id":
			r.eventID, _ = stringValue(val)
		case "wp_id":
			r.rawWPID = val
			r.wpID, _ = stringValue(val)
		case "from_lane":
			r.fromLane, _ = stringValue(val)
		case "to_lane":
			r.rawToLane = val
			r.toLane, _ = stringValue(val)
		case "actor":
			r.actor = val
		case "at":
			r.rawAt = val
		case "timestamp":
			r.rawTimestamp = val
		case "kind":
			r.rawKind = val
			r.kind, _ = stringValue(val)
		case "event_type":
			r.rawEventType = val
			r.eventType, _ = stringValue(val)
		case "review_ref":
			r.reviewRef = !isNull(val)
		}
	})
}

// when is the record's time: "at", else "timestamp", read as the uploader
// reads them.
func (r *rawRecord) when() time.Time {
	if t := event.TimeValue(r.rawAt); !t.IsZero() {
		return t
	}
	return event.TimeValue(r.rawTimestamp)
}

// actorName renders an actor value: a string as is; an object by its
// display, id, name or tool, the first that is a non-empty string.
func actorName(val []byte) string {
	if s, ok := stringValue(val); ok {
		return string(s)
	}
	if len(val) == 0 || val[0] != '{' {
		return ""
	}
	var found [4][]byte
	names := [4]string{"display", "id", "name", "tool"}
	_ = walkObject(val, func(key []byte, esc bool, v []byte) {
		for i, n := range names {
			if keyIs(key, esc, n) {
				found[i] = nil // a repeated key: the last one counts
				if s, ok := stringValue(v); ok && len(bytes.TrimSpace(s)) > 0 {
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
// terminator). It returns a *SyntaxError or ErrNotObject for a line that is
// not a JSON object; anything else is a valid record, whatever its shape.
func ParseLine(line []byte) (Record, error) {
	var r rawRecord
	if err := parseRaw(line, &r); err != nil {
		return Record{}, err
	}
	rec := Record{
		EventID:   string(r.eventID),
		WPID:      string(r.wpID),
		FromLane:  string(r.fromLane),
		ToLane:    string(r.toLane),
		Actor:     actorName(r.actor),
		At:        r.when(),
		Kind:      string(r.kind),
		EventType: string(r.eventType),
	}
	rec.Transition = r.transition()
	return rec, nil
}
