package hostedtest

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBatchPythonContract (issue 16 item 2): the dev host refuses, per
// event and in the Python gate's words, what the Python CLI's outbound
// envelope check refuses (core/event.CheckEnvelopeContract), and accepts an
// envelope with an empty build_id, as Python sends `build_id or ""`.
func TestBatchPythonContract(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	noBuild := envelope("e-nobuild", "p", "WP01", "done")
	delete(noBuild, "build_id")
	emptyBuild := envelope("e-emptybuild", "p", "WP01", "done")
	emptyBuild["build_id"] = ""
	feature := envelope("e-feature", "p", "WP01", "done")
	feature["aggregate_type"] = "Feature"
	topLane := envelope("e-toplane", "p", "WP01", "done")
	topLane["to_lane"] = "done"
	oldSchema := envelope("e-schema", "p", "WP01", "done")
	oldSchema["schema_version"] = "2.0.0"
	r := postEvents(t, s, tok, noBuild, emptyBuild, feature, topLane, oldSchema)
	var got batchResponse
	r.json(t, &got)
	want := []eventResult{
		{EventID: "e-nobuild", Status: "rejected", Error: "required field 'build_id' missing in envelope payload"},
		{EventID: "e-emptybuild", Status: "success"},
		{EventID: "e-feature", Status: "rejected", Error: "field 'aggregate_type' must be one of ['Build', 'Mission', 'WorkPackage', 'MissionDossier'], got 'Feature'"},
		{EventID: "e-toplane", Status: "rejected", Error: "forbidden field 'to_lane' present in envelope payload"},
		{EventID: "e-schema", Status: "rejected", Error: "field 'schema_version' must equal '3.0.0', got '2.0.0'"},
	}
	if diff := cmp.Diff(want, got.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestBatchResults(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	s.RejectEvent("e-poison", "payload refers to an unknown mission")
	s.SetRejectFunc(func(id string, env json.RawMessage) (string, bool) {
		if strings.Contains(string(env), `"to_lane":"bogus"`) {
			return "unknown lane bogus", true
		}
		return "", false
	})

	noType := envelope("e-notype", "p", "WP01", "done")
	delete(noType, "event_type")
	noPayload := envelope("e-nopayload", "p", "WP01", "done")
	noPayload["payload"] = nil
	noID := envelope("", "p", "WP01", "done")
	badID := envelope("x", "p", "WP01", "done")
	badID["event_id"] = 42
	r := postEvents(t, s, tok,
		envelope("e1", "p", "WP01", "claimed"),
		envelope("e2", "p", "WP02", "planned"),
		envelope("e1", "p", "WP01", "claimed"), // repeated inside the batch
		noType, noPayload, noID, badID,
		envelope("e-poison", "p", "WP03", "done"),
		envelope("e-bogus", "p", "WP03", "bogus"),
		"not an object",
	)
	if r.status != http.StatusOK {
		t.Fatalf("batch = %d %s", r.status, r.body)
	}
	var got batchResponse
	r.json(t, &got)
	want := []eventResult{
		{EventID: "e1", Status: "success"},
		{EventID: "e2", Status: "success"},
		{EventID: "e1", Status: "duplicate"},
		{EventID: "e-notype", Status: "rejected", Error: "missing field event_type"},
		{EventID: "e-nopayload", Status: "rejected", Error: "missing field payload"},
		{EventID: "", Status: "rejected", Error: "missing field event_id"},
		{EventID: "", Status: "rejected", Error: "invalid field event_id: must be a string"},
		{EventID: "e-poison", Status: "rejected", Error: "payload refers to an unknown mission"},
		{EventID: "e-bogus", Status: "rejected", Error: "unknown lane bogus"},
		{EventID: "", Status: "rejected", Error: "invalid envelope: not a JSON object"},
	}
	if diff := cmp.Diff(want, got.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}

	// A retry of the same events: known ids are duplicates, the poisoned one
	// stays rejected, a fixed one goes through.
	s.ClearRejects()
	s.RejectEvent("e-poison", "still poisoned")
	r = postEvents(t, s, tok, envelope("e2", "p", "WP02", "planned"), envelope("e-poison", "p", "WP03", "done"), envelope("e-bogus", "p", "WP03", "bogus"))
	r.json(t, &got)
	want = []eventResult{
		{EventID: "e2", Status: "duplicate"},
		{EventID: "e-poison", Status: "rejected", Error: "still poisoned"},
		{EventID: "e-bogus", Status: "success"},
	}
	if diff := cmp.Diff(want, got.Results); diff != "" {
		t.Errorf("retry results (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"e1", "e2", "e-bogus"}, s.EventIDs()); diff != "" {
		t.Errorf("EventIDs (-want +got):\n%s", diff)
	}
	if s.EventCount() != 3 {
		t.Errorf("EventCount = %d", s.EventCount())
	}
	raw, ok := s.Event("e1")
	var env map[string]any
	if !ok || json.Unmarshal(raw, &env) != nil {
		t.Fatalf("Event(e1) = %s, %v", raw, ok)
	}
	sent, _ := json.Marshal(envelope("e1", "p", "WP01", "claimed"))
	var sentEnv map[string]any
	_ = json.Unmarshal(sent, &sentEnv)
	if diff := cmp.Diff(sentEnv, env); diff != "" {
		t.Errorf("stored envelope (-sent +stored):\n%s", diff)
	}
	if _, ok := s.Event("e-poison"); ok {
		t.Error("a rejected event was stored")
	}
	wantStats := Stats{Batches: 2, Accepted: 3, Duplicates: 2, Rejected: 8}
	if diff := cmp.Diff(wantStats, s.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if s.BatchCount() != 2 || s.DuplicateCount() != 2 {
		t.Errorf("BatchCount, DuplicateCount = %d, %d", s.BatchCount(), s.DuplicateCount())
	}

	r = send(t, newReq(t, http.MethodGet, s.URL()+"/_test/events", nil))
	var ctl struct {
		Count    int      `json:"count"`
		EventIDs []string `json:"event_ids"`
	}
	r.json(t, &ctl)
	if ctl.Count != 3 || !cmp.Equal(ctl.EventIDs, []string{"e1", "e2", "e-bogus"}) {
		t.Errorf("/_test/events = %s", r.body)
	}
}

func TestBatchErrors(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	events := func(n int) []byte {
		ev := make([]any, n)
		for i := range ev {
			ev[i] = envelope(fmt.Sprintf("big-%d", i), "p", "WP01", "done")
		}
		b, _ := json.Marshal(map[string]any{"events": ev})
		return b
	}
	noise := make([]byte, maxBatchBytes+1)
	_, _ = rand.Read(noise)
	tests := []struct {
		name       string
		body       []byte
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"plain JSON without gzip", events(1), []string{"Content-Encoding", ""}, 400, "invalid_batch"},
		{"gzip header, plain body", events(1), nil, 400, "invalid_batch"},
		{"gzip of non-JSON", gz(t, []byte("hello")), nil, 400, "invalid_batch"},
		{"no events array", gz(t, []byte(`{"evts":[]}`)), nil, 400, "invalid_batch"},
		{"events not an array", gz(t, []byte(`{"events":{}}`)), nil, 400, "invalid_batch"},
		{"wrong content type", gz(t, events(1)), []string{"Content-Type", "text/plain"}, 400, "invalid_batch"},
		{"1001 events", gz(t, events(1001)), nil, 413, "batch_too_large"},
		{"over 4 MiB compressed", noise, nil, 413, "batch_too_large"},
		{"no token", gz(t, events(1)), []string{"Authorization", ""}, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := batchReq(t, s, tok, tt.body)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			r := send(t, req)
			if r.status != tt.wantStatus || r.errorCode(t) != tt.wantCode {
				t.Errorf("= %d %s, want %d %s", r.status, r.body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if n := s.EventCount(); n != 0 {
		t.Errorf("EventCount after bad batches = %d, want 0", n)
	}

	// Exactly the limits are fine.
	r := send(t, batchReq(t, s, tok, gz(t, events(1000))))
	if r.status != http.StatusOK || s.EventCount() != 1000 {
		t.Errorf("1000 events = %d, stored %d", r.status, s.EventCount())
	}
	// An empty batch is valid and answers no results.
	r = send(t, batchReq(t, s, tok, gz(t, []byte(`{"events":[]}`))))
	if r.status != http.StatusOK || string(r.body) != `{"results":[]}` {
		t.Errorf("empty batch = %d %s", r.status, r.body)
	}
}

func TestBatchConcurrent(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	const workers, perBatch = 8, 50
	// Every worker sends the same ids in a different order: each id must be
	// accepted exactly once overall.
	var wg sync.WaitGroup
	success := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			ev := make([]any, perBatch)
			for i := range perBatch {
				ev[(i+w*7)%perBatch] = envelope(fmt.Sprintf("c-%d", i), "p", "WP01", "done")
			}
			b, _ := json.Marshal(map[string]any{"events": ev})
			req := batchReq(t, s, tok, gz(t, b))
			res, err := httpClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var br batchResponse
			if err := json.NewDecoder(res.Body).Decode(&br); err != nil {
				t.Error(err)
				return
			}
			for _, r := range br.Results {
				if r.Status == "success" {
					success[w]++
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range success {
		total += n
	}
	if total != perBatch || s.EventCount() != perBatch || s.DuplicateCount() != (workers-1)*perBatch {
		t.Errorf("successes %d, stored %d, duplicates %d; want %d, %d, %d",
			total, s.EventCount(), s.DuplicateCount(), perBatch, perBatch, (workers-1)*perBatch)
	}
}

func TestBatchInflatedLimit(t *testing.T) {
	// A small gzip that inflates past the bound is refused, not buffered.
	defer func(old int) { maxBatchInflated = old }(maxBatchInflated)
	maxBatchInflated = 4 << 20
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), maxBatchInflated+1))
	_ = zw.Close()
	body := buf.Bytes()
	if len(body) > maxBatchBytes {
		t.Fatalf("test body %d bytes is not small", len(body))
	}
	_, err := decodeBatch(body)
	var be *batchError
	if !errorsAs(err, &be) || be.status != http.StatusRequestEntityTooLarge {
		t.Errorf("decodeBatch(bomb) = %v, want 413", err)
	}
}

// TestTypedRecordDoesNotMoveLane: CONTRACTS §9 — only a WPStatusChanged
// envelope moves a WP on the dev host; a typed record whose payload names a
// WP and a lane (the uploader keeps its own type) does not.
func TestTypedRecordDoesNotMoveLane(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	moved := envelope("e-moved", "p", "WP01", "in_progress")
	hint := envelope("e-hint", "p", "WP01", "done")
	hint["event_type"], hint["aggregate_type"], hint["aggregate_id"] = "lane_hint", "Mission", "m"
	if r := postEvents(t, s, tok, moved, hint); r.status != http.StatusOK {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	ids, lanes := s.events.projectWorkPackages("p")
	if diff := cmp.Diff([]string{"WP01"}, ids); diff != "" {
		t.Errorf("work packages (-want +got):\n%s", diff)
	}
	if lanes["WP01"] != "in_progress" {
		t.Errorf("WP01 lane = %q, want in_progress", lanes["WP01"])
	}
}
