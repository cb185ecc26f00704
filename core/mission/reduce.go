package mission

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
)

// Reduce reads the content of one status.events.jsonl into a Status. It never
// fails: malformed lines are counted, kept in Malformed (the first
// MaxIssuesKept) and skipped. The result holds no reference to data.
func Reduce(data []byte) Status {
	var r reducer
	return r.reduce(data)
}

// ReduceReader is Reduce over a stream, holding one line at a time.
func ReduceReader(rd io.Reader) (Status, error) {
	var r reducer
	return r.reduceReader(rd, 0)
}

// transition is a lane transition line; its slices point into the reducer's arena.
type transition struct {
	at       time.Time
	eventID  []byte
	wpID     []byte
	toLane   []byte
	actor    []byte
	line     int
	rollback bool
}

// reducer holds buffers reused from one file to the next by a reader worker.
type reducer struct {
	br    *bufio.Reader
	long  []byte // a line longer than br's buffer, up to MaxLineBytes
	arena arena
	m     event.Members
	trans []transition
	seen  seenIDs
	index map[string]int
	wps   []transition // each WP's current move while folding
}

// ulidLen is the length of the event ids nearly every line carries.
const ulidLen = 26

// seenIDs is a set of event ids that does not allocate per id for ULIDs.
type seenIDs struct {
	ulids map[[ulidLen]byte]struct{}
	other map[string]struct{}
}

func (s *seenIDs) reset() {
	if s.ulids == nil {
		s.ulids = make(map[[ulidLen]byte]struct{}, 256)
		s.other = make(map[string]struct{})
	}
	clear(s.ulids)
	clear(s.other)
}

// add adds id and reports whether it was new.
func (s *seenIDs) add(id []byte) bool {
	if len(id) == ulidLen {
		k := [ulidLen]byte(id)
		if _, dup := s.ulids[k]; dup {
			return false
		}
		s.ulids[k] = struct{}{}
		return true
	}
	if _, dup := s.other[string(id)]; dup {
		return false
	}
	s.other[string(id)] = struct{}{}
	return true
}

var bom = []byte("\xef\xbb\xbf")

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func (r *reducer) reduce(data []byte) Status {
	var st Status
	r.trans = r.trans[:0]
	r.arena.reset()
	data = bytes.TrimPrefix(data, bom)
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if len(line) > MaxLineBytes {
			r.tooLong(&st, lineNo)
			continue
		}
		r.line(&st, lineNo, line)
	}
	r.fold(&st)
	return st
}

// tooLong counts a line longer than MaxLineBytes as malformed.
func (r *reducer) tooLong(st *Status, lineNo int) {
	st.Stats.Lines++
	st.Stats.Malformed++
	if len(st.Malformed) < MaxIssuesKept {
		st.Malformed = append(st.Malformed, LineIssue{Line: lineNo, Err: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)})
	}
}

// reduceReader reads an events file line by line: memory is bounded by the
// transitions kept, never by the file's size. A line longer than
// MaxLineBytes is counted as malformed without being held whole. Only a
// read error is returned, with what was read so far. size, when known, is
// the file's size: a long line then costs one allocation, not a series.
func (r *reducer) reduceReader(rd io.Reader, size int64) (Status, error) {
	var st Status
	r.trans = r.trans[:0]
	r.arena.reset()
	if r.br == nil {
		r.br = bufio.NewReaderSize(rd, 64<<10)
	} else {
		r.br.Reset(rd)
	}
	defer r.br.Reset(nil)
	lineNo := 0
	var rerr error
	for {
		line, err := r.br.ReadSlice('\n')
		tooLong := false
		if err == bufio.ErrBufferFull {
			if want := int(min(size, MaxLineBytes+1)); cap(r.long) < want {
				r.long = make([]byte, 0, want+len(line))
			}
			r.long = append(r.long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = r.br.ReadSlice('\n')
				if len(r.long) <= MaxLineBytes {
					r.long = append(r.long, line...)
				}
			}
			tooLong = len(r.long) > MaxLineBytes
			line = r.long
			if cap(r.long) > 4<<20 {
				r.long = nil
			}
		}
		if err != nil && err != io.EOF {
			rerr = err
			break
		}
		if len(line) == 0 {
			break
		}
		lineNo++
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		if tooLong {
			r.tooLong(&st, lineNo)
		} else {
			r.line(&st, lineNo, line)
		}
		if err == io.EOF {
			break
		}
	}
	r.fold(&st)
	return st, rerr
}

// line applies one line of the file.
func (r *reducer) line(st *Status, lineNo int, line []byte) {
	if isBlank(line) {
		return
	}
	st.Stats.Lines++
	m := &r.m
	if err := event.ScanLine(line, m); err != nil {
		st.Stats.Malformed++
		if len(st.Malformed) < MaxIssuesKept {
			st.Malformed = append(st.Malformed, LineIssue{Line: lineNo, Err: err.Error()})
		}
		return
	}
	at := m.Time()
	if at.After(st.LastActivity) {
		st.LastActivity = at
	}
	if !m.Transition() {
		st.Stats.Other++
		return
	}
	toLane, fromLane := str(m.ToLane), str(m.FromLane)
	reviewRef := m.ReviewRef != nil && string(m.ReviewRef) != "null"
	// The line's buffer is reused for the next line: keep copies.
	r.trans = append(r.trans, transition{
		at:      at,
		eventID: r.arena.copy(str(m.EventID)),
		wpID:    r.arena.copy(str(m.WPID)),
		toLane:  r.arena.copy(toLane),
		actor:   r.arena.copy(m.Actor),
		line:    lineNo,
		// A review rollback, as the Python reducer defines it.
		rollback: string(toLane) == string(InProgress) &&
			(string(fromLane) == string(InReview) || string(fromLane) == string(ForReview) && reviewRef),
	})
}

// arena holds copies of small byte strings in a few large chunks, so the
// transitions of a streamed file do not allocate one by one. Nothing refers
// to it once a file is folded (the Status holds strings), so the next file
// reuses its last chunk.
type arena struct{ cur []byte }

func (a *arena) reset() { a.cur = a.cur[:0] }

func (a *arena) copy(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > cap(a.cur)-len(a.cur) {
		a.cur = make([]byte, 0, max(min(2*cap(a.cur), 64<<10), 4<<10, len(b)))
	}
	n := len(a.cur)
	a.cur = append(a.cur, b...)
	return a.cur[n:len(a.cur):len(a.cur)]
}

// fold de-duplicates the transitions by event_id, orders them by (at,
// event_id) and applies them.
func (r *reducer) fold(st *Status) {
	if len(r.trans) == 0 {
		return
	}
	if r.index == nil {
		r.index = make(map[string]int)
	}
	r.seen.reset()
	clear(r.index)
	kept := r.trans[:0]
	for _, t := range r.trans {
		if len(t.eventID) > 0 && !r.seen.add(t.eventID) {
			st.Stats.Duplicates++
			continue
		}
		kept = append(kept, t)
	}
	r.trans = kept
	st.Stats.Transitions = len(kept)
	slices.SortStableFunc(kept, func(a, b transition) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return bytes.Compare(a.eventID, b.eventID)
	})
	r.wps = r.wps[:0]
	for _, t := range kept {
		i, ok := r.index[string(t.wpID)]
		if !ok {
			r.index[string(t.wpID)] = len(r.wps)
			r.wps = append(r.wps, t)
			continue
		}
		cur := &r.wps[i]
		// A forward move stamped with the same time as the rollback that set
		// the current state does not override it.
		if cur.rollback && !t.rollback && cur.at.Equal(t.at) {
			continue
		}
		*cur = t
	}
	st.WPs = make([]WP, len(r.wps))
	st.Counts = make(map[Lane]int, 9)
	for i, a := range r.wps {
		w := WP{
			ID:      string(a.wpID),
			Lane:    internLane(a.toLane),
			Actor:   actorName(a.actor),
			At:      a.at,
			EventID: string(a.eventID),
			Line:    a.line,
		}
		st.WPs[i] = w
		st.Counts[w.Lane]++
	}
	slices.SortFunc(st.WPs, func(a, b WP) int { return CompareWPIDs(a.ID, b.ID) })
}

// internLane returns the constant for a known lane without allocating.
func internLane(b []byte) Lane {
	for _, l := range [...]Lane{Planned, Claimed, InProgress, ForReview, InReview, Approved, Done, Blocked, Canceled} {
		if string(b) == string(l) {
			return l
		}
	}
	return Lane(b)
}

// CompareWPIDs orders WP ids naturally: "WP2" before "WP10"; ids that are not
// WP<digits> sort after those that are, by plain string order.
func CompareWPIDs(a, b string) int {
	na, oka := wpNumber(a)
	nb, okb := wpNumber(b)
	switch {
	case oka && okb:
		if c := cmp.Compare(na, nb); c != 0 {
			return c
		}
	case oka:
		return -1
	case okb:
		return 1
	}
	return cmp.Compare(a, b)
}

func wpNumber(id string) (uint64, bool) {
	if len(id) < 3 || id[:2] != "WP" {
		return 0, false
	}
	n, err := strconv.ParseUint(id[2:], 10, 64)
	return n, err == nil
}
