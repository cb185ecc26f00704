package syncer

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// TestImportStampsLamportValues: every imported envelope carries its own
// lamport value, reserved in the transaction that queued it (ascending in
// queue order, the clock left at the last one), and its payload is the
// line byte for byte — even a line whose payload has a lamport_clock of
// its own, and both paths: a batch of one line (status emit) and batches
// of 1,000.
func TestImportStampsLamportValues(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, someMissions(t, 1)...)
	dir := paths.MissionDir(r.repo, "stamped")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := paths.EventsFile(r.repo, "stamped")
	var lines [][]byte
	for i := range 2500 {
		lines = append(lines, fmt.Appendf(nil, `{"event_id":"01KTESTLAMPORT%012d","wp_id":"WP01","to_lane":"claimed","at":"2026-11-27T10:00:00Z","lamport_clock":0,"note":",\"lamport_clock\":0,"}`, i))
	}
	if err := os.WriteFile(file, append(bytes.Join(lines[:2499], []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.ImportAll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append(lines[2499], '\n'))
	f.Close()
	if n, err := r.eng.ImportFiles(ctx, r.repo, file); err != nil || n != 1 {
		t.Fatalf("ImportFiles = %d, %v; want the one appended line", n, err)
	}
	leased, err := r.q.Lease(ctx, r.clock.Now(), 100_000, 0, LeaseFor)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	seen := 0
	for _, l := range leased {
		env, err := event.ParseEnvelope(l.Data)
		if err != nil {
			t.Fatalf("%s: %v", l.EventID, err)
		}
		if env.LamportClock <= last {
			t.Fatalf("%s: lamport %d after %d", l.EventID, env.LamportClock, last)
		}
		last = env.LamportClock
		if filepath.Base(filepath.Dir(file)) != "stamped" || !bytes.HasPrefix([]byte(l.EventID), []byte("01KTESTLAMPORT")) {
			continue
		}
		var i int
		fmt.Sscanf(l.EventID, "01KTESTLAMPORT%012d", &i)
		if !bytes.Equal(env.Payload, lines[i]) {
			t.Errorf("%s: payload %s, want the line %s", l.EventID, env.Payload, lines[i])
		}
		seen++
	}
	if seen != len(lines) {
		t.Errorf("%d of the %d lines queued", seen, len(lines))
	}
	next, err := r.q.NextLamport(ctx)
	if err != nil || next != last+1 {
		t.Errorf("next lamport %d, %v; want %d after the last stamped", next, err, last+1)
	}
}

// TestStampRewritesInPlace: stamp writes any lamport value, of any width,
// into the envelopes the reader built, in place, and stamps again when a
// transaction is retried: the data is then the envelope built with that
// value, byte for byte.
func TestStampRewritesInPlace(t *testing.T) {
	proj := event.Project{UUID: "u", Slug: "s", NodeID: "n", BuildID: "b"}
	r := &importReader{origin: event.Origin{Project: proj, TeamSlug: "t"}}
	var lines []event.Line
	for i := range 5 {
		raw := fmt.Sprintf(`{"event_id": "E%d", "lamport_clock": 0, "wp_id": "WP01", "to_lane": "done"}`, i)
		l, err := event.ParseLine("kitty-specs/m/status.events.jsonl", i+1, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
		if err := r.add(l, time.Unix(1790000000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	b := importBatch{items: r.items, lamports: r.lamports}
	for _, first := range []int64{1, 99_999_999_999, 7, math.MinInt64 + 10, math.MaxInt64 - 4, 0} {
		if err := b.stamp(b.items, first); err != nil {
			t.Fatal(err)
		}
		for i, it := range b.items {
			o := r.origin
			o.Lamport, o.Fallback = first+int64(i), time.Unix(1790000000, 0)
			env, err := event.Build(lines[i], o)
			if err != nil {
				t.Fatal(err)
			}
			if want := env.AppendJSON(nil); !bytes.Equal(it.Data, want) {
				t.Fatalf("stamped %d:\n%s\nwant\n%s", first+int64(i), it.Data, want)
			}
		}
	}
}
