//go:build linux

package syncer

import (
	"context"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

// BenchmarkDeliveryUnderFaults drains 50,000 events the way the daemon
// does (a cycle, then a pause until the report's NextAttemptAt) once from a
// clean host and once from a host that answers 30% of the batches with 500,
// and reports both rates and their ratio (target >= 0.5). Run with
// -benchtime 1x.
func BenchmarkDeliveryUnderFaults(b *testing.B) {
	const n = 50_000
	var clean, faulty time.Duration
	for b.Loop() {
		for _, fraction := range []float64{0, 0.3} {
			b.StopTimer()
			q := fillQueue(b, n)
			eng, srv := benchEngineHost(b, q)
			if err := srv.SetFaults(hostedtest.Faults{ErrorFraction: fraction, Seed: 5}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			for {
				rep, _ := eng.Cycle(context.Background())
				if rep.QueueDepth == 0 {
					break
				}
				if !rep.NextAttemptAt.IsZero() {
					time.Sleep(max(time.Until(rep.NextAttemptAt), MinWake))
				}
			}
			d := time.Since(start)
			b.StopTimer()
			if fraction == 0 {
				clean += d
			} else {
				faulty += d
			}
			if got := srv.EventCount(); got != n {
				b.Fatalf("host holds %d of %d", got, n)
			}
			q.Close()
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(n*b.N)/clean.Seconds(), "clean-events/s")
	b.ReportMetric(float64(n*b.N)/faulty.Seconds(), "faulty-events/s")
	b.ReportMetric(clean.Seconds()/faulty.Seconds(), "faulty-x-clean")
}
