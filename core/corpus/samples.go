package corpus

import (
	"bytes"
	"embed"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// samples are five missions of the public spec-kitty repository (MIT
// licensed; commit e6e3b735), kept byte for byte: every corpus holds them, so
// tests can name a mission and know what a person sees of it.
//
//go:embed samples
var samples embed.FS

// Sample names, for tests.
const (
	// SampleDone: "Lightweight PyPI Release Workflow", 4 WPs all done by a
	// migration; 8 lines, 4 of them transitions.
	SampleDone = "002-lightweight-pypi-release"
	// SampleBackfilled: 5 WPs, all approved once the lines a migration
	// appended with older times are ordered by time; 65 lines.
	SampleBackfilled = "expected-artifacts-manifest-repair-01KZY498"
	// SampleMetaOnly has a meta.json and no events file.
	SampleMetaOnly = "kernel-clock-single-door"
)

// SampleNames lists the samples in order.
func SampleNames() []string {
	ents, _ := fs.ReadDir(samples, "samples")
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// sampleLines is the number of non-blank event lines of every sample.
func sampleLines() int {
	n := 0
	for _, name := range SampleNames() {
		b, err := samples.ReadFile(path.Join("samples", name, "status.events.jsonl"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) != "" {
				n++
			}
		}
	}
	return n
}

// writeSample copies a sample into specs and summarises it with encoding/json
// and an independent fold of its transitions (the Python reducer's rule).
func writeSample(specs, name string, types map[string]int) (Mission, error) {
	m := Mission{Slug: name, Lanes: map[string]string{}}
	dir := filepath.Join(specs, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	if b, err := samples.ReadFile(path.Join("samples", name, "meta.json")); err == nil {
		m.HasMeta = true
		var meta struct {
			FriendlyName string `json:"friendly_name"`
			MissionID    string `json:"mission_id"`
		}
		_ = json.Unmarshal(b, &meta)
		m.Title, m.MissionID = meta.FriendlyName, meta.MissionID
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644); err != nil {
			return m, err
		}
	}
	data, err := samples.ReadFile(path.Join("samples", name, "status.events.jsonl"))
	if err != nil {
		return m, nil
	}
	m.HasEvents = true
	if err := os.WriteFile(filepath.Join(dir, "status.events.jsonl"), data, 0o644); err != nil {
		return m, err
	}
	m.Counts, m.Lanes, m.LastActivity = summarise(data, types)
	return m, nil
}

// summarise reads an events file the slow, obvious way.
func summarise(data []byte, types map[string]int) (Counts, map[string]string, time.Time) {
	type move struct {
		at       time.Time
		id, wp   string
		to       string
		rollback bool
	}
	var (
		c     Counts
		moves []move
		seen  = map[string]bool{}
		last  time.Time
	)
	c.Bytes = int64(len(data))
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			if len(line) > 0 {
				c.Blank++
			}
			continue
		}
		c.Lines++
		var o map[string]json.RawMessage
		if json.Unmarshal(line, &o) != nil || o == nil {
			c.Malformed++
			continue
		}
		str := func(k string) (string, bool) {
			var s string
			err := json.Unmarshal(o[k], &s)
			return s, err == nil && o[k] != nil
		}
		at, _ := str("at")
		if at == "" {
			at, _ = str("timestamp")
		}
		t, _ := parseAny(at)
		if t.After(last) {
			last = t
		}
		id, hasID := str("event_id")
		if hasID {
			c.Synced++
		} else {
			c.NoEventID++
		}
		_, kind := o["kind"]
		_, evType := o["event_type"]
		wp, _ := str("wp_id")
		to, _ := str("to_lane")
		if kind || evType || wp == "" || to == "" {
			c.Other++
			if hasID {
				typ, _ := str("event_type")
				if typ == "" {
					typ, _ = str("kind")
				}
				if typ == "" {
					typ = "StatusRecord"
				}
				types[typ]++
			}
			continue
		}
		types["WPStatusChanged"]++
		if seen[id] {
			c.Duplicates++
			continue
		}
		seen[id] = true
		c.Transitions++
		from, _ := str("from_lane")
		var ref any
		_ = json.Unmarshal(o["review_ref"], &ref)
		moves = append(moves, move{t, id, wp, to, to == "in_progress" && (from == "in_review" || from == "for_review" && ref != nil)})
	}
	sort.SliceStable(moves, func(i, j int) bool {
		if !moves[i].at.Equal(moves[j].at) {
			return moves[i].at.Before(moves[j].at)
		}
		return moves[i].id < moves[j].id
	})
	cur := map[string]move{}
	for _, mv := range moves {
		if c, ok := cur[mv.wp]; ok && c.rollback && !mv.rollback && c.at.Equal(mv.at) {
			continue
		}
		cur[mv.wp] = mv
	}
	lanes := map[string]string{}
	for wp, mv := range cur {
		lanes[wp] = mv.to
	}
	return c, lanes, last
}

func parseAny(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
