package event

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// Event ids are ULIDs (https://github.com/ulid/spec): 48 bits of Unix
// milliseconds then 80 random bits, in Crockford's base32. They are made
// here rather than with github.com/oklog/ulid, whose package init seeds a
// math/rand source in every spec-kitty start, --help included (issue 18);
// id_test.go checks every id against that package, which stays the tests'
// reference.

// errMonotonicOverflow: the random part of a millisecond is used up.
var errMonotonicOverflow = errors.New("ulid: monotonic entropy overflow")

// maxULIDTime is the last millisecond 48 bits hold (year 10889).
const maxULIDTime = 1<<48 - 1

// ulidTimestamp is t in Unix milliseconds, as ulid.Timestamp.
func ulidTimestamp(t time.Time) uint64 {
	return uint64(t.Unix())*1000 + uint64(t.Nanosecond()/int(time.Millisecond))
}

// newULID is ulid.New(ms, entropy).String(), the random part filled by
// fill: read from entropy, or drawn by a monotonic source.
func newULID(ms uint64, fill func(ms uint64, p []byte) error) (string, error) {
	if ms > maxULIDTime {
		return "", errors.New("ulid: bad timestamp")
	}
	var id [16]byte
	id[0], id[1], id[2], id[3], id[4], id[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	if err := fill(ms, id[6:]); err != nil {
		return "", err
	}
	return encodeULID(id), nil
}

// encodeULID writes the 128 bits of id as 26 Crockford base32 digits.
func encodeULID(id [16]byte) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	hi, lo := binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])
	var s [26]byte
	for i := len(s) - 1; i >= 0; i-- {
		s[i] = digits[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(s[:])
}

// monotonic is ulid.Monotonic(entropy, 0): within one millisecond each
// random part is the previous one plus a random increment in [1, 2^32),
// drawn the way that package draws it, so a seeded source gives the same
// ids; across milliseconds it is read afresh.
type monotonic struct {
	r      *bufio.Reader
	ms     uint64
	hi     uint16 // the random part: hi<<64 | lo
	lo     uint64
	incBuf [4]byte
}

func newMonotonic(entropy io.Reader) *monotonic {
	return &monotonic{r: bufio.NewReader(entropy)}
}

func (m *monotonic) read(ms uint64, p []byte) error {
	if (m.hi == 0 && m.lo == 0) || m.ms != ms {
		if _, err := io.ReadFull(m.r, p); err != nil {
			return err
		}
		m.ms = ms
		m.hi, m.lo = binary.BigEndian.Uint16(p[:2]), binary.BigEndian.Uint64(p[2:])
		return nil
	}
	var inc uint64
	for inc == 0 || inc >= math.MaxUint32 {
		if _, err := io.ReadFull(m.r, m.incBuf[:]); err != nil {
			return err
		}
		inc = uint64(binary.LittleEndian.Uint32(m.incBuf[:]))
	}
	var err error
	lo, hi := m.lo, m.hi
	if m.lo += 1 + inc; m.lo < lo {
		m.hi++
	}
	if m.hi < hi {
		err = errMonotonicOverflow // the random part wrapped, as ulid's does
	}
	binary.BigEndian.PutUint16(p[:2], m.hi)
	binary.BigEndian.PutUint64(p[2:], m.lo)
	return err
}

// NewID returns a ULID for now from entropy. Two calls are ordered only by
// their millisecond; use an IDGen for ids that must sort in creation order.
func NewID(now time.Time, entropy io.Reader) (string, error) {
	id, err := newULID(ulidTimestamp(now), func(_ uint64, p []byte) error {
		_, err := io.ReadFull(entropy, p)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("new event id: %w", err)
	}
	return id, nil
}

// IDGen makes ULIDs that strictly increase for the life of the generator,
// also when the clock stands still or steps back. Share one per process.
type IDGen struct {
	mu      sync.Mutex
	now     func() time.Time
	entropy *monotonic
	lastMS  uint64
}

// NewIDGen returns a generator reading time from now and randomness from
// entropy (crypto/rand.Reader in production).
func NewIDGen(now func() time.Time, entropy io.Reader) *IDGen {
	return &IDGen{now: now, entropy: newMonotonic(entropy)}
}

// New returns the next id.
func (g *IDGen) New() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := max(ulidTimestamp(g.now()), g.lastMS)
	for range 2 {
		id, err := newULID(ms, g.entropy.read)
		if err == nil {
			g.lastMS = ms
			return id, nil
		}
		if !errors.Is(err, errMonotonicOverflow) {
			return "", fmt.Errorf("new event id: %w", err)
		}
		// The random part of this millisecond is used up: borrow the next one.
		ms++
	}
	return "", errors.New("new event id: monotonic entropy exhausted")
}
