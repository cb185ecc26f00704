package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// clock is a test clock that tests move forward so retries become due.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	srv   *hostedtest.Server
	q     *queue.Queue
	eng   *Engine
	clock *clock
	repo  string
}

// newRig signs in against a real hostedtest server on loopback and opens a
// real SQLite queue; missions (all when none) are copied from the generated
// corpus into a repo.
func newRig(t *testing.T, missions ...string) *rig {
	t.Helper()
	src, _ := fixture.Default(t)
	return newRigFrom(t, src, missions...)
}

// signedInClient signs the default user in to srv and returns a client
// with that access token (one that cannot be refreshed) and team "team-dev".
func signedInClient(t testing.TB, srv *hostedtest.Server) *hosted.Client {
	t.Helper()
	token, err := srv.AccessToken(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	host, err := hosted.ParseHost(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return hosted.New(host, hosted.StaticToken(host, hosted.NewSecret(token), "team-dev"))
}

// newRigFrom is newRig with the missions copied from src.
func newRigFrom(t *testing.T, src string, missions ...string) *rig {
	t.Helper()
	srv := hostedtest.NewTest(t, hostedtest.Options{})
	client := signedInClient(t, srv)
	dir := t.TempDir()
	q, err := queue.Open(context.Background(), filepath.Join(dir, "home", "queue.db"), queue.Options{CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	repo := filepath.Join(dir, "repo")
	if err := fixture.CopyMissions(src, repo, missions...); err != nil {
		t.Fatal(err)
	}
	if _, err := q.RegisterRepo(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	eng := &Engine{
		Queue:   q,
		Connect: func(context.Context) (Conn, error) { return Conn{Client: client, Team: "team-dev"}, nil },
		Now:     c.Now,
		Rand:    mrand.New(mrand.NewPCG(1, 2)),
	}
	return &rig{srv: srv, q: q, eng: eng, clock: c, repo: repo}
}

// syncedIDs is the set of event ids in repo's events files, read
// independently of the engine.
func syncedIDs(t *testing.T, repo string) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repo, paths.SpecsDir, "*", paths.EventsFileName))
	ids := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := event.NewScanner(bytes.NewReader(b), f, 0, 0)
		for sc.Scan() {
			if l, err := sc.Line(); err == nil && l.Synced() {
				ids[l.EventID] = true
			}
		}
	}
	return ids
}

// drain runs cycles, moving the clock past every backoff, until the queue is
// empty; it fails the test after max cycles.
func (r *rig) drain(t *testing.T, max int) Report {
	t.Helper()
	var total Report
	for i := 0; i < max; i++ {
		rep, _ := r.eng.Cycle(context.Background())
		total.Imported += rep.Imported
		total.Delivered += rep.Delivered
		total.Duplicates += rep.Duplicates
		total.DeadLettered += rep.DeadLettered
		total.Retried += rep.Retried
		if rep.QueueDepth == 0 {
			st, err := r.q.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Depth == 0 {
				total.QueueDepth, total.DeadLetters = 0, st.DeadLetters
				return total
			}
		}
		r.clock.Advance(10 * time.Minute)
	}
	st, _ := r.q.Stats(context.Background())
	t.Fatalf("queue not drained after %d cycles: %+v", max, st)
	return total
}

// TestDeliversEveryCorpusEventOnce imports the 412 missions of the generated
// corpus and delivers every line with an event_id exactly once as a distinct
// id: as many as the generator wrote, malformed lines and the unterminated
// tails of files still being written left behind.
func TestDeliversEveryCorpusEventOnce(t *testing.T) {
	_, sum := fixture.Default(t)
	r := newRig(t)
	want := deliverAll(t, r)
	if n := sum.Counts.Synced - sum.Counts.Duplicates; len(want) != n {
		t.Errorf("%d distinct event ids in the files, the generator wrote %d", len(want), n)
	}
}

// TestDeliversEveryRealEventOnce does the same with the 412 missions of the
// public spec-kitty repository.
func TestDeliversEveryRealEventOnce(t *testing.T) {
	r := newRigFrom(t, fixture.SkipWithoutReal(t))
	if want := deliverAll(t, r); len(want) != 25178 {
		t.Errorf("%d event ids, want 25178", len(want))
	}
}

func deliverAll(t *testing.T, r *rig) map[string]bool {
	t.Helper()
	want := syncedIDs(t, r.repo)
	rep := r.drain(t, 5)
	if diff := r.srv.DiffEventIDs(want); diff != "" {
		t.Fatalf("host events differ from the files: %s", diff)
	}
	if rep.Delivered != len(want) || r.srv.EventCount() != len(want) {
		t.Errorf("delivered %d, host holds %d, want %d", rep.Delivered, r.srv.EventCount(), len(want))
	}
	t.Logf("%d events imported and delivered; %d duplicates", len(want), rep.Duplicates)

	// A second pass finds nothing new.
	rep2, err := r.eng.Cycle(context.Background())
	if err != nil || rep2.Imported != 0 || rep2.Delivered != 0 {
		t.Errorf("second cycle = %+v, %v; want nothing to do", rep2, err)
	}
	return want
}

func someMissions(t *testing.T, n int) []string {
	t.Helper()
	dir, _ := fixture.Default(t)
	ents, err := os.ReadDir(filepath.Join(dir, paths.SpecsDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, paths.SpecsDir, e.Name(), paths.EventsFileName)); err == nil {
			names = append(names, e.Name())
		}
		if len(names) == n {
			break
		}
	}
	return names
}

// TestNoLossUnderFaults survives every transient fault switch of the host
// and ends with the host holding exactly the written ids.
func TestNoLossUnderFaults(t *testing.T) {
	faults := []struct {
		name string
		f    hostedtest.Faults
	}{
		{"error fraction", hostedtest.Faults{ErrorFraction: 0.4, Seed: 7}},
		{"resets", hostedtest.Faults{ResetFraction: 0.3, Seed: 3}},
		{"429 retry-after", hostedtest.Faults{TooManyRequests: 3, RetryAfter: 1}},
		{"html", hostedtest.Faults{HTMLNext: 2}},
		{"truncated json", hostedtest.Faults{TruncatedJSONNext: 2}},
		{"redirect", hostedtest.Faults{RedirectNext: 2}},
		{"latency", hostedtest.Faults{Latency: 20 * time.Millisecond}},
	}
	missions := someMissions(t, 40)
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, missions...)
			// Small batches so faults hit many requests.
			want := syncedIDs(t, r.repo)
			if err := r.srv.SetFaults(tt.f); err != nil {
				t.Fatal(err)
			}
			r.drain(t, 60)
			if diff := r.srv.DiffEventIDs(want); diff != "" {
				t.Fatalf("after faults: %s", diff)
			}
		})
	}
}

// TestPoisonedEventIsDeadLettered: a permanently rejected event goes to the
// dead letters and the events behind it are delivered.
func TestPoisonedEventIsDeadLettered(t *testing.T) {
	r := newRig(t, someMissions(t, 5)...)
	want := syncedIDs(t, r.repo)
	var poison string
	for id := range want {
		poison = id
		break
	}
	r.srv.RejectEvent(poison, "schema violation")
	rep := r.drain(t, 5)
	if rep.DeadLettered != 1 || rep.DeadLetters != 1 {
		t.Errorf("dead-lettered %d (stats %d), want 1", rep.DeadLettered, rep.DeadLetters)
	}
	delete(want, poison)
	if diff := r.srv.DiffEventIDs(want); diff != "" {
		t.Fatalf("%s", diff)
	}
	dead, err := r.q.DeadLetters(context.Background(), 10)
	if err != nil || len(dead) != 1 || dead[0].EventID != poison || dead[0].Reason == "" {
		t.Errorf("dead letters = %+v, %v", dead, err)
	}
}

// TestImportResumesAppendsAndRewrites: new lines appended by another tool
// are picked up; a rewritten file is re-read without loss.
func TestImportResumesAppendsAndRewrites(t *testing.T) {
	r := newRig(t, someMissions(t, 1)...)
	r.drain(t, 3)
	files, _ := filepath.Glob(filepath.Join(r.repo, paths.SpecsDir, "*", paths.EventsFileName))
	f := files[0]
	appendLine := func(id string) {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(fh, `{"event_id":%q,"wp_id":"WP01","from_lane":"planned","to_lane":"claimed","actor":"other-tool","at":"2026-11-27T10:00:00Z"}`+"\n", id)
		fh.Close()
	}
	appendLine("01KTESTAPPEND0000000000001")
	rep := r.drain(t, 3)
	if rep.Imported != 1 || rep.Delivered != 1 {
		t.Errorf("after append: %+v, want 1 imported and delivered", rep)
	}
	// A rewrite (e.g. a git checkout) replaces the file with other content.
	if err := os.WriteFile(f, []byte(`{"event_id":"01KTESTREWRITE000000000001","event_type":"MissionCreated","payload":{}}`+"\n"+"{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep = r.drain(t, 3)
	if rep.Delivered != 1 {
		t.Errorf("after rewrite: %+v, want the one new event delivered", rep)
	}
	c, ok, err := r.q.Cursor(context.Background(), r.repo, f)
	if err != nil || !ok || c.Malformed != 1 {
		t.Errorf("cursor = %+v ok=%v err=%v, want 1 malformed line counted", c, ok, err)
	}
	if !r.srv.HasEvent("01KTESTREWRITE000000000001") {
		t.Error("rewritten file's event not delivered")
	}
}

// TestAbandonedBatchReturnsToQueue: a stop during a hung upload releases the
// batch; the next cycle delivers it.
func TestAbandonedBatchReturnsToQueue(t *testing.T) {
	r := newRig(t, someMissions(t, 3)...)
	want := syncedIDs(t, r.repo)
	r.srv.SetFaults(hostedtest.Faults{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := r.eng.Cycle(ctx); err == nil {
		t.Fatal("cycle against a hung host succeeded")
	}
	st, _ := r.q.Stats(context.Background())
	if st.Leased != 0 || st.Depth != len(want) {
		t.Errorf("after abandon: %+v, want %d queued and none leased", st, len(want))
	}
	r.srv.SetFaults(hostedtest.Faults{})
	r.drain(t, 3)
	if diff := r.srv.DiffEventIDs(want); diff != "" {
		t.Fatal(diff)
	}
}

// TestExpiredSessionSurfacesMissingAuth: a 401 that refresh cannot fix
// stops uploading and reports AuthMissing; nothing is lost.
func TestExpiredSessionSurfacesMissingAuth(t *testing.T) {
	r := newRig(t, someMissions(t, 2)...)
	r.srv.ExpireAccessTokens()
	rep, err := r.eng.Cycle(context.Background())
	if err == nil || !rep.AuthMissing {
		t.Fatalf("cycle = %+v, %v; want AuthMissing", rep, err)
	}
	st, _ := r.q.Stats(context.Background())
	if st.Depth == 0 || st.Leased != 0 || st.DeadLetters != 0 {
		t.Errorf("queue after 401: %+v", st)
	}
}

// TestOversizedEventIsDeadLettered: an event too large for any batch (over
// 4 MiB compressed; only another tool can queue one, since lines over 1 MiB
// are malformed) is dead-lettered instead of blocking the queue, and an
// over-long line in a file is counted as malformed.
func TestOversizedEventIsDeadLettered(t *testing.T) {
	r := newRig(t, someMissions(t, 1)...)
	want := syncedIDs(t, r.repo)
	blob := make([]byte, 6<<20)
	rnd := mrand.New(mrand.NewPCG(3, 4))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range blob {
		blob[i] = alphabet[rnd.IntN(len(alphabet))]
	}
	huge := fmt.Sprintf(`{"event_id":"01KTESTHUGE00000000000000001","event_type":"Attachment","aggregate_id":"m","aggregate_type":"Mission","schema_version":"3.0.0","payload":{"blob":%q}}`, blob)
	if _, err := r.q.Enqueue(context.Background(), queue.Item{EventID: "01KTESTHUGE00000000000000001", EventType: "Attachment", Data: []byte(huge)}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(r.repo, paths.SpecsDir, "*", paths.EventsFileName))
	fh, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(fh, `{"event_id":"01KTESTLONGLINE000000000001","blob":%q}`+"\n", blob[:2<<20])
	fh.Close()

	rep := r.drain(t, 5)
	if rep.DeadLetters != 1 {
		t.Errorf("dead letters = %d, want the oversized event", rep.DeadLetters)
	}
	if diff := r.srv.DiffEventIDs(want); diff != "" {
		t.Fatal(diff)
	}
	c, _, err := r.q.Cursor(context.Background(), r.repo, files[0])
	if err != nil || c.Malformed != 1 {
		t.Errorf("cursor %+v, %v: want the over-long line counted as malformed", c, err)
	}
}

// TestEmittedLineUploadedOnce: the status-emit path queues the new line
// through the file's cursor, so the daemon's next cycle neither re-queues
// nor re-sends it.
func TestEmittedLineUploadedOnce(t *testing.T) {
	r := newRig(t, someMissions(t, 1)...)
	r.drain(t, 3)
	files, _ := filepath.Glob(filepath.Join(r.repo, paths.SpecsDir, "*", paths.EventsFileName))
	fh, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(fh, `{"event_id":"01KTESTEMIT000000000000001","wp_id":"WP01","from_lane":"planned","to_lane":"claimed","actor":"me","at":"2026-11-27T10:00:00Z"}`)
	fh.Close()
	if n, err := r.eng.ImportFiles(context.Background(), r.repo, files[0]); err != nil || n != 1 {
		t.Fatalf("ImportFiles = %d, %v; want the one new line", n, err)
	}
	before := r.srv.DuplicateCount()
	rep := r.drain(t, 3)
	if rep.Delivered != 1 || rep.Duplicates != 0 || rep.Imported != 0 || r.srv.DuplicateCount() != before {
		t.Errorf("after emit: %+v (host duplicates %d -> %d); want it sent exactly once", rep, before, r.srv.DuplicateCount())
	}
}

// TestSmallQueueImportsInSteps: with max_queue_size below a file's backlog
// the import stops at the limit (cursor mid-file, nothing skipped), and one
// Cycle keeps importing as uploads make room until everything is delivered.
func TestSmallQueueImportsInSteps(t *testing.T) {
	r := newRig(t, someMissions(t, 3)...)
	want := syncedIDs(t, r.repo)
	if len(want) <= 10 {
		t.Fatalf("fixture missions too small: %d events", len(want))
	}
	small, err := queue.Open(context.Background(), r.q.Path(), queue.Options{MaxSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	r.eng.Queue = small

	n, err := r.eng.ImportRepo(context.Background(), r.repo)
	if !errors.Is(err, queue.ErrQueueFull) || n != 7 || !strings.Contains(err.Error(), "max_queue_size 7") {
		t.Fatalf("ImportRepo = %d, %v; want 7 and a queue-full error naming the size", n, err)
	}
	rep, err := r.eng.Cycle(context.Background())
	if err != nil {
		t.Fatalf("Cycle: %v", err)
	}
	if diff := r.srv.DiffEventIDs(want); diff != "" {
		t.Fatalf("after one cycle with a 7-event queue: %s (%+v)", diff, rep)
	}
	if st, _ := small.Stats(context.Background()); st.Depth != 0 {
		t.Errorf("queue depth %d after the cycle", st.Depth)
	}
}

// TestCycleFilesImportsOnlyTheNamedFiles: the daemon's cycle for a wake that
// names an events file imports that file's new lines and uploads them, and
// leaves the new lines of the other files to the next full cycle.
func TestCycleFilesImportsOnlyTheNamedFiles(t *testing.T) {
	r := newRig(t, someMissions(t, 2)...)
	r.drain(t, 3)
	files, _ := filepath.Glob(filepath.Join(r.repo, paths.SpecsDir, "*", paths.EventsFileName))
	if len(files) != 2 {
		t.Fatalf("%d events files, want 2", len(files))
	}
	for i, f := range files {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(fh, `{"event_id":"01KTESTCYCLEFILES00000000%d","wp_id":"WP01","from_lane":"planned","to_lane":"claimed","actor":"me","at":"2026-11-27T10:00:00Z"}`+"\n", i)
		fh.Close()
	}
	rep, err := r.eng.CycleFiles(context.Background(), map[string][]string{r.repo: {files[0]}})
	if err != nil || rep.Imported != 1 || rep.Delivered != 1 || rep.QueueDepth != 0 {
		t.Fatalf("CycleFiles = %+v, %v; want the named file's line imported and delivered", rep, err)
	}
	if !r.srv.HasEvent("01KTESTCYCLEFILES000000000") || r.srv.HasEvent("01KTESTCYCLEFILES000000001") {
		t.Error("CycleFiles delivered another file's line, or not the named one")
	}
	if rep := r.drain(t, 3); rep.Imported != 1 || rep.Delivered != 1 {
		t.Errorf("the full cycle after it: %+v, want the other file's line", rep)
	}
}
