package dashboard

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

// fileKey identifies one version of a file cheaply: a mission is re-read
// only when the size or modification time of its meta.json or
// status.events.jsonl changed.
type fileKey struct {
	exists bool
	size   int64
	mod    int64
}

func statKey(path string) fileKey {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return fileKey{}
	}
	return fileKey{exists: true, size: fi.Size(), mod: fi.ModTime().UnixNano()}
}

type cacheEntry struct {
	meta, events fileKey
	m            *mission.Mission
}

// missionCache holds the last read of every mission, keyed by its files'
// (size, mtime). Missions handed out are never modified.
type missionCache struct {
	repo string

	mu      sync.Mutex
	entries map[string]*cacheEntry
	reads   atomic.Int64 // missions read from disk, for tests
}

func newMissionCache(repo string) *missionCache {
	return &missionCache{repo: repo, entries: map[string]*cacheEntry{}}
}

// names lists the directories under kitty-specs/ that may be missions, the
// way core/mission does (dot names skipped; symlinks to directories kept).
func (c *missionCache) names() ([]string, error) {
	dir := mission.SpecsDir(c.repo)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if e.IsDir() {
			out = append(out, name)
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(paths.MissionDir(c.repo, name)); err == nil && fi.IsDir() {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// list returns every mission, most recent activity first, re-reading only
// the missions whose files changed since the last call.
func (c *missionCache) list(ctx context.Context) ([]*mission.Mission, error) {
	names, err := c.names()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	type stale struct {
		name         string
		meta, events fileKey
	}
	var todo []stale
	seen := make(map[string]bool, len(names))
	out := make([]*mission.Mission, 0, len(names))
	for _, n := range names {
		mk, ek := statKey(paths.MetaFile(c.repo, n)), statKey(paths.EventsFile(c.repo, n))
		if !mk.exists && !ek.exists {
			continue
		}
		seen[n] = true
		if e, ok := c.entries[n]; ok && e.meta == mk && e.events == ek {
			out = append(out, e.m)
			continue
		}
		todo = append(todo, stale{n, mk, ek})
	}
	for n := range c.entries {
		if !seen[n] {
			delete(c.entries, n)
		}
	}
	if len(todo) > 0 {
		read := make([]*mission.Mission, len(todo))
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(len(todo), runtime.GOMAXPROCS(0)+2) {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(todo) || ctx.Err() != nil {
						return
					}
					if m, err := mission.Read(ctx, c.repo, todo[i].name); err == nil {
						read[i] = m
					}
				}
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i, m := range read {
			if m == nil {
				continue // removed between the stat and the read
			}
			c.reads.Add(1)
			c.entries[todo[i].name] = &cacheEntry{meta: todo[i].meta, events: todo[i].events, m: m}
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *mission.Mission) int {
		if d := b.LastActivity.Compare(a.LastActivity); d != 0 {
			return d
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	return out, nil
}

// errNoMission is any request for a name that is not a mission directly
// under kitty-specs/: always answered 404.
var errNoMission = errors.New("no such mission")

// validName accepts only a plain directory name: no separators, no dot
// prefix (so no "." or ".."), no drive letter, no NUL.
func validName(name string) bool {
	return mission.ValidateName(name) == nil && !strings.ContainsAny(name, ":\x00") && len(name) <= 255
}

// get returns one mission, re-read only when its files changed.
func (c *missionCache) get(ctx context.Context, name string) (*mission.Mission, error) {
	if !validName(name) {
		return nil, errNoMission
	}
	if fi, err := os.Stat(paths.MissionDir(c.repo, name)); err != nil || !fi.IsDir() {
		return nil, errNoMission
	}
	mk, ek := statKey(paths.MetaFile(c.repo, name)), statKey(paths.EventsFile(c.repo, name))
	if !mk.exists && !ek.exists {
		return nil, errNoMission
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[name]; ok && e.meta == mk && e.events == ek {
		return e.m, nil
	}
	m, err := mission.Read(ctx, c.repo, name)
	if err != nil {
		var unknown *mission.UnknownMissionError
		var bad *mission.InvalidNameError
		var unsafe *mission.UnsafePathError // linked out of kitty-specs/
		if errors.As(err, &unknown) || errors.As(err, &bad) || errors.As(err, &unsafe) {
			return nil, errNoMission
		}
		return nil, err
	}
	c.reads.Add(1)
	c.entries[name] = &cacheEntry{meta: mk, events: ek, m: m}
	return m, nil
}

// laneCount is one cell of a mission row or one kanban column header.
type laneCount struct {
	Lane  mission.Lane
	Label string
	Class string // CSS class, "lane-<lane>"
	Count int
}

// boardLanes are the nine lanes in board order plus any unknown lane that
// a mission in ms has WPs in (historical data), sorted after them.
func boardLanes(ms ...*mission.Mission) []mission.Lane {
	lanes := mission.Lanes()
	var extra []mission.Lane
	for _, m := range ms {
		for l := range m.Counts {
			if !l.Valid() && !slices.Contains(extra, l) {
				extra = append(extra, l)
			}
		}
	}
	slices.Sort(extra)
	return append(lanes, extra...)
}

func laneLabel(l mission.Lane) string { return strings.ReplaceAll(string(l), "_", " ") }

// missionView is what the templates and JSON show of a mission.
// Times are formatted here rather than in the template: the list page has
// 412 rows, and template function calls go through reflection.
type missionView struct {
	Slug         string
	Title        string
	WPCount      int
	Lanes        []laneCount
	LastActivity string // "2006-01-02 15:04 UTC" or "—"
	LastISO      string // RFC 3339 for <time datetime>
	Malformed    int
}

func viewOf(m *mission.Mission, lanes []mission.Lane) missionView {
	v := missionView{Slug: m.Slug, Title: m.Title(), WPCount: len(m.WPs), LastActivity: when(m.LastActivity),
		LastISO: iso(m.LastActivity), Malformed: m.Stats.Malformed, Lanes: make([]laneCount, len(lanes))}
	for i, l := range lanes {
		v.Lanes[i] = laneCount{Lane: l, Label: laneLabel(l), Class: laneClass(l), Count: m.Counts[l]}
	}
	return v
}

func laneClass(l mission.Lane) string { return "lane-" + string(l) }

// missionJSON is one mission in GET /api/missions; fields are only added.
type missionJSON struct {
	Mission      string         `json:"mission"`
	Title        string         `json:"title"`
	WPCount      int            `json:"wp_count"`
	Lanes        map[string]int `json:"lanes"`
	LastActivity *time.Time     `json:"last_activity"`
	Malformed    int            `json:"malformed_lines"`
}

func toJSON(m *mission.Mission, lanes []mission.Lane) missionJSON {
	j := missionJSON{Mission: m.Slug, Title: m.Title(), WPCount: len(m.WPs), Lanes: make(map[string]int, len(lanes)),
		Malformed: m.Stats.Malformed}
	for _, l := range lanes {
		j.Lanes[string(l)] = m.Counts[l]
	}
	if !m.LastActivity.IsZero() {
		t := m.LastActivity.UTC()
		j.LastActivity = &t
	}
	return j
}

// wpJSON is one work package in GET /api/missions/{name}.
type wpJSON struct {
	WPID    string     `json:"wp_id"`
	Lane    string     `json:"lane"`
	Actor   string     `json:"actor"`
	At      *time.Time `json:"at"`
	EventID string     `json:"event_id"`
	Title   string     `json:"title,omitempty"`
}

type missionDetailJSON struct {
	missionJSON
	WorkPackages []wpJSON `json:"work_packages"`
}

// column is one kanban lane with its cards.
type column struct {
	laneCount
	WPs []card
}

// card is one work package on the board: its last move and its title from
// the mission's tasks files ("" when none is found: the card shows the id).
type card struct {
	mission.WP
	Title string
}

func columnsOf(m *mission.Mission, titles map[string]string) []column {
	lanes := boardLanes(m)
	cols := make([]column, len(lanes))
	for i, l := range lanes {
		cols[i].laneCount = laneCount{Lane: l, Label: laneLabel(l), Class: laneClass(l), Count: m.Counts[l]}
	}
	for _, wp := range m.WPs {
		if i := slices.Index(lanes, wp.Lane); i >= 0 {
			cols[i].WPs = append(cols[i].WPs, card{WP: wp, Title: term.Sanitize(titles[wp.ID])})
		}
	}
	return cols
}

// tag is a cheap fingerprint of what a page shows, its ETag: for the list
// (name "") the names and (size, mtime) of every mission's meta.json and
// status.events.jsonl; for one mission those two files plus its tasks files
// (where the work-package titles come from). Stats only, nothing is read.
func (c *missionCache) tag(name string) string {
	h := fnv.New64a()
	key := func(k fileKey) {
		fmt.Fprintf(h, "%t/%d/%d;", k.exists, k.size, k.mod)
	}
	if name == "" {
		names, err := c.names()
		if err != nil {
			return ""
		}
		for _, n := range names {
			io.WriteString(h, n+":")
			key(statKey(paths.MetaFile(c.repo, n)))
			key(statKey(paths.EventsFile(c.repo, n)))
		}
		return fmt.Sprintf("%016x", h.Sum64())
	}
	dir := paths.MissionDir(c.repo, name)
	key(statKey(paths.MetaFile(c.repo, name)))
	key(statKey(paths.EventsFile(c.repo, name)))
	key(statKey(filepath.Join(dir, "tasks.md")))
	if ents, err := os.ReadDir(filepath.Join(dir, "tasks")); err == nil {
		for _, e := range ents {
			io.WriteString(h, e.Name()+":")
			key(statKey(filepath.Join(dir, "tasks", e.Name())))
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}
