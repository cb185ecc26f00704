package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/cli/dashboard"
	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// dashboardRig runs the real spec-kitty binary (the test binary, put on
// PATH by testscript.Main in TestMain) in a repo with one fixture mission.
type dashboardRig struct {
	t    *testing.T
	dir  string
	repo string
	env  []string
}

func newDashboardRig(t *testing.T) *dashboardRig {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("signals and strace: unix only")
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	corpusDir, _ := fixture.Default(t)
	if err := fixture.CopyMissions(corpusDir, repo, corpus.SampleDone); err != nil {
		t.Fatal(err)
	}
	env := []string{"SPEC_KITTY_HOME=" + filepath.Join(dir, "home"), "HOME=" + filepath.Join(dir, "userhome")}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "TMPDIR", "GOCOVERDIR":
			env = append(env, kv)
		}
	}
	return &dashboardRig{t: t, dir: dir, repo: repo, env: env}
}

func (r *dashboardRig) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = r.repo
	cmd.Env = r.env
	return cmd
}

// run runs `spec-kitty args...` to completion.
func (r *dashboardRig) run(args ...string) (stdout, stderr string, code int) {
	r.t.Helper()
	cmd := r.command("spec-kitty", args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		r.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// start starts cmd (a dashboard, maybe under strace) and returns the URL it
// prints and a func that waits for it to end (failing after 10 s).
func (r *dashboardRig) start(cmd *exec.Cmd) (url string, wait func() (stderr string, err error)) {
	r.t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()
	r.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	select {
	case url = <-lines:
	case err := <-done:
		r.t.Fatalf("dashboard exited before printing its URL: %v\n%s", err, errb.String())
	case <-time.After(15 * time.Second):
		r.t.Fatalf("no URL after 15 s\n%s", errb.String())
	}
	return url, func() (string, error) {
		select {
		case err := <-done:
			return errb.String(), err
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			return errb.String(), errors.New("did not exit within 10 s")
		}
	}
}

var dashboardURL = regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+/$`)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The command end to end: serve, reuse, stop, stale records, nothing under
// the state home.
func TestDashboardCommand(t *testing.T) {
	r := newDashboardRig(t)
	rec := dashboard.RecordPath(paths.Home{Dir: filepath.Join(r.dir, "home")}, r.repo)
	// A record planted in the repository is never looked at.
	planted := filepath.Join(r.repo, ".kittify", ".dashboard")
	os.MkdirAll(filepath.Dir(planted), 0o755)
	os.WriteFile(planted, []byte(`{"pid": 1, "url": "http://127.0.0.1:9/", "port": 9}`), 0o644)

	main := r.command("spec-kitty", "dashboard", "--port", "0")
	url, wait := r.start(main)
	if !dashboardURL.MatchString(url) {
		t.Fatalf("URL %q", url)
	}
	if code, body := get(t, url+"missions/002-lightweight-pypi-release"); code != 200 || !strings.Contains(body, "Lightweight PyPI Release Workflow") {
		t.Errorf("kanban: %d", code)
	}
	if code, body := get(t, url); code != 200 || strings.Contains(body, "sync-panel") {
		t.Errorf("missions page: %d (sync panel shown with the gate off?)", code)
	}
	got, err := dashboard.ReadRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != main.Process.Pid || got.URL != url {
		t.Errorf("record %+v, want pid %d url %s", got, main.Process.Pid, url)
	}
	if fi, err := os.Stat(rec); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("record mode: %v %v", fi.Mode(), err)
	}

	// A second call reuses it.
	out, errOut, code := r.run("dashboard")
	if code != 0 || out != url+"\n" || !strings.Contains(errOut, fmt.Sprintf("already runs (pid %d)", main.Process.Pid)) {
		t.Errorf("second call: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// --stop stops it; it exits 0 and removes its record.
	out, _, code = r.run("dashboard", "--stop")
	if want := fmt.Sprintf("Stopped the dashboard at %s (pid %d).\n", url, main.Process.Pid); code != 0 || out != want {
		t.Errorf("--stop: exit %d, %q; want %q", code, out, want)
	}
	stderr, err := wait()
	if err != nil {
		t.Errorf("dashboard exit: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "Dashboard stopped.") {
		t.Errorf("stderr: %s", stderr)
	}
	if _, err := os.Stat(rec); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record left after stop: %v", err)
	}
	if out, _, code := r.run("dashboard", "--stop"); code != 0 || out != "No dashboard is running.\n" {
		t.Errorf("--stop again: %d %q", code, out)
	}

	// A record left by a killed dashboard is cleaned up by the next start.
	killed := r.command("spec-kitty", "dashboard")
	_, wait = r.start(killed)
	killed.Process.Kill()
	wait()
	if _, err := os.Stat(rec); err != nil {
		t.Fatalf("killed dashboard left no record: %v", err)
	}
	next := r.command("spec-kitty", "dashboard")
	url2, wait2 := r.start(next)
	if code, _ := get(t, url2); code != 200 {
		t.Errorf("new dashboard after a stale record: %d", code)
	}
	r.run("dashboard", "--stop")
	if stderr, err := wait2(); err != nil || !strings.Contains(stderr, fmt.Sprintf("removed the record of a dashboard that is gone (pid %d)", killed.Process.Pid)) {
		t.Errorf("start over a stale record: %v\n%s", err, stderr)
	}

	// A local command: nothing under the state home but its (removed)
	// record, nothing in the user's home, the planted record untouched.
	if ents, err := os.ReadDir(filepath.Join(r.dir, "home")); err != nil || len(ents) != 1 || ents[0].Name() != "dashboards" {
		t.Errorf("state home holds %v (%v), want dashboards/ only", ents, err)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "userhome")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("userhome created: %v", err)
	}
	if b, _ := os.ReadFile(planted); !strings.Contains(string(b), `"pid": 1`) {
		t.Errorf("planted record changed: %q", b)
	}
}

// TESTING.md "No network, no daemon": the dashboard with the gate off,
// serving requests, a second call reusing it and --stop, all under strace.
// Every connect() goes to AF_UNIX or loopback, no sync-daemon* file
// appears, and no process outlives the commands (strace -f waits for every
// traced process, so a spawned daemon would hold it up).
func TestDashboardNoNetworkStrace(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("strace is required (CI=true): %v", err)
		}
		t.Skipf("strace not installed: %v", err)
	}
	r := newDashboardRig(t)
	logs := filepath.Join(r.dir, "strace")
	os.MkdirAll(logs, 0o755)
	trace := func(name string, args ...string) *exec.Cmd {
		return r.command(strace, append([]string{"-f", "-qq", "-e", "trace=connect", "-o", filepath.Join(logs, name), "spec-kitty"}, args...)...)
	}

	url, wait := r.start(trace("serve", "dashboard", "--port", "0"))
	began := time.Now()
	for _, p := range []string{"", "missions/002-lightweight-pypi-release", "api/missions", "api/missions/002-lightweight-pypi-release", "static/app.js"} {
		if code, _ := get(t, url+p); code != 200 {
			t.Errorf("GET /%s: %d", p, code)
		}
	}
	if code, _ := get(t, url+"api/sync/status"); code != 404 {
		t.Errorf("sync status with the gate off: %d", code)
	}
	for _, step := range []struct {
		name string
		args []string
	}{{"reuse", []string{"dashboard"}}, {"stop", []string{"dashboard", "--stop"}}} {
		if d := 2*time.Second - time.Since(began); step.name == "stop" && d > 0 {
			time.Sleep(d) // let it serve for about 2 s, as a user would
		}
		cmd := trace(step.name, step.args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", step.name, err, out)
		}
	}
	if stderr, err := wait(); err != nil {
		t.Fatalf("dashboard under strace: %v\n%s", err, stderr)
	}

	loopback := regexp.MustCompile(`sa_family=AF_UNIX|sa_family=AF_INET, sin_port=htons\(\d+\), sin_addr=inet_addr\("127\.\d+\.\d+\.\d+"\)|sa_family=AF_INET6, sin6_port=htons\(\d+\), [^}]*inet_pton\(AF_INET6, "(::1|::ffff:127\.[0-9.]+)"`)
	connects := 0
	for _, name := range []string{"serve", "reuse", "stop"} {
		b, err := os.ReadFile(filepath.Join(logs, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, "connect(") {
				continue
			}
			connects++
			if !loopback.MatchString(line) {
				t.Errorf("%s: connect() to something other than AF_UNIX or loopback: %s", name, line)
			}
		}
	}
	t.Logf("%d connect() calls, all AF_UNIX or loopback", connects)
	if connects == 0 {
		t.Error("no connect() seen at all: the reuse check should have probed the dashboard on loopback")
	}
	home := filepath.Join(r.dir, "home")
	matches, _ := filepath.Glob(filepath.Join(home, "sync-daemon*"))
	if len(matches) > 0 {
		t.Errorf("daemon files appeared: %v", matches)
	}
	if ents, err := os.ReadDir(home); err != nil || len(ents) != 1 || ents[0].Name() != "dashboards" {
		t.Errorf("state home holds %v (%v), want the dashboards/ directory only", ents, err)
	}
	if _, running, _ := localapi.ReadState(filepath.Join(home, "sync-daemon")); running {
		t.Error("a daemon runs")
	}
}
