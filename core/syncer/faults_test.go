package syncer

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/auth"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// faultTimeout bounds one upload attempt, so a hung request costs a test
// well under a second instead of the client's default 30 s.
const faultTimeout = 400 * time.Millisecond

// refreshable signs in again with a real stored session (core/auth over the
// auth.json fallback) and makes the engine upload with it, so a 401 is
// answered by a real refresh-token grant and a retry.
func (r *rig) refreshable(t *testing.T) {
	t.Helper()
	tok, err := r.srv.SignIn(hostedtest.DefaultUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	host, err := hosted.ParseHost(r.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(paths.Home{Dir: filepath.Join(t.TempDir(), "authhome")}, nil, nil)
	login := &auth.Login{Client: hosted.New(host, nil), Store: store}
	if _, err := login.WithToken(context.Background(), bytes.NewReader(tok)); err != nil {
		t.Fatal(err)
	}
	client, _ := auth.NewClient(host, store)
	client.Timeout = faultTimeout
	r.eng.Connect = func(context.Context) (Conn, error) { return Conn{Client: client, Team: "team-dev"}, nil }
}

// static makes the engine upload with a token that cannot be refreshed.
func (r *rig) static(t *testing.T) {
	t.Helper()
	conn, err := r.eng.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn.Client.Timeout = faultTimeout
}

// allSwitches turns every fault switch of hostedtest on at once, except
// Hang (every request hangs, so nothing could ever be delivered: see
// TestAbandonedBatchReturnsToQueue).
var allSwitches = hostedtest.Faults{
	Latency:           2 * time.Millisecond,
	ErrorFraction:     0.2,
	TooManyRequests:   2,
	RetryAfter:        1,
	ResetFraction:     0.1,
	ResetNext:         2,
	HangNext:          1,
	UnauthorizedNext:  2,
	HTMLNext:          1,
	TruncatedJSONNext: 1,
	RedirectNext:      1,
	RedirectTo:        "http://127.0.0.3:9",
	ProbeFaults:       true, // HEAD / only; the uploader never probes
	Seed:              11,
}

// TestAllSwitchesCovered keeps allSwitches complete: a switch added to
// hostedtest.Faults later must be added to the no-loss test too.
func TestAllSwitchesCovered(t *testing.T) {
	v := reflect.ValueOf(allSwitches)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Hang" {
			continue
		}
		if v.Field(i).IsZero() {
			t.Errorf("hostedtest.Faults.%s is not switched on in allSwitches", name)
		}
	}
}

// TestNoLossUnderEveryFaultSwitch complements TestNoLossUnderFaults with the
// switches it does not cover (hung requests, counted resets, 401s with and
// without a refreshable session) and with every switch on at once. Each
// case ends with the host holding exactly the written ids and nothing
// queued, leased or dead-lettered.
func TestNoLossUnderEveryFaultSwitch(t *testing.T) {
	missions := someMissions(t, 20)
	cases := []struct {
		name string
		f    hostedtest.Faults
		// refresh: upload with a real session that can be refreshed.
		refresh bool
		// authMissing: the first cycle must surface AuthMissing.
		authMissing bool
		// refreshes: at least this many refresh grants must have happened.
		refreshes int
		// oneBatch: few enough events for one batch, so one request is in
		// flight at a time and the 401s hit the requests in a known order
		// (with UploadWorkers batches at once, two first requests can both
		// take a 401 and share one refresh).
		oneBatch bool
	}{
		{name: "hang_next", f: hostedtest.Faults{HangNext: 2}},
		{name: "reset_next", f: hostedtest.Faults{ResetNext: 3}},
		{name: "too_many_requests long retry-after", f: hostedtest.Faults{TooManyRequests: 1, RetryAfter: 2}},
		{name: "unauthorized_next refreshed", f: hostedtest.Faults{UnauthorizedNext: 1}, refresh: true, refreshes: 1},
		// Two 401s in a row: the retry after the refresh is refused too, so
		// the cycle stops with AuthMissing; the next one refreshes again.
		{name: "unauthorized_next twice refreshed", f: hostedtest.Faults{UnauthorizedNext: 3}, refresh: true, authMissing: true, refreshes: 2, oneBatch: true},
		{name: "unauthorized_next static token", f: hostedtest.Faults{UnauthorizedNext: 1}, authMissing: true},
		{name: "every switch at once", f: allSwitches, refresh: true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			ms := missions
			if tt.oneBatch {
				ms = missions[:1]
			}
			r := newRig(t, ms...)
			if tt.refresh {
				r.refreshable(t)
			} else {
				r.static(t)
			}
			want := syncedIDs(t, r.repo)
			if tt.oneBatch && len(want) > BatchEvents {
				t.Fatalf("%d events do not fit in one batch of %d", len(want), BatchEvents)
			}
			if err := r.srv.SetFaults(tt.f); err != nil {
				t.Fatal(err)
			}
			first, _ := r.eng.Cycle(context.Background())
			if first.AuthMissing != tt.authMissing {
				t.Errorf("first cycle AuthMissing = %v, want %v (%+v)", first.AuthMissing, tt.authMissing, first)
			}
			r.clock.Advance(10 * time.Minute)
			total := r.drain(t, 40)
			if diff := r.srv.DiffEventIDs(want); diff != "" {
				t.Fatalf("after faults: %s", diff)
			}
			if n := r.srv.EventCount(); n != len(want) {
				t.Errorf("host holds %d events, want %d", n, len(want))
			}
			st, err := r.q.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Depth != 0 || st.Leased != 0 || st.DeadLetters != 0 || total.DeadLettered != 0 {
				t.Errorf("queue after faults: %+v (dead-lettered %d); want empty", st, total.DeadLettered)
			}
			if got := r.srv.RefreshCount(); got < tt.refreshes {
				t.Errorf("%d refresh grants, want at least %d", got, tt.refreshes)
			}
			// Every "next" switch was actually used up: the case tested what
			// it says.
			left := r.srv.CurrentFaults()
			if left.HangNext+left.ResetNext+left.TooManyRequests+left.UnauthorizedNext+left.HTMLNext+left.TruncatedJSONNext+left.RedirectNext != 0 {
				t.Errorf("faults not all triggered: %+v", left)
			}
		})
	}
}
