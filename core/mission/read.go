package mission

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// UnknownMissionError names a mission that kitty-specs/ does not hold.
type UnknownMissionError struct {
	Mission  string
	SpecsDir string // <repo>/kitty-specs
}

func (e *UnknownMissionError) Error() string {
	return fmt.Sprintf("unknown mission %q (no %s or %s in %s)", e.Mission, paths.MetaFileName, paths.EventsFileName,
		filepath.Join(e.SpecsDir, e.Mission))
}

// InvalidNameError is a mission name that cannot be a directory under
// kitty-specs/ (empty, a path, or starting with a dot).
type InvalidNameError struct{ Name string }

func (e *InvalidNameError) Error() string {
	return fmt.Sprintf("invalid mission name %q (want a directory name under %s/)", e.Name, paths.SpecsDir)
}

// ValidateName checks that name can only mean a directory directly under
// kitty-specs/.
func ValidateName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") || filepath.Base(name) != name {
		return &InvalidNameError{Name: name}
	}
	return nil
}

// SpecsDir is <repo>/kitty-specs.
func SpecsDir(repo string) string { return filepath.Join(repo, paths.SpecsDir) }

// candidates lists the directory names under kitty-specs/ (sorted); none when
// kitty-specs/ does not exist. A symlinked entry counts only when it
// resolves to a directory inside kitty-specs/; one leading elsewhere is
// listed in outside so readers can warn about it.
func candidates(c *confiner) (names, outside []string, err error) {
	specs, err := c.specs, c.err
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list missions: %w", err)
	}
	ents, err := os.ReadDir(specs)
	if err != nil {
		return nil, nil, fmt.Errorf("list missions: %w", err)
	}
	names = make([]string, 0, len(ents))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		switch {
		case e.IsDir():
			names = append(names, e.Name())
		case e.Type()&fs.ModeSymlink != 0:
			_, err := c.missionDir(e.Name())
			var unsafe *UnsafePathError
			switch {
			case err == nil:
				names = append(names, e.Name())
			case errors.As(err, &unsafe):
				outside = append(outside, e.Name())
			}
		}
	}
	return names, outside, nil
}

// isMission reports whether kitty-specs/<name> holds meta.json or
// status.events.jsonl (as regular files inside kitty-specs/).
func (c *confiner) isMission(name string) bool {
	return c.isFile(paths.MetaFile(c.repo, name)) || c.isFile(paths.EventsFile(c.repo, name))
}

// List returns the names of the missions under kitty-specs/ (directories
// with meta.json and/or status.events.jsonl), sorted.
func List(repo string) ([]string, error) {
	c := confine(repo)
	names, _, err := candidates(c)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(names, func(n string) bool { return !c.isMission(n) }), nil
}

// Read reads one mission.
func Read(ctx context.Context, repo, name string) (*Mission, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := confine(repo)
	if _, err := c.missionDir(name); err != nil {
		var unsafe *UnsafePathError
		if errors.As(err, &unsafe) {
			return nil, err
		}
	}
	var w worker
	m, ok := w.read(c, name)
	if !ok {
		return nil, &UnknownMissionError{Mission: name, SpecsDir: SpecsDir(repo)}
	}
	return m, nil
}

// ReadAll reads every mission under kitty-specs/, several files at a time,
// and returns them sorted by name. A repo without kitty-specs/ has none.
// Problems with one mission's files are reported on that mission (MetaErr,
// EventsErr), never as an error of the whole read.
func ReadAll(ctx context.Context, repo string) ([]*Mission, error) {
	c := confine(repo)
	names, outside, err := candidates(c)
	if err != nil {
		return nil, err
	}
	out := make([]*Mission, len(names))
	// Reading is CPU-bound once files are cached; a few extra workers hide
	// the latency of the syscalls.
	workers := min(len(names), runtime.GOMAXPROCS(0)+2)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var w worker
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) || ctx.Err() != nil {
					return
				}
				if m, ok := w.read(c, names[i]); ok {
					out[i] = m
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(m *Mission) bool { return m == nil })
	// A mission directory linked out of kitty-specs/ is not read; it is
	// listed with the reason so the reader sees why.
	for _, name := range outside {
		_, err := c.missionDir(name)
		out = append(out, &Mission{Slug: name, Dir: paths.MissionDir(repo, name), HasEvents: true, EventsErr: err})
	}
	slices.SortFunc(out, func(a, b *Mission) int { return strings.Compare(a.Slug, b.Slug) })
	return out, nil
}

// worker reads missions one after the other, reusing its buffers.
type worker struct {
	buf []byte // meta.json
	red reducer
}

// read reads kitty-specs/<name>; ok is false when the directory holds
// neither meta.json nor status.events.jsonl. Files are opened only inside
// kitty-specs/ and only when regular; the events file is streamed.
func (w *worker) read(c *confiner, name string) (*Mission, bool) {
	repo := c.repo
	m := &Mission{Slug: name, Dir: paths.MissionDir(repo, name)}
	metaPath := paths.MetaFile(repo, name)
	data, _, err := c.readBounded(metaPath, MaxMetaBytes, &w.buf)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		m.HasMeta = true
		m.MetaErr = err
	default:
		m.HasMeta = true
		m.Meta, m.MetaErr = parseMeta(data)
		if m.MetaErr != nil {
			m.MetaErr = fmt.Errorf("%s: %w", metaPath, m.MetaErr)
		}
	}
	eventsPath := paths.EventsFile(repo, name)
	f, fi, err := c.open(eventsPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		m.HasEvents = true
		m.EventsErr = err
		if fi != nil {
			m.EventsModTime = fi.ModTime()
		}
	default:
		m.HasEvents = true
		m.EventsModTime = fi.ModTime()
		st, err := w.red.reduceReader(f, fi.Size())
		f.Close()
		m.Status = st
		if err != nil {
			m.EventsErr = fmt.Errorf("read %s: %w", eventsPath, err)
		}
	}
	if !m.HasMeta && !m.HasEvents {
		return nil, false
	}
	return m, true
}

// parseMeta reads the fields of Meta from meta.json, tolerating any shape:
// fields of an unexpected type are left empty.
func parseMeta(data []byte) (Meta, error) {
	var m Meta
	var slug, title string
	err := jsonscan.UTF8.Object(data, func(key, val []byte) {
		text := func() string { return string(str(val)) }
		switch string(key) {
		case "mission_slug":
			m.Slug = text()
		case "slug":
			slug = text()
		case "friendly_name":
			m.FriendlyName = text()
		case "title":
			title = text()
		case "mission_id":
			m.MissionID = text()
		case "mission_number":
			if s, ok := jsonscan.String(val); ok {
				m.Number = string(s)
			} else if len(val) > 0 && (val[0] == '-' || val[0] >= '0' && val[0] <= '9') {
				m.Number = string(val)
			}
		case "mission_type":
			m.Type = text()
		case "created_at":
			m.CreatedAt = text()
		case "target_branch":
			m.TargetBranch = text()
		}
	})
	if err != nil {
		return Meta{}, err
	}
	if m.Slug == "" {
		m.Slug = slug
	}
	if m.FriendlyName == "" {
		m.FriendlyName = title
	}
	m.Raw = slices.Clone(data)
	return m, nil
}
