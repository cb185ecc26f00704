package event

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// NewID returns a ULID for now from entropy. Two calls are ordered only by
// their millisecond; use an IDGen for ids that must sort in creation order.
func NewID(now time.Time, entropy io.Reader) (string, error) {
	id, err := ulid.New(ulid.Timestamp(now), entropy)
	if err != nil {
		return "", fmt.Errorf("new event id: %w", err)
	}
	return id.String(), nil
}

// IDGen makes ULIDs that strictly increase for the life of the generator,
// also when the clock stands still or steps back. Share one per process.
type IDGen struct {
	mu      sync.Mutex
	now     func() time.Time
	entropy *ulid.MonotonicEntropy
	lastMS  uint64
}

// NewIDGen returns a generator reading time from now and randomness from
// entropy (crypto/rand.Reader in production).
func NewIDGen(now func() time.Time, entropy io.Reader) *IDGen {
	return &IDGen{now: now, entropy: ulid.Monotonic(entropy, 0)}
}

// New returns the next id.
func (g *IDGen) New() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := max(ulid.Timestamp(g.now()), g.lastMS)
	for range 2 {
		id, err := ulid.New(ms, g.entropy)
		if err == nil {
			g.lastMS = ms
			return id.String(), nil
		}
		if !errors.Is(err, ulid.ErrMonotonicOverflow) {
			return "", fmt.Errorf("new event id: %w", err)
		}
		// The random part of this millisecond is used up: borrow the next one.
		ms++
	}
	return "", errors.New("new event id: monotonic entropy exhausted")
}
