package hostedtest

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Batch limits from the wire protocol.
const (
	MaxBatchEvents  = 1000
	maxBatchBytes   = 4 << 20
	statusSuccess   = "success"
	statusDuplicate = "duplicate"
	statusRejected  = "rejected"
)

// maxBatchInflated bounds the decompressed size so a small gzip bomb cannot
// exhaust memory (a variable only so a test can lower it).
var maxBatchInflated = 64 << 20

// Stats are the event endpoint's counters.
type Stats struct {
	Batches    int // batches answered 200
	BadBatches int // batches answered 400 or 413
	Accepted   int // events answered success
	Duplicates int // events answered duplicate
	Rejected   int // events answered rejected
}

type storedEvent struct {
	id  string
	raw json.RawMessage
}

// eventStore holds accepted events. Decoding and validation happen before
// its lock is taken; the lock only covers the dedupe lookup and insert.
type eventStore struct {
	mu      sync.Mutex
	index   map[string]int // event_id -> position in list
	list    []storedEvent
	stats   Stats
	reject  map[string]string
	rejectF func(id string, envelope json.RawMessage) (reason string, reject bool)
	// wps is what push/publish know about a project: wp_id -> last lane, in
	// first-seen order, from the payloads of accepted events.
	wps map[string]*projectWPs
}

type projectWPs struct {
	order []string
	lane  map[string]string
}

func (e *eventStore) init() {
	e.index = map[string]int{}
	e.reject = map[string]string{}
	e.wps = map[string]*projectWPs{}
}

// RejectEvent makes every upload of this event_id answer rejected with
// reason (permanently, until ClearRejects), unless it was already accepted.
func (s *Server) RejectEvent(id, reason string) {
	s.events.mu.Lock()
	s.events.reject[id] = reason
	s.events.mu.Unlock()
}

// SetRejectFunc installs a predicate consulted for every well-formed event
// not yet accepted; reject=true answers rejected with reason. It runs outside
// the store lock and must be safe for concurrent use. Nil removes it.
func (s *Server) SetRejectFunc(f func(id string, envelope json.RawMessage) (reason string, reject bool)) {
	s.events.mu.Lock()
	s.events.rejectF = f
	s.events.mu.Unlock()
}

// ClearRejects removes every RejectEvent entry and the reject predicate.
func (s *Server) ClearRejects() {
	s.events.mu.Lock()
	s.events.reject = map[string]string{}
	s.events.rejectF = nil
	s.events.mu.Unlock()
}

// EventIDs returns the ids of accepted events in arrival order, each once.
func (s *Server) EventIDs() []string {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	out := make([]string, len(s.events.list))
	for i, e := range s.events.list {
		out[i] = e.id
	}
	return out
}

// HasEvent reports whether an event with id was accepted.
func (s *Server) HasEvent(id string) bool {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	for _, e := range s.events.list {
		if e.id == id {
			return true
		}
	}
	return false
}

// DiffEventIDs compares the accepted event ids with want: "" when the host
// holds exactly want, else how many are missing and unexpected, with a few
// of each — the no-loss check of every delivery test.
func (s *Server) DiffEventIDs(want map[string]bool) string {
	got := map[string]bool{}
	for _, id := range s.EventIDs() {
		got[id] = true
	}
	var missing, extra []string
	for id := range want {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	for id := range got {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	head := func(s []string) []string { return s[:min(len(s), 3)] }
	return fmt.Sprintf("%d missing (e.g. %v), %d unexpected (e.g. %v)", len(missing), head(missing), len(extra), head(extra))
}

// EventCount is the number of accepted events.
func (s *Server) EventCount() int {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return len(s.events.list)
}

// Event returns a copy of the envelope accepted under id.
func (s *Server) Event(id string) (json.RawMessage, bool) {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	i, ok := s.events.index[id]
	if !ok {
		return nil, false
	}
	return bytes.Clone(s.events.list[i].raw), true
}

// Stats returns the event counters.
func (s *Server) Stats() Stats {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return s.events.stats
}

// BatchCount is the number of batches answered 200.
func (s *Server) BatchCount() int { return s.Stats().Batches }

// DuplicateCount is the number of events answered duplicate.
func (s *Server) DuplicateCount() int { return s.Stats().Duplicates }

// parsedEvent is one event of a batch after validation outside the lock.
type parsedEvent struct {
	id     string
	raw    json.RawMessage
	reject string // non-empty: malformed, answer rejected with this error
	policy string // non-empty: the reject predicate refused it
	proj   string
	wpID   string
	lane   string
}

type eventResult struct {
	EventID string `json:"event_id"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
}

type batchResponse struct {
	Results []eventResult `json:"results"`
}

// batchError is a whole-batch failure with its HTTP status and error code.
type batchError struct {
	status int
	code   string
	msg    string
}

func (e *batchError) Error() string { return e.msg }

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := checkBatchHeaders(r); err != nil {
		s.badBatch(w, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBatchBytes+1))
	if err != nil {
		s.badBatch(w, &batchError{http.StatusBadRequest, "invalid_batch", "read body: " + err.Error()})
		return
	}
	if len(body) > maxBatchBytes {
		s.badBatch(w, &batchError{http.StatusRequestEntityTooLarge, "batch_too_large", "compressed body larger than 4 MiB"})
		return
	}
	events, err := decodeBatch(body)
	if err != nil {
		s.badBatch(w, err)
		return
	}
	s.events.mu.Lock()
	rejectF := s.events.rejectF
	s.events.mu.Unlock()
	if rejectF != nil {
		for i := range events {
			if ev := &events[i]; ev.reject == "" {
				if reason, bad := rejectF(ev.id, ev.raw); bad {
					ev.policy = cmp.Or(reason, "rejected by policy")
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, batchResponse{Results: s.events.store(events)})
}

func (s *Server) badBatch(w http.ResponseWriter, err error) {
	var be *batchError
	if !errors.As(err, &be) {
		be = &batchError{http.StatusBadRequest, "invalid_batch", err.Error()}
	}
	s.events.mu.Lock()
	s.events.stats.BadBatches++
	s.events.mu.Unlock()
	writeError(w, be.status, be.code, be.msg, false)
}

func checkBatchHeaders(r *http.Request) error {
	if r.ContentLength > maxBatchBytes {
		return &batchError{http.StatusRequestEntityTooLarge, "batch_too_large", "compressed body larger than 4 MiB (Content-Length " + strconv.FormatInt(r.ContentLength, 10) + ")"}
	}
	if ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce != "gzip" {
		return &batchError{http.StatusBadRequest, "invalid_batch", fmt.Sprintf("body must be gzip (Content-Encoding: gzip), got Content-Encoding %q", ce)}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &batchError{http.StatusBadRequest, "invalid_batch", fmt.Sprintf("Content-Type must be application/json, got %q", ct)}
	}
	return nil
}

// decodeBatch inflates and parses one batch body and validates each event.
// It takes no lock.
func decodeBatch(body []byte) ([]parsedEvent, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "body is not gzip: " + err.Error()}
	}
	plain, err := io.ReadAll(io.LimitReader(zr, int64(maxBatchInflated)+1))
	if err != nil {
		return nil, &batchError{http.StatusBadRequest, "invalid_batch", "body is not valid gzip: " + err.Error()}
	}
	if len(plain) > maxBatchInflated {
		return nil, &batchError{http.StatusRequestEntityTooLarge, "batch_too_large", fmt.Sprintf("decompressed body larger than %d MiB", maxBatchInflated>>20)}
	}
	return parseBatch(plain)
}

// store dedupes and records one parsed batch under the lock and returns the
// per-event results in order.
func (e *eventStore) store(events []parsedEvent) []eventResult {
	results := make([]eventResult, len(events))
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Batches++
	for i, ev := range events {
		res := &results[i]
		res.EventID = ev.id
		if ev.reject != "" {
			res.Status, res.Error = statusRejected, ev.reject
			e.stats.Rejected++
			continue
		}
		if _, dup := e.index[ev.id]; dup {
			res.Status = statusDuplicate
			e.stats.Duplicates++
			continue
		}
		if reason, bad := e.reject[ev.id]; bad || ev.policy != "" {
			res.Status, res.Error = statusRejected, cmp.Or(ev.policy, reason, "rejected by policy")
			e.stats.Rejected++
			continue
		}
		e.index[ev.id] = len(e.list)
		e.list = append(e.list, storedEvent{id: ev.id, raw: ev.raw})
		e.stats.Accepted++
		res.Status = statusSuccess
		if ev.proj != "" && ev.wpID != "" {
			p := e.wps[ev.proj]
			if p == nil {
				p = &projectWPs{lane: map[string]string{}}
				e.wps[ev.proj] = p
			}
			if _, seen := p.lane[ev.wpID]; !seen {
				p.order = append(p.order, ev.wpID)
			}
			if ev.lane != "" || p.lane[ev.wpID] == "" {
				p.lane[ev.wpID] = ev.lane
			}
		}
	}
	return results
}

// projectWorkPackages returns the work packages seen in a project's events
// and their last known lane ("" when unknown), in first-seen order.
func (e *eventStore) projectWorkPackages(project string) (ids []string, lanes map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.wps[project]
	if p == nil {
		return nil, nil
	}
	lanes = make(map[string]string, len(p.lane))
	for k, v := range p.lane {
		lanes[k] = v
	}
	return append([]string(nil), p.order...), lanes
}
