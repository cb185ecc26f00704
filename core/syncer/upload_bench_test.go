//go:build linux

package syncer

import (
	"bufio"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// hostChildEnv makes TestMain run a hostedtest server as its own process
// (hostChild), so BenchmarkUpload can tell the client's CPU from the host's.
const hostChildEnv = "SPEC_KITTY_TEST_HOST_CHILD"

func init() {
	runChild = func() (int, bool) {
		if os.Getenv(hostChildEnv) != "1" {
			return 0, false
		}
		return hostChild(), true
	}
}

// hostChild serves hostedtest on loopback, prints "URL TOKEN" and serves
// until its stdin closes.
func hostChild() int {
	srv := hostedtest.New(hostedtest.Options{})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	token, err := srv.AccessToken(hostedtest.DefaultUser.ID)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s %s\n", srv.URL(), token)
	bufio.NewReader(os.Stdin).ReadString('\n') // until EOF
	return 0
}

// childCPU is a process's CPU time (user+system) from /proc.
func childCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// uploadEvents is BenchmarkUpload's backlog; SPEC_KITTY_BENCH_UPLOAD
// changes it (1000000 for the full target).
func uploadEvents() int {
	if n, err := strconv.Atoi(os.Getenv("SPEC_KITTY_BENCH_UPLOAD")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// BenchmarkUpload drains a backlog (200,000 events by default) to a
// hostedtest server running in its own process on loopback, and reports
// the client's CPU per event (lease, gzip, POST, settle), the host's CPU
// per event beside it, and events/s. Run with -benchtime 1x.
func BenchmarkUpload(b *testing.B) {
	n := uploadEvents()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var clientCPU, hostCPU, wall time.Duration
	events := 0
	for b.Loop() {
		b.StopTimer()
		host := startHost(b, exe)
		client := host.client
		q := fillQueue(b, n)
		eng := &Engine{Queue: q, Connect: func(context.Context) (Conn, error) { return Conn{Client: client, Team: "team-dev"}, nil }}
		hostBefore := childCPU(host.pid)
		b.StartTimer()
		start, cpu := time.Now(), selfCPU()
		var rep Report
		if err := eng.Upload(context.Background(), &rep); err != nil {
			b.Fatal(err)
		}
		clientCPU += selfCPU() - cpu
		wall += time.Since(start)
		b.StopTimer()
		hostCPU += childCPU(host.pid) - hostBefore
		if rep.Delivered != n {
			b.Fatalf("delivered %d of %d", rep.Delivered, n)
		}
		events += n
		q.Close()
		host.stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(clientCPU.Microseconds())/float64(events), "client-µs/event")
	b.ReportMetric(float64(hostCPU.Microseconds())/float64(events), "host-µs/event")
	b.ReportMetric(float64(events)/(clientCPU+hostCPU).Seconds(), "events/cpu-s")
}

// hostProcess is a hostedtest server in a child process.
type hostProcess struct {
	pid    int
	client *hosted.Client
	stop   func()
}

// startHost starts the test binary exe as a hostedtest process and signs in.
func startHost(tb testing.TB, exe string) hostProcess {
	tb.Helper()
	host := exec.Command(exe, "-test.run=^$")
	host.Env = append(os.Environ(), hostChildEnv+"=1")
	stdin, err := host.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := host.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	host.Stderr = os.Stderr
	if err := host.Start(); err != nil {
		tb.Fatal(err)
	}
	stop := func() { stdin.Close(); host.Wait() }
	tb.Cleanup(func() {
		if host.ProcessState == nil {
			host.Process.Kill()
			host.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 2 {
		tb.Fatalf("host child: %q, %v", line, err)
	}
	h, err := hosted.ParseHost(f[0])
	if err != nil {
		tb.Fatal(err)
	}
	return hostProcess{pid: host.Process.Pid, client: hosted.New(h, hosted.StaticToken(h, hosted.NewSecret(f[1]), "team-dev")), stop: stop}
}

// fillQueue opens a fresh queue holding n lane-transition envelopes.
func fillQueue(b *testing.B, n int) *queue.Queue {
	b.Helper()
	q, err := queue.Open(context.Background(), filepath.Join(b.TempDir(), "queue.db"), queue.Options{MaxSize: n})
	if err != nil {
		b.Fatal(err)
	}
	entropy := ulid.Monotonic(mrand.NewChaCha8([32]byte{1}), 0)
	ts := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	items := make([]queue.Item, 0, 1000)
	for i := 0; i < n; i++ {
		id := ulid.MustNew(ulid.Timestamp(ts), entropy).String()
		data := fmt.Sprintf(`{"event_id":%q,"event_type":"WPStatusChanged","aggregate_id":"m/WP%02d","aggregate_type":"WorkPackage","schema_version":"3.0.0","build_id":"b-bench","payload":{"event_id":%q,"wp_id":"WP%02d","from_lane":"planned","to_lane":"claimed","actor":"bench","at":"2026-11-27T00:00:00Z","reason":"moved by the benchmark"},"node_id":"d036a097a835","lamport_clock":%d,"timestamp":"2026-11-27T00:00:00Z","project_uuid":"8a4a7da6-a97c-4bb4-893a-b31664abfee4","project_slug":"spec-kitty","team_slug":"team-dev"}`, id, i%40, id, i%40, i)
		items = append(items, queue.Item{EventID: id, EventType: "WPStatusChanged", Data: []byte(data)})
		if len(items) == cap(items) || i == n-1 {
			if _, err := q.Enqueue(context.Background(), items...); err != nil {
				b.Fatal(err)
			}
			items = items[:0]
		}
	}
	return q
}
