package queue

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The test binary doubles as the writer and drainer processes of the
// cross-process tests: TestMain runs a role instead of the tests when
// roleEnv is set.
const (
	roleEnv   = "QUEUE_TEST_ROLE"
	dbEnv     = "QUEUE_TEST_DB"
	prefixEnv = "QUEUE_TEST_PREFIX"
	countEnv  = "QUEUE_TEST_COUNT"
	outEnv    = "QUEUE_TEST_OUT"  // drainer: file the "uploaded" ids are appended to
	doneEnv   = "QUEUE_TEST_DONE" // drainer: stop when this file exists and the queue is empty
	holdEnv   = "QUEUE_TEST_HOLD" // drainer: after this many batches, lease one more, write holdEnv+".held" and hang
	leaseEnv  = "QUEUE_TEST_LEASE"
)

func TestMain(m *testing.M) {
	role := os.Getenv(roleEnv)
	if role == "" {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	switch role {
	case "writer":
		err = runWriter(ctx)
	case "drainer":
		err = runDrainer(ctx)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runWriter enqueues count events named prefix00000.. in batches of 1..10,
// as several `status emit` and import runs would.
func runWriter(ctx context.Context) error {
	q, err := Open(ctx, os.Getenv(dbEnv), Options{})
	if err != nil {
		return err
	}
	defer q.Close()
	prefix := os.Getenv(prefixEnv)
	count, _ := strconv.Atoi(os.Getenv(countEnv))
	rnd := rand.New(rand.NewPCG(uint64(len(prefix)), uint64(prefix[0])))
	all := items(prefix, count)
	for len(all) > 0 {
		n := min(len(all), 1+rnd.IntN(10))
		if _, err := q.Enqueue(ctx, all[:n]...); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}

// runDrainer leases, "uploads" (appends the ids to the out file, synced,
// before acking: at-least-once) and acks until the done file exists and
// nothing is left.
func runDrainer(ctx context.Context) error {
	q, err := Open(ctx, os.Getenv(dbEnv), Options{})
	if err != nil {
		return err
	}
	defer q.Close()
	out, err := os.OpenFile(os.Getenv(outEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	lease, err := time.ParseDuration(os.Getenv(leaseEnv))
	if err != nil {
		return err
	}
	hold := -1
	if h := os.Getenv(holdEnv); h != "" {
		hold, _ = strconv.Atoi(h)
	}
	for batches := 0; ; batches++ {
		batch, err := q.Lease(ctx, time.Now(), 200, 1<<20, lease)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			if _, err := os.Stat(os.Getenv(doneEnv)); err == nil {
				if st, err := q.Stats(ctx); err != nil || st.Depth == 0 {
					return err
				}
			}
			time.Sleep(2 * time.Millisecond) // polling for work, not a timing assertion
			continue
		}
		ids := leasedIDs(batch)
		if _, err := out.WriteString(strings.Join(ids, "\n") + "\n"); err != nil {
			return err
		}
		if err := out.Sync(); err != nil {
			return err
		}
		if batches == hold {
			// Die holding this lease: tell the test, then wait for kill -9.
			held := os.Getenv(doneEnv) + ".held"
			if err := os.WriteFile(held+".tmp", []byte(strings.Join(ids, "\n")), 0o600); err != nil {
				return err
			}
			if err := os.Rename(held+".tmp", held); err != nil { // the test polls for it: appear whole
				return err
			}
			<-ctx.Done()
			return errors.New("was not killed")
		}
		if _, err := q.Settle(ctx, Results{Ack: ids}); err != nil {
			return err
		}
	}
}

func child(t *testing.T, env ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &stderr
}

func readIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if s.Text() != "" {
			ids = append(ids, s.Text())
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func integrityOK(t *testing.T, q *Queue) {
	t.Helper()
	if got := column(t, q.db, `PRAGMA integrity_check`); len(got) != 1 || got[0] != "ok" {
		t.Errorf("integrity_check: %v", got)
	}
}

// TestTwoWritersOneDrainer: two processes enqueue 5,000 events each into one
// new database while a third drains it. Every event is delivered exactly
// once and no process sees SQLITE_BUSY (any error fails its exit status).
func TestTwoWritersOneDrainer(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "queue.db")
	out := filepath.Join(dir, "uploaded")
	done := filepath.Join(dir, "writers-done")
	const perWriter = 5000
	common := []string{dbEnv + "=" + db, countEnv + "=" + strconv.Itoa(perWriter)}
	drainer, drainErr := child(t, append(common, roleEnv+"=drainer", outEnv+"="+out, doneEnv+"="+done, leaseEnv+"=30s")...)
	w1, w1Err := child(t, append(common, roleEnv+"=writer", prefixEnv+"=A")...)
	w2, w2Err := child(t, append(common, roleEnv+"=writer", prefixEnv+"=B")...)
	for _, w := range []struct {
		cmd    *exec.Cmd
		stderr *strings.Builder
	}{{w1, w1Err}, {w2, w2Err}} {
		if err := w.cmd.Wait(); err != nil {
			t.Fatalf("writer: %v\n%s", err, w.stderr)
		}
	}
	if err := os.WriteFile(done, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := drainer.Wait(); err != nil {
		t.Fatalf("drainer: %v\n%s", err, drainErr)
	}

	seen := map[string]int{}
	for _, id := range readIDs(t, out) {
		seen[id]++
	}
	var want []string
	for _, it := range slices.Concat(items("A", perWriter), items("B", perWriter)) {
		want = append(want, it.EventID)
		if seen[it.EventID] != 1 {
			t.Errorf("%s delivered %d times", it.EventID, seen[it.EventID])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("delivered %d distinct ids, want %d", len(seen), len(want))
	}
	q, err := Open(t.Context(), db, Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if ids := queuedIDs(t, q); len(ids) != 0 {
		t.Errorf("%d events left in the queue", len(ids))
	}
	integrityOK(t, q)
}

// TestKilledDrainer: a drainer killed with SIGKILL loses nothing. Its lease
// keeps the batch it held from others until the lease runs out; then another
// drainer gets every event, and the "host" ends up with exactly the set that
// was written.
func TestKilledDrainer(t *testing.T) {
	const total, lease = 1000, 2 * time.Second
	tests := []struct {
		name string
		hold string // batch after which the drainer hangs holding a lease; "" kills it wherever it is
	}{
		{"mid-lease", "2"},
		{"anywhere", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			db := filepath.Join(dir, "queue.db")
			out := filepath.Join(dir, "uploaded")
			done := filepath.Join(dir, "never") // the drainer must not stop on its own
			q, err := Open(ctx, db, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			written := items("K", total)
			if _, err := q.Enqueue(ctx, written...); err != nil {
				t.Fatal(err)
			}
			env := []string{roleEnv + "=drainer", dbEnv + "=" + db, outEnv + "=" + out, doneEnv + "=" + done, leaseEnv + "=" + lease.String()}
			if tt.hold != "" {
				env = append(env, holdEnv+"="+tt.hold)
			}
			drainer, stderr := child(t, env...)

			// Wait until the drainer holds its lease, or has uploaded a
			// few batches, then kill -9 it.
			deadline := time.Now().Add(20 * time.Second)
			for {
				if tt.hold != "" {
					if _, err := os.Stat(done + ".held"); err == nil {
						break
					}
				} else if len(readIDs(t, out)) >= 300 {
					break
				}
				if time.Now().After(deadline) || drainer.ProcessState != nil {
					t.Fatalf("drainer made no progress:\n%s", stderr)
				}
				time.Sleep(2 * time.Millisecond)
			}
			killedAt := time.Now()
			if err := drainer.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			drainer.Wait()

			integrityOK(t, q)
			held := readIDs(t, done+".held")
			queued := queuedIDs(t, q)
			// Before the lease runs out the held batch stays with the dead drainer.
			free, err := q.Lease(ctx, killedAt, total, 0, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range leasedIDs(free) {
				if slices.Contains(held, id) {
					t.Errorf("%s leased while the killed drainer's lease was live", id)
				}
			}
			// After it, the rest comes back.
			late, err := q.Lease(ctx, killedAt.Add(lease), total, 0, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Concat(leasedIDs(free), leasedIDs(late))
			slices.Sort(got)
			if diff := cmp.Diff(queued, got); diff != "" {
				t.Errorf("re-leased after the kill (-queued +leased):\n%s", diff)
			}
			if tt.hold != "" && len(held) == 0 {
				t.Fatal("the drainer held nothing")
			}
			for _, id := range held {
				if !slices.Contains(leasedIDs(late), id) {
					t.Errorf("held %s not handed out after the lease ended", id)
				}
			}
			if _, err := q.Settle(ctx, Results{Ack: got}); err != nil {
				t.Fatal(err)
			}

			// The host has everything written — some twice, none lost.
			host := map[string]bool{}
			for _, id := range slices.Concat(readIDs(t, out), got) {
				host[id] = true
			}
			for _, it := range written {
				if !host[it.EventID] {
					t.Errorf("%s never uploaded", it.EventID)
				}
			}
			if len(host) != total {
				t.Errorf("host holds %d ids, want %d", len(host), total)
			}
			if ids := queuedIDs(t, q); len(ids) != 0 {
				t.Errorf("left in the queue: %d", len(ids))
			}
		})
	}
}
