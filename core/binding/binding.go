// Package binding owns what sync keeps in a repo's `.kittify/config.yaml`:
// the `project:` identity (uuid, slug, node_id, build_id) and the `tracker:`
// binding (provider, binding_ref or project_slug, display_label,
// provider_context). It reads both and rewrites one top-level section at a
// time, keeping every other byte of the file — comments, order, unknown
// sections, blank lines — as it was, and writes atomically.
//
// It must not touch the user's state home, the network or any other repo
// file (but the lock file `.kittify/config.yaml.lock`, see EnsureProject),
// and it never writes a file it cannot parse: a malformed file is an
// error naming file:line. Creating the project identity is for hosted
// commands only; local commands only ever read.
package binding

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/gofrs/flock"
	yaml "go.yaml.in/yaml/v3"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// Section names in config.yaml.
const (
	ProjectKey = "project"
	TrackerKey = "tracker"
)

// maxFileSize bounds what is read: config.yaml is a small hand-edited file,
// and anything larger is refused rather than parsed.
const maxFileSize = 1 << 20

// newFileMode is the mode of a config.yaml this package creates; an existing
// file keeps its own.
const newFileMode fs.FileMode = 0o644

// Project is the `project:` section: the repo's identity on the host.
type Project struct {
	UUID    string `json:"uuid"`
	Slug    string `json:"slug"`
	NodeID  string `json:"node_id"`
	BuildID string `json:"build_id"`
}

// Complete reports whether every identity field is set.
func (p Project) Complete() bool {
	return p.UUID != "" && p.Slug != "" && p.NodeID != "" && p.BuildID != ""
}

// Tracker is the `tracker:` section: which tracker resource the repo is bound
// to. A binding names the provider plus a binding_ref or a project_slug.
type Tracker struct {
	Provider        string            `json:"provider"`
	BindingRef      string            `json:"binding_ref,omitempty"`
	ProjectSlug     string            `json:"project_slug,omitempty"`
	DisplayLabel    string            `json:"display_label,omitempty"`
	ProviderContext map[string]string `json:"provider_context,omitempty"`
}

// Bound reports whether t is a usable binding (CONTRACTS.md §4 check 5).
func (t Tracker) Bound() bool {
	return t.Provider != "" && (t.BindingRef != "" || t.ProjectSlug != "")
}

// Validate checks that t can be stored as a binding.
func (t Tracker) Validate() error {
	if !t.Bound() {
		return errors.New("tracker binding needs a provider and a binding_ref or project_slug")
	}
	for _, s := range t.strings() {
		if !utf8.ValidString(s) {
			return fmt.Errorf("tracker binding value %q is not valid UTF-8", s)
		}
	}
	return nil
}

func (t Tracker) strings() []string {
	s := []string{t.Provider, t.BindingRef, t.ProjectSlug, t.DisplayLabel}
	for k, v := range t.ProviderContext {
		s = append(s, k, v)
	}
	return s
}

// Config is what config.yaml says about sync. Has* tell an absent section
// from an empty one.
type Config struct {
	Path       string
	Project    Project
	HasProject bool
	Tracker    Tracker
	HasTracker bool
}

// Binding returns the tracker binding and true, or false when the repo is
// not bound.
func (c Config) Binding() (Tracker, bool) {
	if !c.Tracker.Bound() {
		return Tracker{}, false
	}
	return c.Tracker, true
}

// Load reads `<repo>/.kittify/config.yaml`. A missing file is an empty
// Config, not an error. Nothing is created or written.
func Load(repo string) (Config, error) {
	return loadFile(paths.RepoConfig(repo))
}

// Bound reports whether the repo has a tracker binding; it is the binding
// probe of core/readiness.
func Bound(repo string) (bool, error) {
	c, err := Load(repo)
	if err != nil {
		return false, err
	}
	_, ok := c.Binding()
	return ok, nil
}

// SetTracker writes t as the repo's `tracker:` section, replacing any
// previous binding. Keys of an existing section that this package does not
// know are kept; comments inside the section are not. The file and
// `.kittify/` are created when missing.
func SetTracker(repo string, t Tracker) error {
	if err := t.Validate(); err != nil {
		return err
	}
	_, err := modify(paths.RepoConfig(repo), func(d *doc) ([]byte, error) {
		i, err := d.find(TrackerKey)
		if err != nil {
			return nil, err
		}
		var cur *yaml.Node
		if i >= 0 {
			cur = d.keys[i].value
		}
		return d.edit(TrackerKey, trackerNode(cur, t))
	})
	return err
}

// RemoveTracker deletes the `tracker:` section. It reports whether there was
// one; removing from an unbound repo writes nothing.
func RemoveTracker(repo string) (bool, error) {
	removed := false
	_, err := modify(paths.RepoConfig(repo), func(d *doc) ([]byte, error) {
		i, err := d.find(TrackerKey)
		if err != nil || i < 0 {
			return nil, err
		}
		removed = true
		return d.edit(TrackerKey, nil)
	})
	return removed, err
}

// EnsureProject returns the repo's project identity, first creating whatever
// part of it is missing: uuid (UUIDv4), slug (the repo directory name,
// normalised), node_id (12 hex digits) and build_id (derived from uuid and
// node_id as the Python CLI does, DeriveBuildID). Fields already present
// are never changed. It reports whether it wrote the file. Only hosted
// commands may call it.
//
// The identity is generated once per repo: a process that finds it
// incomplete takes the lock file `.kittify/config.yaml.lock`, reads the file
// again under it and writes (atomically, by rename) only what is still
// missing, so concurrent first writers all end up with the one identity.
// The Python CLI writes the file without that lock, so after writing the
// file is read once more and what it holds is returned.
func EnsureProject(repo string, now func() time.Time, rand io.Reader) (Project, bool, error) {
	abs, err := filepath.Abs(repo)
	if err != nil {
		return Project{}, false, fmt.Errorf("project identity: %w", err)
	}
	path := paths.RepoConfig(repo)
	c, err := loadFile(path)
	if err != nil {
		return Project{}, false, err
	}
	if c.Project.Complete() {
		return c.Project, false, nil // the common case: no lock needed
	}
	unlock, err := lockIdentity(path)
	if err != nil {
		return Project{}, false, err
	}
	defer unlock()
	var p Project
	wrote, err := modify(path, func(d *doc) ([]byte, error) {
		cur, has, err := d.project()
		if err != nil {
			return nil, err
		}
		p = cur
		if p.Complete() {
			return nil, nil // another process filled it in meanwhile
		}
		if err := p.fill(Slug(filepath.Base(abs)), now, rand); err != nil {
			return nil, err
		}
		var node *yaml.Node
		if has {
			i, _ := d.find(ProjectKey)
			node = d.keys[i].value
		}
		return d.edit(ProjectKey, projectNode(node, p))
	})
	if err != nil {
		return Project{}, false, err
	}
	if wrote {
		if c, err := loadFile(path); err == nil && c.Project.Complete() {
			p = c.Project
		}
	}
	return p, wrote, nil
}

// lockIdentity takes the exclusive lock that serialises the creation of the
// project identity: `config.yaml.lock` beside config.yaml (the directory is
// created if needed). It is left in place: removing a lock file lets two
// processes hold "the" lock on different files.
func lockIdentity(configPath string) (unlock func(), err error) {
	dir := filepath.Dir(configPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	l := flock.New(filepath.Join(dir, filepath.Base(configPath)+".lock"))
	if err := l.Lock(); err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	return func() { l.Unlock() }, nil
}

// loadFile reads and parses path.
func loadFile(path string) (Config, error) {
	c := Config{Path: path}
	src, _, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	d, err := parse(path, src)
	if err != nil {
		return c, err
	}
	if c.Project, c.HasProject, err = d.project(); err != nil {
		return c, err
	}
	if c.Tracker, c.HasTracker, err = d.tracker(); err != nil {
		return c, err
	}
	return c, nil
}

// readFile reads path, refusing anything that is not a regular file of
// reasonable size. It returns the file's permission bits.
func readFile(path string) ([]byte, fs.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("read %s: not a regular file", path)
	}
	src, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	if len(src) > maxFileSize {
		return nil, 0, fmt.Errorf("read %s: larger than %d bytes", path, maxFileSize)
	}
	return src, fi.Mode().Perm(), nil
}

// casAttempts bounds how often modify starts over when another process
// changed the file while it was editing.
const casAttempts = 5

// modify applies edit to the file at path and writes the result atomically,
// keeping the file's mode (newFileMode for a new file) and writing through a
// symlink to its target. edit returns nil for "no change". Before the write
// the file is read again; if another writer changed it meanwhile, the edit
// starts over on the new content, so concurrent writers (two commands filling
// in the project identity, say) do not silently undo each other. The window
// between that check and the rename is closed only among writers holding
// the identity lock (EnsureProject); tracker edits, rare and interactive,
// run without it. It reports whether it wrote.
func modify(path string, edit func(*doc) ([]byte, error)) (bool, error) {
	target, err := resolveLink(path)
	if err != nil {
		return false, err
	}
	for range casAttempts {
		src, mode, err := readFile(target)
		exists := err == nil
		if errors.Is(err, fs.ErrNotExist) {
			src, mode, err = nil, newFileMode, nil
		}
		if err != nil {
			return false, err
		}
		d, err := parse(target, src)
		if err != nil {
			return false, err
		}
		out, err := edit(d)
		if err != nil {
			return false, err
		}
		if out == nil || exists && bytes.Equal(out, src) {
			return false, nil
		}
		now, _, err := readFile(target)
		if errors.Is(err, fs.ErrNotExist) {
			if exists {
				continue
			}
		} else if err != nil {
			return false, err
		} else if !exists || !bytes.Equal(now, src) {
			continue
		}
		if !exists {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return false, fmt.Errorf("create %s: %w", filepath.Dir(target), err)
			}
		}
		if err := atomicfile.Write(target, out, mode); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, fmt.Errorf("write %s: the file kept changing while it was being edited; try again", path)
}

// resolveLink returns the file a symlinked path points to, so an atomic
// rename replaces the target rather than the link.
func resolveLink(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return path, nil
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	return target, nil
}

// project reads the `project:` section.
func (d *doc) project() (Project, bool, error) {
	var p Project
	has, err := d.section(ProjectKey, map[string]*string{
		"uuid": &p.UUID, "slug": &p.Slug, "node_id": &p.NodeID, "build_id": &p.BuildID,
	}, nil)
	return p, has, err
}

// tracker reads the `tracker:` section.
func (d *doc) tracker() (Tracker, bool, error) {
	var t Tracker
	has, err := d.section(TrackerKey, map[string]*string{
		"provider": &t.Provider, "binding_ref": &t.BindingRef, "project_slug": &t.ProjectSlug,
		"display_label": &t.DisplayLabel,
	}, map[string]*map[string]string{"provider_context": &t.ProviderContext})
	return t, has, err
}

// section reads top-level entry name, a mapping, into the string fields and
// string-map fields given by key. Other keys are ignored; an empty (null)
// section reads as present but empty.
func (d *doc) section(name string, fields map[string]*string, maps map[string]*map[string]string) (bool, error) {
	i, err := d.find(name)
	if err != nil || i < 0 {
		return false, err
	}
	v := resolve(d.keys[i].value)
	if isNull(v) {
		return true, nil
	}
	if v.Kind != yaml.MappingNode {
		return true, &FileError{Path: d.path, Line: v.Line, Msg: fmt.Sprintf("%q is %s, expected a mapping", name, kindName(v))}
	}
	seen := map[string]int{}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], resolve(v.Content[j+1])
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			continue
		}
		dst, isField := fields[key]
		mdst, isMap := maps[key]
		if !isField && !isMap {
			continue
		}
		if first, dup := seen[key]; dup {
			return true, &FileError{Path: d.path, Line: k.Line, Msg: fmt.Sprintf("duplicate key %s.%s (first at line %d)", name, key, first)}
		}
		seen[key] = k.Line
		if isField {
			s, err := d.scalar(name+"."+key, val)
			if err != nil {
				return true, err
			}
			*dst = s
			continue
		}
		m, err := d.stringMap(name+"."+key, val)
		if err != nil {
			return true, err
		}
		*mdst = m
	}
	return true, nil
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar reads a string value; null reads as "".
func (d *doc) scalar(what string, n *yaml.Node) (string, error) {
	if isNull(n) {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", &FileError{Path: d.path, Line: n.Line, Msg: fmt.Sprintf("%s is %s, expected a string", what, kindName(n))}
	}
	return n.Value, nil
}

// stringMap reads a mapping of strings; null reads as nil.
func (d *doc) stringMap(what string, n *yaml.Node) (map[string]string, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, &FileError{Path: d.path, Line: n.Line, Msg: fmt.Sprintf("%s is %s, expected a mapping", what, kindName(n))}
	}
	m := make(map[string]string, len(n.Content)/2)
	for j := 0; j+1 < len(n.Content); j += 2 {
		k := resolve(n.Content[j])
		if k == nil || k.Kind != yaml.ScalarNode {
			return nil, &FileError{Path: d.path, Line: n.Content[j].Line, Msg: fmt.Sprintf("%s has a key that is not a string", what)}
		}
		v, err := d.scalar(what+"."+k.Value, resolve(n.Content[j+1]))
		if err != nil {
			return nil, err
		}
		m[k.Value] = v
	}
	return m, nil
}

// trackerNode is the `tracker:` value for t, built on a copy of the current
// value cur so keys this package does not know survive.
func trackerNode(cur *yaml.Node, t Tracker) *yaml.Node {
	m := baseMapping(cur)
	setKey(m, "provider", str(t.Provider))
	setOptional(m, "binding_ref", t.BindingRef)
	setOptional(m, "project_slug", t.ProjectSlug)
	setOptional(m, "display_label", t.DisplayLabel)
	if len(t.ProviderContext) == 0 {
		deleteKey(m, "provider_context")
	} else {
		keys := make([]string, 0, len(t.ProviderContext))
		for k := range t.ProviderContext {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pc := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range keys {
			pc.Content = append(pc.Content, str(k), str(t.ProviderContext[k]))
		}
		setKey(m, "provider_context", pc)
	}
	return m
}

// projectNode is the `project:` value for p, built on a copy of cur. Values
// already in cur are kept as written.
func projectNode(cur *yaml.Node, p Project) *yaml.Node {
	m := baseMapping(cur)
	for _, f := range []struct{ key, val string }{
		{"uuid", p.UUID}, {"slug", p.Slug}, {"node_id", p.NodeID}, {"build_id", p.BuildID},
	} {
		if v := lookup(m, f.key); v != nil && v.Kind == yaml.ScalarNode && v.Value == f.val {
			continue
		}
		setKey(m, f.key, str(f.val))
	}
	return m
}

// baseMapping is a comment-free copy of cur when it is a mapping, else a new
// empty mapping.
func baseMapping(cur *yaml.Node) *yaml.Node {
	if c := resolve(cur); c != nil && c.Kind == yaml.MappingNode && cur.Kind == yaml.MappingNode {
		m := plain(c)
		m.Style = 0 // block style, whatever the original used
		return m
	}
	return &yaml.Node{Kind: yaml.MappingNode}
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setKey sets key to v in place, dropping any duplicates of key; a new key
// goes at the end.
func setKey(m *yaml.Node, key string, v *yaml.Node) {
	set := false
	out := m.Content[:0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && k.Value == key {
			if set {
				continue
			}
			set = true
			out = append(out, k, v)
			continue
		}
		out = append(out, k, m.Content[i+1])
	}
	if !set {
		out = append(out, str(key), v)
	}
	m.Content = out
}

func setOptional(m *yaml.Node, key, val string) {
	if val == "" {
		deleteKey(m, key)
		return
	}
	setKey(m, key, str(val))
}

func deleteKey(m *yaml.Node, key string) {
	out := m.Content[:0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			continue
		}
		out = append(out, m.Content[i], m.Content[i+1])
	}
	m.Content = out
}
