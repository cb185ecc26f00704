package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const goOut = `goos: linux
goarch: amd64
pkg: github.com/spec-kitty/spec-kitty-sync/core/queue
cpu: AMD EPYC
BenchmarkEnqueueBatched-2   	       3	 512345678 ns/op	     58123 events/s	     61234 events/cpu-s
BenchmarkEvaluateLocal-2    	 3000000	       412.5 ns/op	       0 B/op	       0 allocs/op
PASS
ok  	github.com/spec-kitty/spec-kitty-sync/core/queue	4.2s
`

const trayMissed = `goos: linux
--- FAIL: BenchmarkIdleTray-2
    idle_linux_test.go:183: idle RSS 33792 kB, target <= 30 MB
FAIL
exit status 1
FAIL	github.com/spec-kitty/spec-kitty-sync/tray/e2e	70.1s
`

const procOut = `procbench: go1.26.8, 2 CPUs, 41 runs each, median wall time
spec-kitty --help                  median      2.1ms  (min 1.9ms, p90 2.5ms, cpu 1.0ms)  target <= 5.0ms  ok
spec-kitty status (412 missions)   median    171.0ms  (min 160.0ms, p90 180.0ms, cpu 200.0ms)  target <= 150.0ms  MISSED
procbench: a target was missed (is the machine busy? ` + "`uptime`" + `)
`

const idleOut = `procbench daemon-idle: go1.26.8, 2 CPUs; ...
daemon idle RSS                        20.3MB  (peak 20.3MB)  target <= 25MB  ok
daemon idle CPU                        30.0ms  (scheduler 28.1ms, over 1m0s)  target <= 50.0ms  ok
`

func TestParseGoBench(t *testing.T) {
	got := parseGoBench(goOut)
	want := map[string]float64{
		"BenchmarkEnqueueBatched:ns/op":        512345678,
		"BenchmarkEnqueueBatched:events/s":     58123,
		"BenchmarkEnqueueBatched:events/cpu-s": 61234,
		"BenchmarkEvaluateLocal:ns/op":         412.5,
		"BenchmarkEvaluateLocal:B/op":          0,
		"BenchmarkEvaluateLocal:allocs/op":     0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseProcbench(t *testing.T) {
	got := parseProcbench(procOut + idleOut)
	want := map[string]float64{
		"spec-kitty --help":                2.1,
		"spec-kitty status (412 missions)": 171,
		"daemon idle RSS":                  20.3,
		"daemon idle CPU":                  30,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// writeRun lays out a bench output directory.
func writeRun(t *testing.T, status string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReport(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		files   map[string]string
		errors  int
		want    []string // "figure|measured|result" rows, or substrings of the output
		notWant []string
	}{
		{
			name:   "misses are reported, missing benchmarks are errors",
			status: "go queue 0\nproc process 1\nproc idle 0\ngo tray 1\nabsent dashboard\nabsent real\n",
			files:  map[string]string{"go-queue.txt": goOut, "proc-process.txt": procOut, "proc-idle.txt": idleOut, "go-tray.txt": trayMissed},
			// Everything not in these outputs has no figure.
			errors: 27,
			want: []string{
				"spec-kitty status, 412 missions, median wall|171 ms|MISS",
				"spec-kitty --help, median wall|2.1 ms|pass",
				"enqueue 100,000 events in batches of 1,000|58,123 events/s|pass",
				"readiness.Evaluate, local checks|0.413 µs/op|pass",
				"readiness.Evaluate, allocations|0 allocs/op|pass",
				"daemon idle CPU over 60 s|30 ms|pass",
				"tray idle RSS (after 60 s)|33 MB|MISS",
				"tray idle CPU over 60 s|-|MISS (BenchmarkIdleTray failed its own target check)",
				"dashboard mission list, 412 missions, median|-|n/a (no benchmark)",
				"spec-kitty status, 412 real missions, median wall|-|n/a (real corpus absent)",
				"drain 100,000 events to hostedtest on loopback|-|ERROR: no figure",
			},
			notWant: []string{"procbench (process) exited", "go test (tray) exited"},
		},
		{
			name:   "a benchmark that breaks is an error",
			status: "go queue 1\nproc idle 1\n",
			files: map[string]string{
				"go-queue.txt":  "--- FAIL: BenchmarkEnqueueBatched-2\n    bench_test.go:50: enqueue: disk I/O error\nFAIL\n",
				"proc-idle.txt": "procbench: the daemon exited before its first cycle\n",
			},
			errors: 2 + len(rows), // both runs, and every figure (nothing is "absent")
			want: []string{"go test (queue) exited 1", "procbench (idle) exited 1", "disk I/O error",
				"enqueue 100,000 events in batches of 1,000|-|ERROR: no figure"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRun(t, tt.status, tt.files)
			var b strings.Builder
			errs, err := report(dir, &b)
			if err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if errs != tt.errors {
				t.Errorf("errors = %d, want %d\n%s", errs, tt.errors, out)
			}
			for _, w := range tt.want {
				if !hasRow(out, w) {
					t.Errorf("table lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("table has %q:\n%s", w, out)
				}
			}
		})
	}
}

// hasRow: want is "figure|measured|result" (a table line starting with the
// figure, then the measured value, then ending with the result) or a plain
// substring.
func hasRow(out, want string) bool {
	f := strings.Split(want, "|")
	if len(f) != 3 {
		return strings.Contains(out, want)
	}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, f[0]+" ")
		if !ok {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(rest), f[1]+" ") && strings.HasSuffix(line, "  "+f[2]) {
			return true
		}
	}
	return false
}

func TestReadStatusRejectsGarbage(t *testing.T) {
	dir := writeRun(t, "go queue zero\n", map[string]string{"go-queue.txt": ""})
	if _, err := report(dir, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "status line 1") {
		t.Errorf("err = %v, want one naming status line 1", err)
	}
}
