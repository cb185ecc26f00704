// Package daemon owns the background sync process (`spec-kitty service run`):
// start-up order, the single-instance lock, the state file, the local API on a
// Unix socket, the work loop and graceful stop (CONTRACTS.md §7). What a cycle
// does — import new event lines, upload the queue — is the Worker's job, so the
// process shell is tested with a real worker or a small honest one.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/spec-kitty/spec-kitty-sync/core/syncer"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

// DefaultTick is the pause between cycles when nothing wakes the daemon.
const DefaultTick = 60 * time.Second

// StopBudget bounds a graceful stop (CONTRACTS.md §7: exit within 5 s).
const StopBudget = 4 * time.Second

// Worker does one sync cycle.
type Worker interface {
	// Cycle imports new event lines and uploads what is due. An error means
	// the cycle failed; the report is still used for queue figures.
	Cycle(ctx context.Context) (Report, error)
}

// FileWorker is implemented by a Worker that can run a cycle importing only
// named events files instead of scanning every registered repository: a
// wake request from `status emit` names the file it appended, so waking the
// daemon costs the same whatever the number of missions. The periodic tick
// still runs full cycles (Cycle).
type FileWorker interface {
	// CycleFiles uploads what is queued, imports the new lines of files
	// (events files by repository) and uploads again.
	CycleFiles(ctx context.Context, files map[string][]string) (Report, error)
}

// RepoRegistrar is implemented by a Worker that takes a repository to import
// from on a local API request (POST /v1/sync with a repo), so front-ends
// never write the queue themselves.
type RepoRegistrar interface {
	RegisterRepo(ctx context.Context, repo string) (added bool, err error)
}

// Report summarises one cycle (the engine's report).
type Report = syncer.Report

// Options configure Run. Getenv, Home, Policy and Worker are required.
type Options struct {
	Home    paths.Home
	Getenv  func(string) string
	Now     func() time.Time
	Logger  *slog.Logger
	Version string
	Host    string // resolved host, for the state file
	// Policy re-reads `[sync].background_daemon`; called at start, on reload
	// and on every tick.
	Policy func() (policy.Policy, error)
	// Readiness evaluates the local readiness checks for GET /v1/status.
	Readiness func(ctx context.Context) readiness.Result
	// Reload is called on POST /v1/reload and before each cycle, so a new
	// session or config written by another process is picked up.
	Reload func(ctx context.Context) error
	Worker Worker
	// Open, used when Worker is nil, creates the worker once the lock is
	// held (so a daemon that exits early opens no queue); close is called
	// on exit.
	Open func(ctx context.Context) (w Worker, close func() error, err error)
	Tick time.Duration
	// Once runs a single cycle and exits, even under the manual policy.
	Once bool
	// Ready, when set, is called once the local API is listening.
	Ready func()
}

// ErrAlreadyRunning is returned (wrapped with the holder's PID) when another
// daemon holds the lock; callers exit 0.
var ErrAlreadyRunning = errors.New("sync daemon already running")

// Run is the daemon's main. It returns nil for every orderly exit: gate off,
// manual policy, another instance running (wrapped ErrAlreadyRunning), a stop
// request or a signal.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	// 1. Gate: decided before any file is touched.
	if !rollout.Enabled(o.Getenv) {
		log.Info(rollout.ServiceRunLine)
		return nil
	}
	// 2. Policy.
	pol, err := o.Policy()
	if err != nil {
		return fmt.Errorf("read policy: %w", err)
	}
	if !pol.Background() && !o.Once {
		log.Info("background sync is in manual mode; not starting", "policy", string(pol))
		return nil
	}
	// 3. Lock.
	if err := o.Home.EnsureHome(); err != nil {
		return err
	}
	// The socket's directory must be private (CONTRACTS §7). A home others
	// can write to (a shared 1777 directory) is refused; one this user made
	// by hand that others can only read is tightened, and said so.
	fi, err := os.Stat(o.Home.Dir)
	if err != nil {
		return err
	}
	if err := sharedHome(o.Home.Dir, fi); err != nil {
		return err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(o.Home.Dir, 0o700); err != nil {
			return fmt.Errorf("make %s private (mode 0700): %w", o.Home.Dir, err)
		}
		log.Warn("state home was readable by others; changed to 0700", "home", o.Home.Dir, "was", fi.Mode().Perm().String())
	}
	lock := flock.New(o.Home.DaemonLock(), flock.SetPermissions(0o600))
	ok, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("lock %s: %w", o.Home.DaemonLock(), err)
	}
	if !ok {
		st, _, _ := localapi.ReadState(o.Home.DaemonState())
		return fmt.Errorf("%w (pid %d holds %s)", ErrAlreadyRunning, st.PID, o.Home.DaemonLock())
	}
	defer lock.Unlock()

	if o.Worker == nil {
		if o.Open == nil {
			return errors.New("daemon: no worker")
		}
		w, closeFn, err := o.Open(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		o.Worker = w
	}
	d := newDaemon(o, log)
	d.state = localapi.State{
		PID:       os.Getpid(),
		StartedAt: o.Now().UTC(),
		Version:   o.Version,
		Socket:    o.Home.DaemonSocket(),
		Host:      o.Host,
		Policy:    string(pol),
	}
	// 4. State file.
	if err := d.writeState(); err != nil {
		return err
	}
	defer os.Remove(o.Home.DaemonState())

	// 5. Local API.
	srv, ln, err := d.listen()
	if err != nil {
		return err
	}
	defer os.Remove(o.Home.DaemonSocket())
	serveDone := make(chan struct{})
	go func() {
		defer close(serveDone)
		srv.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		srv.Shutdown(sctx)
		cancel()
		<-serveDone
	}()
	log.Info("sync daemon started", "pid", d.state.PID, "policy", string(pol), "socket", o.Home.DaemonSocket())
	if o.Ready != nil {
		o.Ready()
	}

	// 6. Work loop.
	err = d.loop(ctx)
	log.Info("sync daemon stopped", "reason", d.stopReason)
	return err
}

type daemon struct {
	o   Options
	log *slog.Logger

	mu         sync.Mutex
	state      localapi.State
	stopReason string
	// What the wake requests since the last cycle asked for: a full cycle
	// (a plain wake, a reload), or only the named events files.
	wakeFull  bool
	wakeFiles map[string]map[string]bool // repo -> events files

	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
}

func newDaemon(o Options, log *slog.Logger) *daemon {
	return &daemon{o: o, log: log, wake: make(chan struct{}, 1), stop: make(chan struct{})}
}

func (d *daemon) requestStop(reason string) {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		d.stopReason = reason
		d.mu.Unlock()
		close(d.stop)
	})
}

// requestWake asks for a full cycle now.
func (d *daemon) requestWake() {
	d.mu.Lock()
	d.wakeFull = true
	d.mu.Unlock()
	d.signalWake()
}

// requestWakeFiles asks for a cycle now that imports the named events files
// of repo (a plain wake in the meantime makes it a full cycle).
func (d *daemon) requestWakeFiles(repo string, files []string) {
	d.mu.Lock()
	if d.wakeFiles == nil {
		d.wakeFiles = map[string]map[string]bool{}
	}
	if d.wakeFiles[repo] == nil {
		d.wakeFiles[repo] = map[string]bool{}
	}
	for _, f := range files {
		d.wakeFiles[repo][f] = true
	}
	d.mu.Unlock()
	d.signalWake()
}

// takeWake returns and clears what the wake requests asked for: nil files
// when a full cycle is due.
func (d *daemon) takeWake() (files map[string][]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	full, pending := d.wakeFull, d.wakeFiles
	d.wakeFull, d.wakeFiles = false, nil
	if full || len(pending) == 0 {
		return nil
	}
	files = make(map[string][]string, len(pending))
	for repo, set := range pending {
		for f := range set {
			files[repo] = append(files[repo], f)
		}
		slices.Sort(files[repo])
	}
	return files
}

func (d *daemon) signalWake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// loop runs the work loop for a started daemon: its cycle records the
// outcome in the state file, its policy check reloads config and session.
func (d *daemon) loop(ctx context.Context) error {
	return (&workLoop{
		Tick:        d.o.Tick,
		Now:         d.o.Now,
		Once:        d.o.Once,
		Cycle:       d.cycle,
		CheckPolicy: d.checkPolicy,
		Wake:        d.wake,
		Stop:        d.stop,
		RequestStop: d.requestStop,
		Log:         d.log,
	}).run(ctx)
}

// workLoop schedules cycles (CONTRACTS.md §7): the first at once, then one
// per tick, sooner when a wake request arrives or a report's NextAttemptAt
// is due; the policy is re-checked before each cycle (a reload request is a
// wake: `config set` sends one). Between cycles it waits on its timer and
// channels only — no polling — so an idle daemon makes no system call until
// the next cycle is due. It holds no socket, lock or queue, so it runs as
// is inside a testing/synctest bubble.
type workLoop struct {
	Tick time.Duration
	Now  func() time.Time
	// Once runs a single cycle, then asks to stop.
	Once bool
	// Cycle runs one cycle; ctx ends on a stop request or a signal. woken
	// is set when a wake request (not the timer) started it.
	Cycle func(ctx context.Context, woken bool) Report
	// CheckPolicy reloads config and reports whether the daemon must stop
	// (it has then called RequestStop).
	CheckPolicy func(ctx context.Context) (stop bool)
	// Wake carries wake requests; a buffer of one coalesces them.
	Wake <-chan struct{}
	// Stop is closed by RequestStop.
	Stop        <-chan struct{}
	RequestStop func(reason string)
	Log         *slog.Logger
}

func (l *workLoop) run(ctx context.Context) error {
	// cycleCtx is cancelled by a signal or a stop request; an in-flight
	// upload is abandoned safely (its leased events return to the queue).
	cycleCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			l.RequestStop("signal")
		case <-l.Stop:
		}
		cancel()
	}()

	timer := time.NewTimer(0) // first cycle at once
	defer timer.Stop()
	for {
		woken := false
		select {
		case <-l.Stop:
			return nil
		case <-timer.C:
		case <-l.Wake:
			woken = true
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		if stop := l.CheckPolicy(cycleCtx); stop {
			return nil
		}
		rep := l.Cycle(cycleCtx, woken)
		if l.Once {
			l.RequestStop("once")
			return nil
		}
		timer.Reset(l.nextWake(rep))
	}
}

// checkPolicy reloads config and session; under manual it asks the daemon to
// exit after the current batch.
func (d *daemon) checkPolicy(ctx context.Context) bool {
	if d.o.Reload != nil {
		if err := d.o.Reload(ctx); err != nil {
			d.log.Warn("reload failed", "error", err.Error())
		}
	}
	if d.o.Once {
		return false
	}
	pol, err := d.o.Policy()
	if err != nil {
		d.log.Warn("read policy", "error", err.Error())
		return false
	}
	d.mu.Lock()
	d.state.Policy = string(pol)
	d.mu.Unlock()
	if !pol.Background() {
		d.log.Info("policy switched to manual; exiting")
		d.requestStop("policy_manual")
		return true
	}
	return false
}

// minWake is the shortest pause between two cycles.
const minWake = syncer.MinWake

// nextWake is the pause before the next cycle: the tick, or less when an
// event's retry (or a probe of a failing host) is due sooner — a failed
// batch does not park the queue for a whole tick.
func (l *workLoop) nextWake(rep Report) time.Duration {
	next := l.Tick
	if !rep.NextAttemptAt.IsZero() {
		next = min(next, max(rep.NextAttemptAt.Sub(l.Now()), minWake))
	}
	return next
}

// cycle runs one cycle of the worker: a full one, or — when a wake request
// named the events files to import and the worker can — one that imports
// only those.
func (d *daemon) cycle(ctx context.Context, woken bool) Report {
	var (
		rep Report
		err error
	)
	files := d.takeWake()
	if fw, ok := d.o.Worker.(FileWorker); ok && woken && files != nil {
		rep, err = fw.CycleFiles(ctx, files)
	} else {
		rep, err = d.o.Worker.Cycle(ctx)
	}
	now := d.o.Now().UTC()
	d.mu.Lock()
	d.state.QueueDepth = rep.QueueDepth
	d.state.DeadLetters = rep.DeadLetters
	d.state.Delivered += int64(rep.Delivered + rep.Duplicates)
	d.state.AuthMissing = rep.AuthMissing
	if err != nil && ctx.Err() == nil {
		d.state.ConsecutiveFailures++
		d.state.LastError = err.Error()
		d.state.LastErrorAt = now
		d.state.LastErrorState, d.state.LastErrorStatus = hosted.Failure(err)
		if errors.Is(err, syncer.ErrNotSignedIn) {
			d.state.LastErrorState = "missing_auth"
		}
		if queue.IsDiskFull(err) {
			d.state.LastErrorState = localapi.ErrorDiskFull
		}
		d.log.Warn("sync cycle failed", "error", err.Error(), "consecutive_failures", d.state.ConsecutiveFailures)
	} else if err == nil {
		d.state.ConsecutiveFailures = 0
		d.state.LastError = ""
		d.state.LastErrorState, d.state.LastErrorStatus = "", 0
		d.state.LastSyncAt = now
		if rep.Imported+rep.Delivered+rep.Duplicates+rep.DeadLettered > 0 {
			d.log.Info("sync cycle", "imported", rep.Imported, "delivered", rep.Delivered,
				"duplicates", rep.Duplicates, "retried", rep.Retried, "dead_lettered", rep.DeadLettered,
				"queue_depth", rep.QueueDepth)
		}
	}
	d.mu.Unlock()
	if err := d.writeState(); err != nil {
		d.log.Warn("write state", "error", err.Error())
	}
	return rep
}

func (d *daemon) snapshot() localapi.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

func (d *daemon) writeState() error {
	st := d.snapshot()
	b, err := marshalState(st)
	if err != nil {
		return err
	}
	err = atomicfile.Write(d.o.Home.DaemonState(), b, 0o600)
	if queue.IsDiskFull(err) {
		// A full disk has no room for the new copy, but the state file's
		// own block is allocated: overwrite it in place, so displays show
		// the failing cycle instead of the last healthy one.
		return overwrite(d.o.Home.DaemonState(), b)
	}
	return err
}

// overwrite replaces the content of the existing file path in place (not
// atomically: the fallback when there is no room for a new copy).
func overwrite(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Truncate(int64(len(b)))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("overwrite %s: %w", path, err)
	}
	return nil
}

// listen opens the Unix socket, replacing a stale one (we hold the lock, so
// no live daemon owns it).
func (d *daemon) listen() (*http.Server, net.Listener, error) {
	sock := d.o.Home.DaemonSocket()
	os.Remove(sock)
	ln, err := listenUnix(sock)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", sock, err)
	}
	srv := &http.Server{
		Handler:           d.handler(),
		ReadHeaderTimeout: 5 * time.Second,
	}
	return srv, ln, nil
}
