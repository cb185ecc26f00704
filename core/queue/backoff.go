package queue

import (
	"math/rand/v2"
	"time"
)

// Backoff bounds.
const (
	BackoffBase = time.Second
	BackoffCap  = 5 * time.Minute
	// MaxRetryAfter caps how long a host's Retry-After can park an event, so
	// a bogus header cannot stall the queue for days.
	MaxRetryAfter = time.Hour
)

// NextAttempt is when an event that has failed retryCount times before
// (0 on its first failure) may be tried again: capped exponential backoff
// with full jitter — uniform in [0, min(BackoffCap, BackoffBase·2^retryCount)]
// — but never sooner than retryAfter (the host's Retry-After, 0 if none,
// at most MaxRetryAfter). rnd nil uses the global source.
func NextAttempt(retryCount int, retryAfter time.Duration, now time.Time, rnd *rand.Rand) time.Time {
	ceiling := BackoffCap
	if retryCount < 0 {
		retryCount = 0
	}
	if retryCount < 30 { // beyond, the shift overflows; the cap applies anyway
		ceiling = min(BackoffCap, BackoffBase<<retryCount)
	}
	var delay time.Duration
	if rnd != nil {
		delay = time.Duration(rnd.Int64N(int64(ceiling) + 1))
	} else {
		delay = time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	if retryAfter > 0 {
		delay = max(delay, min(retryAfter, MaxRetryAfter))
	}
	return now.Add(delay)
}
