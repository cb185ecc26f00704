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
	for i, ev := range events {
		if !json.Valid(ev) {
			r := &request{method: http.MethodPost, path: "/api/v1/events/batch/"}
			return nil, c.errorf(r, KindConfig, "event %d of the batch is not valid JSON", i)
		}
	}
	return c.PostEventBatch(ctx, events, nil)
}

// gzipWriters keeps a few gzip.Writers for reuse: one costs more to set
// up (~1 MB of compressor state) than to compress a batch at BestSpeed. A
// channel rather than a sync.Pool, which a garbage collection empties: an
// uploader collects every few batches, and a pool then mostly missed.
var gzipWriters = make(chan *gzip.Writer, 8)

func getGzipWriter() *gzip.Writer {
	select {
	case w := <-gzipWriters:
		return w
	default:
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		return w
	}
}

func putGzipWriter(w *gzip.Writer) {
	select {
	case gzipWriters <- w:
	default:
	}
}

// PostEventBatch is PostEvents for a caller that vouches for its events
// being valid JSON (the uploader leases only rows it checked) and knows
// their event ids (ids, in the same order; nil to read them from the
// events): it spends no CPU checking either again. The body is compressed
// at gzip.BestSpeed — several times cheaper than the default level for a
// body a little larger.
func (c *Client) PostEventBatch(ctx context.Context, events []json.RawMessage, ids []string) ([]EventResult, error) {
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
	if ids != nil && len(ids) != len(events) {
		return nil, c.errorf(r, KindConfig, "%d event ids for %d events", len(ids), len(events))
	}
	var gz bytes.Buffer
	zw := getGzipWriter()
	zw.Reset(&gz)
	// Writes to a bytes.Buffer do not fail.
	_, _ = zw.Write([]byte(`{"events":[`))
	for i, ev := range events {
		if i > 0 {
			_, _ = zw.Write([]byte{','})
		}
		_, _ = zw.Write(ev)
	}
	_, _ = zw.Write([]byte(`]}`))
	_ = zw.Close()
	putGzipWriter(zw)
	if gz.Len() > MaxBatchBytes {
		e := c.errorf(r, KindConfig, "batch of %d events is %d bytes compressed, over %d", len(events), gz.Len(), MaxBatchBytes)
		e.Code, e.Err = CodeBatchTooLarge, ErrBatchTooLarge
		return nil, e
	}
	r.body = gz.Bytes()

	// results is checked for presence here rather than by decode, which
	// then parses the answer once.
	var out struct {
		Results *[]EventResult `json:"results"`
	}
	status, err := c.call(ctx, r, &out)
	if err != nil {
		var he *Error
		if errors.As(err, &he) && (he.Status == http.StatusRequestEntityTooLarge || he.Code == CodeBatchTooLarge) {
			he.Err = ErrBatchTooLarge
		}
		return nil, err
	}
	if out.Results == nil {
		e := c.errorf(r, KindPermanent, "response is missing field %q", "results")
		e.Status = status
		return nil, e
	}
	results := *out.Results
	if len(results) != len(events) {
		return nil, c.errorf(r, KindPermanent, "answered %d results for %d events", len(results), len(events))
	}
	for i, res := range results {
		want, known := "", ids != nil
		if known {
			want = ids[i]
		} else {
			var id struct {
				EventID string `json:"event_id"`
			}
			known = json.Unmarshal(events[i], &id) == nil
			want = id.EventID
		}
		if known && want != res.EventID {
			return nil, c.errorf(r, KindPermanent, "result %d is for event %q, expected %q", i, oneLine(res.EventID), want)
		}
		switch res.Status {
		case EventSuccess, EventDuplicate, EventRejected:
		default:
			return nil, c.errorf(r, KindPermanent, "result %d has unknown status %q", i, oneLine(string(res.Status)))
		}
	}
	return results, nil
}
