package binding

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// newRepo makes a repo directory holding config (nil: no config.yaml, no
// .kittify/) and returns its root.
func newRepo(t *testing.T, config []byte, perm fs.FileMode) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "My Repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if config != nil {
		if err := os.MkdirAll(filepath.Join(repo, paths.KittifyDir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(paths.RepoConfig(repo), config, perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(paths.RepoConfig(repo), perm); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/fixture-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readConfig(t *testing.T, repo string) []byte {
	t.Helper()
	b, err := os.ReadFile(paths.RepoConfig(repo))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestFixtureRoundTrip binds, rebinds and unbinds the real config.yaml and
// checks that nothing outside the tracker section ever changes.
func TestFixtureRoundTrip(t *testing.T) {
	orig := fixture(t)
	repo := newRepo(t, orig, 0o644)

	c, err := Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	wantProject := Project{
		UUID: "8a4a7da6-a97c-4bb4-893a-b31664abfee4", Slug: "spec-kitty",
		NodeID: "d036a097a835", BuildID: "f97f4d9b-d2fa-4ce6-a7ee-9bbca7308aab",
	}
	if diff := cmp.Diff(wantProject, c.Project); diff != "" || !c.HasProject {
		t.Errorf("project (-want +got):\n%s", diff)
	}
	if _, ok := c.Binding(); ok || c.HasTracker {
		t.Errorf("fixture reads as bound: %+v", c.Tracker)
	}

	first := Tracker{Provider: "linear", BindingRef: "lin_abc", DisplayLabel: "Acme / Platform",
		ProviderContext: map[string]string{"workspace": "acme", "team": "PLAT"}}
	if err := SetTracker(repo, first); err != nil {
		t.Fatal(err)
	}
	want := string(orig) + "tracker:\n  provider: linear\n  binding_ref: lin_abc\n  display_label: Acme / Platform\n" +
		"  provider_context:\n    team: PLAT\n    workspace: acme\n"
	if diff := cmp.Diff(want, string(readConfig(t, repo))); diff != "" {
		t.Errorf("after bind (-want +got):\n%s", diff)
	}
	assertBinding(t, repo, first)

	second := Tracker{Provider: "github", ProjectSlug: "spec-kitty"}
	if err := SetTracker(repo, second); err != nil {
		t.Fatal(err)
	}
	want = string(orig) + "tracker:\n  provider: github\n  project_slug: spec-kitty\n"
	if diff := cmp.Diff(want, string(readConfig(t, repo))); diff != "" {
		t.Errorf("after rebind (-want +got):\n%s", diff)
	}
	assertBinding(t, repo, second)

	removed, err := RemoveTracker(repo)
	if err != nil || !removed {
		t.Fatalf("RemoveTracker = %v, %v", removed, err)
	}
	if got := readConfig(t, repo); !bytes.Equal(got, orig) {
		t.Errorf("after unbind the file differs from the fixture:\n%s", cmp.Diff(string(orig), string(got)))
	}
	if removed, err := RemoveTracker(repo); err != nil || removed {
		t.Errorf("second RemoveTracker = %v, %v; want false, nil", removed, err)
	}
	if ok, err := Bound(repo); err != nil || ok {
		t.Errorf("Bound after unbind = %v, %v", ok, err)
	}
}

// TestFixtureMidFileSection moves a tracker section between two commented
// sections of the fixture and checks that replacing and removing it changes
// only its own lines.
func TestFixtureMidFileSection(t *testing.T) {
	orig := string(fixture(t))
	const anchor = "# Charter pointer"
	at := strings.Index(orig, anchor)
	if at < 0 {
		t.Fatal("fixture changed: no charter comment")
	}
	old := "tracker:   # bound by hand\n  provider: jira\n  binding_ref: J-1\n  custom: kept\n"
	src := orig[:at] + old + orig[at:]
	repo := newRepo(t, []byte(src), 0o644)

	tr := Tracker{Provider: "gitlab", BindingRef: "gl_9"}
	if err := SetTracker(repo, tr); err != nil {
		t.Fatal(err)
	}
	want := orig[:at] + "tracker:\n  provider: gitlab\n  binding_ref: gl_9\n  custom: kept\n" + orig[at:]
	if diff := cmp.Diff(want, string(readConfig(t, repo))); diff != "" {
		t.Errorf("after replace (-want +got):\n%s", diff)
	}
	assertBinding(t, repo, tr)

	if _, err := RemoveTracker(repo); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(orig, string(readConfig(t, repo))); diff != "" {
		t.Errorf("after remove (-want +got):\n%s", diff)
	}
}

func assertBinding(t *testing.T, repo string, want Tracker) {
	t.Helper()
	c, err := Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := c.Binding()
	if !ok {
		t.Fatalf("not bound after writing %+v", want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binding (-want +got):\n%s", diff)
	}
	if ok, err := Bound(repo); err != nil || !ok {
		t.Errorf("Bound = %v, %v", ok, err)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		want      Config
		wantBound bool
		wantErr   string // after the file path
	}{
		{name: "empty", src: ""},
		{
			name: "bound by binding_ref",
			src:  "tracker:\n  provider: linear\n  binding_ref: br\n  extra: [1, 2]\n",
			want: Config{HasTracker: true, Tracker: Tracker{Provider: "linear", BindingRef: "br"}}, wantBound: true,
		},
		{
			name: "bound by project_slug, numbers read as text",
			src:  "tracker:\n  provider: jira\n  project_slug: 123\n  provider_context: {n: 7, empty: }\n",
			want: Config{HasTracker: true, Tracker: Tracker{Provider: "jira", ProjectSlug: "123",
				ProviderContext: map[string]string{"n": "7", "empty": ""}}},
			wantBound: true,
		},
		{
			name: "provider without a reference is not bound",
			src:  "tracker:\n  provider: linear\n",
			want: Config{HasTracker: true, Tracker: Tracker{Provider: "linear"}},
		},
		{name: "null section", src: "tracker:\n", want: Config{HasTracker: true}},
		{
			name: "aliases are followed",
			src:  "defaults: &d linear\ntracker:\n  provider: *d\n  binding_ref: x\n",
			want: Config{HasTracker: true, Tracker: Tracker{Provider: "linear", BindingRef: "x"}}, wantBound: true,
		},
		{
			name: "partial project",
			src:  "project:\n  uuid: u-1\n",
			want: Config{HasProject: true, Project: Project{UUID: "u-1"}},
		},
		{name: "section not a mapping", src: "a: 1\ntracker: linear\n", wantErr: `:2: "tracker" is a scalar, expected a mapping`},
		{name: "field not a string", src: "tracker:\n  provider:\n  - linear\n", wantErr: ":3: tracker.provider is a sequence, expected a string"},
		{name: "context not a mapping", src: "tracker:\n  provider_context: x\n", wantErr: ":2: tracker.provider_context is a scalar, expected a mapping"},
		{name: "context value not a string", src: "tracker:\n  provider_context:\n    a: {b: c}\n", wantErr: ":3: tracker.provider_context.a is a mapping, expected a string"},
		{name: "duplicate field", src: "project:\n  uuid: a\n  uuid: b\n", wantErr: ":3: duplicate key project.uuid (first at line 2)"},
		{name: "duplicate section", src: "project: {}\nproject: {}\n", wantErr: `:2: duplicate top-level key "project" (first at line 1)`},
		{name: "syntax error", src: "a: 1\ntracker:\n  provider: [\n", wantErr: ":3: invalid YAML: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := newRepo(t, []byte(tt.src), 0o644)
			got, err := Load(repo)
			path := paths.RepoConfig(repo)
			if tt.wantErr != "" {
				if err == nil || err.Error() != path+tt.wantErr {
					t.Fatalf("err = %v, want %q", err, path+tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Path = path
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if _, ok := got.Binding(); ok != tt.wantBound {
				t.Errorf("bound = %v, want %v", ok, tt.wantBound)
			}
		})
	}
}

func TestLoadMissingFileCreatesNothing(t *testing.T) {
	repo := newRepo(t, nil, 0)
	c, err := Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	if c.HasProject || c.HasTracker {
		t.Errorf("missing file read as %+v", c)
	}
	if _, err := os.Stat(filepath.Join(repo, paths.KittifyDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".kittify exists after Load: %v", err)
	}
	if ok, err := Bound(repo); ok || err != nil {
		t.Errorf("Bound = %v, %v", ok, err)
	}
}

// TestMalformedNeverOverwritten: every writer refuses a file it cannot
// parse, names file:line, and leaves the bytes and mode alone.
func TestMalformedNeverOverwritten(t *testing.T) {
	src := []byte("# keep me\nvcs:\n  type: git\n\tbad: tab\n")
	writers := map[string]func(repo string) error{
		"SetTracker": func(repo string) error { return SetTracker(repo, acme) },
		"RemoveTracker": func(repo string) error {
			_, err := RemoveTracker(repo)
			return err
		},
		"EnsureProject": func(repo string) error {
			_, _, err := EnsureProject(repo, fixedNow, bytes.NewReader(make([]byte, 64)))
			return err
		},
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			repo := newRepo(t, src, 0o640)
			err := write(repo)
			want := paths.RepoConfig(repo) + ":4: invalid YAML: found a tab character that violates indentation"
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
			if got := readConfig(t, repo); !bytes.Equal(got, src) {
				t.Errorf("file changed to %q", got)
			}
			if runtime.GOOS != "windows" {
				if m := mode(t, paths.RepoConfig(repo)); m != 0o640 {
					t.Errorf("mode = %v, want 0640", m)
				}
			}
			entries, _ := os.ReadDir(filepath.Join(repo, paths.KittifyDir))
			if len(entries) != 1 {
				t.Errorf(".kittify holds %d entries, want only config.yaml", len(entries))
			}
		})
	}
}

func TestWriteKeepsModeAndCreatesFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permission bits")
	}
	t.Run("existing file keeps its mode", func(t *testing.T) {
		repo := newRepo(t, []byte("a: 1\n"), 0o600)
		if err := SetTracker(repo, acme); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, paths.RepoConfig(repo)); m != 0o600 {
			t.Errorf("mode = %v, want 0600", m)
		}
	})
	t.Run("new file is 0644 and .kittify is created", func(t *testing.T) {
		repo := newRepo(t, nil, 0)
		if err := SetTracker(repo, acme); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, paths.RepoConfig(repo)); m != 0o644 {
			t.Errorf("mode = %v, want 0644", m)
		}
		if got := string(readConfig(t, repo)); got != acmeText {
			t.Errorf("content = %q, want %q", got, acmeText)
		}
	})
	t.Run("symlink target is written, link kept", func(t *testing.T) {
		repo := newRepo(t, nil, 0)
		real := filepath.Join(t.TempDir(), "shared.yaml")
		if err := os.WriteFile(real, []byte("a: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(repo, paths.KittifyDir), 0o755)
		if err := os.Symlink(real, paths.RepoConfig(repo)); err != nil {
			t.Fatal(err)
		}
		if err := SetTracker(repo, acme); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(paths.RepoConfig(repo))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("link replaced: %v %v", fi, err)
		}
		b, _ := os.ReadFile(real)
		if string(b) != "a: 1\n"+acmeText {
			t.Errorf("target = %q", b)
		}
	})
}

func TestSetTrackerValidates(t *testing.T) {
	tests := []struct {
		name string
		tr   Tracker
		want string
	}{
		{"no provider", Tracker{BindingRef: "x"}, "tracker binding needs a provider and a binding_ref or project_slug"},
		{"no reference", Tracker{Provider: "linear"}, "tracker binding needs a provider and a binding_ref or project_slug"},
		{"invalid UTF-8", Tracker{Provider: "linear", BindingRef: "\xff"}, `tracker binding value "\xff" is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := newRepo(t, nil, 0)
			err := SetTracker(repo, tt.tr)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(paths.RepoConfig(repo)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("file written despite invalid binding")
			}
		})
	}
}

func fixedNow() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }

// seq is a reader of bytes 0, 1, 2, … so generated ids are predictable.
func seq() *bytes.Reader {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(i)
	}
	return bytes.NewReader(b)
}

func TestEnsureProject(t *testing.T) {
	t.Run("created when missing", func(t *testing.T) {
		repo := newRepo(t, []byte("# mine\nvcs:\n  type: git\n"), 0o644)
		p, wrote, err := EnsureProject(repo, fixedNow, seq())
		if err != nil || !wrote {
			t.Fatalf("EnsureProject = %v, %v", wrote, err)
		}
		// uuid from bytes 0..15 with version 4; node_id bytes 16..21;
		// build_id derived from both as the Python CLI does: Python's
		// uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL,
		// "spec-kitty:identity:build_id"), uuid + ":" + node_id).
		want := Project{
			UUID:    "00010203-0405-4607-8809-0a0b0c0d0e0f",
			Slug:    "my-repo",
			NodeID:  "101112131415",
			BuildID: "8b72ac30-81d1-541f-8351-4c40a374f56c",
		}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("project (-want +got):\n%s", diff)
		}
		wantFile := "# mine\nvcs:\n  type: git\nproject:\n  uuid: 00010203-0405-4607-8809-0a0b0c0d0e0f\n" +
			"  slug: my-repo\n  node_id: \"101112131415\"\n  build_id: 8b72ac30-81d1-541f-8351-4c40a374f56c\n"
		if diff := cmp.Diff(wantFile, string(readConfig(t, repo))); diff != "" {
			t.Errorf("file (-want +got):\n%s", diff)
		}
		again, wrote, err := EnsureProject(repo, fixedNow, bytes.NewReader(nil))
		if err != nil || wrote {
			t.Fatalf("second EnsureProject = %v, %v; want no write", wrote, err)
		}
		if again != p {
			t.Errorf("second call = %+v, want %+v", again, p)
		}
	})
	t.Run("present identity is never rewritten", func(t *testing.T) {
		orig := fixture(t)
		repo := newRepo(t, orig, 0o644)
		p, wrote, err := EnsureProject(repo, fixedNow, bytes.NewReader(nil))
		if err != nil || wrote {
			t.Fatalf("EnsureProject = %v, %v", wrote, err)
		}
		if p.UUID != "8a4a7da6-a97c-4bb4-893a-b31664abfee4" || p.Slug != "spec-kitty" {
			t.Errorf("project = %+v", p)
		}
		if !bytes.Equal(readConfig(t, repo), orig) {
			t.Error("file changed")
		}
	})
	t.Run("partial identity is completed, existing fields kept", func(t *testing.T) {
		repo := newRepo(t, []byte("project:\n  slug: Custom Slug   # chosen\n  uuid: keep-me\nz: 1\n"), 0o644)
		p, wrote, err := EnsureProject(repo, fixedNow, seq())
		if err != nil || !wrote {
			t.Fatalf("EnsureProject = %v, %v", wrote, err)
		}
		if p.UUID != "keep-me" || p.Slug != "Custom Slug" || p.NodeID != "000102030405" || p.BuildID != DeriveBuildID("keep-me", "000102030405") {
			t.Errorf("project = %+v", p)
		}
		want := "project:\n  slug: Custom Slug\n  uuid: keep-me\n  node_id: \"000102030405\"\n  build_id: " + p.BuildID + "\nz: 1\n"
		if diff := cmp.Diff(want, string(readConfig(t, repo))); diff != "" {
			t.Errorf("file (-want +got):\n%s", diff)
		}
	})
	t.Run("no file: created with .kittify", func(t *testing.T) {
		repo := newRepo(t, nil, 0)
		if _, wrote, err := EnsureProject(repo, fixedNow, seq()); err != nil || !wrote {
			t.Fatalf("EnsureProject = %v, %v", wrote, err)
		}
		c, err := Load(repo)
		if err != nil || !c.Project.Complete() {
			t.Fatalf("Load = %+v, %v", c, err)
		}
	})
	t.Run("section not a mapping is an error, not overwritten", func(t *testing.T) {
		src := []byte("project: my-id\n")
		repo := newRepo(t, src, 0o644)
		_, _, err := EnsureProject(repo, fixedNow, seq())
		want := paths.RepoConfig(repo) + `:1: "project" is a scalar, expected a mapping`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
		if !bytes.Equal(readConfig(t, repo), src) {
			t.Error("file changed")
		}
	})
	t.Run("randomness failure writes nothing", func(t *testing.T) {
		repo := newRepo(t, []byte("a: 1\n"), 0o644)
		_, _, err := EnsureProject(repo, fixedNow, bytes.NewReader([]byte{1, 2}))
		if err == nil || !strings.HasPrefix(err.Error(), "generate uuid: ") {
			t.Fatalf("err = %v", err)
		}
		if string(readConfig(t, repo)) != "a: 1\n" {
			t.Error("file changed")
		}
	})
}

func TestGeneratedIDsAreWellFormed(t *testing.T) {
	u, err := uuid4(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if u != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Errorf("uuid4 = %s", u)
	}
	// Python: uuid.uuid5(ns, "8a4a7da6-a97c-4bb4-893a-b31664abfee4:d036a097a835")
	// with ns = uuid.uuid5(uuid.NAMESPACE_URL, "spec-kitty:identity:build_id").
	if got := format(buildIDNamespace); got != "18c0fef1-8e60-5d6b-89d9-e2f1ccb9cc03" {
		t.Errorf("build_id namespace = %s", got)
	}
	// RFC 9562's NAMESPACE_URL, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
	urlNamespace := [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got := uuid5(urlNamespace, "spec-kitty:identity:build_id"); got != buildIDNamespace {
		t.Errorf("uuid5(NAMESPACE_URL, build_id) = %s, want buildIDNamespace %s", format(got), format(buildIDNamespace))
	}
	for _, id := range []string{"8a4a7da6-a97c-4bb4-893a-b31664abfee4", "8A4A7DA6A97C4BB4893AB31664ABFEE4", "{8a4a7da6-a97c-4bb4-893a-b31664abfee4}"} {
		if got := DeriveBuildID(id, "d036a097a835"); got != "262bb566-443d-51a9-8b0c-f82f7d341017" {
			t.Errorf("DeriveBuildID(%s) = %s", id, got)
		}
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"spec-kitty", "spec-kitty"},
		{"My Repo", "my-repo"},
		{"  __Foo..Bar__  ", "foo-bar"},
		{"café-2", "caf-2"},
		{"日本", "project"},
		{"", "project"},
		{"A1_b2", "a1-b2"},
	}
	for _, tt := range tests {
		if got := Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConcurrentChangeRestartsEdit: when the file changes between the read
// and the write, the edit is redone on the new content instead of
// overwriting the other writer's change.
func TestConcurrentChangeRestartsEdit(t *testing.T) {
	repo := newRepo(t, []byte("a: 1\n"), 0o644)
	path := paths.RepoConfig(repo)
	calls := 0
	wrote, err := modify(path, func(d *doc) ([]byte, error) {
		calls++
		if calls == 1 {
			// Another process writes between our read and our write.
			if err := os.WriteFile(path, []byte("a: 1\nb: 2\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d.edit(TrackerKey, trackerNode(nil, acme))
	})
	if err != nil || !wrote {
		t.Fatalf("modify = %v, %v", wrote, err)
	}
	if calls != 2 {
		t.Errorf("edit ran %d times, want 2", calls)
	}
	if got, want := string(readConfig(t, repo)), "a: 1\nb: 2\n"+acmeText; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
}

func TestFileKeepsChangingGivesUp(t *testing.T) {
	repo := newRepo(t, []byte("a: 0\n"), 0o644)
	path := paths.RepoConfig(repo)
	n := 0
	_, err := modify(path, func(d *doc) ([]byte, error) {
		n++
		os.WriteFile(path, []byte("a: "+strings.Repeat("1", n)+"\n"), 0o644)
		return d.edit(TrackerKey, trackerNode(nil, acme))
	})
	if err == nil || !strings.Contains(err.Error(), "kept changing") {
		t.Fatalf("err = %v", err)
	}
	if n != casAttempts {
		t.Errorf("attempts = %d, want %d", n, casAttempts)
	}
}

// TestAliasBombStaysLinear: comparing sections must not expand aliases; a
// file whose aliases would expand to 2^40 nodes still edits at once.
func TestAliasBombStaysLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("l0: &l0 [x]\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [*l%d, *l%d]\n", i, i, i-1, i-1)
	}
	repo := newRepo(t, []byte(b.String()), 0o644)
	if err := SetTracker(repo, acme); err != nil {
		t.Fatal(err)
	}
	if got := string(readConfig(t, repo)); got != b.String()+acmeText {
		t.Errorf("file = %q", got)
	}
}

func BenchmarkLoad(b *testing.B) {
	repo := b.TempDir()
	os.MkdirAll(filepath.Join(repo, paths.KittifyDir), 0o755)
	src, err := os.ReadFile("testdata/fixture-config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	src = append(src, acmeText...)
	if err := os.WriteFile(paths.RepoConfig(repo), src, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Bound(repo); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkSetTracker(b *testing.B) {
	repo := b.TempDir()
	os.MkdirAll(filepath.Join(repo, paths.KittifyDir), 0o755)
	src, err := os.ReadFile("testdata/fixture-config.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(paths.RepoConfig(repo), src, 0o644); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		n++
		if err := SetTracker(repo, Tracker{Provider: "linear", BindingRef: fmt.Sprint("r", n)}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEnsureProjectConcurrent (issue 16 item 7): first writers racing on a
// repo without an identity, each with its own randomness, all return the
// one identity the file ends up with.
func TestEnsureProjectConcurrent(t *testing.T) {
	repo := newRepo(t, []byte("# mine\n"), 0o644)
	const n = 8
	got := make([]Project, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b := bytes.Repeat([]byte{byte(i + 1)}, 64)
			got[i], _, errs[i] = EnsureProject(repo, fixedNow, bytes.NewReader(b))
		})
	}
	wg.Wait()
	c, err := Load(repo)
	if err != nil || !c.Project.Complete() {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	for i := range n {
		if errs[i] != nil || got[i] != c.Project {
			t.Errorf("writer %d: %+v, %v; file has %+v", i, got[i], errs[i], c.Project)
		}
	}
	if _, err := os.Stat(paths.RepoConfig(repo) + ".lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}
}

// TestEnsureProjectAddsOnlyBuildID (issue 16 item 2): a legacy identity
// without build_id gets the one the Python CLI derives from its uuid and
// node_id, and nothing else in the file changes. (A comment inside the
// rewritten section is not kept, as before; the Python CLI, which replaces
// the whole section, keeps none either.)
func TestEnsureProjectAddsOnlyBuildID(t *testing.T) {
	src := "# team repo\nproject:\n  uuid: 8a4a7da6-a97c-4bb4-893a-b31664abfee4\n  slug: spec-kitty\n  node_id: d036a097a835\n  repo_slug: acme/spec-kitty\nvcs:\n  type: git\n"
	repo := newRepo(t, []byte(src), 0o644)
	p, wrote, err := EnsureProject(repo, fixedNow, bytes.NewReader(nil))
	if err != nil || !wrote {
		t.Fatalf("EnsureProject = %v, %v", wrote, err)
	}
	// Python: derive_build_id(UUID("8a4a7da6-..."), "d036a097a835").
	if p.BuildID != "262bb566-443d-51a9-8b0c-f82f7d341017" {
		t.Errorf("build_id = %s", p.BuildID)
	}
	want := strings.Replace(src, "  repo_slug: acme/spec-kitty\n", "  repo_slug: acme/spec-kitty\n  build_id: 262bb566-443d-51a9-8b0c-f82f7d341017\n", 1)
	if diff := cmp.Diff(want, string(readConfig(t, repo))); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}
