package hostedtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchSetup starts a server, logs in and prebuilds gzip batches of 1000
// realistic envelopes each with distinct ids.
func benchSetup(b *testing.B, batches int) (*Server, string, [][]byte, *http.Client) {
	b.Helper()
	s := NewTest(b, Options{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	res, err := client.PostForm(s.URL()+"/oauth/device", url.Values{"client_id": {ClientID}})
	if err != nil {
		b.Fatal(err)
	}
	var d deviceResponse
	_ = json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if err := s.Approve(d.UserCode); err != nil {
		b.Fatal(err)
	}
	res, err = client.PostForm(s.URL()+"/oauth/token", url.Values{"client_id": {ClientID}, "grant_type": {GrantDeviceCode}, "device_code": {d.DeviceCode}})
	if err != nil {
		b.Fatal(err)
	}
	var tok tokenResponse
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()

	bodies := make([][]byte, batches)
	for i := range bodies {
		ev := make([]any, MaxBatchEvents)
		for j := range ev {
			e := envelope(fmt.Sprintf("01JBENCH%06d%04d", i, j), "spec-kitty", fmt.Sprintf("WP%02d", j%40), "in_progress")
			e["payload"].(map[string]any)["reason"] = strings.Repeat("moved by the benchmark ", 4)
			ev[j] = e
		}
		raw, _ := json.Marshal(map[string]any{"events": ev})
		bodies[i] = gz(b, raw)
	}
	return s, tok.AccessToken, bodies, client
}

func postBatch(b *testing.B, client *http.Client, s *Server, token string, body []byte) {
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/v1/events/batch/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Errorf("batch = %d", res.StatusCode)
	}
}

// BenchmarkBatch is one client uploading 1000-event batches back to back.
// After the prebuilt batches are used once the rest are duplicates, which
// cost the server the same decoding work.
func BenchmarkBatch(b *testing.B) {
	s, token, bodies, client := benchSetup(b, 16)
	i := 0
	start := time.Now()
	for b.Loop() {
		postBatch(b, client, s, token, bodies[i%len(bodies)])
		i++
	}
	b.ReportMetric(float64(i*MaxBatchEvents)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkBatchParallel has GOMAXPROCS clients uploading at once, to show
// the store lock is not the bottleneck.
func BenchmarkBatchParallel(b *testing.B) {
	s, token, bodies, client := benchSetup(b, 16)
	var n atomic.Int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			postBatch(b, client, s, token, bodies[int(i)%len(bodies)])
		}
	})
	b.ReportMetric(float64(n.Load()*MaxBatchEvents)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkDecodeBatch is the server's own work on one 1000-event batch
// (inflate, validate, parse, dedupe, store, encode the results) without
// HTTP: the per-core ceiling of the events endpoint.
func BenchmarkDecodeBatch(b *testing.B) {
	_, _, bodies, _ := benchSetup(b, 4)
	var st eventStore
	st.init()
	i := 0
	for b.Loop() {
		events, err := decodeBatch(bodies[i%len(bodies)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(batchResponse{Results: st.store(events)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(MaxBatchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
