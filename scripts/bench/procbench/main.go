// Command procbench measures whole-process times of the spec-kitty binary,
// where process start-up matters and a Go benchmark cannot see it:
// `spec-kitty --help` and `spec-kitty status` over the 412 missions of the
// generated corpus (and of the real one when present).
// It builds the binary (or takes -bin), runs each command -n times after a
// warm-up, and prints the median wall time against its target. It exits 1
// when a median misses its target.
//
// With -mode daemon-idle it instead measures an idle sync daemon (idle.go):
// resident memory and CPU time of `spec-kitty service run` over -idle.
//
//	go run ./scripts/bench/procbench [-n 41] [-bin path/to/spec-kitty]
//	go run ./scripts/bench/procbench -mode daemon-idle [-idle 60s] [-bin ...]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

type target struct {
	name  string
	args  []string
	limit time.Duration
	repo  string // the working directory
}

func main() {
	n := flag.Int("n", 41, "runs per command (after 3 warm-up runs)")
	bin := flag.String("bin", "", "spec-kitty binary to measure (default: build one)")
	mode := flag.String("mode", "process", "process: --help and status wall times; daemon-idle: an idle daemon's memory and CPU")
	idle := flag.Duration("idle", 60*time.Second, "daemon-idle: how long to watch the idle daemon")
	flag.Parse()
	var err error
	switch *mode {
	case "process":
		err = run(*n, *bin)
	case "daemon-idle":
		err = runDaemonIdle(*bin, *idle)
	default:
		err = fmt.Errorf("unknown -mode %q (want process or daemon-idle)", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "procbench:", err)
		os.Exit(1)
	}
}

func run(n int, bin string) error {
	tmp, err := os.MkdirTemp("", "procbench-")
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
	repo, _, err := fixture.Corpus(corpus.Default)
	if err != nil {
		return err
	}
	realRepo, err := fixture.Real()
	if err != nil && !errors.Is(err, fixture.ErrNoReal) {
		return err
	}
	home := filepath.Join(tmp, "home")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(tmp, "userhome"),
		"SPEC_KITTY_HOME=" + home,
		"USER=bench",
	}
	targets := []target{
		{"spec-kitty --help", []string{"--help"}, 5 * time.Millisecond, repo},
		{"spec-kitty status (412 missions)", []string{"status"}, 150 * time.Millisecond, repo},
	}
	if realRepo != "" {
		targets = append(targets, target{"spec-kitty status (412 real missions)", []string{"status"}, 150 * time.Millisecond, realRepo})
	} else {
		fmt.Println("procbench: real corpus absent, no real-data row (" + fixture.EnableHint + ")")
	}
	fmt.Printf("procbench: %s, %d CPUs, %d runs each, median wall time\n", runtime.Version(), runtime.NumCPU(), n)
	medians := map[string]time.Duration{}
	missed := false
	for _, tg := range targets {
		walls, cpus, err := measure(bin, tg.args, tg.repo, env, n)
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		med := median(walls)
		verdict := "ok"
		if med > tg.limit {
			verdict, missed = "MISSED", true
		}
		fmt.Printf("%-34s median %8s  (min %s, p90 %s, cpu %s)  target <= %s  %s\n",
			tg.name, ms(med), ms(slices.Min(walls)), ms(percentile(walls, 0.9)), ms(median(cpus)), ms(tg.limit), verdict)
		medians[tg.name] = med
	}
	if err := floors(tmp, n, env, medians, repo, realRepo); err != nil {
		return err
	}
	if _, err := os.Stat(home); err == nil {
		return fmt.Errorf("a local command created the state home %s", home)
	}
	if missed {
		return fmt.Errorf("a target was missed (is the machine busy? `uptime`)")
	}
	return nil
}

// floors measures what the timings are compared with in the same run — a
// hello-world Go process for --help, `cat` of the files `status` reads
// (the missions' files) for status — and prints each ratio.
func floors(tmp string, n int, env []string, medians map[string]time.Duration, repo, realRepo string) error {
	src := filepath.Join(tmp, "hello.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"), 0o644); err != nil {
		return err
	}
	hello := filepath.Join(tmp, "hello")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", hello, src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the hello-world floor: %w", err)
	}
	walls, _, err := measure(hello, nil, tmp, env, n)
	if err != nil {
		return fmt.Errorf("hello-world floor: %w", err)
	}
	floor := median(walls)
	fmt.Printf("%-34s median %8s\n", "hello-world process (floor)", ms(floor))
	fmt.Printf("%-34s ratio %.2fx  target <= 2x\n", "spec-kitty --help / hello-world", ratio(medians["spec-kitty --help"], floor))
	for _, c := range []struct{ name, repo string }{{"412 missions", repo}, {"412 real missions", realRepo}} {
		if c.repo == "" {
			continue
		}
		files, err := filepath.Glob(filepath.Join(c.repo, "kitty-specs", "*", "*"))
		if err != nil {
			return err
		}
		cat, err := exec.LookPath("cat")
		if err != nil {
			return err
		}
		walls, _, err := measure(cat, files, c.repo, env, n)
		if err != nil {
			return fmt.Errorf("cat floor: %w", err)
		}
		floor := median(walls)
		fmt.Printf("%-34s median %8s\n", "cat of the mission files ("+c.name+")", ms(floor))
		fmt.Printf("%-34s ratio %.2fx  target <= 1.5x\n", "spec-kitty status / cat ("+c.name+")", ratio(medians["spec-kitty status ("+c.name+")"], floor))
	}
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// measure runs bin n times (after a warm-up) in dir and returns the wall
// and CPU (user+system) times.
func measure(bin string, args []string, dir string, env []string, n int) (walls, cpus []time.Duration, err error) {
	for i := range n + 3 {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall := time.Since(start)
		if err != nil {
			return nil, nil, fmt.Errorf("%v: %s", err, out)
		}
		if i < 3 {
			continue // warm-up: page cache, binary
		}
		walls = append(walls, wall)
		cpus = append(cpus, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	return walls, cpus, nil
}

func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p+0.5)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
