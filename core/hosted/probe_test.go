package hosted

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

// silentListener accepts connections and never answers.
func silentListener(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	tb.Cleanup(func() { close(done); ln.Close() })
	return "http://" + ln.Addr().String()
}

func closedPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestProbe(t *testing.T) {
	s := hostedtest.NewTest(t, hostedtest.Options{})
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodHead || r.URL.Path != "/" || r.Header.Get("Authorization") != "" {
				code = 599
			}
			if code == http.StatusFound {
				w.Header().Set("Location", "http://127.0.0.2:1/")
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name     string
		url      string
		deadline time.Duration // caller's deadline, shorter than ProbeTimeout to keep the test quick
		wantErr  string
	}{
		{name: "hostedtest", url: s.URL()},
		{name: "500 is reachable", url: status(500)},
		{name: "404 is reachable", url: status(404)},
		{name: "redirect elsewhere is reachable, not followed", url: status(302)},
		{name: "closed port", url: closedPort(t), wantErr: "connection refused"},
		{name: "never answers", url: silentListener(t), deadline: 150 * time.Millisecond, wantErr: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHost(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			err = New(h, nil).Probe(ctx)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), h.URL+": HEAD /: ") {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if KindOf(err) != KindRetryable {
				t.Errorf("kind = %q", KindOf(err))
			}
		})
	}
}

// BenchmarkProbeSilent: against a listener that never answers the probe must
// give up at its own 2 s deadline (target <= 2.1 s).
func BenchmarkProbeSilent(b *testing.B) {
	h, _ := ParseHost(silentListener(b))
	c := New(h, nil)
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		if err := c.Probe(context.Background()); err == nil {
			b.Fatal("probe of a silent listener succeeded")
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(worst.Seconds(), "worst-s")
}

// BenchmarkProbeHostedtest: a probe of a live loopback host (target <= 5 ms median).
func BenchmarkProbeHostedtest(b *testing.B) {
	s := hostedtest.NewTest(b, hostedtest.Options{})
	h, _ := ParseHost(s.URL())
	c := New(h, nil)
	for b.Loop() {
		if err := c.Probe(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
