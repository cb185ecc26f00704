package daemon

import (
	"testing"
	"time"
)

// TestNextWake: a failed batch does not park the queue for a whole tick;
// the daemon runs again when the earliest retry is due (never sooner than
// minWake), and at the tick when nothing waits.
func TestNextWake(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	l := &workLoop{Tick: time.Minute, Now: func() time.Time { return now }}
	for _, tt := range []struct {
		name string
		next time.Time
		want time.Duration
	}{
		{"nothing waits", time.Time{}, time.Minute},
		{"retry in 3 s", now.Add(3 * time.Second), 3 * time.Second},
		{"retry overdue", now.Add(-time.Second), minWake},
		{"retry after the tick", now.Add(5 * time.Minute), time.Minute},
	} {
		if got := l.nextWake(Report{NextAttemptAt: tt.next}); got != tt.want {
			t.Errorf("%s: next wake in %v, want %v", tt.name, got, tt.want)
		}
	}
}
