package readiness

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// world is a configurable set of fake facts; its probes record calls.
type world struct {
	gate, auth, binding bool
	host                string
	hostErr             error
	reachErr            error
	authSawHost         string
	calls               []string
}

func (w *world) probes() Probes {
	return Probes{
		Gate: func() bool { w.calls = append(w.calls, "gate"); return w.gate },
		Host: func(context.Context) (string, error) { w.calls = append(w.calls, "host"); return w.host, w.hostErr },
		Auth: func(_ context.Context, h string) (bool, error) {
			w.calls = append(w.calls, "auth")
			w.authSawHost = h
			return w.auth, nil
		},
		Reach: func(ctx context.Context, h string) error {
			w.calls = append(w.calls, "reach")
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("reach called without a deadline")
			}
			return w.reachErr
		},
		Binding: func(context.Context) (bool, error) { w.calls = append(w.calls, "binding"); return w.binding, nil },
	}
}

func readyWorld() *world {
	return &world{gate: true, auth: true, binding: true, host: "https://sync.example.com"}
}

var all = Options{RequireAuth: true, RequireHost: true, Probe: true, RequireBinding: true, Mission: "m1"}

func TestEvaluateStates(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		world func(w *world)
		want  State
		calls []string
	}{
		{"ready", all, func(*world) {}, Ready, []string{"gate", "host", "auth", "reach", "binding"}},
		{"gate off decides alone", all, func(w *world) { w.gate = false; w.auth = false; w.host = "" }, RolloutDisabled, []string{"gate"}},
		{"auth before host", all, func(w *world) { w.auth = false; w.host = "" }, MissingAuth, []string{"gate", "host", "auth"}},
		{"host after auth", all, func(w *world) { w.host = "" }, MissingHostConfig, []string{"gate", "host", "auth"}},
		{"bad host url", all, func(w *world) { w.hostErr = errors.New("bad url") }, MissingHostConfig, []string{"gate", "host", "auth"}},
		{"unreachable before binding", all, func(w *world) { w.reachErr = errors.New("dial refused"); w.binding = false }, HostUnreachable, []string{"gate", "host", "auth", "reach"}},
		{"binding last", all, func(w *world) { w.binding = false }, MissingMissionBinding, []string{"gate", "host", "auth", "reach", "binding"}},
		{"probe only when asked", Options{RequireAuth: true, RequireHost: true, RequireBinding: true}, func(w *world) { w.reachErr = errors.New("x") }, Ready, []string{"gate", "host", "auth", "binding"}},
		{"binding only when asked", Options{RequireAuth: true, RequireHost: true}, func(w *world) { w.binding = false }, Ready, []string{"gate", "host", "auth"}},
		{"host only (auth login)", Options{RequireHost: true}, func(w *world) { w.auth = false }, Ready, []string{"gate", "host"}},
		{"host only, missing", Options{RequireHost: true}, func(w *world) { w.host = "" }, MissingHostConfig, []string{"gate", "host"}},
		{"binding only (unbind)", Options{RequireBinding: true, Mission: "m"}, func(w *world) { w.binding = false; w.auth = false }, MissingMissionBinding, []string{"gate", "binding"}},
		{"gate only", Options{}, func(w *world) { w.auth = false }, Ready, []string{"gate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := readyWorld()
			tt.world(w)
			got := Evaluate(context.Background(), tt.opts, w.probes())
			if got.State != tt.want {
				t.Errorf("state = %s, want %s (%+v)", got.State, tt.want, got)
			}
			if diff := cmp.Diff(tt.calls, w.calls); diff != "" {
				t.Errorf("probe calls (-want +got):\n%s", diff)
			}
			if got.State == Ready {
				if got.Message != "" || got.NextAction != "" {
					t.Errorf("ready carries text: %+v", got)
				}
			} else if got.Message == "" || got.NextAction == "" {
				t.Errorf("%s lacks message or next action: %+v", got.State, got)
			}
		})
	}
}

func TestAuthSeesResolvedHost(t *testing.T) {
	w := readyWorld()
	Evaluate(context.Background(), all, w.probes())
	if w.authSawHost != w.host {
		t.Errorf("auth probe saw host %q, want %q", w.authSawHost, w.host)
	}
}

func TestProbeFailuresBecomeUnreachable(t *testing.T) {
	boom := func() { panic("boom") }
	tests := []struct {
		name   string
		mutate func(p *Probes)
	}{
		{"gate panics", func(p *Probes) { p.Gate = func() bool { boom(); return true } }},
		{"host panics", func(p *Probes) { p.Host = func(context.Context) (string, error) { boom(); return "", nil } }},
		{"auth panics", func(p *Probes) { p.Auth = func(context.Context, string) (bool, error) { boom(); return true, nil } }},
		{"auth errors", func(p *Probes) {
			p.Auth = func(context.Context, string) (bool, error) { return false, errors.New("keychain locked") }
		}},
		{"reach panics", func(p *Probes) { p.Reach = func(context.Context, string) error { boom(); return nil } }},
		{"binding panics", func(p *Probes) { p.Binding = func(context.Context) (bool, error) { boom(); return true, nil } }},
		{"binding errors", func(p *Probes) {
			p.Binding = func(context.Context) (bool, error) { return false, errors.New("yaml: line 3") }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := readyWorld().probes()
			tt.mutate(&p)
			got := Evaluate(context.Background(), all, p)
			if got.State != HostUnreachable {
				t.Fatalf("state = %s, want host_unreachable", got.State)
			}
			if got.Details["error"] == "" {
				t.Errorf("Details[error] is empty: %+v", got)
			}
		})
	}
}

func TestNilProbesFailClosed(t *testing.T) {
	if got := Evaluate(context.Background(), all, Probes{}); got.State != RolloutDisabled {
		t.Errorf("no probes: %s, want rollout_disabled", got.State)
	}
	p := Probes{Gate: func() bool { return true }}
	if got := Evaluate(context.Background(), all, p); got.State != MissingAuth {
		t.Errorf("only gate: %s, want missing_auth", got.State)
	}
}

func TestReachDeadline(t *testing.T) {
	p := readyWorld().probes()
	var deadline time.Duration
	p.Reach = func(ctx context.Context, _ string) error {
		d, _ := ctx.Deadline()
		deadline = time.Until(d)
		return nil
	}
	Evaluate(context.Background(), all, p)
	if deadline <= 0 || deadline > ProbeTimeout {
		t.Errorf("probe deadline %v, want within (0, %v]", deadline, ProbeTimeout)
	}
}

// TestWordingGolden pins every message byte for byte (CONTRACTS.md §4).
func TestWordingGolden(t *testing.T) {
	var b strings.Builder
	for _, s := range States[:len(States)-1] {
		w := readyWorld()
		w.host = "https://sync.example.com"
		switch s {
		case RolloutDisabled:
			w.gate = false
		case MissingAuth:
			w.auth = false
		case MissingHostConfig:
			w.host = ""
		case HostUnreachable:
			w.reachErr = errors.New("timeout")
		case MissingMissionBinding:
			w.binding = false
		}
		r := Evaluate(context.Background(), Options{RequireAuth: true, RequireHost: true, Probe: true, RequireBinding: true, Mission: "042-cli-sync"}, w.probes())
		if r.State != s {
			t.Fatalf("could not reach %s, got %s", s, r.State)
		}
		fmt.Fprintf(&b, "[%s]\n%s\n\n%s\n", r.State, r.Message, r.NextAction)
	}
	// A URL that is set but unusable keeps missing_host_config and says so.
	w := readyWorld()
	w.hostErr = errors.New("http://sync.example.com: https is required unless the host is loopback (from SPEC_KITTY_SAAS_URL)")
	r := Evaluate(context.Background(), all, w.probes())
	fmt.Fprintf(&b, "[%s, invalid URL]\n%s\n\n%s\n", r.State, r.Message, r.NextAction)
	golden := filepath.Join("testdata", "wording.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("wording differs from %s (-want +got):\n%s", golden, diff)
	}
}

func BenchmarkEvaluateLocal(b *testing.B) {
	p := readyWorld().probes()
	p.Gate = func() bool { return true }
	p.Host = func(context.Context) (string, error) { return "https://sync.example.com", nil }
	p.Auth = func(context.Context, string) (bool, error) { return true, nil }
	p.Binding = func(context.Context) (bool, error) { return true, nil }
	opts := Options{RequireAuth: true, RequireHost: true, RequireBinding: true, Mission: "m"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := Evaluate(ctx, opts, p); r.State != Ready {
			b.Fatal(r.State)
		}
	}
}
