package hosted

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// Batch limits of POST /api/v1/events/batch/. Splitting is the caller's job;
// PostEvents refuses a batch over either limit before sending it.
const (
	MaxBatchEvents = 1000
	MaxBatchBytes  = 4 << 20 // compressed
)

// ErrBatchTooLarge is wrapped by the error for a batch over MaxBatchEvents
// or MaxBatchBytes, whether the client or the host (413) noticed.
var ErrBatchTooLarge = errors.New("event batch too large")

// EventStatus is the host's verdict on one event.
type EventStatus string

// Event statuses (wire values).
const (
	EventSuccess   EventStatus = "success"
	EventDuplicate EventStatus = "duplicate" // already known: as good as success
	EventRejected  EventStatus = "rejected"  // permanent; Error says why
)

// EventResult is one entry of the batch answer, in request order.
type EventResult struct {
	EventID string      `json:"event_id"`
	Status  EventStatus `json:"status"`
	Error   string      `json:"error,omitempty"`
}

// PostEvents uploads one batch of envelopes (already-encoded JSON objects) and
// returns one result per envelope in the same order. The body is gzip
// compressed. The call is not retried on 5xx or transport failures (the
// queue owns that, with persisted backoff); a 401 refreshes once, a 429 waits.
func (c *Client) PostEvents(ctx context.Context, events []json.RawMessage) ([]EventResult, error) {
	r := &request{method: http.MethodPost, path: "/api/v1/events/batch/", auth: true,
		contentType: "application/json", gzipped: true}
	if len(events) == 0 {
		return nil, c.errorf(r, KindConfig, "empty event batch")
	}
	if len(events) > MaxBatchEvents {
		e := c.errorf(r, KindConfig, "batch of %d events exceeds %d", len(events), MaxBatchEvents)
		e.Code, e.Err = CodeBatchTooLarge, ErrBatchTooLarge
		return nil, e
	}
	var raw bytes.Buffer
	raw.WriteString(`{"events":[`)
	for i, ev := range events {
		if !json.Valid(ev) {
			return nil, c.errorf(r, KindConfig, "event %d of the batch is not valid JSON", i)
		}
		if i > 0 {
			raw.WriteByte(',')
		}
		raw.Write(ev)
	}
	raw.WriteString(`]}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(raw.Bytes()) // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	if gz.Len() > MaxBatchBytes {
		e := c.errorf(r, KindConfig, "batch of %d events is %d bytes compressed, over %d", len(events), gz.Len(), MaxBatchBytes)
		e.Code, e.Err = CodeBatchTooLarge, ErrBatchTooLarge
		return nil, e
	}
	r.body = gz.Bytes()

	var out struct {
		Results []EventResult `json:"results"`
	}
	if _, err := c.call(ctx, r, &out, "results"); err != nil {
		var he *Error
		if errors.As(err, &he) && (he.Status == http.StatusRequestEntityTooLarge || he.Code == CodeBatchTooLarge) {
			he.Err = ErrBatchTooLarge
		}
		return nil, err
	}
	if len(out.Results) != len(events) {
		return nil, c.errorf(r, KindPermanent, "answered %d results for %d events", len(out.Results), len(events))
	}
	for i, res := range out.Results {
		var id struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(events[i], &id) == nil && id.EventID != res.EventID {
			return nil, c.errorf(r, KindPermanent, "result %d is for event %q, expected %q", i, oneLine(res.EventID), id.EventID)
		}
		switch res.Status {
		case EventSuccess, EventDuplicate, EventRejected:
		default:
			return nil, c.errorf(r, KindPermanent, "result %d has unknown status %q", i, oneLine(string(res.Status)))
		}
	}
	return out.Results, nil
}
