//go:build unix

package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/event"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
)

// The crash child is this test binary re-executed as a real daemon process:
// TestMain runs crashChild instead of the tests when crashChildEnv is set.
const (
	crashChildEnv = "SPEC_KITTY_TEST_CRASH_CHILD"
	crashHomeEnv  = "SPEC_KITTY_TEST_CRASH_HOME"
	crashHostEnv  = "SPEC_KITTY_TEST_CRASH_HOST"
	crashTokenEnv = "SPEC_KITTY_TEST_CRASH_TOKEN"
	crashGenEnv   = "SPEC_KITTY_TEST_CRASH_GEN"
	crashLogEnv   = "SPEC_KITTY_TEST_CRASH_LOG"
	// crashSeedEnv replays a failed run: the seed is logged by every run.
	crashSeedEnv = "SPEC_KITTY_CRASH_SEED"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) == "1" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// crashChild is the daemon process of TestCrashKill9: daemon.Run with the
// real Engine over the shared queue, uploading to the parent's hostedtest
// server, until SIGTERM (clean exit) or SIGKILL.
//
// Generation g's clock runs g·(syncer.LeaseFor+1s) ahead of the wall clock, as if
// every restart came after the killed daemon's leases ran out: a lease held
// by a dead daemon is only released by time (a live `sync run` may hold
// leases too, so a restarted daemon cannot simply take them back), and the
// test must not wait two minutes per kill.
func crashChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	gen, err := strconv.Atoi(os.Getenv(crashGenEnv))
	if err != nil {
		return fail(err)
	}
	logf, err := os.OpenFile(os.Getenv(crashLogEnv), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo})).With("gen", gen)
	host, err := hosted.ParseHost(os.Getenv(crashHostEnv))
	if err != nil {
		return fail(err)
	}
	client := hosted.New(host, hosted.StaticToken(host, hosted.NewSecret(os.Getenv(crashTokenEnv)), "team-dev"))
	client.Timeout = 10 * time.Second
	offset := time.Duration(gen) * (syncer.LeaseFor + time.Second)
	now := func() time.Time { return time.Now().Add(offset) }

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	home := paths.Home{Dir: os.Getenv(crashHomeEnv)}
	err = Run(ctx, Options{
		Home:   home,
		Getenv: func(k string) string { return map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}[k] },
		Logger: log,
		Policy: func() (policy.Policy, error) { return policy.Auto, nil },
		Open: func(ctx context.Context) (Worker, func() error, error) {
			q, err := queue.Open(ctx, home.Queue(), queue.Options{MaxSize: 1 << 20})
			if err != nil {
				return nil, nil, err
			}
			eng := &syncer.Engine{
				Queue:   q,
				Connect: func(context.Context) (syncer.Conn, error) { return syncer.Conn{Client: client, Team: "team-dev"}, nil },
				Now:     now,
				Log:     log,
				Rand:    mrand.New(mrand.NewPCG(uint64(gen), uint64(os.Getpid()))),
			}
			return eng, q.Close, nil
		},
		Tick: 50 * time.Millisecond,
	})
	if err != nil {
		return fail(err)
	}
	return 0
}

// crashRig is the parent side of the crash test: the host, the repo the
// events are written to, and the daemon processes.
type crashRig struct {
	t       *testing.T
	srv     *hostedtest.Server
	token   string
	dir     string
	home    paths.Home
	repo    string
	logPath string
	q       *queue.Queue
	rng     *mrand.Rand // kill timing (the test goroutine)
	wrng    *mrand.Rand // event content and write pauses (the writer goroutine)

	gen     int
	kills   int
	written map[string]bool
	lanes   map[string]int // mission/wp -> index into laneCycle
	ids     *event.IDGen
}

var laneCycle = []string{"planned", "claimed", "in_progress", "for_review", "in_review", "approved", "done"}

const crashMissions = 8

func newCrashRig(t *testing.T, seed uint64) *crashRig {
	t.Helper()
	srv := hostedtest.NewTest(t, hostedtest.Options{Seed: seed})
	token, err := srv.AccessToken(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Unix socket paths are limited to ~100 bytes; t.TempDir can be long.
	dir, err := os.MkdirTemp("", "skcrash")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &crashRig{
		t: t, srv: srv, token: token, dir: dir,
		home:    paths.Home{Dir: filepath.Join(dir, "h")},
		repo:    filepath.Join(dir, "repo"),
		logPath: filepath.Join(dir, "daemon.log"),
		rng:     mrand.New(mrand.NewPCG(seed, seed^0x5eed)),
		wrng:    mrand.New(mrand.NewPCG(seed^0xfeed, seed)),
		written: map[string]bool{},
		lanes:   map[string]int{},
	}
	r.ids = event.NewIDGen(time.Now, mrand.NewChaCha8(seedBytes(seed)))
	for m := range crashMissions {
		d := paths.MissionDir(r.repo, r.mission(m))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		meta := fmt.Sprintf(`{"mission_id": "%s", "mission_slug": %q, "friendly_name": "crash mission %d"}`+"\n", r.missionID(m), r.mission(m), m)
		if err := os.WriteFile(filepath.Join(d, paths.MetaFileName), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	q, err := queue.Open(context.Background(), r.home.Queue(), queue.Options{CreateDir: true, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	if _, err := q.RegisterRepo(context.Background(), r.repo); err != nil {
		t.Fatal(err)
	}
	r.q = q
	return r
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := range 4 {
		for j := range 8 {
			b[i*8+j] = byte((seed + uint64(i)) >> (8 * j))
		}
	}
	return b
}

func (r *crashRig) mission(m int) string   { return fmt.Sprintf("crash-mission-%02d", m+1) }
func (r *crashRig) missionID(m int) string { return fmt.Sprintf("01KCRASH%018d", m+1) }

// writeEvents appends n lane-transition lines, shaped as `status emit`
// writes them, spread over the missions, one append per file per call.
func (r *crashRig) writeEvents(n int) error {
	bufs := make([]bytes.Buffer, crashMissions)
	for range n {
		m := r.wrng.IntN(crashMissions)
		wp := fmt.Sprintf("WP%02d", r.wrng.IntN(12)+1)
		key := r.mission(m) + "/" + wp
		from := r.lanes[key]
		to := (from + 1) % len(laneCycle)
		r.lanes[key] = to
		id, err := r.ids.New()
		if err != nil {
			return err
		}
		at := time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
		fmt.Fprintf(&bufs[m], `{"actor": "crash-test", "at": %q, "event_id": %q, "evidence": null, "execution_mode": "direct_repo", "force": false, "from_lane": %q, "mission_id": %q, "mission_slug": %q, "policy_metadata": null, "reason": null, "review_ref": null, "to_lane": %q, "wp_id": %q}`+"\n",
			at, id, laneCycle[from], r.missionID(m), r.mission(m), laneCycle[to], wp)
		r.written[id] = true
	}
	for m := range bufs {
		if bufs[m].Len() == 0 {
			continue
		}
		f, err := os.OpenFile(paths.EventsFile(r.repo, r.mission(m)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, werr := f.Write(bufs[m].Bytes())
		if err := errors.Join(werr, f.Close()); err != nil {
			return err
		}
	}
	return nil
}

// start launches the next daemon generation.
func (r *crashRig) start() *exec.Cmd {
	r.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(),
		crashChildEnv+"=1",
		crashHomeEnv+"="+r.home.Dir,
		crashHostEnv+"="+r.srv.URL(),
		crashTokenEnv+"="+r.token,
		crashGenEnv+"="+strconv.Itoa(r.gen),
		crashLogEnv+"="+r.logPath,
	)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.gen++
	r.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

// kill9 kills the daemon with SIGKILL and reaps it.
func (r *crashRig) kill9(cmd *exec.Cmd) {
	r.t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		r.t.Fatalf("kill -9 daemon: %v", err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			r.kills++
			return
		}
	}
	// It exited on its own before the signal: that is a daemon failure.
	r.t.Fatalf("daemon generation exited before kill -9: %v\nstderr: %s\nlog:\n%s", err, cmd.Stderr, r.logTail())
}

// delivered reports whether the host holds every written event and nothing
// is queued.
func (r *crashRig) delivered() bool {
	if r.srv.EventCount() < len(r.written) {
		return false
	}
	st, err := r.q.Stats(context.Background())
	return err == nil && st.Depth == 0
}

// progress is the number of events the host holds plus the number no
// longer queued: it grows whenever a generation gets anything done.
func (r *crashRig) progress() int {
	st, err := r.q.Stats(context.Background())
	if err != nil {
		return -1
	}
	return r.srv.EventCount() + len(r.written) - st.Depth
}

func (r *crashRig) logTail() string {
	b, _ := os.ReadFile(r.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func sleepIn(rng *mrand.Rand, lo, hi time.Duration) {
	time.Sleep(lo + time.Duration(rng.Int64N(int64(hi-lo)+1)))
}

// TestCrashKill9 writes 5 rounds of 2,000 events into a registered repo
// while a real daemon process imports and uploads them to hostedtest with
// faults on (500s, connection resets, latency), kills it with SIGKILL at a
// random moment of every round, restarts it, and keeps killing and
// restarting until everything is delivered. Then the host must hold exactly
// the ids that were written, with nothing queued, leased or dead-lettered.
// Its only deadline is progress: it fails when stallLimit generations in a
// row deliver nothing. TestCrashKill9Soak is the 200,000-event version.
func TestCrashKill9(t *testing.T) {
	crashKill9(t, 5, 2_000)
}

// TestCrashKill9Soak is TestCrashKill9 at 20 rounds of 10,000 events, run by
// `make soak` (SPEC_KITTY_SOAK=1).
func TestCrashKill9Soak(t *testing.T) {
	if os.Getenv("SPEC_KITTY_SOAK") == "" {
		t.Skip("soak test: run `make soak` (SPEC_KITTY_SOAK=1)")
	}
	crashKill9(t, 20, 10_000)
}

// stallLimit is how many daemon generations in a row may deliver nothing
// before the recovery counts as stuck.
const stallLimit = 40

func crashKill9(t *testing.T, rounds, perRound int) {
	const chunks = 4
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	r := newCrashRig(t, seed)
	if err := r.srv.SetFaults(hostedtest.Faults{
		ErrorFraction: 0.2, ResetFraction: 0.1, Latency: 3 * time.Millisecond, Seed: seed,
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()

	// Rounds: a daemon runs while perRound events are appended in chunks; it
	// is killed at a random moment (start-up, import, upload or settle).
	killedBusy, midBatch := 0, 0
	for round := range rounds {
		cmd := r.start()
		var wg sync.WaitGroup
		var werr error
		wg.Go(func() {
			for range chunks {
				if werr = r.writeEvents(perRound / chunks); werr != nil {
					return
				}
				sleepIn(r.wrng, 0, 60*time.Millisecond)
			}
		})
		// The daemon delivers a round's events within a few dozen
		// milliseconds of their writing, so a kill at a uniformly random
		// moment mostly finds it idle. One kill in four is such a random
		// one (start-up included); the others wait until events are
		// queued and then strike within 20 ms: during an import, an
		// upload or a settle.
		if r.rng.IntN(4) == 0 {
			sleepIn(r.rng, 10*time.Millisecond, 400*time.Millisecond)
		} else {
			for until := time.Now().Add(2 * time.Second); time.Now().Before(until); time.Sleep(2 * time.Millisecond) {
				if st, err := r.q.Stats(context.Background()); err == nil && st.Depth > 0 {
					break
				}
			}
			sleepIn(r.rng, 0, 20*time.Millisecond)
		}
		r.kill9(cmd)
		wg.Wait()
		if werr != nil {
			t.Fatal(werr)
		}
		st, err := r.q.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Depth > 0 {
			killedBusy++ // the daemon died with events still to deliver
		}
		if st.Leased > 0 {
			midBatch++
		}
		t.Logf("round %2d: killed; host holds %d of %d written, %d queued (%d leased by the dead daemon)",
			round+1, r.srv.EventCount(), len(r.written), st.Depth, st.Leased)
	}

	// Recovery: restart, and keep killing at random moments until a
	// generation finishes the job; that one is stopped with SIGTERM. Each
	// restart also ends the backoff of events that failed (see crashChild:
	// a restart stands for time passing), so the faults stay on to the end.
	stalled, best := 0, -1
	for {
		if n := r.progress(); n > best {
			best, stalled = n, 0
		} else if stalled++; stalled > stallLimit {
			st, _ := r.q.Stats(context.Background())
			t.Fatalf("no progress in %d daemon generations (of %d): host %d of %d, queue %+v\nlog:\n%s",
				stallLimit, r.gen, r.srv.EventCount(), len(r.written), st, r.logTail())
		}
		cmd := r.start()
		limit := time.Now().Add(300*time.Millisecond + time.Duration(r.rng.Int64N(int64(2*time.Second))))
		for !r.delivered() && time.Now().Before(limit) {
			time.Sleep(20 * time.Millisecond)
		}
		if r.delivered() {
			// The previous generation may have finished the job: wait
			// until this one is up (its state file is written after its
			// signal handler is set) so SIGTERM tests a clean stop, not
			// a process still starting.
			for up := time.Now().Add(10 * time.Second); time.Now().Before(up); time.Sleep(10 * time.Millisecond) {
				if st, ok, _ := localapi.ReadState(r.home.DaemonState()); ok && st.PID == cmd.Process.Pid {
					break
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("daemon did not stop cleanly on SIGTERM: %v\nstderr: %s\nlog:\n%s", err, cmd.Stderr, r.logTail())
			}
			break
		}
		r.kill9(cmd)
	}
	elapsed := time.Since(start)

	// The proof.
	if diff := r.srv.DiffEventIDs(r.written); diff != "" {
		t.Errorf("host events differ from the written ones: %s", diff)
	}
	if n := r.srv.EventCount(); n != len(r.written) || len(r.written) != rounds*perRound {
		t.Errorf("host holds %d events, %d distinct were written, want %d", n, len(r.written), rounds*perRound)
	}
	if n := countLines(t, r.repo); n != rounds*perRound {
		t.Errorf("events files hold %d lines, want %d", n, rounds*perRound)
	}
	st, err := r.q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Depth != 0 || st.Leased != 0 || st.DeadLetters != 0 {
		t.Errorf("queue after recovery: %d queued, %d leased, %d dead letters; want none", st.Depth, st.Leased, st.DeadLetters)
	}
	if _, running, err := localapi.ReadState(r.home.DaemonState()); err != nil || running {
		t.Errorf("daemon state after SIGTERM: running=%v err=%v", running, err)
	}
	for _, p := range []string{r.home.DaemonState(), r.home.DaemonSocket()} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind after a clean stop (%v)", p, err)
		}
	}
	// At least one kill in four must have found work in hand (at least
	// one in all): a daemon that delivers within milliseconds is idle at
	// many kill moments, and on a loaded machine the count varies.
	if killedBusy < max(1, rounds/4) {
		t.Errorf("only %d of %d kills hit a daemon with work in hand; the test lost its teeth", killedBusy, rounds)
	}
	hs := r.srv.Stats()
	t.Logf("%d events in %d rounds delivered in %s: %d daemon generations, %d kill -9 (%d of the round kills with work in hand, %d mid-batch with leases left behind); host: %d accepted, %d duplicates (re-sent after a kill), %d batches; faults: %d×500, %d resets",
		len(r.written), rounds, elapsed.Round(time.Millisecond), r.gen, r.kills, killedBusy, midBatch,
		hs.Accepted, hs.Duplicates, hs.Batches, r.srv.FaultCount(hostedtest.FaultServerError), r.srv.FaultCount(hostedtest.FaultReset))
	if t.Failed() {
		t.Logf("daemon log tail:\n%s", r.logTail())
	}
}

// countLines counts the lines of every events file of repo.
func countLines(t *testing.T, repo string) int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repo, paths.SpecsDir, "*", paths.EventsFileName))
	n := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			n++
		}
		fh.Close()
	}
	return n
}
