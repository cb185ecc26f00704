// Package corpus generates spec-kitty repositories for tests, benchmarks,
// scripts and the demo: `kitty-specs/<mission>/{meta.json,status.events.jsonl}`
// trees in every line shape a real spec-kitty repository holds, plus a
// `.kittify/config.yaml` with comments and unknown sections.
//
// Generation is deterministic: the same Options give the same bytes, on every
// platform. Alongside the files, Write returns a Summary of what it wrote —
// the counts and the lane of every work package as the Python reducer defines
// them — computed by the generator's own model of the repository, so readers
// can be checked against it rather than against numbers copied from a run.
//
// It never reads anything and writes only below the directory it is given.
// Product code never imports it.
package corpus

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Version changes whenever the bytes generated for the same Options change,
// so on-disk caches of a corpus are keyed by it.
const Version = 1

// Options size and seed a corpus.
type Options struct {
	Seed     uint64
	Missions int // mission directories under kitty-specs/
	Lines    int // non-blank event lines in all, spread over the missions with events
}

// The sizes the project uses. Default matches the public spec-kitty
// repository's scale (412 missions, ≈25k lines, ≈18 MB); Small keeps unit
// tests fast; Large serves the scale benchmarks and soak runs.
var (
	Small   = Options{Seed: 1, Missions: 24, Lines: 1500}
	Default = Options{Seed: 1, Missions: 412, Lines: 25000}
	Large   = Options{Seed: 1, Missions: 4000, Lines: 1_000_000}
)

// Sizes names the presets for command lines and environment variables.
var Sizes = map[string]Options{"small": Small, "default": Default, "large": Large}

// Lanes in board order, as CONTRACTS §9 lists them.
var lanes = []string{"planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done", "blocked", "canceled"}

// Counts are line counts of one events file or of a whole corpus, in the
// terms of both readers of events files:
//
//   - the status reader (core/mission): Lines = Transitions + Duplicates +
//     Other + Malformed + PendingTail, and a pending tail counts as malformed;
//   - the importer (core/event): Synced lines carry an event_id, NoEventID
//     lines are objects without one, Malformed lines are reported, and a
//     PendingTail (an unterminated, incomplete last line) is left unread.
type Counts struct {
	Lines       int   `json:"lines"`        // non-blank lines
	Transitions int   `json:"transitions"`  // lane transitions, first occurrence of each event_id
	Duplicates  int   `json:"duplicates"`   // lane transitions repeating an earlier event_id
	Other       int   `json:"other"`        // valid objects that are not lane transitions
	Malformed   int   `json:"malformed"`    // terminated lines that are not JSON objects
	PendingTail int   `json:"pending_tail"` // an unterminated incomplete last line
	Synced      int   `json:"synced"`       // valid objects with an event_id
	NoEventID   int   `json:"no_event_id"`  // valid objects without an event_id
	Blank       int   `json:"blank"`        // blank lines (skipped by every reader)
	Bytes       int64 `json:"bytes"`
}

func (c *Counts) add(o Counts) {
	c.Lines += o.Lines
	c.Transitions += o.Transitions
	c.Duplicates += o.Duplicates
	c.Other += o.Other
	c.Malformed += o.Malformed
	c.PendingTail += o.PendingTail
	c.Synced += o.Synced
	c.NoEventID += o.NoEventID
	c.Blank += o.Blank
	c.Bytes += o.Bytes
}

// Mission is what the generator wrote for one mission.
type Mission struct {
	Slug      string `json:"slug"`
	Title     string `json:"title"` // friendly_name of meta.json; "" when meta.json has none or is absent
	MissionID string `json:"mission_id,omitempty"`
	HasMeta   bool   `json:"has_meta"`
	HasEvents bool   `json:"has_events"`
	Counts    Counts `json:"counts"`
	// Lanes maps each WP with a lane transition to its current lane.
	Lanes map[string]string `json:"lanes"`
	// LastActivity is the latest time of any valid line ("at", else
	// "timestamp"); zero without one.
	LastActivity time.Time `json:"last_activity"`
}

// Summary is what Write wrote.
type Summary struct {
	Options    Options   `json:"options"`
	Version    int       `json:"version"`
	Missions   []Mission `json:"missions"` // sorted by slug
	WithMeta   int       `json:"with_meta"`
	WithEvents int       `json:"with_events"`
	Counts     Counts    `json:"counts"`
	// EventTypes counts the valid lines by the type an uploader gives them:
	// "WPStatusChanged" for lane transitions, else the line's own
	// event_type or kind, else "StatusRecord".
	EventTypes map[string]int `json:"event_types"`
}

// Lanes totals the current lanes of every WP.
func (s *Summary) Lanes() map[string]int {
	out := map[string]int{}
	for _, m := range s.Missions {
		for _, l := range m.Lanes {
			out[l]++
		}
	}
	return out
}

// Mission returns the summary of the named mission.
func (s *Summary) Mission(slug string) (Mission, bool) {
	i := sort.Search(len(s.Missions), func(i int) bool { return s.Missions[i].Slug >= slug })
	if i < len(s.Missions) && s.Missions[i].Slug == slug {
		return s.Missions[i], true
	}
	return Mission{}, false
}

// SummaryFile is written beside kitty-specs/ by WriteSummary.
const SummaryFile = "corpus.json"

// Write generates the corpus into dir: dir/kitty-specs/… and
// dir/.kittify/config.yaml. dir is created if needed; existing missions of
// the same names are overwritten.
func Write(dir string, o Options) (*Summary, error) {
	if o.Missions < 1 || o.Lines < 0 {
		return nil, fmt.Errorf("corpus: want at least one mission and no negative line count, got %+v", o)
	}
	// Large enough corpora hold the samples; the generated missions and
	// lines make up the rest.
	var names []string
	gen := o
	if n := sampleLines(); o.Missions >= 4*len(SampleNames()) && o.Lines >= 4*n {
		names = SampleNames()
		gen.Missions -= len(names)
		gen.Lines -= n
	}
	g := newGenerator(gen)
	plans := g.plan()
	sum := &Summary{Options: o, Version: Version, EventTypes: map[string]int{}}
	specs := filepath.Join(dir, "kitty-specs")
	if err := os.MkdirAll(specs, 0o755); err != nil {
		return nil, err
	}
	missions := make([]func() (Mission, error), 0, o.Missions)
	for _, name := range names {
		missions = append(missions, func() (Mission, error) { return writeSample(specs, name, sum.EventTypes) })
	}
	for _, p := range plans {
		missions = append(missions, func() (Mission, error) { return g.writeMission(specs, p, sum.EventTypes) })
	}
	for _, write := range missions {
		m, err := write()
		if err != nil {
			return nil, err
		}
		sum.Missions = append(sum.Missions, m)
		sum.Counts.add(m.Counts)
		if m.HasMeta {
			sum.WithMeta++
		}
		if m.HasEvents {
			sum.WithEvents++
		}
	}
	sort.Slice(sum.Missions, func(i, j int) bool { return sum.Missions[i].Slug < sum.Missions[j].Slug })
	if err := os.MkdirAll(filepath.Join(dir, ".kittify"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ".kittify", "config.yaml"), []byte(KittifyConfig), 0o644); err != nil {
		return nil, err
	}
	return sum, nil
}

// WriteSummary stores s as dir/corpus.json (outside kitty-specs/, so no
// reader of the repository sees it).
func WriteSummary(dir string, s *Summary) error {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, SummaryFile), append(b, '\n'), 0o644)
}

// ReadSummary reads dir/corpus.json.
func ReadSummary(dir string) (*Summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, SummaryFile), err)
	}
	if s.Version != Version {
		return nil, errors.New("corpus summary of another generator version")
	}
	return &s, nil
}

// Hash is a SHA-256 over every file under dir: its slash-separated path,
// its size and its bytes, in walk order. Two trees hash alike only when
// they hold the same files with the same bytes.
func Hash(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		h.Write(b)
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil)), err
}

// missionPlan is one mission before its lines are generated.
type missionPlan struct {
	index     int
	slug      string
	title     string
	style     style
	hasMeta   bool
	hasEvents bool
	budget    int // non-blank lines
	start     time.Time
	rng       *rand.Rand
}

type generator struct {
	o   Options
	rng *rand.Rand
}

func newGenerator(o Options) *generator {
	return &generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x6b697474795f7370))}
}

// plan names the missions, picks their styles and spreads the line budget.
func (g *generator) plan() []missionPlan {
	n := g.o.Missions
	plans := make([]missionPlan, n)
	used := map[string]bool{}
	epoch := time.Date(2025, 11, 1, 9, 0, 0, 0, time.UTC)
	span := time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC).Sub(epoch)
	for i := range plans {
		p := &plans[i]
		p.index = i
		p.rng = rand.New(rand.NewPCG(g.o.Seed, uint64(i)+1))
		// Older missions are numbered and legacy-shaped; newer ones carry a
		// ULID fragment, as in the public repository.
		frac := float64(i) / float64(n)
		p.start = epoch.Add(time.Duration(frac*float64(span)) + time.Duration(g.rng.Int64N(int64(12*time.Hour))))
		switch {
		case frac < 0.3:
			p.style = styleLegacy
		case frac < 0.55:
			p.style = styleMigrated
		default:
			p.style = styleModern
		}
		for {
			p.slug, p.title = g.name(i, p.style)
			if !used[p.slug] {
				break
			}
		}
		used[p.slug] = true
		p.hasMeta = true
		p.hasEvents = true
		switch {
		case n >= 4 && i == n-1:
			// A mission with events but no meta.json.
			p.hasMeta = false
		case n >= 4 && i%67 == 5:
			// Missions that only have meta.json (just specified).
			p.hasEvents = false
		}
	}
	// Spread the lines: a skewed share per mission, summing to exactly Lines.
	weights := make([]float64, n)
	var total float64
	for i := range plans {
		if !plans[i].hasEvents {
			continue
		}
		w := 0.2 + g.rng.ExpFloat64()
		if g.rng.IntN(40) == 0 {
			w *= 6 // a few long-running missions
		}
		weights[i] = w
		total += w
	}
	left := g.o.Lines
	for i := range plans {
		if weights[i] == 0 {
			continue
		}
		b := int(float64(g.o.Lines) * weights[i] / total)
		if b > left {
			b = left
		}
		plans[i].budget = b
		left -= b
	}
	for i := 0; left > 0; i = (i + 1) % n {
		if plans[i].hasEvents {
			plans[i].budget++
			left--
		}
	}
	return plans
}

func (g *generator) name(i int, st style) (slug, title string) {
	words := make([]string, 2+g.rng.IntN(3))
	for j := range words {
		words[j] = slugWords[g.rng.IntN(len(slugWords))]
	}
	slug = words[0]
	title = titleCase(words[0])
	for _, w := range words[1:] {
		slug += "-" + w
		title += " " + titleCase(w)
	}
	if i%53 == 7 {
		title += " — " + nonASCIITitles[g.rng.IntN(len(nonASCIITitles))]
	}
	if st == styleModern {
		return slug + "-" + ulidString(g.rng.Uint64(), g.rng.Uint64())[:8], title
	}
	return fmt.Sprintf("%03d-%s", i+1, slug), title
}

func (g *generator) writeMission(specs string, p missionPlan, types map[string]int) (Mission, error) {
	m := Mission{Slug: p.slug, HasMeta: p.hasMeta, HasEvents: p.hasEvents, Lanes: map[string]string{}}
	dir := filepath.Join(specs, p.slug)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	mw := newMissionWriter(p)
	if p.hasMeta {
		meta, id, title := mw.meta()
		m.MissionID, m.Title = id, title
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644); err != nil {
			return m, err
		}
	}
	if !p.hasEvents {
		return m, nil
	}
	f, err := os.Create(filepath.Join(dir, "status.events.jsonl"))
	if err != nil {
		return m, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	mw.out = w
	mw.types = types
	mw.run()
	if err := w.Flush(); err != nil {
		f.Close()
		return m, err
	}
	if err := f.Close(); err != nil {
		return m, err
	}
	m.Counts = mw.counts
	m.LastActivity = mw.last
	for wp, st := range mw.wps {
		if st.moved {
			m.Lanes[wp] = st.lane
		}
	}
	return m, nil
}
