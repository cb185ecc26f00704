package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

func TestDashboardRepo(t *testing.T) {
	ctx := context.Background()
	home := paths.Home{Dir: filepath.Join(t.TempDir(), "home")}
	noenv := func(string) string { return "" }
	t.Chdir(t.TempDir()) // not inside a project

	if got := dashboardRepo(ctx, home, noenv); got != "" {
		t.Errorf("no queue: %q, want none", got)
	}
	if _, err := os.Stat(home.Queue()); !os.IsNotExist(err) {
		t.Fatal("dashboardRepo created the queue")
	}

	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	q, err := queue.Open(ctx, home.Queue(), queue.Options{CreateDir: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	q.RegisterRepo(ctx, "/src/old")
	now = now.Add(time.Hour)
	q.RegisterRepo(ctx, "/src/new")
	q.Close()
	if got := dashboardRepo(ctx, home, noenv); got != "/src/new" {
		t.Errorf("got %q, want the repository registered last", got)
	}

	// Inside a project the CLI finds it itself.
	proj := t.TempDir()
	os.MkdirAll(filepath.Join(proj, "kitty-specs"), 0o755)
	t.Chdir(proj)
	if got := dashboardRepo(ctx, home, noenv); got != "" {
		t.Errorf("inside a project: %q, want none", got)
	}
}
