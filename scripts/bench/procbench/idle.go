package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// Targets of the idle daemon (issue 5: RSS <= 25 MB, CPU <= 50 ms in 60 s).
const (
	idleRSSLimitMB = 25
	idleCPULimit   = 50 * time.Millisecond
	clockTicks     = 100 // USER_HZ on Linux: the unit of utime/stime in /proc/PID/stat
)

// runDaemonIdle starts a real `spec-kitty service run` the way a user's
// machine has it — gate on, policy auto, signed in to a host (hostedtest on
// loopback), the 412 missions of the generated corpus registered and
// already delivered —
// waits for its first cycle, then watches it for span: resident memory at
// the end, and CPU time (utime+stime) used during the span, which includes
// its one 60 s tick when span is 60 s.
func runDaemonIdle(bin string, span time.Duration) error {
	if runtime.GOOS != "linux" {
		return errors.New("daemon-idle reads /proc: Linux only")
	}
	tmp, err := os.MkdirTemp("", "procbench-idle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "spec-kitty")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cli/cmd/spec-kitty")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build spec-kitty (run from the module root): %w", err)
		}
	}
	srv := hostedtest.New(hostedtest.Options{})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	defer srv.Close()

	repo := filepath.Join(tmp, "repo")
	src, _, err := fixture.Corpus(corpus.Default)
	if err != nil {
		return err
	}
	if err := fixture.CopyMissions(src, repo); err != nil {
		return err
	}
	home := paths.Home{Dir: filepath.Join(tmp, "home")}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(tmp, "userhome"),
		"SPEC_KITTY_HOME=" + home.Dir,
		"USER=bench",
		"SPEC_KITTY_ENABLE_SAAS_SYNC=1",
		"SPEC_KITTY_SAAS_URL=" + srv.URL(),
	}
	tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		return err
	}
	if err := runIn(bin, repo, env, tok, "auth", "login", "--with-token"); err != nil {
		return err
	}
	// sync run registers the repo and delivers its ≈25,000 event lines, so
	// the daemon starts in the steady state: everything imported.
	if err := runIn(bin, repo, env, nil, "sync", "run"); err != nil {
		return err
	}
	delivered := srv.EventCount()

	daemon := exec.Command(bin, "service", "run", "--background")
	daemon.Dir, daemon.Env = repo, env
	var out bytes.Buffer
	daemon.Stdout, daemon.Stderr = &out, &out
	if err := daemon.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			daemon.Process.Kill()
			<-exited
		}
	}()
	pid := daemon.Process.Pid

	// The first cycle ends when the state file shows a sync time.
	var first localapi.State
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, running, err := localapi.ReadState(home.DaemonState())
		if err == nil && running && st.PID == pid && !st.LastSyncAt.IsZero() {
			first = st
			break
		}
		select {
		case err := <-exited:
			stopped = true
			return fmt.Errorf("the daemon exited before its first cycle: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no first cycle within 30 s (%s)", home.DaemonState())
		}
	}
	time.Sleep(500 * time.Millisecond)
	cpu0, err := procCPU(pid)
	if err != nil {
		return err
	}
	sched0, err := schedCPU(pid)
	if err != nil {
		return err
	}
	select {
	case err := <-exited:
		stopped = true
		return fmt.Errorf("the daemon exited while idle: %v\n%s", err, out.String())
	case <-time.After(span):
	}
	cpu1, err := procCPU(pid)
	if err != nil {
		return err
	}
	sched1, err := schedCPU(pid)
	if err != nil {
		return err
	}
	rss, err := procMemKB(pid, "VmRSS:")
	if err != nil {
		return err
	}
	hwm, err := procMemKB(pid, "VmHWM:")
	if err != nil {
		return err
	}
	last, _, err := localapi.ReadState(home.DaemonState())
	if err != nil {
		return err
	}
	ticks := 0
	if last.LastSyncAt.After(first.LastSyncAt) {
		ticks = 1 // at least one; the state keeps only the latest
	}
	if last.QueueDepth != 0 || last.LastError != "" || srv.EventCount() != delivered {
		return fmt.Errorf("the daemon was not idle: state %+v, host events %d -> %d", last, delivered, srv.EventCount())
	}

	// A clean stop, as the service manager would ask for it.
	if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			return fmt.Errorf("the daemon did not stop cleanly on SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(5 * time.Second):
		return errors.New("the daemon did not stop within 5 s of SIGTERM")
	}

	cpu := cpu1 - cpu0
	rssMB := float64(rss) / 1024
	fmt.Printf("procbench daemon-idle: %s, %d CPUs; `spec-kitty service run` signed in to hostedtest on loopback, "+
		"%d fixture events delivered, watched for %s after its first cycle (%d tick in the window)\n",
		runtime.Version(), runtime.NumCPU(), delivered, span, ticks)
	missed := false
	verdict := func(miss bool) string {
		if miss {
			missed = true
			return "MISSED"
		}
		return "ok"
	}
	fmt.Printf("%-34s %8.1fMB  (peak %.1fMB)  target <= %dMB  %s\n",
		"daemon idle RSS", rssMB, float64(hwm)/1024, idleRSSLimitMB, verdict(rssMB > idleRSSLimitMB))
	fmt.Printf("%-34s %8s  (scheduler %s, over %s)  target <= %s  %s\n",
		"daemon idle CPU", ms(cpu), ms(sched1-sched0), span, ms(idleCPULimit), verdict(cpu > idleCPULimit))
	if missed {
		return fmt.Errorf("a target was missed (is the machine busy? `uptime`)")
	}
	return nil
}

// runIn runs bin with args in dir, stdin from the given bytes.
func runIn(bin, dir string, env []string, stdin []byte, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("spec-kitty %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// procCPU is utime+stime of pid (all its threads) from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat: %q", pid, s)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// schedCPU is the time pid's threads spent on a CPU, in nanoseconds, summed
// from /proc/PID/task/*/schedstat (finer than the 10 ms ticks of stat).
func schedCPU(pid int) (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no schedstat for pid %d: %v", pid, err)
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that just ended
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", t, err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}

// procMemKB reads one kB field ("VmRSS:") of /proc/PID/status.
func procMemKB(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.Atoi(f[0])
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
