//go:build linux

package cli

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// idleWindow is how long the idle daemon is watched: more than twice the
// 2 s config poll it used to run, far less than its 60 s tick.
const idleWindow = 6 * time.Second

// TestIdleDaemonMakesNoSyscalls runs the real daemon (`spec-kitty service
// run`, signed in to a hostedtest host on loopback, one repository
// registered) under `strace -f -ttt` and proves three things:
//
//   - idle between two ticks it makes no system call at all: it polls no
//     file (config.toml is re-read on a reload request and at each tick);
//   - woken by `status emit`, it reads the one events file emit appended,
//     not the others of the repository;
//   - `config set sync.background_daemon manual` stops it within seconds
//     (config set sends POST /v1/reload).
func TestIdleDaemonMakesNoSyscalls(t *testing.T) {
	// Parallel: the proof is about the traced daemon's own calls, which
	// other tests' load does not add to; its 6 s of watching need not
	// hold up the package.
	t.Parallel()
	p := newProver(t)
	srv := hostedtest.NewTest(t, hostedtest.Options{})
	w := p.newWorld(map[string]string{
		"SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
		paths.SaaSURLEnv:              srv.URL(),
	})
	if err := os.MkdirAll(filepath.Join(w.repo, paths.KittifyDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.RepoConfig(w.repo), []byte(corpus.KittifyConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.plain(w, tok, "auth", "login", "--with-token")
	p.plain(w, nil, "sync", "run") // registers the repo and delivers its events

	log := filepath.Join(t.TempDir(), "strace.log")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.strace, "-f", "-ttt", "-qq", "-o", log, p.bin, "service", "run")
	cmd.Dir, cmd.Env = w.repo, w.environ()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		cmd.Wait()
	}()
	home := paths.Home{Dir: w.home}
	t.Cleanup(func() {
		// Killing strace detaches the daemon: stop it too.
		if st, running, _ := localapi.ReadState(home.DaemonState()); running {
			syscall.Kill(st.PID, syscall.SIGKILL)
		}
		cancel()
		<-exited
	})

	// The daemon's first cycle (a full one) is done once the state file
	// says it synced.
	waitState := func(what string, ok func(localapi.State) bool) localapi.State {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, running, _ := localapi.ReadState(home.DaemonState())
			if running && ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("daemon: %s: not within 20 s (state %+v); output:\n%s", what, st, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first := waitState("first cycle", func(st localapi.State) bool { return !st.LastSyncAt.IsZero() })

	// Let the runtime settle after the cycle, then watch.
	time.Sleep(time.Second)
	idleFrom := time.Now()
	time.Sleep(idleWindow)
	idleTo := time.Now()

	// status emit appends a line, queues it, and wakes the daemon naming
	// the file; the daemon delivers it.
	mission := proofMissions[0]
	wakeFrom := time.Now()
	p.plain(w, nil, "status", "emit", "--mission", mission, "WP01", "--to", "for_review", "--force", "--reason", "idle proof")
	waitState("the emitted event delivered", func(st localapi.State) bool { return st.LastSyncAt.After(first.LastSyncAt) && st.QueueDepth == 0 })
	wakeTo := time.Now()

	// config set tells the daemon, which exits under manual at once.
	stopFrom := time.Now()
	p.plain(w, nil, "config", "set", "sync.background_daemon", "manual")
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("daemon still running 5 s after `config set sync.background_daemon manual`; output:\n%s", stderr.String())
	}
	t.Logf("daemon exited %v after config set", time.Since(stopFrom).Round(time.Millisecond))

	calls := readStraceTimes(t, log)
	cgroupFDs := runtimeCgroupFDs(calls)
	var idle []string
	for _, c := range calls {
		if c.at.Before(idleFrom) || c.at.After(idleTo) {
			continue
		}
		idle = append(idle, c.line)
		if !runtimeWait(c.line, cgroupFDs) {
			t.Errorf("idle daemon made a system call of its own: %s", c.line)
		}
	}
	t.Logf("%d system calls in %v of idling, all the Go runtime's timer waits:\n%s", len(idle), idleTo.Sub(idleFrom).Round(time.Millisecond), strings.Join(idle, "\n"))
	// The runtime deletes a stopped timer lazily: the netpoller may wake
	// once at a deadline the daemon already cancelled (e.g. a keychain
	// call's 5 s bound), then sleeps to the tick. The 2 s config poll made
	// dozens of calls in this window.
	if len(idle) > idleMaxCalls {
		t.Errorf("%d system calls in the idle window, want at most %d", len(idle), idleMaxCalls)
	}

	// The woken cycle touched the appended file and no other events file.
	appended := filepath.Join(w.repo, paths.SpecsDir, mission, paths.EventsFileName)
	specs := filepath.Join(w.repo, paths.SpecsDir) + string(filepath.Separator)
	touched := map[string]bool{}
	for _, c := range calls {
		if c.at.Before(wakeFrom) || c.at.After(wakeTo) {
			continue
		}
		for _, q := range quotedPaths(c.line) {
			if strings.HasPrefix(q, specs) && strings.HasSuffix(q, paths.EventsFileName) {
				touched[q] = true
			}
		}
	}
	if !touched[appended] {
		t.Errorf("the woken daemon did not read the appended file %s (touched %v): does strace see it?", appended, touched)
	}
	for f := range touched {
		if f != appended {
			t.Errorf("the daemon woken for %s also read %s", appended, f)
		}
	}
}

// idleMaxCalls bounds the Go runtime's own calls in the idle window: one
// or two spurious timer wake-ups (each a few futex/epoll calls).
const idleMaxCalls = 12

// runtimeWait reports whether an strace line is one of the Go runtime's
// scheduling calls — waiting on its netpoller or a futex, a short sleep,
// sysmon re-reading the CPU quota (sched_getaffinity, pread64 of the cgroup
// files it opened at start) — rather than the daemon doing work.
func runtimeWait(line string, cgroupFDs map[string]bool) bool {
	f := straceTimed.FindStringSubmatch(line)
	if f == nil {
		return false
	}
	call := strings.TrimPrefix(f[3], "<... ")
	for _, name := range []string{"epoll_pwait", "epoll_wait", "futex", "nanosleep", "sched_yield", "sched_getaffinity", "rt_sigreturn", "getpid", "tgkill"} {
		if strings.HasPrefix(call, name+"(") || strings.HasPrefix(call, name+" resumed>") {
			return true
		}
	}
	if fd, ok := strings.CutPrefix(call, "pread64("); ok {
		return cgroupFDs[fd[:max(strings.IndexByte(fd, ','), 0)]]
	}
	return false
}

// runtimeCgroupFDs are the descriptors of the cgroup CPU files the runtime
// opened (and keeps open) to follow the CPU quota.
func runtimeCgroupFDs(calls []stracedCall) map[string]bool {
	fds := map[string]bool{}
	for _, c := range calls {
		if strings.Contains(c.line, `openat(AT_FDCWD, "/sys/fs/cgroup/`) {
			if i := strings.LastIndex(c.line, "= "); i >= 0 {
				fds[strings.TrimSpace(c.line[i+2:])] = true
			}
		}
	}
	return fds
}

type stracedCall struct {
	at   time.Time
	line string
}

// straceTimed is a line of `strace -f -ttt`: pid (padded), seconds, call.
var straceTimed = regexp.MustCompile(`^(\d+)\s+(\d+\.\d+)\s+(.*)$`)

// readStraceTimes reads an `strace -f -ttt` log: "PID SECONDS.MICROS call".
// A call split by another thread's ("<unfinished ...>" / "<... resumed>")
// counts at both halves.
func readStraceTimes(t *testing.T, path string) []stracedCall {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []stracedCall
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := straceTimed.FindStringSubmatch(sc.Text())
		if f == nil {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			t.Fatalf("strace line without a pid and a -ttt time: %q", sc.Text())
		}
		if strings.HasPrefix(f[3], "+++ ") || strings.HasPrefix(f[3], "--- ") {
			continue // exits and signals are not calls
		}
		sec, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			t.Fatalf("strace line with a bad time: %q", sc.Text())
		}
		out = append(out, stracedCall{at: time.Unix(0, int64(sec*1e9)), line: sc.Text()})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("empty strace log")
	}
	return out
}

// quotedPaths returns the double-quoted strings of an strace line.
func quotedPaths(line string) []string {
	var out []string
	for {
		i := strings.IndexByte(line, '"')
		if i < 0 {
			return out
		}
		line = line[i+1:]
		j := strings.IndexByte(line, '"')
		if j < 0 {
			return out
		}
		out = append(out, line[:j])
		line = line[j+1:]
	}
}
