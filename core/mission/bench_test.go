package mission

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

// BenchmarkReadAll reads every mission of the generated corpus of the
// public repository's scale (412 missions, ≈18 MB of event lines).
func BenchmarkReadAll(b *testing.B) {
	repo, _ := fixture.Default(b)
	benchReadAll(b, repo)
}

// BenchmarkReadAllReal reads the 412 missions of the public spec-kitty
// repository, when present.
func BenchmarkReadAllReal(b *testing.B) {
	benchReadAll(b, fixture.SkipWithoutReal(b))
}

func benchReadAll(b *testing.B, repo string) {
	var size int64
	names := mustList(b, repo)
	for _, m := range names {
		if fi, err := os.Stat(filepath.Join(repo, "kitty-specs", m, "status.events.jsonl")); err == nil {
			size += fi.Size()
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		ms, err := ReadAll(context.Background(), repo)
		if err != nil || len(ms) != len(names) {
			b.Fatalf("ReadAll: %d missions, %v", len(ms), err)
		}
	}
}

// BenchmarkReduce folds the biggest events file of the generated corpus in
// memory.
func BenchmarkReduce(b *testing.B) {
	repo, _ := fixture.Default(b)
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
