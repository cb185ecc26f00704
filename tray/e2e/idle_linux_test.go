package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/tray"
	"github.com/spec-kitty/spec-kitty-sync/tray/app"
)

// idleFor is how long the no-network proof watches an idle tray: two of its
// refresh periods and a little more, so every periodic read has happened at
// least twice.
const idleFor = 2*app.RefreshInterval + time.Second

// TestIdleTrayOpensNoNetworkConnection runs the tray under strace for two
// refresh periods of idling (signed in, a daemon's state file present) and then quits it:
// every connect() it made must be to a Unix socket or loopback, it must run
// no program, and it must create nothing in the state home.
func TestIdleTrayOpensNoNetworkConnection(t *testing.T) {
	t.Parallel()
	strace := need(t, "strace")
	addr := startBus(t)
	w := startWatcher(t, addr)
	e := newEnv(t, addr, true)
	startFakeDaemon(t, e.home, localapi.State{Policy: "auto", LastSyncAt: time.Now()})
	before := listDir(t, e.home.Dir)

	log := filepath.Join(t.TempDir(), "strace.log")
	p := start(t, e.vars, strace, "-f", "-qq", "-e", "trace=connect,execve", "-o", log, trayBin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := w.Wait(ctx)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, p.stderr.String())
	}
	it := connectItem(t, dial(t, addr), reg.Service, reg.Path)
	s, err := it.read()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(idleFor) // the observation window, not a timing assertion
	it.click(t, s, tray.LabelQuit)
	if code := p.exit(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr.String())
	}

	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	unix, bad, execs := checkConnects(string(b))
	t.Logf("%d connect() calls to Unix sockets, %d elsewhere", unix, len(bad))
	for _, l := range bad {
		t.Errorf("connect() to something other than a Unix socket or loopback: %s", l)
	}
	if unix == 0 {
		t.Errorf("no AF_UNIX connect() seen: is strace tracing the tray?\n%s", b)
	}
	if len(execs) != 1 {
		t.Errorf("the idle tray ran programs: %q", execs)
	}
	if after := listDir(t, e.home.Dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("state home changed from %v to %v", before, after)
	}
}

var (
	inet4 = regexp.MustCompile(`sa_family=AF_INET,.*inet_addr\("([0-9.]+)"\)`)
	inet6 = regexp.MustCompile(`sa_family=AF_INET6,.*inet_pton\(AF_INET6, "([0-9a-fA-F:.]+)"`)
)

// checkConnects reads an strace log: it counts AF_UNIX connects, returns
// the connect() lines to anything but Unix sockets and loopback, and the
// programs executed.
func checkConnects(log string) (unix int, bad, execs []string) {
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "execve(") && !strings.Contains(l, "resumed>") {
			execs = append(execs, l)
		}
		if !strings.Contains(l, "connect(") || !strings.Contains(l, "sa_family=") {
			continue
		}
		switch {
		case strings.Contains(l, "sa_family=AF_UNIX"):
			unix++
		case strings.Contains(l, "sa_family=AF_UNSPEC"):
			// dissolves a UDP association; reaches nobody
		case inet4.MatchString(l):
			if !strings.HasPrefix(inet4.FindStringSubmatch(l)[1], "127.") {
				bad = append(bad, l)
			}
		case inet6.MatchString(l):
			if a := inet6.FindStringSubmatch(l)[1]; a != "::1" && !strings.HasPrefix(a, "::ffff:127.") {
				bad = append(bad, l)
			}
		default:
			bad = append(bad, l)
		}
	}
	return unix, bad, execs
}

func TestCheckConnects(t *testing.T) {
	log := `100 execve("/x/spec-kitty-tray", ["spec-kitty-tray"], 0x7ff /* 6 vars */) = 0
100 connect(3, {sa_family=AF_UNIX, sun_path="/tmp/bus"}, 110) = 0
101 connect(7, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED
101 connect(8, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
101 connect(9, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("93.184.216.34")}, 16 <unfinished ...>
101 <... connect resumed>) = 0
102 connect(9, {sa_family=AF_INET6, sin6_port=htons(53), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr)}, 28) = 0
102 connect(4, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0
`
	unix, bad, execs := checkConnects(log)
	if unix != 1 || len(bad) != 3 || len(execs) != 1 {
		t.Fatalf("unix=%d bad=%q execs=%q", unix, bad, execs)
	}
}

func listDir(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Targets of the idle tray (issue "Tray companion", Benchmarks).
const (
	maxIdleRSSMB  = 30
	maxIdleCPU    = 100 * time.Millisecond
	benchIdleSpan = 60 * time.Second
	clockTicks    = 100 // USER_HZ on Linux
)

// BenchmarkIdleTray runs the tray on a private bus for 60 s after it
// registered and reports its resident memory and the CPU time it used, with
// the targets RSS <= 30 MB and CPU <= 100 ms over the 60 s. It runs only
// with -bench (go test -run '^$' -bench IdleTray ./tray/e2e).
func BenchmarkIdleTray(b *testing.B) {
	addr := startBus(b)
	w := startWatcher(b, addr)
	e := newEnv(b, addr, true)
	startFakeDaemon(b, e.home, localapi.State{Policy: "auto", LastSyncAt: time.Now()})
	p := start(b, e.vars)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	pid := p.cmd.Process.Pid
	var cpu, run time.Duration
	var rssKB, hwmKB int
	for b.Loop() {
		c0, r0 := cpuTime(b, pid), runTime(b, pid)
		time.Sleep(benchIdleSpan)
		cpu, run = cpuTime(b, pid)-c0, runTime(b, pid)-r0
		rssKB, hwmKB = memKB(b, pid, "VmRSS:"), memKB(b, pid, "VmHWM:")
	}
	b.ReportMetric(float64(rssKB)/1024, "RSS-MB")
	b.ReportMetric(float64(hwmKB)/1024, "peakRSS-MB")
	b.ReportMetric(float64(cpu.Milliseconds()), "CPU-ms/60s")
	b.ReportMetric(float64(run.Microseconds())/1000, "sched-CPU-ms/60s")
	if rssKB > maxIdleRSSMB*1024 {
		b.Errorf("idle RSS %d kB, target <= %d MB", rssKB, maxIdleRSSMB)
	}
	if cpu > maxIdleCPU || run > maxIdleCPU {
		b.Errorf("idle CPU %s (scheduler: %s) over %s, target <= %s", cpu, run, benchIdleSpan, maxIdleCPU)
	}
}

// cpuTime is utime+stime of pid from /proc/PID/stat.
func cpuTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parse /proc/%d/stat: %q", pid, s)
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// runTime is the time pid's threads spent on a CPU, summed from
// /proc/PID/task/*/schedstat (nanoseconds; finer than utime+stime's ticks).
// Threads that exited in between are not counted, so it may undercount;
// utime+stime is the bound that is checked too.
func runTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no schedstat for %d: %v", pid, err)
	}
	var sum int64
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		n, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			t.Fatalf("parse %s: %q", f, b)
		}
		sum += n
	}
	return time.Duration(sum)
}

// memKB reads one kB field of /proc/PID/status.
func memKB(t testing.TB, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("parse %s %q", field, l)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
