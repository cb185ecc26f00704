//go:build linux

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/internal/nstest"
)

const diskFullHelperEnv = "SPEC_KITTY_TEST_DISKFULL_HELPER"

// TestDiskFull runs TestDiskFullHelper in a private mount namespace where
// the state home is a small tmpfs that the test fills: a real full
// filesystem (ENOSPC, SQLITE_FULL), not a simulated error. Creating the
// namespace needs root or unprivileged user namespaces; without them the
// test skips, saying so (under CI=true it fails instead: nstest.Run).
func TestDiskFull(t *testing.T) {
	out := nstest.Run(t, "TestDiskFullHelper", syscall.CLONE_NEWNS, []string{diskFullHelperEnv + "=1"})
	t.Logf("%s", out)
}

// TestDiskFullHelper: with the state home on a full filesystem,
//
//   - `sync run` names the cause (not the step that hit it), the lines it
//     kept unimported, and the cure;
//   - `status emit` says its line is written and kept but not queued, and
//     exits 0, so a caller does not record the change again;
//   - a running daemon's failing cycle shows in its state file (rewritten
//     in place when there is no room for a new copy), the local API and
//     `sync status` as a disk-full error, not as healthy;
//
// and once space is freed one `sync run` delivers every line.
func TestDiskFullHelper(t *testing.T) {
	if os.Getenv(diskFullHelperEnv) != "1" {
		t.Skip("runs only as TestDiskFull's helper, in its own mount namespace")
	}
	dir := t.TempDir()
	home := paths.Home{Dir: filepath.Join(dir, "home")}
	if err := os.MkdirAll(home.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	nstest.MakePrivate(t)
	if err := syscall.Mount("tmpfs", home.Dir, "tmpfs", 0, "size=16m,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs in the new namespace: %v", err)
	}
	defer syscall.Unmount(home.Dir, syscall.MNT_DETACH)

	srv := hostedtest.NewTest(t, hostedtest.Options{})
	host, err := hosted.ParseHost(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	l := &auth.Login{Client: hosted.New(host, nil), Store: session.NewStore(home, nil, io.Discard)}
	if _, err := l.WithToken(context.Background(), bytes.NewReader(tok)); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	corpusDir, _ := fixture.Default(t)
	missions := proofMissions[:2]
	if err := fixture.CopyMissions(corpusDir, repo, missions...); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"SPEC_KITTY_ENABLE_SAAS_SYNC": "1",
		paths.SaaSURLEnv:              srv.URL(),
		paths.HomeEnv:                 home.Dir,
		paths.KeychainEnv:             "off",
		"USER":                        "diskfull",
	}
	run := func(ctx context.Context, args ...string) (stdout, stderr string, code int) {
		var out, errb bytes.Buffer
		env := &Env{
			Getenv: func(k string) string { return vars[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Now: time.Now, Dir: repo, UserHome: func() (string, error) { return dir, nil },
			Executable: func() (string, error) { return "", errors.New("no spec-kitty binary in this test") },
		}
		code = Main(ctx, args, env)
		return out.String(), errb.String(), code
	}
	if _, stderr, code := run(context.Background(), "sync", "run", "--quiet"); code != 0 {
		t.Fatalf("first sync run: exit %d\n%s", code, stderr)
	}

	// The daemon runs before the disk fills up.
	dctx, stopDaemon := context.WithCancel(context.Background())
	daemonDone := make(chan struct{})
	go func() {
		defer close(daemonDone)
		run(dctx, "service", "run")
	}()
	defer func() {
		stopDaemon()
		<-daemonDone
	}()
	waitDaemon := func(what string, ok func(localapi.State) bool) localapi.State {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			st, running, _ := localapi.ReadState(home.DaemonState())
			if running && ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("daemon: %s: not within 20 s (state %+v)", what, st)
			}
		}
	}
	waitDaemon("first cycle", func(st localapi.State) bool { return !st.LastSyncAt.IsZero() })

	// Fill the filesystem.
	filler := filepath.Join(home.Dir, "filler")
	fillUp(t, filler)

	// New lines in both missions' files, more than SQLite's spare pages.
	const perMission = 1500
	for _, m := range missions {
		appendMoves(t, filepath.Join(repo, paths.SpecsDir, m, paths.EventsFileName), m, perMission)
	}

	// sync run: the cause, what was kept, the cure.
	_, stderr, code := run(context.Background(), "sync", "run", "--quiet")
	t.Logf("sync run on a full disk, exit %d:\n%s", code, stderr)
	if code != ExitFailure {
		t.Errorf("sync run on a full disk: exit %d, want %d\n%s", code, ExitFailure, stderr)
	}
	for _, want := range []string{
		"spec-kitty: error: the disk is full: ",
		fmt.Sprintf("%d new lines stay in their files, not imported yet", 2*perMission),
		"spec-kitty: hint: free disk space and run `spec-kitty sync run` again",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("sync run on a full disk: stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stderr, "(ENOSPC)") && !strings.Contains(stderr, "(SQLITE_FULL)") {
		t.Errorf("sync run on a full disk names neither ENOSPC nor SQLITE_FULL:\n%s", stderr)
	}
	if strings.Contains(stderr, "lease") {
		t.Errorf("sync run on a full disk blames a step, not the disk:\n%s", stderr)
	}

	// status emit: the line is written and kept; exit 0.
	stdout, stderr, code := run(context.Background(), "status", "emit", "--mission", missions[0], "WP01", "--to", "for_review", "--force", "--reason", "disk full test")
	t.Logf("status emit on a full disk, exit %d:\n%s", code, stderr)
	if code != ExitOK {
		t.Errorf("status emit on a full disk: exit %d, want 0 (the line is written)\n%s", code, stderr)
	}
	var emitted struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(stdout), &emitted); err != nil || emitted.EventID == "" {
		t.Fatalf("status emit printed no event line: %q (%v)", stdout, err)
	}
	for _, want := range []string{"(the line is kept) but not queued for upload: the disk is full: ", "spec-kitty: hint: free some disk space"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("status emit on a full disk: stderr lacks %q:\n%s", want, stderr)
		}
	}

	// The daemon, woken (as by `sync now`), fails its cycle on the full
	// disk; the state file, the local API and sync status say so.
	if err := localapi.NewClient(home.DaemonSocket()).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := waitDaemon("a disk-full error", func(st localapi.State) bool { return st.LastErrorState == localapi.ErrorDiskFull })
	t.Logf("daemon state: last_error_state %q, last_error %q, %d consecutive failures", st.LastErrorState, st.LastError, st.ConsecutiveFailures)
	if st.ConsecutiveFailures == 0 || st.LastError == "" {
		t.Errorf("daemon state after a disk-full cycle: %+v", st)
	}
	if msg, _ := st.ErrorWording(); msg != localapi.DiskFullMessage {
		t.Errorf("disk-full wording %q", msg)
	}
	api, err := localapi.NewClient(home.DaemonSocket()).Status(context.Background())
	if err != nil || api.LastErrorState != localapi.ErrorDiskFull {
		t.Errorf("local API status: %+v, %v; want a disk-full error", api.State, err)
	}
	stdout, _, _ = run(context.Background(), "sync", "status", "--json")
	var ss struct {
		Daemon struct {
			LastError           string `json:"last_error"`
			ConsecutiveFailures int    `json:"consecutive_failures"`
		} `json:"daemon"`
	}
	if err := json.Unmarshal([]byte(stdout), &ss); err != nil || ss.Daemon.LastError == "" || ss.Daemon.ConsecutiveFailures == 0 {
		t.Errorf("sync status --json shows the daemon healthy on a full disk: %s (%v)", stdout, err)
	}
	stopDaemon()
	<-daemonDone

	// Space freed: one sync run imports and delivers everything kept.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(context.Background(), "sync", "run", "--quiet"); code != 0 {
		t.Fatalf("sync run after freeing space: exit %d\n%s", code, stderr)
	}
	if !srv.HasEvent(emitted.EventID) {
		t.Error("the emitted event was not delivered once space was freed")
	}
	for i := range perMission {
		if id := moveID(missions[1], i); !srv.HasEvent(id) {
			t.Fatalf("line %d of %s (%s) not delivered once space was freed", i, missions[1], id)
		}
	}
}

// fillUp writes path until the filesystem is full.
func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	// Smaller writes take the last partial block.
	for _, err := f.Write(buf[:512]); err == nil; _, err = f.Write(buf[:512]) {
	}
}

// moveID is the event id of line i appended to mission's file by
// appendMoves: a valid ULID, unique per mission and line.
func moveID(mission string, i int) string {
	return fmt.Sprintf("01KDF%c%020d", 'A'+rune(len(mission)%20), i)
}

// appendMoves appends n lane moves to an events file.
func appendMoves(t *testing.T, path, mission string, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"event_id":%q,"wp_id":"WP01","from_lane":"planned","to_lane":"claimed","actor":"filler","at":"2026-11-27T10:00:00Z"}`+"\n", moveID(mission, i))
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
}
