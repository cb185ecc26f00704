// Command testreport runs `go test -json` with the given arguments and prints
// what plain `go test` prints — a line per package, the output of every
// failed test — followed by every skipped test with its reason, so a run
// says what it did not check and why.
//
//	go run ./scripts/testreport [go test flags and packages]
//
// It exits with go test's exit code.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type key struct{ pkg, test string }

type report struct {
	out     io.Writer
	outputs map[key][]string // output of tests still running, and of packages
	skipped []skip
	passed  int
	failed  int
}

type skip struct {
	pkg, test, reason string
}

func main() {
	args := append([]string{"test", "-json"}, os.Args[1:]...)
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	r := &report{out: os.Stdout, outputs: map[key][]string{}}
	r.read(stdout)
	err = cmd.Wait()
	r.summary()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
}

func (r *report) read(in io.Reader) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not test2json output (a build error line): pass it through.
			fmt.Fprintln(r.out, sc.Text())
			continue
		}
		r.handle(e)
	}
}

func (r *report) handle(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "output":
		r.outputs[k] = append(r.outputs[k], e.Output)
	case "pass":
		if e.Test == "" {
			r.packageLine(k)
		} else {
			r.passed++
		}
		delete(r.outputs, k)
	case "skip":
		if e.Test == "" {
			r.packageLine(k) // "?   pkg [no test files]" or "ok pkg" with every test skipped
		} else {
			r.skipped = append(r.skipped, skip{e.Package, e.Test, skipReason(r.outputs[k])})
		}
		delete(r.outputs, k)
	case "fail":
		if e.Test == "" {
			// The package's own output holds its FAIL lines (and a panic or
			// timeout message when it died).
			for _, l := range r.outputs[k] {
				fmt.Fprint(r.out, l)
			}
		} else {
			r.failed++
			for _, l := range r.outputs[k] {
				fmt.Fprint(r.out, l)
			}
		}
		delete(r.outputs, k)
	}
}

// packageLine prints the package's summary line: its last output line
// ("ok  \tpkg\t1.2s", "?   \tpkg\t[no test files]").
func (r *report) packageLine(k key) {
	lines := r.outputs[k]
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") || strings.HasPrefix(l, "ok\t") {
			fmt.Fprint(r.out, l)
			return
		}
	}
}

// skipReason is the message a test gave t.Skip: the first of its log lines
// (test2json streams them before or after the "--- SKIP" line; a testscript
// skip is followed by the script's environment), without the file:line
// prefix.
func skipReason(lines []string) string {
	var msgs []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		if i := strings.Index(t, ": "); i > 0 && strings.Contains(t[:i], ".go:") {
			t = t[i+2:]
		}
		msgs = append(msgs, t)
	}
	if len(msgs) == 0 {
		return "(no reason given)"
	}
	return msgs[0]
}

func (r *report) summary() {
	if len(r.skipped) > 0 {
		sort.Slice(r.skipped, func(i, j int) bool {
			a, b := r.skipped[i], r.skipped[j]
			if a.pkg != b.pkg {
				return a.pkg < b.pkg
			}
			return a.test < b.test
		})
		fmt.Fprintf(r.out, "\nSkipped (%d):\n", len(r.skipped))
		for _, s := range r.skipped {
			fmt.Fprintf(r.out, "  %s %s: %s\n", strings.TrimPrefix(s.pkg, "github.com/spec-kitty/spec-kitty-sync/"), s.test, s.reason)
		}
	}
	fmt.Fprintf(r.out, "\ntests: %d passed, %d failed, %d skipped\n", r.passed, r.failed, len(r.skipped))
}
