package event

import "encoding/json"

// lineFields are the top-level members ParseLine reads, as raw JSON values.
type lineFields struct {
	eventID, eventType, kind, wpID, fromLane, toLane, at, timestamp, missionSlug []byte
}

// topLevel fills f from the members of obj, a JSON object that json.Valid
// accepted. Keys match exactly (unlike encoding/json's struct decoding, which
// folds case); a repeated key keeps its last value, as Python's json does.
// It replaces decoding into a map, which cost most of an import's time.
func topLevel(obj []byte) (f lineFields) {
	i := skipSpace(obj, 0) + 1 // past '{'
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return f // '}' (or, defensively, anything unexpected)
		}
		keyEnd := stringEnd(obj, i)
		key := obj[i+1 : keyEnd-1]
		if hasBackslash(key) {
			var decoded string
			json.Unmarshal(obj[i:keyEnd], &decoded) // valid JSON: cannot fail
			key = []byte(decoded)
		}
		i = skipSpace(obj, keyEnd) + 1 // past ':'
		i = skipSpace(obj, i)
		end := valueEnd(obj, i)
		val := obj[i:end]
		switch string(key) {
		case "event_id":
			f.eventID = val
		case "event_type":
			f.eventType = val
		case "kind":
			f.kind = val
		case "wp_id":
			f.wpID = val
		case "from_lane":
			f.fromLane = val
		case "to_lane":
			f.toLane = val
		case "at":
			f.at = val
		case "timestamp":
			f.timestamp = val
		case "mission_slug":
			f.missionSlug = val
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ',' {
			return f
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func hasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// stringEnd returns the index just past the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	default: // number, true, false, null
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return len(b)
	}
}
