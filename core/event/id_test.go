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

// TestIDsMatchOklogULID: the ids made here are those github.com/oklog/ulid
// makes from the same clock and entropy — one at a time, and in the
// monotonic sequence of an IDGen, overflow into the next millisecond
// included.
func TestIDsMatchOklogULID(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var id ulid.ULID
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		if got, want := encodeULID(id), id.String(); got != want {
			t.Fatalf("encodeULID(%x) = %s, want %s", id[:], got, want)
		}
	}
	for _, ts := range []time.Time{time.Unix(0, 0), time.Unix(1790000000, 999999999), time.Date(2026, 6, 30, 20, 18, 52, 828123456, time.UTC)} {
		if got, want := ulidTimestamp(ts), ulid.Timestamp(ts); got != want {
			t.Errorf("ulidTimestamp(%v) = %d, want %d", ts, got, want)
		}
		got, err := NewID(ts, newEntropy(4))
		if err != nil {
			t.Fatal(err)
		}
		if want := ulid.MustNew(ulid.Timestamp(ts), newEntropy(4)).String(); got != want {
			t.Errorf("NewID(%v) = %s, want %s", ts, got, want)
		}
	}

	clocks := map[string][]time.Time{
		"frozen":     {time.Unix(1790000000, 0)},
		"steps back": {time.Unix(1790000000, 5e6), time.Unix(1790000000, 0), time.Unix(1789999000, 0)},
		"advances":   {time.Unix(1790000000, 0), time.Unix(1790000000, 0), time.Unix(1790000001, 0)},
	}
	entropies := map[string]func() io.Reader{
		"seeded": func() io.Reader { return newEntropy(5) },
		// At its maximum the random part overflows on the next id.
		"overflow": func() io.Reader {
			return io.MultiReader(bytes.NewReader(bytes.Repeat([]byte{0xff}, 10)), newEntropy(6))
		},
		"near the top": func() io.Reader {
			return io.MultiReader(bytes.NewReader(append([]byte{0xff, 0xff}, bytes.Repeat([]byte{0xfe}, 8)...)), newEntropy(7))
		},
	}
	for cname, clock := range clocks {
		for ename, entropy := range entropies {
			i := 0
			now := func() time.Time { i++; return clock[(i-1)%len(clock)] }
			g := NewIDGen(now, entropy())
			// The reference: IDGen.New over ulid.Monotonic.
			j := 0
			refNow := func() time.Time { j++; return clock[(j-1)%len(clock)] }
			mono := ulid.Monotonic(entropy(), 0)
			var last uint64
			ref := func() string {
				ms := max(ulid.Timestamp(refNow()), last)
				for range 2 {
					id, err := ulid.New(ms, mono)
					if err == nil {
						last = ms
						return id.String()
					}
					ms++
				}
				return "exhausted"
			}
			for n := range 300 {
				got, err := g.New()
				if err != nil {
					t.Fatal(err)
				}
				if want := ref(); got != want {
					t.Fatalf("%s clock, %s entropy: id %d = %s, want %s", cname, ename, n, got, want)
				}
			}
		}
	}
}
