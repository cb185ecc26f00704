package event

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

// seededEntropy is deterministic randomness for tests.
type seededEntropy struct{ r *rand.ChaCha8 }

func (e seededEntropy) Read(p []byte) (int, error) { return e.r.Read(p) }

func newEntropy(seed byte) seededEntropy {
	return seededEntropy{rand.NewChaCha8([32]byte{seed})}
}

func TestNewID(t *testing.T) {
	now := time.Date(2026, 6, 30, 20, 18, 52, 828000000, time.UTC)
	a, err := NewID(now, newEntropy(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewID(now, newEntropy(1))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("same clock and entropy gave %s and %s", a, b)
	}
	id, err := ulid.ParseStrict(a)
	if err != nil {
		t.Fatalf("%s is not a ULID: %v", a, err)
	}
	if !id.Timestamp().Equal(now) {
		t.Errorf("ULID time = %v, want %v", id.Timestamp(), now)
	}
	if _, err := NewID(now, bytes.NewReader(nil)); err == nil {
		t.Error("NewID with exhausted entropy succeeded")
	}
}

func TestIDGenMonotonic(t *testing.T) {
	tests := []struct {
		name  string
		clock []time.Time // repeated cyclically
	}{
		{"frozen clock", []time.Time{time.Unix(1790000000, 0)}},
		{"clock steps back", []time.Time{time.Unix(1790000000, 5e6), time.Unix(1790000000, 0), time.Unix(1789999000, 0)}},
		{"clock advances", []time.Time{time.Unix(1790000000, 0), time.Unix(1790000001, 0), time.Unix(1790000002, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			i := 0
			now := func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				i++
				return tt.clock[i%len(tt.clock)]
			}
			g := NewIDGen(now, newEntropy(2))
			var wg sync.WaitGroup
			ids := make([][]string, 4)
			for w := range ids {
				wg.Go(func() {
					for range 500 {
						id, err := g.New()
						if err != nil {
							t.Error(err)
							return
						}
						ids[w] = append(ids[w], id)
					}
				})
			}
			wg.Wait()
			seen := map[string]bool{}
			for _, list := range ids {
				for j, id := range list {
					if seen[id] {
						t.Fatalf("duplicate id %s", id)
					}
					seen[id] = true
					if _, err := ulid.ParseStrict(id); err != nil {
						t.Fatalf("%s: %v", id, err)
					}
					if j > 0 && strings.Compare(list[j-1], id) >= 0 {
						t.Fatalf("ids not increasing: %s then %s", list[j-1], id)
					}
				}
			}
		})
	}
}

func TestIDGenOverflowBorrowsNextMillisecond(t *testing.T) {
	// All-0xff entropy puts the random part at its maximum: the second id in
	// the same millisecond would overflow.
	ones := io.MultiReader(bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)), newEntropy(3))
	now := time.Unix(1790000000, 0)
	g := NewIDGen(func() time.Time { return now }, ones)
	a, err := g.New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.New()
	if err != nil {
		t.Fatal(err)
	}
	if a >= b {
		t.Fatalf("ids not increasing: %s then %s", a, b)
	}
	if got := ulid.MustParse(b).Time(); got != ulid.Timestamp(now)+1 {
		t.Errorf("second id time = %d, want the next millisecond %d", got, ulid.Timestamp(now)+1)
	}
}
