package mission

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Reduce reads the content of one status.events.jsonl into a Status. It never
// fails: malformed lines are counted, kept in Malformed (the first
// MaxIssuesKept) and skipped. The result holds no reference to data.
func Reduce(data []byte) Status {
	var r reducer
	return r.reduce(data)
}

// transition is a lane transition line; its slices point into the file.
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
	rec   rawRecord
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
		if !isWS(c) {
			return false
		}
	}
	return true
}

func (r *reducer) reduce(data []byte) Status {
	var st Status
	r.trans = r.trans[:0]
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
		if isBlank(line) {
			continue
		}
		st.Stats.Lines++
		rec := &r.rec
		if err := parseRaw(line, rec); err != nil {
			st.Stats.Malformed++
			if len(st.Malformed) < MaxIssuesKept {
				st.Malformed = append(st.Malformed, LineIssue{Line: lineNo, Err: err.Error()})
			}
			continue
		}
		at := rec.when()
		if at.After(st.LastActivity) {
			st.LastActivity = at
		}
		if !rec.transition() {
			st.Stats.Other++
			continue
		}
		r.trans = append(r.trans, transition{
			at:      at,
			eventID: rec.eventID,
			wpID:    rec.wpID,
			toLane:  rec.toLane,
			actor:   rec.actor,
			line:    lineNo,
			// A review rollback, as the Python reducer defines it.
			rollback: string(rec.toLane) == string(InProgress) &&
				(string(rec.fromLane) == string(InReview) || string(rec.fromLane) == string(ForReview) && rec.reviewRef),
		})
	}
	r.fold(&st)
	return st
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
