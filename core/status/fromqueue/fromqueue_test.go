package fromqueue

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/status"
)

// TestSource reads every figure of a real queue, and nothing from a queue
// that does not exist (without creating it).
func TestSource(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "home", "queue.db")
	if got := Source(path, queue.Options{})(ctx, status.Daemon{}); !cmp.Equal(got, status.Queue{}) {
		t.Errorf("no queue.db read as %+v", got)
	}
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Fatalf("reading created %s (%v)", filepath.Dir(path), err)
	}

	q, err := queue.Open(ctx, path, queue.Options{CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, queue.Item{EventID: "e1", EventType: "T", Data: []byte(`{}`)},
		queue.Item{EventID: "e2", EventType: "T", Data: []byte(`{}`)}, queue.Item{EventID: "e3", EventType: "T", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := q.DeadLetter(ctx, "e3", "rejected by the host"); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, "kitty-specs"), 0o755); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(t.TempDir(), "gone")
	for _, r := range []string{repo, gone} {
		if _, err := q.RegisterRepo(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.SetCursor(ctx, queue.Cursor{Repo: repo, Path: "kitty-specs/001-x/status.events.jsonl", Malformed: 2, LastError: "line 3: bad JSON"}); err != nil {
		t.Fatal(err)
	}
	q.Close()

	got := Source(path, queue.Options{})(ctx, status.Daemon{})
	want := status.Queue{Present: true, Depth: 2, DeadLetters: 1,
		Dead:         []status.DeadLetter{{EventID: "e3", Type: "T", Reason: "rejected by the host"}},
		Malformed:    2,
		Files:        []status.MalformedFile{{Path: "kitty-specs/001-x/status.events.jsonl", Malformed: 2, LastError: "line 3: bad JSON"}},
		RepoWarnings: []string{gone + ": gone (dropped from the registry at the next sync)"}}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(status.Queue{}, "OldestAge"), cmpopts.IgnoreFields(status.DeadLetter{}, "FailedAt")); d != "" {
		t.Errorf("queue figures (-want +got):\n%s", d)
	}
}
