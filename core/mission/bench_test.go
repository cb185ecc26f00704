package mission

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

// BenchmarkReadAll reads all 412 fixture missions (17.7 MB of event lines).
func BenchmarkReadAll(b *testing.B) {
	repo, err := fixture.Missions()
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, m := range mustList(b, repo) {
		if fi, err := os.Stat(filepath.Join(repo, "kitty-specs", m, "status.events.jsonl")); err == nil {
			size += fi.Size()
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		ms, err := ReadAll(context.Background(), repo)
		if err != nil || len(ms) != 412 {
			b.Fatalf("ReadAll: %d missions, %v", len(ms), err)
		}
	}
}

// BenchmarkReduce folds the biggest fixture events file in memory.
func BenchmarkReduce(b *testing.B) {
	repo, err := fixture.Missions()
	if err != nil {
		b.Fatal(err)
	}
	var biggest []byte
	for _, m := range mustList(b, repo) {
		data, err := os.ReadFile(filepath.Join(repo, "kitty-specs", m, "status.events.jsonl"))
		if err == nil && len(data) > len(biggest) {
			biggest = data
		}
	}
	b.SetBytes(int64(len(biggest)))
	b.ReportAllocs()
	var r reducer
	for b.Loop() {
		r.reduce(biggest)
	}
}

func mustList(tb testing.TB, repo string) []string {
	tb.Helper()
	names, err := List(repo)
	if err != nil {
		tb.Fatal(err)
	}
	return names
}
