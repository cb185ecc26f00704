// Command targets reads the raw output of `make bench` (scripts/bench.sh) —
// `go test -bench` runs and procbench runs, one file each, plus a status file
// with their exit codes — and prints one table: each figure, its target and
// whether it was met. A missed target is reported, not fatal; a benchmark
// that errored (failed for another reason than a target, did not build,
// produced no figure) makes it exit 1.
//
//	go run ./scripts/bench/targets DIR
//
// DIR/status has one line per run: `go LABEL CODE`, `proc LABEL CODE`, or
// `absent LABEL` for an optional benchmark that does not exist (yet); the
// output of run LABEL is DIR/go-LABEL.txt or DIR/proc-LABEL.txt.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// row is one line of the table. src names the figure: "go:BenchmarkX:unit"
// for a `go test -bench` metric (GOMAXPROCS suffix dropped), "proc:NAME"
// for a procbench line. op is "<=", ">=" or "" (a figure without target).
type row struct {
	figure   string
	src      string
	scale    float64
	unit     string
	op       string
	limit    float64
	optional string // status label whose absence makes the row n/a
}

var rows = []row{
	{"spec-kitty --help, median wall", "proc:spec-kitty --help", 1, "ms", "<=", 5, ""},
	{"spec-kitty status, 412 missions, median wall", "proc:spec-kitty status (412 missions)", 1, "ms", "<=", 150, ""},
	{"spec-kitty status, 412 real missions, median wall", "proc:spec-kitty status (412 real missions)", 1, "ms", "<=", 150, "real"},
	{"  floor: hello-world Go process", "proc:hello-world process (floor)", 1, "ms", "", 0, ""},
	{"  spec-kitty --help / hello-world", "proc:spec-kitty --help / hello-world", 1, "×", "<=", 2, ""},
	{"  floor: cat of the mission files, 412 missions", "proc:cat of the mission files (412 missions)", 1, "ms", "", 0, ""},
	{"  spec-kitty status / cat, 412 missions", "proc:spec-kitty status / cat (412 missions)", 1, "×", "<=", 1.5, ""},
	{"  spec-kitty status / cat, 412 real missions", "proc:spec-kitty status / cat (412 real missions)", 1, "×", "<=", 1.5, "real"},
	{"readiness.Evaluate, local checks", "go:BenchmarkEvaluateLocal:ns/op", 1e-3, "µs/op", "<=", 50, ""},
	{"readiness.Evaluate, allocations", "go:BenchmarkEvaluateLocal:allocs/op", 1, "allocs/op", "<=", 0, ""},
	{"probe, host never answers (hosted.Probe), worst", "go:BenchmarkProbeSilent:worst-s", 1, "s", "<=", 2.1, ""},
	{"probe, host never answers (readiness), worst", "go:BenchmarkReachSilent:worst-ms", 1e-3, "s", "<=", 2.1, ""},
	{"probe, hostedtest on loopback (hosted.Probe), mean", "go:BenchmarkProbeHostedtest:ns/op", 1e-6, "ms", "<=", 5, ""},
	{"readiness + probe, hostedtest on loopback, median", "go:BenchmarkReachHostedtest:median-ms", 1, "ms", "<=", 5, ""},
	{"enqueue 100,000 events in batches of 1,000", "go:BenchmarkEnqueueBatched:events/s", 1, "events/s", ">=", 50000, ""},
	{"drain 100,000 events to hostedtest on loopback", "go:BenchmarkDrain100k:events/s", 1, "events/s", ">=", 20000, ""},
	{"sync run, generated corpus, wall", "go:BenchmarkSyncRunCorpus:run-ms", 1, "ms", "", 0, ""},
	{"  floor: same rows, fresh queue.db, 1,000-row txns", "go:BenchmarkSyncRunCorpus:floor-ms", 1, "ms", "", 0, ""},
	{"  sync run / floor", "go:BenchmarkSyncRunCorpus:x-floor", 1, "×", "<=", 2, ""},
	{"sync run, real corpus, wall", "go:BenchmarkSyncRunReal:run-ms", 1, "ms", "", 0, "real"},
	{"  floor: same rows, fresh queue.db, 1,000-row txns", "go:BenchmarkSyncRunReal:floor-ms", 1, "ms", "", 0, "real"},
	{"  sync run / floor (real)", "go:BenchmarkSyncRunReal:x-floor", 1, "×", "<=", 2, "real"},
	{"import alone, generated corpus", "go:BenchmarkImportCorpus:events/s", 1, "events/s", "", 0, ""},
	{"  floor: queue.Enqueue of the same rows", "go:BenchmarkImportCorpus:enqueue-events/s", 1, "events/s", "", 0, ""},
	{"  import rate / Enqueue rate", "go:BenchmarkImportCorpus:import-x-enqueue", 1, "×", ">=", 0.8, ""},
	{"upload backlog to a hostedtest process", "go:BenchmarkUpload:events/s", 1, "events/s", ">=", 100000, ""},
	{"  client CPU per event", "go:BenchmarkUpload:client-µs/event", 1, "µs", "<=", 10, ""},
	{"  host CPU per event (beside it)", "go:BenchmarkUpload:host-µs/event", 1, "µs", "", 0, ""},
	{"queue.Stats at 1,000,000 events (sync status)", "go:BenchmarkStats1M:ns/op", 1e-6, "ms", "<=", 20, ""},
	{"emit while 250k drain, 8 emitters, p99", "go:BenchmarkEmitDuringDrain:p99-ms", 1, "ms", "<=", 50, ""},
	{"  emitted events uploaded twice", "go:BenchmarkEmitDuringDrain:duplicates", 1, "events", "<=", 0, ""},
	{"delivery with 30% 500s / clean rate", "go:BenchmarkDeliveryUnderFaults:faulty-x-clean", 1, "×", ">=", 0.5, ""},
	{"daemon idle RSS (after 60 s)", "proc:daemon idle RSS", 1, "MB", "<=", 25, ""},
	{"daemon idle CPU over 60 s", "proc:daemon idle CPU", 1, "ms", "<=", 50, ""},
	{"daemon resumes delivery after a 15 s host outage", "go:BenchmarkDaemonRecovery:outage-resume-s", 1, "s", "<=", 10, ""},
	{"  after a burst of 429 with Retry-After", "go:BenchmarkDaemonRecovery:429-resume-s", 1, "s", "<=", 10, ""},
	{"  after 401s needing a token refresh", "go:BenchmarkDaemonRecovery:401-resume-s", 1, "s", "<=", 10, ""},
	{"EnsureRunning, daemon already running, mean", "go:BenchmarkEnsureRunningAlreadyRunning:ns/op", 1e-6, "ms", "<=", 5, ""},
	{"dashboard mission list, 412 missions, median", "go:BenchmarkMissionList:median-ms", 1, "ms", "<=", 50, "dashboard"},
	{"dashboard mission list, first (cold) load", "go:BenchmarkMissionListCold:ns/op", 1e-6, "ms", "", 0, "dashboard"},
	{"mission.ReadAll, 412 missions", "go:BenchmarkReadAll:ns/op", 1e-6, "ms", "", 0, ""},
	{"mission.ReadAll, 412 real missions", "go:BenchmarkReadAllReal:ns/op", 1e-6, "ms", "", 0, "real"},
	{"tray idle RSS (after 60 s)", "go:BenchmarkIdleTray:RSS-MB", 1, "MB", "<=", 30, "tray"},
	{"tray idle CPU over 60 s", "go:BenchmarkIdleTray:CPU-ms/60s", 1, "ms", "<=", 100, "tray"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: targets DIR")
		os.Exit(2)
	}
	errs, err := report(os.Args[1], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "targets:", err)
		os.Exit(1)
	}
	if errs > 0 {
		os.Exit(1)
	}
}

// run is one entry of the status file.
type run struct {
	kind, label string
	code        int
	output      string
}

// report prints the table for dir and returns how many errors it found.
func report(dir string, w io.Writer) (int, error) {
	runs, absent, err := readStatus(dir)
	if err != nil {
		return 0, err
	}
	figures := map[string]float64{}
	// failedOnTarget: benchmarks that failed only by their own target check
	// (b.Errorf naming the target); Go prints no result line for them.
	failedOnTarget := map[string]string{}
	var problems []string
	for _, r := range runs {
		switch r.kind {
		case "go":
			for k, v := range parseGoBench(r.output) {
				figures["go:"+k] = v
			}
			if r.code != 0 {
				why, onlyTargets := goFailure(r.output)
				if !onlyTargets {
					problems = append(problems, fmt.Sprintf("go test (%s) exited %d:\n%s", r.label, r.code, why))
				}
				if !onlyTargets {
					continue
				}
				for name, msgs := range failedBenchmarks(r.output) {
					failedOnTarget[name] = msgs
					for k, v := range fromFailure(name, msgs) {
						figures["go:"+k] = v
					}
				}
			}
		case "proc":
			for k, v := range parseProcbench(r.output) {
				figures["proc:"+k] = v
			}
			if r.code != 0 && !strings.Contains(r.output, "procbench: a target was missed") {
				problems = append(problems, fmt.Sprintf("procbench (%s) exited %d:\n%s", r.label, r.code, tail(r.output, 30)))
			}
		}
	}

	fmt.Fprintf(w, "%-52s %16s %16s  %s\n", "figure", "measured", "target", "result")
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", 96))
	var pass, miss, na int
	for _, rw := range rows {
		target := "-"
		if rw.op != "" {
			target = rw.op + " " + num(rw.limit) + " " + rw.unit
		}
		v, ok := figures[rw.src]
		if !ok {
			if name := strings.Split(rw.src, ":")[1]; strings.HasPrefix(rw.src, "go:") && failedOnTarget[name] != "" {
				fmt.Fprintf(w, "%-52s %16s %16s  %s\n", rw.figure, "-", target, "MISS ("+name+" failed its own target check)")
				miss++
				continue
			}
			if rw.optional != "" && absent[rw.optional] {
				why := "n/a (no benchmark)"
				if rw.optional == "real" {
					why = "n/a (real corpus absent)"
				}
				fmt.Fprintf(w, "%-52s %16s %16s  %s\n", rw.figure, "-", target, why)
				na++
				continue
			}
			fmt.Fprintf(w, "%-52s %16s %16s  %s\n", rw.figure, "-", target, "ERROR: no figure")
			problems = append(problems, fmt.Sprintf("no figure for %q (%s)", rw.figure, rw.src))
			continue
		}
		v *= rw.scale
		verdict := "info"
		switch {
		case rw.op == "<=" && v <= rw.limit, rw.op == ">=" && v >= rw.limit:
			verdict = "pass"
			pass++
		case rw.op != "":
			verdict = "MISS"
			miss++
		}
		fmt.Fprintf(w, "%-52s %16s %16s  %s\n", rw.figure, num(v)+" "+rw.unit, target, verdict)
	}
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", 96))
	fmt.Fprintf(w, "%d pass, %d missed, %d n/a, %d errors\n", pass, miss, na, len(problems))
	for _, p := range problems {
		fmt.Fprintf(w, "\nERROR: %s\n", p)
	}
	return len(problems), nil
}

func readStatus(dir string) ([]run, map[string]bool, error) {
	f, err := os.Open(filepath.Join(dir, "status"))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var runs []run
	absent := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) == 0:
		case fs[0] == "absent" && len(fs) == 2:
			absent[fs[1]] = true
		case (fs[0] == "go" || fs[0] == "proc") && len(fs) == 3:
			code, err := strconv.Atoi(fs[2])
			if err != nil {
				return nil, nil, fmt.Errorf("status line %d: exit code %q: %v", n, fs[2], err)
			}
			out, err := os.ReadFile(filepath.Join(dir, fs[0]+"-"+fs[1]+".txt"))
			if err != nil {
				return nil, nil, err
			}
			runs = append(runs, run{kind: fs[0], label: fs[1], code: code, output: string(out)})
		default:
			return nil, nil, fmt.Errorf("status line %d: %q is not `go|proc LABEL CODE` or `absent LABEL`", n, sc.Text())
		}
	}
	return runs, absent, sc.Err()
}

var (
	benchLine  = regexp.MustCompile(`^(Benchmark[^\s]+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)
	procMedian = regexp.MustCompile(`^(.+?)\s+median\s+([0-9.]+)ms\b`)
	procIdle   = regexp.MustCompile(`^(daemon idle [A-Za-z]+)\s+([0-9.]+)(MB|ms)\b`)
	procRatio  = regexp.MustCompile(`^(.+?)\s+ratio\s+([0-9.]+)x\b`)
)

// parseGoBench returns "BenchmarkX:unit" -> value for every metric of every
// result line.
func parseGoBench(out string) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		g := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if g == nil {
			continue
		}
		f := strings.Fields(g[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[g[1]+":"+f[i+1]] = v
		}
	}
	return m
}

// parseProcbench returns NAME -> value (ms, or MB for memory).
func parseProcbench(out string) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		if g := procMedian.FindStringSubmatch(line); g != nil {
			if v, err := strconv.ParseFloat(g[2], 64); err == nil {
				m[g[1]] = v
			}
			continue
		}
		if g := procRatio.FindStringSubmatch(line); g != nil {
			if v, err := strconv.ParseFloat(g[2], 64); err == nil {
				m[g[1]] = v
			}
			continue
		}
		if g := procIdle.FindStringSubmatch(line); g != nil {
			if v, err := strconv.ParseFloat(g[2], 64); err == nil {
				m[g[1]] = v
			}
		}
	}
	return m
}

// goFailure explains a failed `go test -bench` run and reports whether the
// only failures were benchmarks reporting a missed target (b.Errorf lines
// naming a "target"), which the table shows as MISS.
func goFailure(out string) (why string, onlyTargets bool) {
	lines := strings.Split(out, "\n")
	failed := 0
	onlyTargets = true
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "--- FAIL: Benchmark") {
			continue
		}
		failed++
		msgs := 0
		for _, m := range lines[i+1:] {
			if !strings.HasPrefix(m, "    ") {
				break
			}
			msgs++
			if !strings.Contains(m, "target") {
				onlyTargets = false
			}
		}
		if msgs == 0 {
			onlyTargets = false
		}
	}
	if failed == 0 || strings.Contains(out, "panic:") || strings.Contains(out, "--- FAIL: Test") {
		onlyTargets = false
	}
	return tail(out, 30), onlyTargets
}

// failedBenchmarks maps each "--- FAIL: BenchmarkX" of out to its message
// lines.
func failedBenchmarks(out string) map[string]string {
	m := map[string]string{}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		name, ok := strings.CutPrefix(strings.TrimSpace(l), "--- FAIL: ")
		if !ok || !strings.HasPrefix(name, "Benchmark") {
			continue
		}
		name = strings.Fields(name)[0]
		if j := strings.LastIndexByte(name, '-'); j > 0 {
			if _, err := strconv.Atoi(name[j+1:]); err == nil {
				name = name[:j]
			}
		}
		var msgs []string
		for _, m := range lines[i+1:] {
			if !strings.HasPrefix(m, "    ") {
				break
			}
			msgs = append(msgs, strings.TrimSpace(m))
		}
		m[name] = strings.Join(msgs, "\n")
	}
	return m
}

var (
	trayRSSMsg = regexp.MustCompile(`idle RSS (\d+) kB`)
	trayCPUMsg = regexp.MustCompile(`idle CPU ([0-9.]+(?:ms|s|µs|us))`)
)

// fromFailure recovers the figures a benchmark named in its failure message
// (BenchmarkIdleTray fails on a missed target instead of only reporting).
func fromFailure(name, msgs string) map[string]float64 {
	m := map[string]float64{}
	if name != "BenchmarkIdleTray" {
		return m
	}
	if g := trayRSSMsg.FindStringSubmatch(msgs); g != nil {
		if kb, err := strconv.ParseFloat(g[1], 64); err == nil {
			m[name+":RSS-MB"] = kb / 1024
		}
	}
	if g := trayCPUMsg.FindStringSubmatch(msgs); g != nil {
		if d, err := time.ParseDuration(strings.Replace(g[1], "us", "µs", 1)); err == nil {
			m[name+":CPU-ms/60s"] = float64(d.Microseconds()) / 1000
		}
	}
	return m
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// num formats a figure compactly: thousands separated, 3 significant
// decimals for small values.
func num(v float64) string {
	switch {
	case v >= 1000:
		s := strconv.FormatFloat(v, 'f', 0, 64)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case v >= 100:
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
