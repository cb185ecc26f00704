package cli

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
	"github.com/spec-kitty/spec-kitty-sync/service/daemon"
)

// syncProgress is the one-line progress display of `sync run` on a
// terminal, in the manner of restic: elapsed time, the phase (reading repos,
// queueing, uploading) with done/total, and while uploading the rate and an
// estimate of the time left. It rewrites one line of stderr with '\r' (plain
// ASCII, no escape sequences) and clears it before the summary is printed.
type syncProgress struct {
	env   *Env
	start time.Time

	mu        sync.Mutex
	phase     syncer.Phase
	reposDone int
	repos     int
	queued    int
	upStart   time.Time
	upBase    int // events the cycle had settled when this upload began
	upTotal   int
	upDone    int
	lastDraw  time.Time
	lastWidth int
}

// progressEvery is the most often the line is redrawn.
const progressEvery = 100 * time.Millisecond

func newSyncProgress(env *Env) *syncProgress {
	return &syncProgress{env: env, start: env.Now()}
}

// attach wires p to eng's hooks.
func (p *syncProgress) attach(eng *syncer.Engine) {
	eng.Step = p.step
	eng.Progress = p.report
}

func (p *syncProgress) step(ph syncer.Phase, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.phase
	// A cycle imports and uploads at once: once the upload has begun the
	// line stays on it, and what the import queues meanwhile adds to the
	// upload's total.
	uploading := p.phase == syncer.PhaseUpload
	switch ph {
	case syncer.PhaseRead:
		p.reposDone, p.repos = done, total
		if !uploading && (p.phase != syncer.PhaseQueue || done == total) {
			p.phase = ph
		}
	case syncer.PhaseQueue:
		p.queued += done
		if uploading {
			p.upTotal += done
		} else {
			p.phase = ph
		}
	case syncer.PhaseUpload:
		p.phase = ph
		p.upStart = p.env.Now()
		p.upBase = p.upDone
		p.upTotal = p.upDone + total
	}
	// A new phase shows at once; counts within a phase at most every
	// progressEvery.
	p.draw(p.phase != prev || ph == syncer.PhaseUpload || (ph == syncer.PhaseRead && done == total))
}

func (p *syncProgress) report(r daemon.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// r is the cycle's running total, over every upload of the cycle.
	p.upDone = r.Delivered + r.Duplicates + r.DeadLettered + r.Retried
	p.draw(false)
}

// line renders the current state; now is the clock reading.
func (p *syncProgress) line(now time.Time) string {
	elapsed := clock(now.Sub(p.start))
	switch p.phase {
	case syncer.PhaseRead:
		return fmt.Sprintf("[%s] reading repos %d/%d, %s events queued", elapsed, p.reposDone, p.repos, thousands(p.queued))
	case syncer.PhaseQueue:
		return fmt.Sprintf("[%s] queueing: %s events queued (repo %d/%d)", elapsed, thousands(p.queued), min(p.reposDone+1, p.repos), p.repos)
	case syncer.PhaseUpload:
		done, total := p.upDone, max(p.upTotal, p.upDone)
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		s := fmt.Sprintf("[%s] uploading %s / %s events (%.1f%%)", elapsed, thousands(done), thousands(total), pct)
		if secs := now.Sub(p.upStart).Seconds(); secs > 0 && done > p.upBase {
			rate := float64(done-p.upBase) / secs
			s += fmt.Sprintf("  %s events/s", thousands(int(rate+0.5)))
			if left := total - done; left > 0 && rate > 0 {
				s += "  ETA " + clock(time.Duration(float64(left)/rate*float64(time.Second)))
			}
		}
		return s
	}
	return ""
}

// draw rewrites the line; force draws even within progressEvery of the
// last one (phase changes).
func (p *syncProgress) draw(force bool) {
	now := p.env.Now()
	if !force && now.Sub(p.lastDraw) < progressEvery {
		return
	}
	p.lastDraw = now
	s := p.line(now)
	if s == "" {
		return
	}
	if cols, _, ok := size(p.env.StderrSize); ok && len(s) > cols-1 {
		s = s[:max(cols-1, 0)]
	}
	pad := ""
	if n := p.lastWidth - len(s); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.lastWidth = len(s)
	fmt.Fprintf(p.env.Stderr, "\r%s%s", s, pad)
}

// done clears the line, leaving the terminal as it was for the summary.
func (p *syncProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastWidth > 0 {
		fmt.Fprintf(p.env.Stderr, "\r%s\r", strings.Repeat(" ", p.lastWidth))
		p.lastWidth = 0
	}
}

// clock formats d as restic does: m:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// thousands formats n with ',' between groups of three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
