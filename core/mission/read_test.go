package mission

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseMeta(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Meta
		err  bool
	}{
		{
			name: "current layout",
			in: `{"created_at": "2026-08-13T17:56:24.445744+00:00", "friendly_name": "expected artifacts", "mission_id": "01KZY498QXP81S8ATV0Y3RG72F",
				"mission_number": null, "mission_slug": "expected-01KZY498", "mission_type": "software-dev", "slug": "expected-01KZY498",
				"target_branch": "main", "documentation_state": {"x": [1]}}`,
			want: Meta{Slug: "expected-01KZY498", FriendlyName: "expected artifacts", MissionID: "01KZY498QXP81S8ATV0Y3RG72F",
				Type: "software-dev", CreatedAt: "2026-08-13T17:56:24.445744+00:00", TargetBranch: "main"},
		},
		{
			name: "numbered mission, slug without number",
			in:   `{"mission_number": 76, "mission_slug": "076-init", "slug": "init", "title": "Init"}`,
			want: Meta{Slug: "076-init", FriendlyName: "Init", Number: "76"},
		},
		{
			name: "number as text, only slug",
			in:   `{"mission_number": "034", "slug": "034-x"}`,
			want: Meta{Slug: "034-x", Number: "034"},
		},
		{
			name: "fields of the wrong type are left empty",
			in:   `{"mission_number": [1], "friendly_name": 5, "mission_id": null, "mission_slug": {"a": 1}}`,
			want: Meta{},
		},
		{name: "not an object", in: `[1]`, err: true},
		{name: "broken", in: `{"slug": `, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMeta([]byte(tt.in))
			if tt.err {
				if err == nil {
					t.Fatalf("parseMeta accepted %q", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != tt.in {
				t.Errorf("Raw = %q", got.Raw)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Meta{}, "Raw")); diff != "" {
				t.Errorf("parseMeta (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadAllTolerance(t *testing.T) {
	repo := t.TempDir()
	layout(t, repo, map[string]string{
		"kitty-specs/good/meta.json":                  `{"friendly_name": "Good", "mission_id": "X"}`,
		"kitty-specs/good/status.events.jsonl":        tr("A", "WP01", "planned", "done", "x", "2026-01-02T00:00:00Z") + "\n",
		"kitty-specs/events-only/status.events.jsonl": "not json\n" + tr("A", "WP01", "planned", "claimed", "x", "2026-01-01T00:00:00Z") + "\n",
		"kitty-specs/bad-meta/meta.json":              `{"friendly_name": `,
		"kitty-specs/events-dir/meta.json":            `{}`,
		"kitty-specs/events-dir/status.events.jsonl/": "",
		"kitty-specs/not-a-mission/spec.md":           "# spec",
		"kitty-specs/.hidden/meta.json":               `{}`,
		"kitty-specs/README.md":                       "a file, not a mission",
	})
	ms, err := ReadAll(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Mission{}
	var names []string
	for _, m := range ms {
		got[m.Slug] = m
		names = append(names, m.Slug)
	}
	if diff := cmp.Diff([]string{"bad-meta", "events-dir", "events-only", "good"}, names); diff != "" {
		t.Fatalf("missions (-want +got):\n%s", diff)
	}
	if m := got["good"]; m.Title() != "Good" || m.Counts[Done] != 1 || m.MetaErr != nil || !m.HasEvents || m.Dir != filepath.Join(repo, "kitty-specs", "good") {
		t.Errorf("good: %+v", m)
	}
	if m := got["events-only"]; m.HasMeta || m.Title() != "events-only" || m.Stats.Malformed != 1 || m.Malformed[0].Line != 1 || m.Counts[Claimed] != 1 {
		t.Errorf("events-only: %+v", m)
	}
	if m := got["bad-meta"]; !m.HasMeta || m.MetaErr == nil || !strings.Contains(m.MetaErr.Error(), "meta.json") {
		t.Errorf("bad-meta: MetaErr = %v", m.MetaErr)
	}
	if m := got["events-dir"]; m.EventsErr == nil {
		t.Errorf("events-dir: EventsErr = %v", m.EventsErr)
	}
	list, err := List(repo)
	if err != nil || len(list) != 4 {
		t.Errorf("List = %v, %v", list, err)
	}
}

func TestReadAllWithoutKittySpecs(t *testing.T) {
	ms, err := ReadAll(context.Background(), t.TempDir())
	if err != nil || len(ms) != 0 {
		t.Fatalf("ReadAll = %v, %v", ms, err)
	}
}

func TestReadAllHonoursCancellation(t *testing.T) {
	repo := newRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadAll(ctx, repo); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestRead(t *testing.T) {
	repo := newRepo(t)
	m, err := Read(context.Background(), repo, "m")
	if err != nil || m.Title() != "M" || m.HasEvents {
		t.Fatalf("Read = %+v, %v", m, err)
	}
	if _, err := Read(context.Background(), repo, "nope"); !isErr[*UnknownMissionError](err) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := Read(context.Background(), repo, "a/b"); !isErr[*InvalidNameError](err) {
		t.Errorf("path: %v", err)
	}
}
