package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
)

// BenchmarkDaemonRecovery measures, in wall-clock seconds, how long a running
// daemon (the real Run, Engine, queue and session refresh, against hostedtest
// on loopback) takes to deliver a waiting event once the host answers again
// (target: within 10 s):
//
//   - outage: the host is unreachable (connections refused) for
//     SPEC_KITTY_BENCH_OUTAGE (default 15 s) while an event is emitted;
//     counted from the moment it listens again;
//   - 429: a burst of 429 Too Many Requests with Retry-After: 2; counted
//     from the end of the last Retry-After;
//   - 401: every access token expired (a refresh is needed); counted from
//     the expiry.
//
// Each event is emitted as `status emit` does it: a line appended to its
// file and a wake naming that file. Figures: outage-resume-s, 429-resume-s,
// 401-resume-s, worst-resume-s.
func BenchmarkDaemonRecovery(b *testing.B) {
	outage := 15 * time.Second
	if v := os.Getenv("SPEC_KITTY_BENCH_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("SPEC_KITTY_BENCH_OUTAGE: %v", err)
		}
		outage = d
	}
	r := newRecoveryRig(b)
	var outageS, tooManyS, unauthS float64
	for b.Loop() {
		// Outage: nothing listens on the host's port.
		r.proxy.down()
		id := r.emit()
		time.Sleep(outage)
		up := time.Now()
		r.proxy.up()
		outageS = r.delivered(id, up)

		// A burst of 429s, each asking to wait 2 s.
		const burst, retryAfter = 3, 2
		base := r.srv.FaultCount(hostedtest.FaultTooManyRequests)
		if err := r.srv.SetFaults(hostedtest.Faults{TooManyRequests: burst, RetryAfter: retryAfter}); err != nil {
			b.Fatal(err)
		}
		id = r.emit()
		r.waitFor("the burst of 429s", func() bool { return r.srv.FaultCount(hostedtest.FaultTooManyRequests) >= base+burst })
		answers := time.Now().Add(retryAfter * time.Second)
		tooManyS = r.delivered(id, answers)

		// Expired tokens: the first request answers 401, a refresh follows.
		r.srv.ExpireAccessTokens()
		expired := time.Now()
		id = r.emit()
		unauthS = r.delivered(id, expired)
	}
	b.ReportMetric(outageS, "outage-resume-s")
	b.ReportMetric(tooManyS, "429-resume-s")
	b.ReportMetric(unauthS, "401-resume-s")
	b.ReportMetric(max(outageS, tooManyS, unauthS), "worst-resume-s")
	b.ReportMetric(0, "ns/op")
}

// recoveryRig is a signed-in daemon with one repository, uploading through
// a proxy that can take the host off the network.
type recoveryRig struct {
	b      *testing.B
	srv    *hostedtest.Server
	proxy  *switchProxy
	home   paths.Home
	events string // the mission's events file
	repo   string
	n      int
}

func newRecoveryRig(b *testing.B) *recoveryRig {
	b.Helper()
	srv := hostedtest.NewTest(b, hostedtest.Options{})
	target := srv.URL()[len("http://"):]
	p, err := newSwitchProxy(target)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.down)
	host, err := hosted.ParseHost("http://" + p.addr)
	if err != nil {
		b.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "skrecov")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	home := paths.Home{Dir: filepath.Join(dir, "home")}
	if err := home.EnsureHome(); err != nil {
		b.Fatal(err)
	}
	store := session.NewStore(home, nil, io.Discard)
	tok, err := srv.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := (&auth.Login{Client: hosted.New(host, nil), Store: store}).WithToken(context.Background(), bytes.NewReader(tok)); err != nil {
		b.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	events := filepath.Join(repo, paths.SpecsDir, "recovery", paths.EventsFileName)
	if err := os.MkdirAll(filepath.Dir(events), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(events, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	r := &recoveryRig{b: b, srv: srv, proxy: p, home: home, events: events, repo: repo}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- Run(ctx, Options{
			Home:   home,
			Getenv: func(k string) string { return map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}[k] },
			Logger: slog.New(slog.DiscardHandler),
			Policy: func() (policy.Policy, error) { return policy.Auto, nil },
			Open: func(ctx context.Context) (Worker, func() error, error) {
				q, err := queue.Open(ctx, home.Queue(), queue.Options{CreateDir: true})
				if err != nil {
					return nil, nil, err
				}
				if _, err := q.RegisterRepo(ctx, repo); err != nil {
					q.Close()
					return nil, nil, err
				}
				eng := &syncer.Engine{Queue: q, Connect: func(ctx context.Context) (syncer.Conn, error) {
					c, m := auth.NewClient(host, store)
					c.Timeout = 5 * time.Second
					sess, err := m.Session(ctx)
					if err != nil {
						return syncer.Conn{}, fmt.Errorf("%w: %v", syncer.ErrNotSignedIn, err)
					}
					team, _ := sess.DefaultTeam()
					return syncer.Conn{Client: c, Team: team.ID}, nil
				}}
				return eng, q.Close, nil
			},
			Ready: func() { close(ready) },
		})
	}()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("daemon: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		b.Fatalf("daemon exited at start: %v", err)
	case <-time.After(10 * time.Second):
		b.Fatal("daemon not ready within 10 s")
	}
	return r
}

// emit appends a lane move to the events file and wakes the daemon naming
// the file, as `status emit` does; it returns the event id.
func (r *recoveryRig) emit() string {
	r.b.Helper()
	r.n++
	id := fmt.Sprintf("01KRECV%019d", r.n)
	f, err := os.OpenFile(r.events, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		r.b.Fatal(err)
	}
	fmt.Fprintf(f, `{"event_id":%q,"wp_id":"WP01","from_lane":"planned","to_lane":"claimed","actor":"bench","at":"2026-12-04T10:00:00Z"}`+"\n", id)
	if err := f.Close(); err != nil {
		r.b.Fatal(err)
	}
	if err := localapi.NewClient(r.home.DaemonSocket()).SyncFiles(context.Background(), r.repo, []string{r.events}); err != nil {
		r.b.Fatal(err)
	}
	return id
}

// recoveryBudget bounds each wait of the benchmark.
const recoveryBudget = 90 * time.Second

// waitFor polls cond every 10 ms, failing the benchmark after
// recoveryBudget.
func (r *recoveryRig) waitFor(what string, cond func() bool) {
	r.b.Helper()
	deadline := time.Now().Add(recoveryBudget)
	for !cond() {
		if time.Now().After(deadline) {
			r.b.Fatalf("%s: not within %v", what, recoveryBudget)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// delivered waits until the host has id and returns the seconds from
// answering (when the host answered again) to that moment; 0 when it was
// there sooner.
func (r *recoveryRig) delivered(id string, answering time.Time) float64 {
	r.b.Helper()
	r.waitFor("event "+id+" delivered", func() bool { return r.srv.HasEvent(id) })
	return max(time.Since(answering).Seconds(), 0)
}

// switchProxy forwards a loopback port to the host; down closes the port
// and every connection (the host is off the network), up listens again on
// the same port.
type switchProxy struct {
	target, addr string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newSwitchProxy(target string) (*switchProxy, error) {
	p := &switchProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	if err := p.listen(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *switchProxy) listen() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.serve(ln)
	return nil
}

func (p *switchProxy) up() {
	for i := 0; ; i++ {
		err := p.listen()
		if err == nil {
			return
		}
		if i == 100 {
			panic("switchProxy: listen again on " + p.addr + ": " + err.Error())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *switchProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *switchProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *switchProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			continue
		}
		go func() {
			u, err := net.Dial("tcp", p.target)
			if err != nil || !p.track(u) {
				c.Close()
				return
			}
			go func() {
				io.Copy(u, c)
				u.Close()
			}()
			io.Copy(c, u)
			c.Close()
		}()
	}
}
