package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
)

// TestSyncProgressLine: the phases read as restic's progress does, with
// done/total, rate and ETA computed from the injected clock.
func TestSyncProgressLine(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var stderr bytes.Buffer
	env := &Env{Now: func() time.Time { return now }, Stderr: &stderr,
		StderrSize: func() (int, int, bool) { return 200, 50, true }}
	p := newSyncProgress(env)
	steps := []struct {
		advance time.Duration
		do      func()
		want    string
	}{
		{0, func() { p.step(syncer.PhaseRead, 0, 3) }, "[0:00] reading repos 0/3, 0 events queued"},
		{time.Second, func() { p.step(syncer.PhaseQueue, 1000, 0) }, "[0:01] queueing: 1,000 events queued (repo 1/3)"},
		{time.Second, func() { p.step(syncer.PhaseRead, 3, 3) }, "[0:02] reading repos 3/3, 1,000 events queued"},
		{0, func() { p.step(syncer.PhaseUpload, 0, 25178) }, "[0:02] uploading 0 / 25,178 events (0.0%)"},
		{2 * time.Second, func() { p.report(syncer.Report{Delivered: 9000, Duplicates: 1000}) },
			"[0:04] uploading 10,000 / 25,178 events (39.7%)  5,000 events/s  ETA 0:03"},
		{time.Hour, func() { p.report(syncer.Report{Delivered: 25178}) }, "[1:00:04] uploading 25,178 / 25,178 events (100.0%)  7 events/s"},
		// A second upload in the same cycle (after importing more): the
		// engine's report is the cycle's running total.
		{0, func() { p.step(syncer.PhaseUpload, 0, 1000) }, "[1:00:04] uploading 25,178 / 26,178 events (96.2%)"},
		{time.Second, func() { p.report(syncer.Report{Delivered: 25678}) }, "[1:00:05] uploading 25,678 / 26,178 events (98.1%)  500 events/s  ETA 0:01"},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		s.do()
		if got := p.line(now); got != s.want {
			t.Errorf("line %q, want %q", got, s.want)
		}
	}
	p.done()
	out := stderr.String()
	if !strings.HasSuffix(out, "\r") || strings.ContainsRune(out, '\n') || strings.ContainsRune(out, '\x1b') {
		t.Errorf("stderr %q: want one rewritten line, cleared at the end, no newline or escape", out)
	}
}
