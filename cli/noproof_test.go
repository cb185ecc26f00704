//go:build linux

package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/cli/internal/stealthtest"
	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// The "no network, no daemon" proofs (TESTING.md): the real spec-kitty
// binary runs under `strace -f -e trace=connect,execve`; afterwards every
// connect() must have gone to a Unix socket or loopback, no process may have
// outlived the command, the binary must not have re-executed itself (that
// is how a daemon is spawned), and no sync-daemon* file may exist.

// proofMissions are the corpus samples the proofs run in.
var proofMissions = []string{
	"expected-artifacts-manifest-repair-01KZY498",
	"charter-p7-release-closure-01KQF9B9",
	"charter-pack-activation-layer-01KSYE4V",
}

// straceReport is what one strace log says.
type straceReport struct {
	MainPID   int
	Connects  []string // the sockaddr of every connect()
	Offending []string // connects to anything but AF_UNIX or loopback
	Execs     []string // "PID path" of every execve after the first
	Respawns  []string // execve of the traced binary itself by a child
	Unexited  []int    // pids seen but never reported as exited
	LastExit  int      // pid of the last "+++ exited" line
}

var (
	straceLine  = regexp.MustCompile(`^(\d+) +(.*)$`)
	execvePath  = regexp.MustCompile(`^execve\("((?:[^"\\]|\\.)*)"`)
	sockaddr    = regexp.MustCompile(`connect\(\d+, (\{sa_family=([A-Z0-9_]+)[^}]*\})`)
	inetAddr    = regexp.MustCompile(`inet_addr\("([0-9.]+)"\)`)
	inet6Addr   = regexp.MustCompile(`inet_pton\(AF_INET6, "([0-9a-fA-F:.]+)"`)
	exitLine    = regexp.MustCompile(`^\+\+\+ (exited with \d+|killed by SIG[A-Z0-9]+( \(core dumped\))?) \+\+\+$`)
	connectCall = regexp.MustCompile(`(^|[^a-z_])connect\(`)
)

// parseStrace reads an `strace -f -e trace=connect,execve -o LOG` log of
// bin (pids prefix every line).
func parseStrace(log []byte, bin string) (straceReport, error) {
	var r straceReport
	seen := map[int]bool{}
	exited := map[int]bool{}
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		m := straceLine.FindStringSubmatch(line)
		if m == nil {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return r, fmt.Errorf("strace line without a pid: %q", line)
		}
		pid, _ := strconv.Atoi(m[1])
		rest := m[2]
		seen[pid] = true
		switch {
		case exitLine.MatchString(rest):
			exited[pid] = true
			r.LastExit = pid
		case strings.HasPrefix(rest, "execve("):
			pm := execvePath.FindStringSubmatch(rest)
			if pm == nil {
				return r, fmt.Errorf("unreadable execve: %q", line)
			}
			if r.MainPID == 0 {
				r.MainPID = pid
				continue
			}
			if strings.Contains(rest, "= -1 ") {
				continue // a failed exec (PATH search) starts nothing
			}
			r.Execs = append(r.Execs, fmt.Sprintf("%d %s", pid, pm[1]))
			if pm[1] == bin || filepath.Base(pm[1]) == filepath.Base(bin) {
				r.Respawns = append(r.Respawns, line)
			}
		case strings.HasPrefix(rest, "<... connect resumed>"):
			// The address was on the "unfinished" half.
		case connectCall.MatchString(rest):
			sm := sockaddr.FindStringSubmatch(rest)
			if sm == nil {
				r.Offending = append(r.Offending, "undecoded: "+line)
				continue
			}
			r.Connects = append(r.Connects, sm[1])
			if !loopbackSockaddr(sm[2], sm[1]) {
				r.Offending = append(r.Offending, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return r, err
	}
	if r.MainPID == 0 {
		return r, errors.New("no execve of the command in the strace log")
	}
	for pid := range seen {
		if !exited[pid] {
			r.Unexited = append(r.Unexited, pid)
		}
	}
	slices.Sort(r.Unexited)
	return r, nil
}

// loopbackSockaddr: AF_UNIX, or AF_INET/AF_INET6 to a loopback address.
func loopbackSockaddr(family, addr string) bool {
	switch family {
	case "AF_UNIX", "AF_LOCAL":
		return true
	case "AF_INET":
		m := inetAddr.FindStringSubmatch(addr)
		return m != nil && isLoopbackIP(m[1])
	case "AF_INET6":
		m := inet6Addr.FindStringSubmatch(addr)
		return m != nil && isLoopbackIP(m[1])
	}
	return false
}

func isLoopbackIP(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.IsLoopback()
}

// problems lists everything the report proves wrong.
func (r straceReport) problems() []string {
	var out []string
	for _, c := range r.Offending {
		out = append(out, "connect() to neither AF_UNIX nor loopback: "+c)
	}
	for _, e := range r.Respawns {
		out = append(out, "the binary started itself again (a daemon?): "+e)
	}
	if len(r.Unexited) > 0 {
		out = append(out, fmt.Sprintf("processes/threads %v never exited under strace", r.Unexited))
	}
	if r.LastExit != r.MainPID {
		out = append(out, fmt.Sprintf("pid %d exited after the command (pid %d): a child outlived it", r.LastExit, r.MainPID))
	}
	return out
}

func TestNoNetworkParseStrace(t *testing.T) {
	const bin = "/tmp/x/spec-kitty"
	tests := []struct {
		name     string
		log      string
		problems int
		connects int
	}{
		{"clean", `10 execve("/tmp/x/spec-kitty", ["spec-kitty", "status"], 0x7ffd /* 9 vars */) = 0
11 connect(3, {sa_family=AF_UNIX, sun_path="/run/user/0/bus"}, 110) = -1 ENOENT (No such file or directory)
12 connect(5, {sa_family=AF_INET, sin_port=htons(40123), sin_addr=inet_addr("127.0.0.1")}, 16 <unfinished ...>
12 <... connect resumed>) = -1 EINPROGRESS (Operation now in progress)
11 connect(6, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
10 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=10, si_uid=0} ---
12 +++ exited with 0 +++
11 +++ exited with 0 +++
10 +++ exited with 0 +++
`, 0, 3},
		{"internet address", `10 execve("/tmp/x/spec-kitty", ["spec-kitty"], 0x1 /* 9 vars */) = 0
10 connect(5, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("93.184.216.34")}, 16) = 0
10 +++ exited with 0 +++
`, 1, 1},
		{"internet v6 and netlink", `10 execve("/tmp/x/spec-kitty", ["spec-kitty"], 0x1 /* 9 vars */) = 0
10 connect(5, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2606:2800::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
10 connect(6, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0
10 +++ exited with 0 +++
`, 2, 2},
		{"respawned daemon outlives", `10 execve("/tmp/x/spec-kitty", ["spec-kitty", "status", "emit"], 0x1 /* 9 vars */) = 0
11 execve("/tmp/x/spec-kitty", ["/tmp/x/spec-kitty", "service", "run", "--background"], 0x2 /* 9 vars */) = 0
10 +++ exited with 0 +++
11 +++ exited with 0 +++
`, 2, 0},
		{"child never exits", `10 execve("/tmp/x/spec-kitty", ["spec-kitty"], 0x1 /* 9 vars */) = 0
11 execve("/usr/bin/systemctl", ["systemctl", "--user"], 0x2 /* 9 vars */) = 0
10 +++ exited with 0 +++
`, 1, 0},
		{"undecoded address", `10 execve("/tmp/x/spec-kitty", ["spec-kitty"], 0x1 /* 9 vars */) = 0
10 connect(5, 0xc000123456, 16) = 0
10 +++ exited with 0 +++
`, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseStrace([]byte(tt.log), bin)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.problems(); len(got) != tt.problems {
				t.Errorf("problems = %q, want %d", got, tt.problems)
			}
			if len(r.Connects) != tt.connects {
				t.Errorf("connects = %q, want %d", r.Connects, tt.connects)
			}
		})
	}
	if _, err := parseStrace([]byte("no pid here\n"), bin); err == nil {
		t.Error("a line without a pid was accepted")
	}
}

// prover runs the real binary under strace.
type prover struct {
	t      *testing.T
	strace string
	bin    string
	base   map[string]string
}

func newProver(t *testing.T) *prover {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("strace is needed for the no-network proofs: %v (run `make tools`)", err)
		}
		t.Skipf("strace not installed: %v", err)
	}
	dir := shortTemp(t)
	bin := filepath.Join(dir, "spec-kitty")
	build := exec.Command("go", "build", "-o", bin, "./cmd/spec-kitty")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build spec-kitty: %v\n%s", err, out)
	}
	return &prover{t: t, strace: strace, bin: bin, base: map[string]string{
		"PATH": os.Getenv("PATH"),
		"USER": "prover",
		"TZ":   "UTC",
	}}
}

// shortTemp is a temp dir with a short path (Unix socket paths are limited
// to ~100 bytes), removed at the end.
func shortTemp(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "skproof")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// world is one user's machine: a state home, a user home and a repo with
// a few fixture missions.
type world struct {
	home, userHome, repo string
	env                  map[string]string
}

func (p *prover) newWorld(extra map[string]string) *world {
	p.t.Helper()
	dir := shortTemp(p.t)
	w := &world{
		home:     filepath.Join(dir, "home"),
		userHome: filepath.Join(dir, "userhome"),
		repo:     filepath.Join(dir, "repo"),
		env:      map[string]string{},
	}
	corpusDir, _ := fixture.Default(p.t)
	if err := fixture.CopyMissions(corpusDir, w.repo, proofMissions...); err != nil {
		p.t.Fatal(err)
	}
	for k, v := range p.base {
		w.env[k] = v
	}
	w.env["SPEC_KITTY_HOME"] = w.home
	w.env["HOME"] = w.userHome
	for k, v := range extra {
		w.env[k] = v
	}
	return w
}

func (w *world) environ() []string {
	var out []string
	for k, v := range w.env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// plain runs the binary without strace (set-up steps).
func (p *prover) plain(w *world, stdin []byte, args ...string) {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Dir, cmd.Env = w.repo, w.environ()
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("spec-kitty %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// traced is one command run under strace.
type traced struct {
	code           int
	stdout, stderr string
	report         straceReport
	// problems break the proof: a non-local connect(), a respawn, a
	// process that outlived the command, daemon files.
	problems []string
}

// prove runs args under strace in w and fails the test on every problem.
func (p *prover) prove(w *world, args []string, during func(stdout *bufio.Reader) error) traced {
	p.t.Helper()
	res := p.run(w, args, during)
	for _, pr := range res.problems {
		p.t.Errorf("spec-kitty %s: %s", strings.Join(args, " "), pr)
	}
	return res
}

// run runs args under strace in w and collects the problems; during
// (optional) runs while the command is alive, for commands that serve until
// stopped.
func (p *prover) run(w *world, args []string, during func(stdout *bufio.Reader) error) traced {
	p.t.Helper()
	log := filepath.Join(p.t.TempDir(), "strace.log")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.strace, append([]string{"-f", "-e", "trace=connect,execve", "-o", log, p.bin}, args...)...)
	cmd.Dir, cmd.Env = w.repo, w.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stderr = &stderr
	var duringErr error
	if during == nil {
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			p.t.Fatal(err)
		}
	} else {
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			p.t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			p.t.Fatal(err)
		}
		br := bufio.NewReader(pipe)
		duringErr = during(br)
		io.Copy(&stdout, br)
	}
	err := cmd.Wait()
	res := traced{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		res.problems = append(res.problems, "did not finish within 30 s under strace (a child keeps it alive?)")
	} else if err != nil && res.code < 0 {
		p.t.Fatalf("strace: %v\n%s", err, stderr.String())
	}
	if duringErr != nil {
		p.t.Errorf("while spec-kitty %s ran: %v", strings.Join(args, " "), duringErr)
	}
	if pids := p.survivors(); len(pids) > 0 {
		res.problems = append(res.problems, fmt.Sprintf("processes of %s still running afterwards: %v", p.bin, pids))
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	data, err := os.ReadFile(log)
	if err != nil {
		p.t.Fatal(err)
	}
	rep, err := parseStrace(data, p.bin)
	if err != nil {
		p.t.Fatalf("parse strace log of spec-kitty %s: %v", strings.Join(args, " "), err)
	}
	res.report = rep
	res.problems = append(res.problems, rep.problems()...)
	if matches, _ := filepath.Glob(filepath.Join(w.home, "sync-daemon*")); len(matches) > 0 {
		res.problems = append(res.problems, fmt.Sprintf("daemon files left: %v", matches))
	}
	return res
}

// survivors are the running processes of the built binary.
func (p *prover) survivors() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		if strings.TrimSuffix(exe, " (deleted)") == p.bin {
			out = append(out, pid)
		}
	}
	return out
}

// dashboardSession reads the URL the dashboard prints, fetches its pages
// (the read endpoints, and the sync panel's status with the gate on), then
// stops it with `dashboard --stop` from another, untraced process.
func (p *prover) dashboardSession(w *world, gateOn bool) func(*bufio.Reader) error {
	return func(out *bufio.Reader) error {
		lineCh := make(chan string, 1)
		go func() {
			l, _ := out.ReadString('\n')
			lineCh <- l
		}()
		var url string
		select {
		case url = <-lineCh:
		case <-time.After(15 * time.Second):
			return errors.New("no URL printed within 15 s")
		}
		url = strings.TrimSpace(url)
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			return fmt.Errorf("dashboard printed %q, want its loopback URL", url)
		}
		url = strings.TrimSuffix(url, "/")
		pages := []string{"/", "/api/missions", "/api/missions/" + proofMissions[0], "/missions/" + proofMissions[0]}
		if gateOn {
			pages = append(pages, "/api/sync/status")
		}
		var errs []error
		for _, pg := range pages {
			resp, err := http.Get(url + pg)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs = append(errs, fmt.Errorf("GET %s: %s", pg, resp.Status))
			}
		}
		stop := exec.Command(p.bin, "dashboard", "--stop")
		stop.Dir, stop.Env = w.repo, w.environ()
		if o, err := stop.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("dashboard --stop: %v: %s", err, o))
		}
		return errors.Join(errs...)
	}
}

// TestNoNetworkNoDaemonGateOff: with the rollout gate off, the local
// commands open no connection but loopback and Unix sockets, start nothing
// that outlives them, and — except `config set` — create no state home.
func TestNoNetworkNoDaemonGateOff(t *testing.T) {
	p := newProver(t)
	tests := []struct {
		name       string
		args       []string
		homeExists bool
	}{
		{"help", []string{"--help"}, false},
		{"status", []string{"status"}, false},
		{"status json", []string{"status", "--json"}, false},
		{"config list", []string{"config", "list"}, false},
		{"config set", []string{"config", "set", "sync.background_daemon", "manual"}, true},
		{"status emit", []string{"status", "emit", "--mission", proofMissions[0], "WP01", "--to", "blocked", "--force", "--reason", "proof"}, false},
		{"doctor", []string{"doctor"}, false},
		{"dashboard", []string{"dashboard"}, true},
		{"service run", []string{"service", "run", "--env-file", "/nonexistent/service.env"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.t = t
			w := p.newWorld(nil)
			var during func(*bufio.Reader) error
			if tt.name == "dashboard" {
				during = p.dashboardSession(w, false)
			}
			res := p.prove(w, tt.args, during)
			if res.code != 0 {
				t.Errorf("exit %d, want 0\nstderr: %s", res.code, res.stderr)
			}
			if words := stealthtest.Find(res.stdout + res.stderr); words != nil {
				t.Errorf("output names the hosted surface with the gate off: %q\n%s%s", words, res.stdout, res.stderr)
			}
			_, err := os.Stat(w.home)
			if exists := err == nil; exists != tt.homeExists {
				t.Errorf("state home exists = %v, want %v", exists, tt.homeExists)
			}
			if tt.homeExists {
				ents, _ := os.ReadDir(w.home)
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				// config set writes config.toml; the dashboard its private
				// record under dashboards/ (removed when it stops).
				want := map[string][]string{"dashboard": {"dashboards"}}[tt.name]
				if want == nil {
					want = []string{"config.toml"}
				}
				if diff := cmp.Diff(want, names); diff != "" {
					t.Errorf("%s wrote more than %v (-want +got):\n%s", tt.name, want, diff)
				}
			}
			t.Logf("%d connect() calls, all local; %d programs run", len(res.report.Connects), len(res.report.Execs))
		})
	}
}

// TestNoNetworkNoDaemonGateOn: with the gate on, signed in and under the
// auto policy — the state in which a wrong call site would start the daemon
// — every LOCAL_ONLY command leaves no daemon behind and connects only to
// loopback (the tracker commands talk to the host, which is hostedtest on
// 127.0.0.1). Remote-required `status emit` under manual, and without a
// session, starts nothing either.
func TestNoNetworkNoDaemonGateOn(t *testing.T) {
	p := newProver(t)
	srv := hostedtest.NewTest(t, hostedtest.Options{})
	w := p.newWorld(map[string]string{
		"SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
		paths.SaaSURLEnv:              srv.URL(),
	})
	data := []byte(corpus.KittifyConfig)
	if err := os.MkdirAll(filepath.Join(w.repo, paths.KittifyDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.RepoConfig(w.repo), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.plain(w, tok, "auth", "login", "--with-token")

	steps := []struct {
		name string
		args []string
		// local: the command must not connect to the host at all; the
		// others must (which also proves strace saw their connect()).
		local bool
		// anyExit1: exit 1 is fine too (`service status` on a machine
		// without a service manager it supports).
		anyExit1 bool
	}{
		{"tracker providers", []string{"tracker", "providers"}, true, false},
		{"tracker discover", []string{"tracker", "discover", "--provider", "linear"}, false, false},
		{"tracker bind", []string{"tracker", "bind", "--provider", "linear"}, false, false},
		{"tracker status", []string{"tracker", "status"}, false, false},
		{"tracker map add", []string{"tracker", "map", "add", "--wp-id", "WP02", "--external-id", "lin_SK_2"}, false, false},
		{"tracker map list", []string{"tracker", "map", "list"}, false, false},
		{"tracker unbind", []string{"tracker", "unbind"}, true, false},
		{"auth status", []string{"auth", "status"}, true, false},
		{"sync status", []string{"sync", "status"}, true, false},
		{"sync status json", []string{"sync", "status", "--json"}, true, false},
		{"sync stop", []string{"sync", "stop"}, true, false},
		{"service status", []string{"service", "status"}, true, true},
		{"status", []string{"status"}, true, false},
		{"config list", []string{"config", "list"}, true, false},
		{"doctor", []string{"doctor"}, true, false},
		{"dashboard", []string{"dashboard"}, true, false},
	}
	hostPort := strings.TrimPrefix(srv.URL(), "http://")
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			p.t = t
			var during func(*bufio.Reader) error
			if st.name == "dashboard" {
				during = p.dashboardSession(w, true)
			}
			res := p.prove(w, st.args, during)
			if res.code != 0 && !(st.anyExit1 && res.code == 1) {
				t.Errorf("exit %d, want 0\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			port := hostPort[strings.LastIndexByte(hostPort, ':')+1:]
			toHost := 0
			for _, c := range res.report.Connects {
				if strings.Contains(c, "htons("+port+")") {
					toHost++
				}
			}
			if st.local && toHost > 0 {
				t.Errorf("a local-only command connected to the host %d times", toHost)
			}
			if !st.local && toHost == 0 {
				t.Errorf("no connect() to the host %s seen, but this command talks to it: is strace seeing connect()?", srv.URL())
			}
			t.Logf("%d connect() calls, all local; programs run: %q", len(res.report.Connects), res.report.Execs)
		})
	}

	// Remote-required, but nothing may start: the manual policy, and no
	// session. The event is still written and queued.
	t.Run("status emit manual", func(t *testing.T) {
		p.t = t
		p.plain(w, nil, "config", "set", "sync.background_daemon", "manual")
		res := p.prove(w, []string{"status", "emit", "--mission", proofMissions[0], "WP01", "--to", "blocked", "--force", "--reason", "proof"}, nil)
		if res.code != 0 || !strings.Contains(res.stderr, "manual mode") {
			t.Errorf("exit %d, stderr %q; want 0 and the manual-mode notice", res.code, res.stderr)
		}
	})
	t.Run("status emit signed out", func(t *testing.T) {
		p.t = t
		p.plain(w, nil, "config", "set", "sync.background_daemon", "auto")
		p.plain(w, nil, "auth", "logout")
		res := p.prove(w, []string{"status", "emit", "--mission", proofMissions[0], "WP02", "--to", "blocked", "--force", "--reason", "proof"}, nil)
		if res.code != 0 || !strings.Contains(res.stderr, "spec-kitty auth login") {
			t.Errorf("exit %d, stderr %q; want 0 and the sign-in next step", res.code, res.stderr)
		}
	})

	// The control: remote-required `status emit` signed in under auto does
	// start the daemon, and the proof must say so (or it proves nothing).
	// The daemon is stopped with `sync stop` once it runs.
	t.Run("control status emit auto starts daemon", func(t *testing.T) {
		p.t = t
		stdin, err := srv.SignIn(hostedtest.DefaultUser.ID)
		if err != nil {
			t.Fatal(err)
		}
		p.plain(w, stdin, "auth", "login", "--with-token")
		stopDaemon := func(*bufio.Reader) error {
			deadline := time.Now().Add(15 * time.Second)
			for {
				if _, err := os.Stat(filepath.Join(w.home, "sync-daemon.sock")); err == nil {
					break
				}
				if time.Now().After(deadline) {
					return errors.New("no daemon socket within 15 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			stop := exec.Command(p.bin, "sync", "stop")
			stop.Dir, stop.Env = w.repo, w.environ()
			if out, err := stop.CombinedOutput(); err != nil {
				return fmt.Errorf("sync stop: %v: %s", err, out)
			}
			return nil
		}
		res := p.run(w, []string{"status", "emit", "--mission", proofMissions[0], "WP03", "--to", "blocked", "--force", "--reason", "proof"}, stopDaemon)
		if res.code != 0 {
			t.Errorf("exit %d; stderr %s", res.code, res.stderr)
		}
		// Whether the daemon also outlives the command depends on when
		// stopDaemon stops it, so only the self-start and the files are
		// required of the control.
		if len(res.report.Respawns) == 0 {
			t.Errorf("the proof missed the daemon: respawns %q, last exit %d, main %d", res.report.Respawns, res.report.LastExit, res.report.MainPID)
		}
		if !slices.ContainsFunc(res.problems, func(s string) bool { return strings.HasPrefix(s, "daemon files left") }) {
			t.Errorf("the proof missed the daemon's lock file: %q", res.problems)
		}
		t.Logf("caught: %q", res.problems)
	})
}
