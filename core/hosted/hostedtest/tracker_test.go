package hostedtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTrackerAccess(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	tests := []struct {
		name       string
		token      string
		hdr        []string
		path       string
		wantStatus int
		wantCode   string
	}{
		{"no token", "", []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/resources/?provider=linear", 401, "unauthorized"},
		{"no team", tok, nil, "/api/v1/tracker/resources/?provider=linear", 400, "missing_team"},
		{"foreign team", tok, []string{"X-Team-Slug", "team-other"}, "/api/v1/tracker/resources/?provider=linear", 403, "team_forbidden"},
		{"unknown provider", tok, []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/resources/?provider=trello", 400, "unknown_provider"},
		{"no provider", tok, []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/status/?binding_ref=x", 400, "unknown_provider"},
		{"unknown binding", tok, []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/status/?provider=linear&binding_ref=bind_nope", 404, "binding_not_found"},
		{"unknown binding mappings", tok, []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/mappings/?provider=linear&binding_ref=bind_nope", 404, "binding_not_found"},
		{"unknown operation", tok, []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/operations/op_nope/", 404, "operation_not_found"},
		{"unknown endpoint", tok, []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/nothing/", 404, "not_found"},
		{"no trailing slash", tok, []string{"X-Team-Slug", "team-dev"}, "/api/v1/tracker/status?provider=linear", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api(t, s, http.MethodGet, tt.path, tt.token, nil, tt.hdr...)
			if r.status != tt.wantStatus || r.errorCode(t) != tt.wantCode {
				t.Errorf("= %d %s, want %d %s", r.status, r.body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	r := tracker(t, s, http.MethodPost, "/api/v1/tracker/status/", tok, map[string]any{})
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
		t.Errorf("POST status = %d Allow=%q", r.status, r.header.Get("Allow"))
	}
	r = tracker(t, s, http.MethodPost, "/api/v1/tracker/bind-resolve/", tok, nil)
	if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_request" {
		t.Errorf("bind-resolve without body = %d %s", r.status, r.body)
	}
}

func TestTrackerResourcesAndResolve(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken

	var res struct{ Resources []resourceOut }
	tracker(t, s, http.MethodGet, "/api/v1/tracker/resources/?provider=linear", tok, nil).json(t, &res)
	want := []resourceOut{
		{CandidateToken: "cand_linear_sk", DisplayLabel: "Spec Kitty (SK)", Provider: "linear",
			ProviderContext: map[string]string{"workspace": "spec-kitty"}, BindingRef: SeededBindingRef, BoundProjectSlug: "spec-kitty"},
		{CandidateToken: "cand_linear_platform", DisplayLabel: "Platform (PLAT)", Provider: "linear",
			ProviderContext: map[string]string{"workspace": "spec-kitty"}},
	}
	if diff := cmp.Diff(want, res.Resources); diff != "" {
		t.Errorf("linear resources (-want +got):\n%s", diff)
	}
	r := tracker(t, s, http.MethodGet, "/api/v1/tracker/resources/?provider=gitlab", tok, nil)
	if string(r.body) != `{"resources":[]}` {
		t.Errorf("gitlab resources = %s", r.body)
	}

	tests := []struct {
		provider, slug, uuid string
		wantMatch            string
		wantRef              string
		wantCandidates       []string
	}{
		{"linear", "spec-kitty", "", "exact", SeededBindingRef, nil},
		{"linear", "other-project", "", "candidates", "", []string{"cand_linear_platform"}},
		{"jira", "spec-kitty", "", "candidates", "", []string{"cand_jira_sk", "cand_jira_ops"}},
		{"github", "spec-kitty", "", "candidates", "", []string{"cand_github_sync"}},
		{"gitlab", "spec-kitty", "", "none", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.slug, func(t *testing.T) {
			var got resolveResponse
			r := tracker(t, s, http.MethodPost, "/api/v1/tracker/bind-resolve/", tok,
				map[string]string{"provider": tt.provider, "project_slug": tt.slug, "project_uuid": tt.uuid})
			r.json(t, &got)
			var cands []string
			for _, c := range got.Candidates {
				cands = append(cands, c.CandidateToken)
			}
			if got.MatchType != tt.wantMatch || got.BindingRef != tt.wantRef || !cmp.Equal(cands, tt.wantCandidates) {
				t.Errorf("resolve = %s", r.body)
			}
		})
	}
}

func TestTrackerBindConfirm(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	body := map[string]string{"provider": "jira", "candidate_token": "cand_jira_ops", "project_slug": "ops", "project_uuid": "uuid-ops"}
	confirm := func(key string, v any) resp {
		return tracker(t, s, http.MethodPost, "/api/v1/tracker/bind-confirm/", tok, v, "Idempotency-Key", key)
	}

	if r := tracker(t, s, http.MethodPost, "/api/v1/tracker/bind-confirm/", tok, body); r.status != 400 || r.errorCode(t) != "missing_idempotency_key" {
		t.Errorf("without Idempotency-Key = %d %s", r.status, r.body)
	}
	first := confirm("k1", body)
	if first.status != http.StatusOK {
		t.Fatalf("confirm = %d %s", first.status, first.body)
	}
	var b bindConfirmResponse
	first.json(t, &b)
	if !strings.HasPrefix(b.BindingRef, "bind_") || b.DisplayLabel != "Operations (OPS)" || b.Provider != "jira" {
		t.Errorf("confirm = %s", first.body)
	}
	again := confirm("k1", body)
	if again.status != first.status || string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %d %s, want the first answer", again.status, again.body)
	}
	if n := s.OperationRuns("bind-confirm"); n != 1 {
		t.Errorf("bind-confirm ran %d times, want 1", n)
	}
	changed := map[string]string{"provider": "jira", "candidate_token": "cand_jira_sk", "project_slug": "ops"}
	if r := confirm("k1", changed); r.status != http.StatusUnprocessableEntity || r.errorCode(t) != "idempotency_key_reused" {
		t.Errorf("same key, other body = %d %s", r.status, r.body)
	}
	other := map[string]string{"provider": "jira", "candidate_token": "cand_jira_ops", "project_slug": "someone-else"}
	if r := confirm("k2", other); r.status != http.StatusConflict || r.errorCode(t) != "resource_already_bound" {
		t.Errorf("binding a bound resource to another project = %d %s", r.status, r.body)
	}
	if r := confirm("k3", map[string]string{"provider": "jira", "candidate_token": "cand_nope", "project_slug": "ops"}); r.status != 404 || r.errorCode(t) != "candidate_not_found" {
		t.Errorf("unknown candidate = %d %s", r.status, r.body)
	}

	var res resolveResponse
	tracker(t, s, http.MethodPost, "/api/v1/tracker/bind-resolve/", tok, map[string]string{"provider": "jira", "project_slug": "renamed", "project_uuid": "uuid-ops"}).json(t, &res)
	if res.MatchType != "exact" || res.BindingRef != b.BindingRef {
		t.Errorf("resolve by uuid after confirm = %+v", res)
	}

	var v validateResponse
	tracker(t, s, http.MethodPost, "/api/v1/tracker/bind-validate/", tok, map[string]string{"provider": "jira", "binding_ref": b.BindingRef}).json(t, &v)
	if !v.Valid || v.DisplayLabel != "Operations (OPS)" {
		t.Errorf("validate = %+v", v)
	}
	if !s.RevokeBinding(b.BindingRef) {
		t.Fatal("RevokeBinding found nothing")
	}
	v = validateResponse{}
	tracker(t, s, http.MethodPost, "/api/v1/tracker/bind-validate/", tok, map[string]string{"provider": "jira", "binding_ref": b.BindingRef}).json(t, &v)
	if v.Valid || !strings.HasPrefix(v.Reason, "binding_not_found") {
		t.Errorf("validate after revoke = %+v", v)
	}
	if r := tracker(t, s, http.MethodGet, "/api/v1/tracker/status/?provider=jira&binding_ref="+b.BindingRef, tok, nil); r.status != 404 {
		t.Errorf("status after revoke = %d", r.status)
	}
}

func TestTrackerStatusAndMappings(t *testing.T) {
	s := NewTest(t, Options{})
	tok := login(t, s, DefaultUser.ID).AccessToken
	var st statusResponse
	tracker(t, s, http.MethodGet, "/api/v1/tracker/status/?provider=linear&binding_ref="+SeededBindingRef, tok, nil).json(t, &st)
	want := statusResponse{Configured: true, SyncState: "idle", Provider: "linear", BindingRef: SeededBindingRef, DisplayLabel: "Spec Kitty (SK)", MappedItems: 1,
		IdentityPath: &identityPath{Type: "saas", Provider: "linear"}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	m := map[string]string{"provider": "linear", "binding_ref": SeededBindingRef, "wp_id": "WP02", "external_id": "lin_SK_2", "external_key": "SK-2", "external_url": "https://linear.app/spec-kitty/issue/SK-2"}
	r := tracker(t, s, http.MethodPost, "/api/v1/tracker/mappings/", tok, m)
	if r.status != http.StatusCreated {
		t.Fatalf("add mapping = %d %s", r.status, r.body)
	}
	m["external_key"] = "SK-2b"
	if r := tracker(t, s, http.MethodPost, "/api/v1/tracker/mappings/", tok, m); r.status != http.StatusOK {
		t.Errorf("replace mapping = %d %s", r.status, r.body)
	}
	conflict := map[string]string{"provider": "linear", "binding_ref": SeededBindingRef, "wp_id": "WP09", "external_id": "lin_SK_2"}
	if r := tracker(t, s, http.MethodPost, "/api/v1/tracker/mappings/", tok, conflict); r.status != http.StatusConflict {
		t.Errorf("mapping an already mapped item = %d %s", r.status, r.body)
	}
	if r := tracker(t, s, http.MethodPost, "/api/v1/tracker/mappings/", tok, map[string]string{"provider": "linear", "binding_ref": SeededBindingRef, "external_id": "x"}); r.status != 400 {
		t.Errorf("mapping without wp_id = %d", r.status)
	}
	var got struct{ Mappings []Mapping }
	tracker(t, s, http.MethodGet, "/api/v1/tracker/mappings/?provider=linear&binding_ref="+SeededBindingRef, tok, nil).json(t, &got)
	wantM := []Mapping{
		{WPID: "WP01", ExternalID: "lin_SK_1", ExternalKey: "SK-1", ExternalURL: "https://linear.app/spec-kitty/issue/SK-1"},
		{WPID: "WP02", ExternalID: "lin_SK_2", ExternalKey: "SK-2b", ExternalURL: "https://linear.app/spec-kitty/issue/SK-2"},
	}
	if diff := cmp.Diff(wantM, got.Mappings); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	if ms, ok := s.Mappings("team-dev", "linear", SeededBindingRef); !ok || !cmp.Equal(ms, wantM) {
		t.Errorf("Mappings() = %v, %v", ms, ok)
	}
}

func TestTrackerOperations(t *testing.T) {
	clk := newClock()
	s := NewTest(t, Options{Now: clk.Now})
	tok := login(t, s, DefaultUser.ID).AccessToken
	// Work packages WP01 (mapped to SK-1) and WP05 (unmapped) appear in the
	// project's events; WP07 belongs to another project.
	postEvents(t, s, tok,
		envelope("o1", SeededProjectSlug, "WP01", "in_progress"),
		envelope("o2", SeededProjectSlug, "WP05", "claimed"),
		envelope("o3", "elsewhere", "WP07", "done"))

	op := func(kind, key string, extra map[string]any) resp {
		body := map[string]any{"provider": "linear", "binding_ref": SeededBindingRef, "project_slug": SeededProjectSlug}
		for k, v := range extra {
			body[k] = v
		}
		return tracker(t, s, http.MethodPost, "/api/v1/tracker/"+kind+"/", tok, body, "Idempotency-Key", key)
	}
	summary := func(t *testing.T, r resp) Summary {
		t.Helper()
		var o operationResponse
		r.json(t, &o)
		if r.status != http.StatusOK || o.Status != "completed" || o.Summary == nil {
			t.Fatalf("operation = %d %s", r.status, r.body)
		}
		return *o.Summary
	}

	if got := summary(t, op("pull", "p1", nil)); got != (Summary{Pulled: 3, Updated: 1, Skipped: 2}) {
		t.Errorf("pull = %+v", got)
	}
	if got := summary(t, op("pull", "p2", map[string]any{"limit": 2})); got != (Summary{Pulled: 2, Updated: 1, Skipped: 1}) {
		t.Errorf("pull limit 2 = %+v", got)
	}
	first := op("push", "push-1", nil)
	if got := summary(t, first); got != (Summary{Pushed: 2, Updated: 1, Created: 1}) {
		t.Errorf("push = %+v", got)
	}
	replay := op("push", "push-1", nil)
	if string(replay.body) != string(first.body) || s.OperationRuns("push") != 1 {
		t.Errorf("push replay = %s (runs %d), want the first answer and one run", replay.body, s.OperationRuns("push"))
	}
	// WP05 is now mapped to a new remote item, so a second push only updates.
	if got := summary(t, op("push", "push-2", nil)); got != (Summary{Pushed: 2, Updated: 2}) {
		t.Errorf("second push = %+v", got)
	}
	if got := summary(t, op("run", "run-1", nil)); got != (Summary{Pushed: 2, Updated: 2 + 2, Pulled: 4, Skipped: 2}) {
		t.Errorf("run = %+v", got)
	}
	if got := summary(t, op("publish", "pub-1", nil)); got != (Summary{Pushed: 2, Updated: 2}) {
		t.Errorf("publish = %+v", got)
	}
	if r := op("pull", "bad-limit", map[string]any{"limit": 0}); r.status != 400 {
		t.Errorf("limit 0 = %d", r.status)
	}
	if r := tracker(t, s, http.MethodPost, "/api/v1/tracker/pull/", tok, map[string]string{"provider": "linear", "binding_ref": "bind_nope"}, "Idempotency-Key", "nf"); r.status != 404 || r.errorCode(t) != "binding_not_found" {
		t.Errorf("pull unknown binding = %d %s", r.status, r.body)
	}
	var st statusResponse
	tracker(t, s, http.MethodGet, "/api/v1/tracker/status/?provider=linear&binding_ref="+SeededBindingRef, tok, nil).json(t, &st)
	if st.MappedItems != 2 || st.LastSyncAt != clk.Now().Format(time.RFC3339) || st.SyncState != "idle" {
		t.Errorf("status after operations = %+v", st)
	}

	s.SetOperationFailure("linear is rate limiting")
	var o operationResponse
	op("pull", "fail-1", nil).json(t, &o)
	if o.Status != "failed" || o.Error != "linear is rate limiting" {
		t.Errorf("failing pull = %+v", o)
	}
	tracker(t, s, http.MethodGet, "/api/v1/tracker/status/?provider=linear&binding_ref="+SeededBindingRef, tok, nil).json(t, &st)
	if st.SyncState != "error" {
		t.Errorf("sync_state after failure = %q", st.SyncState)
	}
}

func TestTrackerAsync(t *testing.T) {
	second := User{ID: "u_2", Email: "b@example.test", Name: "B", Teams: []Team{{ID: "team-b", Name: "B", Role: "owner"}}}
	s := NewTest(t, Options{OperationSteps: 3, Users: []User{second}})
	tok := login(t, s, DefaultUser.ID).AccessToken
	s.SetAsync(true)
	body := map[string]any{"provider": "linear", "binding_ref": SeededBindingRef}
	start := func(key string) string {
		r := tracker(t, s, http.MethodPost, "/api/v1/tracker/pull/", tok, body, "Idempotency-Key", key)
		var a struct {
			OperationID string `json:"operation_id"`
		}
		r.json(t, &a)
		if r.status != http.StatusAccepted || !strings.HasPrefix(a.OperationID, "op_") {
			t.Fatalf("async pull = %d %s", r.status, r.body)
		}
		return a.OperationID
	}
	id := start("a1")
	if again := start("a1"); again != id || s.OperationRuns("pull") != 1 {
		t.Errorf("replayed async pull = %s (runs %d), want %s and one run", again, s.OperationRuns("pull"), id)
	}
	syncState := func() string {
		var st statusResponse
		tracker(t, s, http.MethodGet, "/api/v1/tracker/status/?provider=linear&binding_ref="+SeededBindingRef, tok, nil).json(t, &st)
		return st.SyncState
	}
	if got := syncState(); got != "running" {
		t.Errorf("sync_state during operation = %q", got)
	}
	var states []string
	var last operationResponse
	for range 5 {
		last = operationResponse{}
		tracker(t, s, http.MethodGet, "/api/v1/tracker/operations/"+id+"/", tok, nil).json(t, &last)
		states = append(states, last.Status)
	}
	if diff := cmp.Diff([]string{"pending", "running", "running", "completed", "completed"}, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if last.Summary == nil || *last.Summary != (Summary{Pulled: 3, Updated: 1, Skipped: 2}) || last.OperationID != id {
		t.Errorf("completed operation = %+v", last)
	}
	if got := syncState(); got != "idle" {
		t.Errorf("sync_state after operation = %q", got)
	}

	// Another team does not see the operation.
	tokB := login(t, s, "u_2").AccessToken
	if r := api(t, s, http.MethodGet, "/api/v1/tracker/operations/"+id+"/", tokB, nil, "X-Team-Slug", "team-b"); r.status != 404 {
		t.Errorf("operation from another team = %d", r.status)
	}

	s.SetOperationFailure("provider down")
	failID := start("a2")
	for range 4 {
		last = operationResponse{}
		tracker(t, s, http.MethodGet, "/api/v1/tracker/operations/"+failID+"/", tok, nil).json(t, &last)
	}
	if last.Status != "failed" || last.Error != "provider down" {
		t.Errorf("failed operation = %+v", last)
	}
	if got := syncState(); got != "error" {
		t.Errorf("sync_state after failed operation = %q", got)
	}
}

// TestTrackerPythonClient (issue 16 item 3): the dev host accepts the
// requests the Python CLI's tracker client makes
// (src/specify_cli/tracker/saas_client.py): pull without an
// Idempotency-Key, answered at once even in async mode because that client
// never polls a pull; and its status answer carries every field the Python
// CLI reads (configured, provider, identity_path.type, sync_state,
// binding_ref).
func TestTrackerPythonClient(t *testing.T) {
	s := NewTest(t, Options{OperationSteps: 3})
	tok := login(t, s, DefaultUser.ID).AccessToken
	s.SetAsync(true)
	pull := map[string]any{"provider": "linear", "binding_ref": SeededBindingRef, "limit": 100}
	for range 2 { // not replayed: each pull runs
		r := tracker(t, s, http.MethodPost, "/api/v1/tracker/pull/", tok, pull)
		var o operationResponse
		r.json(t, &o)
		if r.status != http.StatusOK || o.Status != "completed" || o.Summary == nil {
			t.Fatalf("pull without Idempotency-Key = %d %s", r.status, r.body)
		}
	}
	if n := s.OperationRuns("pull"); n != 2 {
		t.Errorf("pull runs = %d, want 2", n)
	}
	// push and run still require the key the Python client always sends.
	if r := tracker(t, s, http.MethodPost, "/api/v1/tracker/run/", tok, pull); r.status != 400 || r.errorCode(t) != "missing_idempotency_key" {
		t.Errorf("run without Idempotency-Key = %d %s", r.status, r.body)
	}

	r := tracker(t, s, http.MethodGet, "/api/v1/tracker/status/?provider=linear&binding_ref="+SeededBindingRef, tok, nil)
	var st map[string]any
	r.json(t, &st)
	ip, _ := st["identity_path"].(map[string]any)
	if st["configured"] != true || st["provider"] != "linear" || st["sync_state"] == nil || st["binding_ref"] != SeededBindingRef ||
		ip["type"] != "saas" || ip["provider"] != "linear" {
		t.Errorf("status = %s, want configured, provider, identity_path {type, provider}, sync_state, binding_ref", r.body)
	}
}
