package event

// IsLaneTransition is the one rule of CONTRACTS §9, shared by the status
// reader (core/mission), the dashboard and the uploader (Build): a line is a
// WP lane transition when its wp_id and to_lane are non-empty strings and it
// carries neither event_type (any value, null included) nor a non-null kind
// — the split the Python reader makes. Lines with a type of their own keep
// it, even when they also name a WP and a lane.
//
// The arguments are the raw JSON values of the line's top-level members (as
// cut from a valid object; nil when the member is absent), so that readers
// that never decode the line can apply the rule without allocating.
func IsLaneTransition(wpID, toLane, eventType, kind []byte) bool {
	return nonEmptyString(wpID) && nonEmptyString(toLane) && len(eventType) == 0 && isNull(kind)
}

// nonEmptyString reports whether raw is a JSON string of at least one
// character. Any content between the quotes of a valid string decodes to at
// least one character, so the raw length decides.
func nonEmptyString(raw []byte) bool { return len(raw) > 2 && raw[0] == '"' }
