package mission

import (
	"bytes"
	"time"
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
	At        time.Time // from "at", else "timestamp"; zero when absent or unreadable
	Kind      string    // "kind" (e.g. "annotation") when a string
	EventType string    // "event_type" (lifecycle records) when a string

	// Transition tells whether the record is a WP lane transition: it carries
	// non-empty string wp_id and to_lane and is neither a lifecycle record
	// (event_type) nor a typed record (kind) — the split the Python reader makes.
	Transition bool
}

// rawRecord is a parsed line whose byte fields point into the line.
type rawRecord struct {
	eventID, wpID, fromLane, toLane []byte
	actor                           []byte // raw JSON value
	at, timestamp                   []byte
	kind, eventType                 []byte
	hasKind, hasEventType           bool // kind present and not null; event_type present
	reviewRef                       bool // review_ref present and not null
	wpIsString, toLaneIsString      bool
}

func (r *rawRecord) transition() bool {
	return !r.hasKind && !r.hasEventType && r.wpIsString && r.toLaneIsString && len(r.wpID) > 0 && len(r.toLane) > 0
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
			r.wpID, r.wpIsString = stringValue(val)
		case "from_lane":
			r.fromLane, _ = stringValue(val)
		case "to_lane":
			r.toLane, r.toLaneIsString = stringValue(val)
		case "actor":
			r.actor = val
		case "at":
			r.at, _ = stringValue(val)
		case "timestamp":
			r.timestamp, _ = stringValue(val)
		case "kind":
			r.hasKind = !isNull(val)
			r.kind, _ = stringValue(val)
		case "event_type":
			r.hasEventType = true
			r.eventType, _ = stringValue(val)
		case "review_ref":
			r.reviewRef = !isNull(val)
		}
	})
}

// when is the record's time: "at", else "timestamp".
func (r *rawRecord) when() time.Time {
	if t, ok := parseTime(r.at); ok {
		return t
	}
	t, _ := parseTime(r.timestamp)
	return t
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
