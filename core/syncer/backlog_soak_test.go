//go:build linux

package syncer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// backlogSizes are the generated corpora of TestBacklog1MSoak: 25k, 250k
// and 1M lines, to show the time growing linearly.
var backlogSizes = []corpus.Options{
	corpus.Default,
	{Seed: 1, Missions: 1000, Lines: 250_000},
	corpus.Large,
}

// TestBacklog1MSoak (`make soak`) imports the lines of generated corpora of
// 25k, 250k and 1,000,000 lines with no host, uploads each backlog to a
// hostedtest process, and checks what must hold at any speed: every event
// delivered, the WAL never past 64 MiB, queue.db back under 10 MB one cycle
// after the queue drained. It logs the times (import, upload), this
// process's peak RSS and the slowest `sync status` (a read-only Stats)
// seen during the drain; speed targets are judged by `make bench`.
func TestBacklog1MSoak(t *testing.T) {
	if os.Getenv("SPEC_KITTY_SOAK") == "" {
		t.Skip("soak test: run `make soak` (SPEC_KITTY_SOAK=1)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The heap limit `sync run` and the daemon set, so the peak RSS is
	// what they would reach.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit))
	var table []string
	for _, size := range backlogSizes {
		table = append(table, backlog(t, exe, size))
	}
	t.Logf("lines      events   import   upload    total  events/s  queue.db after  WAL peak  slowest status  peak RSS\n%s", strings.Join(table, "\n"))
}

func backlog(t *testing.T, exe string, size corpus.Options) string {
	src, sum, err := fixture.Corpus(size)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	// The corpus is shared and read-only: hard-link its mission files,
	// copy only the project file the importer may write.
	if err := fixture.LinkMissions(src, repo); err != nil {
		t.Fatal(err)
	}
	fixture.CopyKittify(src, repo)
	dbPath := filepath.Join(dir, "home", "queue.db")
	q, err := queue.Open(context.Background(), dbPath, queue.Options{CreateDir: true, MaxSize: 2_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.RegisterRepo(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	// `sync status` opens the queue read-only, beside the drainer.
	status, err := queue.Open(context.Background(), dbPath, queue.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer status.Close()
	resetPeakRSS()

	var walMax, statsMax atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() > walMax.Load() {
				walMax.Store(fi.Size())
			}
			start := time.Now()
			if _, err := status.Stats(context.Background()); err == nil {
				if d := int64(time.Since(start)); d > statsMax.Load() {
					statsMax.Store(d)
				}
			}
		}
	})

	start := time.Now()
	n, err := (&Engine{Queue: q}).ImportAll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	imported := time.Since(start)
	if want := sum.Counts.Synced - sum.Counts.Duplicates; n != want {
		t.Errorf("%d lines: imported %d events, the corpus has %d distinct", size.Lines, n, want)
	}
	host := startHost(t, exe)
	defer host.stop()
	eng := &Engine{Queue: q, Connect: func(context.Context) (Conn, error) { return Conn{Client: host.client, Team: "team-dev"}, nil }}
	start = time.Now()
	var rep Report
	if err := eng.Upload(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	uploaded := time.Since(start)
	if rep.Delivered != n {
		t.Errorf("%d lines: delivered %d of %d", size.Lines, rep.Delivered, n)
	}
	// The next cycle finds nothing to do and gives the space back.
	rep2, err := eng.Cycle(context.Background())
	if err != nil || rep2.QueueDepth != 0 || rep2.Imported != 0 {
		t.Errorf("%d lines: cycle after the drain = %+v, %v", size.Lines, rep2, err)
	}
	close(stop)
	wg.Wait()
	fi, err := os.Stat(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 10<<20 {
		t.Errorf("%d lines: queue.db is %d bytes after the queue drained, want <= 10 MB", size.Lines, fi.Size())
	}
	if walMax.Load() > 64<<20 {
		t.Errorf("%d lines: the WAL reached %d bytes, want <= 64 MiB", size.Lines, walMax.Load())
	}
	total := imported + uploaded
	return fmt.Sprintf("%9d %8d %7.1fs %7.1fs %7.1fs %9.0f %12d KB %6d MB %15s %6s",
		size.Lines, n, imported.Seconds(), uploaded.Seconds(), total.Seconds(), float64(n)/total.Seconds(),
		fi.Size()>>10, walMax.Load()>>20, time.Duration(statsMax.Load()).Round(100*time.Microsecond), peakRSS())
}

// resetPeakRSS starts a new peak (VmHWM) for peakRSS.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is this process's VmHWM.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(v)
			if kb, err := strconv.Atoi(f[0]); err == nil {
				return strconv.Itoa(kb>>10) + " MB"
			}
		}
	}
	return "?"
}
