//go:build linux

package daemon

import (
	"context"
	"os"
	"path/filepath"
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

// TestBacklog1MSoak (`make soak`) imports the 1,000,000 lines of the large
// generated corpus with no host, uploads the backlog to hostedtest, and
// checks what must hold at any speed: every event delivered once, the WAL
// never past 64 MiB, queue.db back under 10 MB one cycle after the queue
// drained. It logs the times (import, upload), the peak RSS and the slowest
// Stats (`sync status`) seen during the drain; speed targets are judged by
// `make bench`, not here.
func TestBacklog1MSoak(t *testing.T) {
	if os.Getenv("SPEC_KITTY_SOAK") == "" {
		t.Skip("soak test: run `make soak` (SPEC_KITTY_SOAK=1)")
	}
	src, sum, err := fixture.Corpus(corpus.Large)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	// The corpus is shared and read-only: link its missions, copy only
	// the project file the importer may write.
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(src, "kitty-specs"), filepath.Join(repo, "kitty-specs")); err != nil {
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

	// Watch the WAL, Stats and RSS throughout.
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
			if _, err := q.Stats(context.Background()); err == nil {
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
	want := sum.Counts.Synced - sum.Counts.Duplicates
	if n != want {
		t.Errorf("imported %d events, the corpus has %d distinct", n, want)
	}
	fi, _ := os.Stat(dbPath)
	t.Logf("imported %d events in %s (%.0f/s); queue.db %d MB", n, imported.Round(time.Millisecond), float64(n)/imported.Seconds(), fi.Size()>>20)

	eng := benchEngine(t, q)
	start = time.Now()
	var rep Report
	if err := eng.Upload(context.Background(), &rep); err != nil {
		t.Fatal(err)
	}
	uploaded := time.Since(start)
	t.Logf("uploaded %d events in %s (%.0f/s)", rep.Delivered, uploaded.Round(time.Millisecond), float64(rep.Delivered)/uploaded.Seconds())
	if rep.Delivered != n {
		t.Errorf("delivered %d of %d", rep.Delivered, n)
	}
	// The next cycle finds nothing to do and gives the space back.
	rep2, err := eng.Cycle(context.Background())
	if err != nil || rep2.QueueDepth != 0 || rep2.Imported != 0 {
		t.Errorf("cycle after the drain = %+v, %v", rep2, err)
	}
	close(stop)
	wg.Wait()
	fi, _ = os.Stat(dbPath)
	t.Logf("after one more cycle: queue.db %d KB; WAL peak %d MB; slowest Stats %s; peak RSS %s (client and in-process host)",
		fi.Size()>>10, walMax.Load()>>20, time.Duration(statsMax.Load()).Round(time.Microsecond), peakRSS())
	if fi.Size() > 10<<20 {
		t.Errorf("queue.db is %d bytes after the queue drained, want <= 10 MB", fi.Size())
	}
	if walMax.Load() > 64<<20 {
		t.Errorf("the WAL reached %d bytes, want <= 64 MiB", walMax.Load())
	}
}

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
