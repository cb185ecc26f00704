package hostedtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
)

// envelopeIn is what the server reads of an envelope. RawMessage fields tell
// a missing or null field from an empty string.
type envelopeIn struct {
	EventID     json.RawMessage `json:"event_id"`
	EventType   json.RawMessage `json:"event_type"`
	Payload     json.RawMessage `json:"payload"`
	ProjectSlug any             `json:"project_slug"`
}

// parseBatchStd is the straightforward encoding/json parser the fast one
// (parseBatch, over core/jsonscan) must agree with.
func parseBatchStd(plain []byte) ([]parsedEvent, error) {
	var batch struct {
		Events *[]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(plain, &batch); err != nil {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "body is not a JSON object with an events array: " + err.Error()}
	}
	if batch.Events == nil {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "body has no events array"}
	}
	raws := *batch.Events
	if len(raws) > MaxBatchEvents {
		return nil, &batchError{http.StatusRequestEntityTooLarge, "batch_too_large", fmt.Sprintf("%d events in one batch; at most %d", len(raws), MaxBatchEvents)}
	}
	out := make([]parsedEvent, len(raws))
	for i, raw := range raws {
		out[i] = parseEventStd(raw)
	}
	return out, nil
}

func parseEventStd(raw json.RawMessage) parsedEvent {
	ev := parsedEvent{raw: raw}
	var env envelopeIn
	if err := json.Unmarshal(raw, &env); err != nil {
		// Still answer with whatever id can be found so results line up.
		var idOnly struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(raw, &idOnly)
		ev.id = idOnly.EventID
		ev.reject = "invalid envelope: " + err.Error()
		return ev
	}
	id, err := stringField(env.EventID)
	ev.id = id
	ev.proj, _ = env.ProjectSlug.(string)
	switch {
	case err != nil:
		ev.reject = "invalid field event_id: " + err.Error()
	case id == "":
		ev.reject = "missing field event_id"
	case isMissing(env.EventType):
		ev.reject = "missing field event_type"
	case isMissing(env.Payload):
		ev.reject = "missing field payload"
	}
	if ev.reject != "" {
		return ev
	}
	et, err := stringField(env.EventType)
	if err != nil || et == "" {
		ev.reject = "invalid field event_type: must be a non-empty string"
		return ev
	}
	if env.Payload[0] != '{' {
		ev.reject = "invalid field payload: must be a JSON object"
		return ev
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err == nil {
		if v := event.CheckEnvelopeContract(func(k string) (json.RawMessage, bool) { v, ok := top[k]; return v, ok }); v != "" {
			ev.reject = v
			return ev
		}
	}
	// What the tracker simulation knows of work packages; odd payload
	// shapes are simply not work-package transitions.
	var p struct {
		WPID   any `json:"wp_id"`
		ToLane any `json:"to_lane"`
	}
	if json.Unmarshal(env.Payload, &p) == nil {
		ev.wpID, _ = p.WPID.(string)
		if et == event.TypeWPStatusChanged {
			ev.lane, _ = p.ToLane.(string)
		}
	}
	return ev
}

func isMissing(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

func stringField(v json.RawMessage) (string, error) {
	if isMissing(v) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errors.New("must be a string")
	}
	return s, nil
}
