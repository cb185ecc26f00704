package hosted

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

func TestMeAndLogout(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	me, err := e.c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := hostedtest.DefaultUser
	want := Me{UserID: u.ID, Email: u.Email, Name: u.Name, DefaultTeamID: u.DefaultTeamID,
		Teams: []Team{{ID: u.Teams[0].ID, Name: u.Teams[0].Name, Role: u.Teams[0].Role}}}
	if diff := cmp.Diff(want, me); diff != "" {
		t.Errorf("me (-want +got):\n%s", diff)
	}
	if err := e.c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.ActiveSessionCount(); n != 0 {
		t.Errorf("ActiveSessionCount = %d after logout", n)
	}
	// Already gone: the 401 and the refused refresh count as success.
	if err := e.c.Logout(ctx); err != nil {
		t.Fatalf("second logout: %v", err)
	}
	if e.toks.refreshes != 1 || e.srv.RefreshCount() != 0 {
		t.Errorf("refresh attempts %d, spent %d", e.toks.refreshes, e.srv.RefreshCount())
	}
	_, err = e.c.Me(ctx)
	if KindOf(err) != KindAuthExpired {
		t.Fatalf("me after logout: %v", err)
	}
	assertNoSecret(t, err.Error(), e.secrets()...)
}

// TestLogoutExpiredToken: an expired access token is refreshed so the live
// session is really revoked.
func TestLogoutExpiredToken(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	e.srv.ExpireAccessTokens()
	if err := e.c.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.srv.RefreshCount() != 1 || e.srv.ActiveSessionCount() != 0 {
		t.Fatalf("refreshes %d, active sessions %d", e.srv.RefreshCount(), e.srv.ActiveSessionCount())
	}
}

func envelope(id string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"event_id": id, "event_type": "WPStatusChanged", "aggregate_id": "m/WP01", "aggregate_type": "WorkPackage",
		"schema_version": "3.0.0", "build_id": "b-1", "payload": map[string]any{"event_id": id, "wp_id": "WP01", "to_lane": "done"},
		"node_id": "n1", "lamport_clock": 1, "timestamp": "2026-03-01T12:00:00Z",
		"project_uuid": "p-uuid", "project_slug": "spec-kitty", "team_slug": "team-dev",
	})
	return b
}

func TestPostEvents(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	e.srv.RejectEvent("ev3", "schema not supported")
	res, err := e.c.PostEvents(ctx, []json.RawMessage{envelope("ev1"), envelope("ev2"), envelope("ev3")})
	if err != nil {
		t.Fatal(err)
	}
	want := []EventResult{{"ev1", EventSuccess, ""}, {"ev2", EventSuccess, ""}, {"ev3", EventRejected, "schema not supported"}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	res, err = e.c.PostEvents(ctx, []json.RawMessage{envelope("ev2"), envelope("ev4")})
	if err != nil {
		t.Fatal(err)
	}
	want = []EventResult{{"ev2", EventDuplicate, ""}, {"ev4", EventSuccess, ""}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ev1", "ev2", "ev4"}, e.srv.EventIDs()); diff != "" {
		t.Errorf("server ids: %s", diff)
	}
}

func TestPostEventsLimits(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	many := make([]json.RawMessage, MaxBatchEvents+1)
	for i := range many {
		many[i] = envelope(fmt.Sprintf("e%d", i))
	}
	_, err := e.c.PostEvents(ctx, many)
	if !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("1001 events: %v", err)
	}
	if _, err := e.c.PostEvents(ctx, many[:MaxBatchEvents]); err != nil {
		t.Fatalf("1000 events: %v", err)
	}
	// Incompressible payloads over 4 MiB compressed.
	big := make([]json.RawMessage, 3)
	for i := range big {
		noise := make([]byte, 1<<20+512<<10)
		_, _ = rand.Read(noise)
		b, _ := json.Marshal(map[string]any{"event_id": fmt.Sprintf("big%d", i), "payload": map[string]any{"blob": noise}})
		big[i] = b
	}
	_, err = e.c.PostEvents(ctx, big)
	if !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("oversize batch: %v", err)
	}
	if _, err := e.c.PostEvents(ctx, nil); KindOf(err) != KindConfig {
		t.Fatalf("empty batch: %v", err)
	}
	if _, err := e.c.PostEvents(ctx, []json.RawMessage{json.RawMessage(`{"event_id":`)}); KindOf(err) != KindConfig {
		t.Fatalf("invalid envelope: %v", err)
	}
	if n := e.srv.RequestCount("/api/v1/events/batch/"); n != 1 {
		t.Errorf("refused batches reached the server: %d requests", n)
	}
}

func TestTracker(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	res, err := e.c.TrackerResources(ctx, "linear")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].BindingRef != hostedtest.SeededBindingRef || res[0].ProviderContext["workspace"] != "spec-kitty" {
		t.Fatalf("resources = %+v", res)
	}
	_, err = e.c.TrackerResources(ctx, "trello")
	if he := asError(t, err); he.Status != 400 || he.Code != CodeUnknownProvider || he.Kind != KindPermanent {
		t.Fatalf("unknown provider: %+v", he)
	}

	r, err := e.c.BindResolve(ctx, BindResolveRequest{Provider: "linear", ProjectSlug: hostedtest.SeededProjectSlug})
	if err != nil || r.MatchType != MatchExact || r.BindingRef != hostedtest.SeededBindingRef {
		t.Fatalf("resolve exact = %+v, %v", r, err)
	}
	r, err = e.c.BindResolve(ctx, BindResolveRequest{Provider: "jira", ProjectSlug: "other"})
	if err != nil || r.MatchType != MatchCandidates || len(r.Candidates) != 2 {
		t.Fatalf("resolve candidates = %+v, %v", r, err)
	}
	r, err = e.c.BindResolve(ctx, BindResolveRequest{Provider: "gitlab", ProjectSlug: "other"})
	if err != nil || r.MatchType != MatchNone {
		t.Fatalf("resolve none = %+v, %v", r, err)
	}

	req := BindConfirmRequest{Provider: "jira", CandidateToken: "cand_jira_ops", ProjectSlug: "ops", ProjectUUID: "u-ops"}
	b1, err := e.c.BindConfirm(ctx, "key-1", req)
	if err != nil || b1.BindingRef == "" {
		t.Fatalf("confirm = %+v, %v", b1, err)
	}
	b2, err := e.c.BindConfirm(ctx, "key-1", req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b1, b2); diff != "" {
		t.Errorf("same key, different answer: %s", diff)
	}

	v, err := e.c.BindValidate(ctx, "jira", b1.BindingRef)
	if err != nil || !v.Valid {
		t.Fatalf("validate = %+v, %v", v, err)
	}
	v, err = e.c.BindValidate(ctx, "jira", "bind_nope")
	if err != nil && CodeOf(err) != CodeBindingNotFound {
		t.Fatalf("validate unknown: %v", err)
	}
	if err == nil && v.Valid {
		t.Fatalf("unknown binding validated: %+v", v)
	}

	st, err := e.c.TrackerStatus(ctx, "linear", hostedtest.SeededBindingRef)
	if err != nil || !st.Configured || st.SyncState != "idle" || st.MappedItems != 1 || len(st.Raw) == 0 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	_, err = e.c.TrackerStatus(ctx, "linear", "bind_nope")
	if he := asError(t, err); he.Status != 404 || he.Code != CodeBindingNotFound {
		t.Fatalf("status unknown: %+v", he)
	}

	maps, err := e.c.Mappings(ctx, "linear", hostedtest.SeededBindingRef)
	if err != nil || len(maps) != 1 || maps[0].WPID != "WP01" {
		t.Fatalf("mappings = %+v, %v", maps, err)
	}
	m := Mapping{WPID: "WP02", ExternalID: "ext-2", ExternalKey: "SK-2", ExternalURL: "https://linear.example/SK-2"}
	got, err := e.c.AddMapping(ctx, AddMappingRequest{Provider: "linear", BindingRef: hostedtest.SeededBindingRef, Mapping: m})
	if err != nil || got.WPID != "WP02" || got.ExternalID != "ext-2" {
		t.Fatalf("add mapping = %+v, %v", got, err)
	}
	maps, err = e.c.Mappings(ctx, "linear", hostedtest.SeededBindingRef)
	if err != nil || len(maps) != 2 {
		t.Fatalf("mappings after add = %+v, %v", maps, err)
	}
}

func TestTrackerSync(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	req := SyncRequest{Provider: "linear", BindingRef: hostedtest.SeededBindingRef, ProjectSlug: hostedtest.SeededProjectSlug}
	for _, op := range []SyncOp{SyncPull, SyncPush, SyncRun, SyncPublish} {
		t.Run(string(op), func(t *testing.T) {
			r1, err := e.c.StartSync(ctx, op, "k-"+string(op), req)
			if err != nil {
				t.Fatal(err)
			}
			if r1.Accepted() || r1.Status != OpCompleted || r1.Operation != op {
				t.Fatalf("result = %+v", r1)
			}
			r2, err := e.c.StartSync(ctx, op, "k-"+string(op), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r1, r2); diff != "" {
				t.Errorf("same key, different answer: %s", diff)
			}
			if n := e.srv.OperationRuns(string(op)); n != 1 {
				t.Errorf("%s ran %d times for one key", op, n)
			}
		})
	}
	e.srv.SetAsync(true)
	r, err := e.c.StartSync(ctx, SyncPull, "", req)
	if err != nil || !r.Accepted() {
		t.Fatalf("async = %+v, %v", r, err)
	}
	st, err := e.c.Operation(ctx, r.OperationID)
	if err != nil || st.Status != OpPending {
		t.Fatalf("first poll = %+v, %v", st, err)
	}
	st, err = e.c.WaitOperation(ctx, r.OperationID, 0)
	if err != nil || st.Status != OpCompleted || st.OperationID != r.OperationID {
		t.Fatalf("wait = %+v, %v", st, err)
	}
	if _, err := e.c.StartSync(ctx, "frob", "", req); KindOf(err) != KindConfig {
		t.Errorf("unknown op: %v", err)
	}
	_, err = e.c.StartSync(ctx, SyncPull, "", SyncRequest{Provider: "linear", BindingRef: "bind_gone", ProjectSlug: "x"})
	if CodeOf(err) != CodeBindingNotFound {
		t.Errorf("stale binding: %v", err)
	}
}

func TestTeamHeader(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx := context.Background()
	e.toks.team = ""
	_, err := e.c.TrackerResources(ctx, "linear")
	if KindOf(err) != KindConfig {
		t.Fatalf("no team: %v", err)
	}
	if n := e.srv.RequestCount("/api/v1/tracker/resources/"); n != 0 {
		t.Errorf("request without a team was sent")
	}
	e.c.Team = "team-other"
	_, err = e.c.TrackerResources(ctx, "linear")
	if he := asError(t, err); he.Status != http.StatusForbidden {
		t.Fatalf("foreign team: %+v", he)
	}
	e.c.Team = ""
	e.toks.team = hostedtest.DefaultUser.DefaultTeamID
	if _, err := e.c.TrackerResources(ctx, "linear"); err != nil {
		t.Fatal(err)
	}
}

// TestBearerOnlyToIssuingHost: credentials of another host are never sent.
func TestBearerOnlyToIssuingHost(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	e.toks.host = Host{URL: "https://other.example.com"}
	_, err := e.c.Me(context.Background())
	he := asError(t, err)
	if he.Kind != KindAuthExpired || he.Status != 0 {
		t.Fatalf("err = %+v", he)
	}
	if n := e.srv.RequestCount("/api/v1/me"); n != 0 {
		t.Errorf("the request was sent (%d)", n)
	}
	if c := New(e.host, nil); true {
		if _, err := c.Me(context.Background()); KindOf(err) != KindAuthExpired {
			t.Errorf("no token source: %v", err)
		}
	}
}
