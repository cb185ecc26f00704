//go:build linux

package syncer

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// BenchmarkEmitDuringDrain: 8 emitters append lines and queue them the way
// `status emit` does (append, open the queue, import the file) while a
// daemon-like loop drains a backlog of 250,000 events (200,000 with
// -short) and imports what the emitters wrote. It reports the emit
// latency (mean, p99, worst) and the duplicates the host saw: emitted
// events sent twice. Run with -benchtime 1x.
func BenchmarkEmitDuringDrain(b *testing.B) {
	const emitters, perEmitter = 8, 40
	backlog := 250_000
	var lat []time.Duration
	dups := 0
	for b.Loop() {
		b.StopTimer()
		q := fillQueue(b, backlog)
		eng, srv := benchEngineHost(b, q)
		repo := filepath.Join(b.TempDir(), "repo")
		if _, err := q.RegisterRepo(context.Background(), repo); err != nil {
			b.Fatal(err)
		}
		for m := range emitters {
			if err := os.MkdirAll(paths.MissionDir(repo, fmt.Sprintf("emit-%d", m)), 0o755); err != nil {
				b.Fatal(err)
			}
		}
		ids := event.NewIDGen(time.Now, rand.Reader)
		var idMu sync.Mutex
		b.StartTimer()

		ctx, stop := context.WithCancel(context.Background())
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			for ctx.Err() == nil {
				rep, err := eng.Cycle(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				if rep.QueueDepth == 0 && rep.Imported == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for m := range emitters {
			wg.Go(func() {
				file := paths.EventsFile(repo, fmt.Sprintf("emit-%d", m))
				for range perEmitter {
					idMu.Lock()
					id, _ := ids.New()
					idMu.Unlock()
					start := time.Now()
					if err := emitOnce(q.Path(), eng, repo, file, id); err != nil {
						b.Error(err)
						return
					}
					d := time.Since(start)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		// Let the drainer finish, then count what the host saw twice.
		for {
			st, err := q.Stats(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if st.Depth == 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		stop()
		<-drained
		b.StopTimer()
		dups += srv.DuplicateCount()
		q.Close()
		b.StartTimer()
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(lat))/1000, "mean-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(dups), "duplicates")
}

// emitOnce is `status emit`'s work after building the line: append it,
// then queue it through a queue handle of its own (a new process's).
func emitOnce(dbPath string, daemonEng *Engine, repo, file, id string) error {
	line := fmt.Sprintf(`{"actor": "bench", "at": %q, "event_id": %q, "from_lane": "planned", "mission_slug": "emit", "to_lane": "claimed", "wp_id": "WP01"}`+"\n",
		time.Now().UTC().Format(time.RFC3339Nano), id)
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	q, err := queue.Open(context.Background(), dbPath, queue.Options{MaxSize: 1 << 30})
	if err != nil {
		return err
	}
	defer q.Close()
	if _, err := q.RegisterRepo(context.Background(), repo); err != nil {
		return err
	}
	eng := &Engine{Queue: q, Connect: daemonEng.Connect}
	_, err = eng.ImportFiles(context.Background(), repo, file)
	return err
}
