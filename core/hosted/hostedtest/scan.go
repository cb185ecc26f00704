package hostedtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/jsonvalid"
)

// The batch parser validates the whole body once (jsonvalid.Valid) and then
// walks it with the small scanner below, which may assume valid JSON. It
// reads only the fields the server needs and keeps every event's bytes as
// sent. encoding/json would scan each event four to six times; the
// benchmark's 100,000 events/s target needs fewer passes. Keys match
// exactly (unlike encoding/json's case-insensitive match) and the last of
// duplicate keys wins. FuzzParseBatchDifferential holds it to encoding/json.

// parseBatch parses the decompressed JSON of a batch.
func parseBatch(plain []byte) ([]parsedEvent, error) {
	if !jsonvalid.Valid(plain) {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "body is not valid JSON"}
	}
	i := jsonvalid.SkipSpace(plain, 0)
	if plain[i] != '{' {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "body is not a JSON object with an events array"}
	}
	var events []byte
	eachField(plain[i:], func(key, val []byte) {
		if keyIs(key, "events") {
			events = val
		}
	})
	if events == nil || events[0] == 'n' {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "body has no events array"}
	}
	if events[0] != '[' {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "events is not an array"}
	}
	var raws [][]byte
	eachElement(events, func(v []byte) { raws = append(raws, v) })
	if len(raws) > MaxBatchEvents {
		return nil, &batchError{http.StatusRequestEntityTooLarge, "batch_too_large", fmt.Sprintf("%d events in one batch; at most %d", len(raws), MaxBatchEvents)}
	}
	out := make([]parsedEvent, len(raws))
	for i, raw := range raws {
		out[i] = parseEvent(raw)
	}
	return out, nil
}

// parseEvent reads one envelope (valid JSON) and decides whether it is
// well-formed.
func parseEvent(raw []byte) parsedEvent {
	ev := parsedEvent{raw: json.RawMessage(raw)}
	if raw[0] != '{' {
		ev.reject = "invalid envelope: not a JSON object"
		return ev
	}
	var id, typ, payload, proj []byte
	var fields [][2][]byte // every top-level key and value, for the contract
	eachField(raw, func(key, val []byte) {
		fields = append(fields, [2][]byte{key, val})
		switch {
		case keyIs(key, "event_id"):
			id = val
		case keyIs(key, "event_type"):
			typ = val
		case keyIs(key, "payload"):
			payload = val
		case keyIs(key, "project_slug"):
			proj = val
		}
	})
	ev.proj, _ = stringValue(proj)
	idStr, idOK := stringValue(id)
	ev.id = idStr
	switch {
	case !isAbsent(id) && !idOK:
		ev.reject = "invalid field event_id: must be a string"
	case idStr == "":
		ev.reject = "missing field event_id"
	case isAbsent(typ):
		ev.reject = "missing field event_type"
	case isAbsent(payload):
		ev.reject = "missing field payload"
	}
	if ev.reject != "" {
		return ev
	}
	t, ok := stringValue(typ)
	if !ok || t == "" {
		ev.reject = "invalid field event_type: must be a non-empty string"
		return ev
	}
	if payload[0] != '{' {
		ev.reject = "invalid field payload: must be a JSON object"
		return ev
	}
	if v := event.CheckEnvelopeContract(func(k string) (json.RawMessage, bool) {
		for i := len(fields) - 1; i >= 0; i-- { // the last of duplicate keys wins
			if keyIs(fields[i][0], k) {
				return fields[i][1], true
			}
		}
		return nil, false
	}); v != "" {
		ev.reject = v
		return ev
	}
	// What the tracker simulation knows of work packages; odd payload
	// shapes are simply not work-package transitions.
	eachField(payload, func(key, val []byte) {
		switch {
		case keyIs(key, "wp_id"):
			ev.wpID, _ = stringValue(val)
		case keyIs(key, "to_lane"):
			ev.lane, _ = stringValue(val)
		}
	})
	if t != event.TypeWPStatusChanged {
		// CONTRACTS §9: only a lane transition moves a WP; a typed record
		// naming a WP and a lane only makes the WP known.
		ev.lane = ""
	}
	return ev
}

func isAbsent(v []byte) bool { return v == nil || v[0] == 'n' }

// stringValue decodes a JSON string value; ok is false for any other kind.
func stringValue(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && validPlain(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// validPlain reports whether b is ASCII (so needs no UTF-8 repair).
func validPlain(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// keyIs compares a raw key (without quotes) with name.
func keyIs(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	s, ok := stringValue(append(append([]byte{'"'}, raw...), '"'))
	return ok && s == name
}

// eachField calls fn with the raw key (without quotes) and raw value of
// every member of the valid JSON object starting at obj[0].
func eachField(obj []byte, fn func(key, val []byte)) {
	i := jsonvalid.SkipSpace(obj, 1)
	for i < len(obj) && obj[i] != '}' {
		end := skipString(obj, i)
		key := obj[i+1 : end-1]
		i = jsonvalid.SkipSpace(obj, end)
		i = jsonvalid.SkipSpace(obj, i+1) // ':'
		vend := skipValue(obj, i)
		fn(key, obj[i:vend])
		i = jsonvalid.SkipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = jsonvalid.SkipSpace(obj, i+1)
		}
	}
}

// eachElement calls fn with every element of the valid JSON array at arr[0].
func eachElement(arr []byte, fn func(val []byte)) {
	i := jsonvalid.SkipSpace(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		end := skipValue(arr, i)
		fn(arr[i:end])
		i = jsonvalid.SkipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = jsonvalid.SkipSpace(arr, i+1)
		}
	}
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
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

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
