package syncer

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// BenchmarkDrain100k measures draining 100,000 queued events to hostedtest
// on loopback end to end (lease, gzip, POST, per-event settle); target
// >= 20,000 events/s. Run with -benchtime=1x.
func BenchmarkDrain100k(b *testing.B) {
	const n = 100_000
	srv := hostedtest.NewTest(b, hostedtest.Options{})
	token, err := srv.AccessToken(hostedtest.DefaultUser.ID)
	if err != nil {
		b.Fatal(err)
	}
	host, _ := hosted.ParseHost(srv.URL())
	client := hosted.New(host, hosted.StaticToken(host, hosted.NewSecret(token), "team-dev"))
	entropy := ulid.Monotonic(mrand.NewChaCha8([32]byte{1}), 0)
	ts := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		b.StopTimer()
		q, err := queue.Open(context.Background(), filepath.Join(b.TempDir(), "queue.db"), queue.Options{MaxSize: n})
		if err != nil {
			b.Fatal(err)
		}
		items := make([]queue.Item, 0, 1000)
		for i := 0; i < n; i++ {
			id := ulid.MustNew(ulid.Timestamp(ts), entropy).String()
			data := fmt.Sprintf(`{"event_id":%q,"event_type":"WPStatusChanged","aggregate_id":"m/WP%02d","aggregate_type":"WorkPackage","schema_version":"3.0.0","build_id":"b-bench","payload":{"event_id":%q,"wp_id":"WP%02d","from_lane":"planned","to_lane":"claimed","actor":"bench","at":"2026-11-27T00:00:00Z"},"node_id":"d036a097a835","lamport_clock":%d,"timestamp":"2026-11-27T00:00:00Z","project_uuid":"8a4a7da6-a97c-4bb4-893a-b31664abfee4","project_slug":"spec-kitty","team_slug":"team-dev"}`, id, i%40, id, i%40, i)
			items = append(items, queue.Item{EventID: id, EventType: "WPStatusChanged", Data: []byte(data)})
			if len(items) == cap(items) {
				if _, err := q.Enqueue(context.Background(), items...); err != nil {
					b.Fatal(err)
				}
				items = items[:0]
			}
		}
		eng := &Engine{Queue: q, Connect: func(context.Context) (Conn, error) { return Conn{Client: client, Team: "team-dev"}, nil }}
		before := srv.EventCount()
		b.StartTimer()
		start := time.Now()
		var rep Report
		if err := eng.Upload(context.Background(), &rep); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if got := srv.EventCount() - before; got != n || rep.Delivered != n {
			b.Fatalf("delivered %d (host got %d), want %d", rep.Delivered, got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		q.Close()
		b.StartTimer()
	}
}
