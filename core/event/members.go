package event

import (
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
)

// Members are the top-level members of a line that the readers of the
// events file use, as raw JSON values pointing into the line: nil when
// absent, the last value when a key is repeated (as Python's json keeps).
// Keys match exactly, escapes decoded (unlike encoding/json's struct
// decoding, which folds case). ParseLine (the uploader) and the status
// reader (core/mission) both take a line's fields from here.
type Members struct {
	EventID, EventType, Kind, WPID, FromLane, ToLane []byte
	At, Timestamp, MissionSlug, Actor, ReviewRef     []byte
}

// ScanLine checks, in one pass, that line (surrounding JSON whitespace
// allowed; no byte order mark) is one JSON object in UTF-8, and fills m from
// its top-level members. It returns a *jsonscan.SyntaxError naming the first
// fault, or ErrNotObject for valid JSON of another kind; m is then partly
// filled. It applies no length limit (MaxLineBytes is the callers').
func ScanLine(line []byte, m *Members) error {
	*m = Members{}
	return jsonscan.UTF8.Object(line, func(key, val []byte) {
		switch string(key) {
		case "event_id":
			m.EventID = val
		case "event_type":
			m.EventType = val
		case "kind":
			m.Kind = val
		case "wp_id":
			m.WPID = val
		case "from_lane":
			m.FromLane = val
		case "to_lane":
			m.ToLane = val
		case "at":
			m.At = val
		case "timestamp":
			m.Timestamp = val
		case "mission_slug":
			m.MissionSlug = val
		case "actor":
			m.Actor = val
		case "review_ref":
			m.ReviewRef = val
		}
	})
}

// Transition is CONTRACTS §9's verdict on the line (IsLaneTransition).
func (m *Members) Transition() bool {
	return IsLaneTransition(m.WPID, m.ToLane, m.EventType, m.Kind)
}

// Time is the line's time: `at`, else `timestamp` (TimeValue); zero when
// neither is usable.
func (m *Members) Time() time.Time {
	if t := TimeValue(m.At); !t.IsZero() {
		return t
	}
	return TimeValue(m.Timestamp)
}
