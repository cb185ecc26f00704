package event

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

// BenchmarkScanBuild: the importer's CPU path per line — scan, parse, build
// the envelope and marshal it — over lines shaped like the fixture's lane
// transitions.
func BenchmarkScanBuild(b *testing.B) {
	var file bytes.Buffer
	const lines = 10_000
	for i := range lines {
		fmt.Fprintf(&file, `{"actor": "claude", "at": "2026-06-30T20:18:52.828090+00:00", "event_id": "01KWD2YGRWXYRRZ66K%08d", "evidence": null, "execution_mode": "worktree", "force": false, "from_lane": "planned", "mission_id": "01KWD0V560PCDYFGXYY8WNNJH0", "mission_slug": "reliability-papercut-sweep-01KWD0V5", "policy_metadata": null, "reason": "started", "review_ref": null, "review_result": null, "to_lane": "claimed", "wp_id": "WP01"}`+"\n", i)
	}
	origin := Origin{Project: testProject, TeamSlug: "t", Fallback: time.Unix(1790000000, 0)}
	var buf []byte
	n := 0
	for b.Loop() {
		s := NewScanner(bytes.NewReader(file.Bytes()), testFile, 0, 0)
		for s.Scan() {
			l, err := s.Line()
			if err != nil {
				b.Fatal(err)
			}
			origin.Lamport++
			env, err := Build(l, origin)
			if err != nil {
				b.Fatal(err)
			}
			buf = env.AppendJSON(buf[:0])
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkParseLine: ParseLine alone (validation and the members of a line)
// over the lines of the default corpus, every shape included.
func BenchmarkParseLine(b *testing.B) {
	repo, _ := fixture.Default(b)
	var lines [][]byte
	var size int64
	files, _ := filepath.Glob(filepath.Join(repo, "kitty-specs", "*", "status.events.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for line := range bytes.Lines(data) {
			lines = append(lines, line)
			size += int64(len(line))
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for i, line := range lines {
			_, _ = ParseLine(testFile, i+1, line)
		}
	}
}
