package queue

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestNextAttempt(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		retries    int
		retryAfter time.Duration
		lo, hi     time.Duration // every delay within [lo, hi]
		spreadOver time.Duration // and some delays above this (jitter is full)
	}{
		{"first failure", 0, 0, 0, time.Second, 500 * time.Millisecond},
		{"negative count is the first", -3, 0, 0, time.Second, 500 * time.Millisecond},
		{"third retry", 3, 0, 0, 8 * time.Second, 6 * time.Second},
		{"capped", 9, 0, 0, 5 * time.Minute, 4 * time.Minute},
		{"huge count stays capped", 1 << 20, 0, 0, 5 * time.Minute, 4 * time.Minute},
		{"retry-after longer than the backoff wins", 0, 30 * time.Second, 30 * time.Second, 30 * time.Second, 0},
		{"backoff longer than retry-after wins", 9, time.Second, time.Second, 5 * time.Minute, 4 * time.Minute},
		{"absurd retry-after is capped", 0, 48 * time.Hour, time.Hour, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(1, 2))
			var lowest, highest time.Duration = 1 << 62, 0
			for range 2000 {
				d := NextAttempt(tt.retries, tt.retryAfter, now, rnd).Sub(now)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("delay %v outside [%v, %v]", d, tt.lo, tt.hi)
				}
				lowest, highest = min(lowest, d), max(highest, d)
			}
			if tt.spreadOver > 0 && (highest <= tt.spreadOver || lowest > tt.hi/10+tt.lo) {
				t.Errorf("delays span only [%v, %v]: not full jitter over [%v, %v]", lowest, highest, tt.lo, tt.hi)
			}
		})
	}
}

func TestNextAttemptDeterministic(t *testing.T) {
	now := time.Unix(1790000000, 0)
	a := NextAttempt(4, 0, now, rand.New(rand.NewPCG(7, 7)))
	b := NextAttempt(4, 0, now, rand.New(rand.NewPCG(7, 7)))
	if !a.Equal(b) {
		t.Errorf("same seed gave %v and %v", a, b)
	}
	if d := NextAttempt(2, 0, now, nil).Sub(now); d < 0 || d > 4*time.Second {
		t.Errorf("global source delay %v outside [0, 4s]", d)
	}
}
