// Package mission owns the repo side of spec-kitty: finding the repo root
// (CONTRACTS §1), reading `kitty-specs/<mission>/meta.json` and
// `status.events.jsonl` into per-WP lanes, resolving the mission a message
// talks about (§4), and `status emit`: appending one lane transition under
// the same cross-process lock the Python spec-kitty CLI takes (§9).
//
// It is local and fast: it never touches the state home, the queue, the
// keychain or the network, and it never rewrites an events file (it only
// appends). A repository is untrusted input (CONTRACTS §10, confine.go):
// every file it reads or writes must resolve inside the repo's real
// kitty-specs/ and be a regular file; reads are bounded and events files
// are streamed. The bytes are read here; each line is scanned by
// core/event (event.ScanLine), the uploader's own scan, so `status` and the
// uploader cannot read a line differently. Reading is tolerant: unknown
// fields are ignored, malformed lines are counted and skipped, unknown lanes
// are counted under their own name.
//
// The current lane of a WP follows the Python reducer
// (specify_cli/status/reducer.py): lane transitions are de-duplicated by
// event_id (first occurrence wins), ordered by (at, event_id) and folded, the
// last one winning — except that a forward move stamped with exactly the same
// time as a review rollback does not override it. Ordering by time rather
// than by file position matters for real data: migrations append backfilled
// transitions with old timestamps at the end of a file.
package mission

import (
	"fmt"
	"strings"
	"time"
)

// Lane is a WP lane, equal to its wire code.
type Lane string

// The valid lanes, in board order (CONTRACTS §9).
const (
	Planned    Lane = "planned"
	Claimed    Lane = "claimed"
	InProgress Lane = "in_progress"
	ForReview  Lane = "for_review"
	InReview   Lane = "in_review"
	Approved   Lane = "approved"
	Done       Lane = "done"
	Blocked    Lane = "blocked"
	Canceled   Lane = "canceled"
)

// Lanes returns the valid lanes in board order.
func Lanes() []Lane {
	return []Lane{Planned, Claimed, InProgress, ForReview, InReview, Approved, Done, Blocked, Canceled}
}

// Valid reports whether l is one of the nine valid lanes.
func (l Lane) Valid() bool {
	switch l {
	case Planned, Claimed, InProgress, ForReview, InReview, Approved, Done, Blocked, Canceled:
		return true
	}
	return false
}

// ParseLane returns s as a valid lane, or an *InvalidLaneError listing the
// valid ones.
func ParseLane(s string) (Lane, error) {
	l := Lane(s)
	if !l.Valid() {
		return "", &InvalidLaneError{Lane: s}
	}
	return l, nil
}

// InvalidLaneError is a lane name that is not one of Lanes().
type InvalidLaneError struct{ Lane string }

func (e *InvalidLaneError) Error() string {
	names := make([]string, 0, 9)
	for _, l := range Lanes() {
		names = append(names, string(l))
	}
	return fmt.Sprintf("invalid lane %q (valid lanes: %s)", e.Lane, strings.Join(names, ", "))
}

// WP is the current state of one work package.
type WP struct {
	ID      string    // "WP01"
	Lane    Lane      // lane of the last transition; may be an unknown lane from historical data
	Actor   string    // who made the last move ("" when the line had none)
	At      time.Time // when the last move happened (zero when its time was unreadable)
	EventID string    // event_id of the last move
	Line    int       // 1-based line of the last move in status.events.jsonl
}

// Stats counts the lines of one events file.
type Stats struct {
	Lines       int // non-blank lines
	Transitions int // lane transitions applied (duplicates excluded)
	Duplicates  int // lane transitions skipped because their event_id was seen before
	Other       int // valid records without a lane meaning (lifecycle, annotations, retrospectives...)
	Malformed   int // lines that are not a JSON object (skipped)
}

// LineIssue is one malformed line.
type LineIssue struct {
	Line int    // 1-based line number
	Err  string // why it was skipped
}

// MaxIssuesKept is how many malformed lines a Status keeps in detail; the
// rest are only counted.
const MaxIssuesKept = 10

// Status is what an events file says: every WP's current lane and the counters.
type Status struct {
	WPs          []WP         // sorted by WP id (WP2 before WP10)
	Counts       map[Lane]int // WPs per current lane; only lanes with WPs are present
	LastActivity time.Time    // latest at/timestamp of any record; zero when none
	Stats        Stats
	Malformed    []LineIssue // the first MaxIssuesKept malformed lines
}

// WP returns the state of the work package id, if the file mentions it.
func (s *Status) WP(id string) (WP, bool) {
	for _, w := range s.WPs {
		if w.ID == id {
			return w, true
		}
	}
	return WP{}, false
}

// Meta is what this package reads from meta.json. Fields the file does not
// have are empty; Raw keeps the whole file for anything else.
type Meta struct {
	Slug         string // "mission_slug", else "slug" (may differ from the directory name)
	FriendlyName string // "friendly_name", else "title"
	MissionID    string // "mission_id" (a ULID in current files)
	Number       string // "mission_number" as text ("" when null or absent)
	Type         string // "mission_type", e.g. "software-dev"
	CreatedAt    string // "created_at" as written
	TargetBranch string // "target_branch"
	Raw          []byte // the file's bytes; nil when there is no meta.json
}

// Mission is one directory under kitty-specs/.
type Mission struct {
	Slug          string // directory name: the mission's identity
	Dir           string // absolute path of the directory
	HasMeta       bool
	Meta          Meta
	MetaErr       error // meta.json exists but could not be read or parsed
	HasEvents     bool
	EventsModTime time.Time // modification time of status.events.jsonl
	EventsErr     error     // status.events.jsonl exists but could not be read
	Status
}

// Title is the friendly name from meta.json, else the slug.
func (m *Mission) Title() string {
	if m.Meta.FriendlyName != "" {
		return m.Meta.FriendlyName
	}
	return m.Slug
}
