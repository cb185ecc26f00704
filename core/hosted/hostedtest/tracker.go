package hostedtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Providers are the tracker providers the server knows.
var Providers = []string{"linear", "jira", "github", "gitlab"}

// SeededBindingRef is the binding every team starts with: linear resource
// "Spec Kitty (SK)" bound to project slug SeededProjectSlug, with remote
// issues SK-1..SK-3 and WP01 mapped to SK-1.
const (
	SeededBindingRef  = "bind_linear_sk"
	SeededProjectSlug = "spec-kitty"
)

// The tracker seed of every team, chosen so bind-resolve can answer each
// match type:
//
//	linear  cand_linear_sk (bound to "spec-kitty": exact), cand_linear_platform (unbound)
//	        -> "spec-kitty" is exact, any other slug gets one candidate
//	jira    cand_jira_sk, cand_jira_ops (both unbound) -> two candidates
//	github  cand_github_sync (unbound) -> one candidate
//	gitlab  nothing -> none
func seedResources() map[string][]*resource {
	sk := &resource{
		candidateToken: "cand_linear_sk", label: "Spec Kitty (SK)", provider: "linear",
		workspace: "spec-kitty", keyPrefix: "SK",
		bindingRef: SeededBindingRef, projectSlug: SeededProjectSlug, syncState: "idle",
	}
	for i := 1; i <= 3; i++ {
		sk.addRemote()
	}
	sk.mappings = []Mapping{{WPID: "WP01", ExternalID: sk.remote[0].id, ExternalKey: sk.remote[0].key, ExternalURL: sk.remote[0].url}}
	return map[string][]*resource{
		"linear": {
			sk,
			{candidateToken: "cand_linear_platform", label: "Platform (PLAT)", provider: "linear", workspace: "spec-kitty", keyPrefix: "PLAT"},
		},
		"jira": {
			{candidateToken: "cand_jira_sk", label: "Spec Kitty (SK)", provider: "jira", workspace: "spec-kitty.atlassian.net", keyPrefix: "SK"},
			{candidateToken: "cand_jira_ops", label: "Operations (OPS)", provider: "jira", workspace: "spec-kitty.atlassian.net", keyPrefix: "OPS"},
		},
		"github": {
			{candidateToken: "cand_github_sync", label: "spec-kitty/spec-kitty-sync", provider: "github", workspace: "spec-kitty", keyPrefix: "#"},
		},
		"gitlab": nil,
	}
}

// Mapping links a work package to an item in the tracker.
type Mapping struct {
	WPID        string `json:"wp_id"`
	ExternalID  string `json:"external_id"`
	ExternalKey string `json:"external_key"`
	ExternalURL string `json:"external_url"`
}

type remoteItem struct{ id, key, url string }

// resource is one tracker project/team/repo a team can bind to.
type resource struct {
	candidateToken string
	label          string
	provider       string
	workspace      string
	keyPrefix      string

	bindingRef  string
	projectSlug string
	projectUUID string

	remote    []remoteItem
	mappings  []Mapping
	lastSync  time.Time
	syncState string
}

func (r *resource) addRemote() remoteItem {
	n := len(r.remote) + 1
	var it remoteItem
	switch r.provider {
	case "linear":
		it = remoteItem{id: fmt.Sprintf("lin_%s_%d", r.keyPrefix, n), key: fmt.Sprintf("%s-%d", r.keyPrefix, n)}
		it.url = fmt.Sprintf("https://linear.app/%s/issue/%s", r.workspace, it.key)
	case "jira":
		it = remoteItem{id: fmt.Sprintf("%d", 10000+n), key: fmt.Sprintf("%s-%d", r.keyPrefix, n)}
		it.url = fmt.Sprintf("https://%s/browse/%s", r.workspace, it.key)
	default:
		it = remoteItem{id: fmt.Sprintf("%s_%d", r.provider, n), key: fmt.Sprintf("#%d", n)}
		it.url = fmt.Sprintf("https://%s.example.test/%s/issues/%d", r.provider, r.label, n)
	}
	r.remote = append(r.remote, it)
	return it
}

func (r *resource) mappingFor(wpID string) int {
	for i, m := range r.mappings {
		if m.WPID == wpID {
			return i
		}
	}
	return -1
}

func (r *resource) mapped(externalID string) bool {
	for _, m := range r.mappings {
		if m.ExternalID == externalID {
			return true
		}
	}
	return false
}

type teamTracker struct {
	resources map[string][]*resource
}

func (t *teamTracker) binding(provider, ref string) *resource {
	for _, r := range t.resources[provider] {
		if ref != "" && r.bindingRef == ref {
			return r
		}
	}
	return nil
}

type idemKey struct{ user, team, path, key string }

type idemEntry struct {
	body   []byte // canonical request body
	status int
	resp   []byte
}

// Summary counts what an operation did.
type Summary struct {
	Pulled  int `json:"pulled"`
	Pushed  int `json:"pushed"`
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
}

func (a Summary) add(b Summary) Summary {
	return Summary{a.Pulled + b.Pulled, a.Pushed + b.Pushed, a.Created + b.Created, a.Updated + b.Updated, a.Skipped + b.Skipped}
}

type operation struct {
	id      string
	team    string
	kind    string
	res     *resource
	summary Summary
	failure string
	polls   int
	done    bool
}

type trackerState struct {
	mu      sync.Mutex
	teams   map[string]*teamTracker
	idem    map[idemKey]*idemEntry
	ops     map[string]*operation
	runs    map[string]int
	failure string
}

func (t *trackerState) init() {
	t.teams = map[string]*teamTracker{}
	t.idem = map[idemKey]*idemEntry{}
	t.ops = map[string]*operation{}
	t.runs = map[string]int{}
}

func (t *trackerState) seedTeam(team string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.team(team)
}

// team returns a team's tracker state, seeding it on first use; t.mu is held.
func (t *trackerState) team(id string) *teamTracker {
	tt := t.teams[id]
	if tt == nil {
		tt = &teamTracker{resources: seedResources()}
		t.teams[id] = tt
	}
	return tt
}

// OperationRuns is how many times an operation of this kind ("pull", "push",
// "run", "publish", "bind-confirm") really ran; idempotent replays do not
// count.
func (s *Server) OperationRuns(kind string) int {
	s.tracker.mu.Lock()
	defer s.tracker.mu.Unlock()
	return s.tracker.runs[kind]
}

// SetOperationFailure makes operations started from now on fail with reason
// (synchronous ones answer status "failed", async ones end "failed"); ""
// switches it off.
func (s *Server) SetOperationFailure(reason string) {
	s.tracker.mu.Lock()
	s.tracker.failure = reason
	s.tracker.mu.Unlock()
}

// RevokeBinding unbinds ref in every team, as when someone disconnects the
// integration on the hosted side; it reports whether ref existed.
func (s *Server) RevokeBinding(ref string) bool {
	s.tracker.mu.Lock()
	defer s.tracker.mu.Unlock()
	found := false
	for _, tt := range s.tracker.teams {
		for _, rs := range tt.resources {
			for _, r := range rs {
				if r.bindingRef == ref {
					r.bindingRef, r.projectSlug, r.projectUUID = "", "", ""
					r.mappings = nil
					found = true
				}
			}
		}
	}
	return found
}

// Mappings returns the mappings of a binding in a team.
func (s *Server) Mappings(team, provider, ref string) ([]Mapping, bool) {
	s.tracker.mu.Lock()
	defer s.tracker.mu.Unlock()
	tt := s.tracker.teams[team]
	if tt == nil {
		return nil, false
	}
	r := tt.binding(provider, ref)
	if r == nil {
		return nil, false
	}
	return append([]Mapping(nil), r.mappings...), true
}

func checkProvider(w http.ResponseWriter, p string) bool {
	for _, known := range Providers {
		if p == known {
			return true
		}
	}
	writeError(w, http.StatusBadRequest, "unknown_provider", fmt.Sprintf("unknown provider %q; use one of linear, jira, github, gitlab", p), false)
	return false
}

func bindingNotFound(w http.ResponseWriter, provider, ref string) {
	writeError(w, http.StatusNotFound, "binding_not_found", fmt.Sprintf("no %s binding %q in this team", provider, ref), false)
}

func missingField(w http.ResponseWriter, name string) {
	writeError(w, http.StatusBadRequest, "invalid_request", "missing field "+name, false)
}

type resourceOut struct {
	CandidateToken   string            `json:"candidate_token"`
	DisplayLabel     string            `json:"display_label"`
	Provider         string            `json:"provider"`
	ProviderContext  map[string]string `json:"provider_context"`
	BindingRef       string            `json:"binding_ref,omitempty"`
	BoundProjectSlug string            `json:"bound_project_slug,omitempty"`
}

func (r *resource) out() resourceOut {
	return resourceOut{
		CandidateToken:   r.candidateToken,
		DisplayLabel:     r.label,
		Provider:         r.provider,
		ProviderContext:  map[string]string{"workspace": r.workspace},
		BindingRef:       r.bindingRef,
		BoundProjectSlug: r.projectSlug,
	}
}

func (s *Server) handleResources(w http.ResponseWriter, r *http.Request, c *caller) {
	provider := r.URL.Query().Get("provider")
	if !checkProvider(w, provider) {
		return
	}
	s.tracker.mu.Lock()
	out := []resourceOut{}
	for _, res := range s.tracker.team(c.team).resources[provider] {
		out = append(out, res.out())
	}
	s.tracker.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"resources": out})
}

type bindRequest struct {
	Provider       string `json:"provider"`
	CandidateToken string `json:"candidate_token"`
	ProjectSlug    string `json:"project_slug"`
	ProjectUUID    string `json:"project_uuid"`
	BindingRef     string `json:"binding_ref"`
}

type resolveResponse struct {
	MatchType    string        `json:"match_type"`
	BindingRef   string        `json:"binding_ref,omitempty"`
	DisplayLabel string        `json:"display_label,omitempty"`
	Candidates   []resourceOut `json:"candidates"`
}

func (s *Server) handleBindResolve(w http.ResponseWriter, r *http.Request, c *caller) {
	var req bindRequest
	if _, ok := readJSON(w, r, &req); !ok || !checkProvider(w, req.Provider) {
		return
	}
	if req.ProjectSlug == "" {
		missingField(w, "project_slug")
		return
	}
	s.tracker.mu.Lock()
	resp := resolveResponse{MatchType: "none", Candidates: []resourceOut{}}
	for _, res := range s.tracker.team(c.team).resources[req.Provider] {
		switch {
		case res.bindingRef != "" && (res.projectSlug == req.ProjectSlug || (req.ProjectUUID != "" && res.projectUUID == req.ProjectUUID)):
			resp.MatchType, resp.BindingRef, resp.DisplayLabel = "exact", res.bindingRef, res.label
		case res.bindingRef == "":
			resp.Candidates = append(resp.Candidates, res.out())
		}
	}
	s.tracker.mu.Unlock()
	switch {
	case resp.MatchType == "exact":
		resp.Candidates = []resourceOut{}
	case len(resp.Candidates) > 0:
		resp.MatchType = "candidates"
	}
	writeJSON(w, http.StatusOK, resp)
}

type bindConfirmResponse struct {
	BindingRef      string            `json:"binding_ref"`
	DisplayLabel    string            `json:"display_label"`
	Provider        string            `json:"provider"`
	ProviderContext map[string]string `json:"provider_context"`
}

func (s *Server) handleBindConfirm(w http.ResponseWriter, r *http.Request, c *caller) {
	var req bindRequest
	body, ok := readJSON(w, r, &req)
	if !ok || !checkProvider(w, req.Provider) {
		return
	}
	switch {
	case req.CandidateToken == "":
		missingField(w, "candidate_token")
		return
	case req.ProjectSlug == "":
		missingField(w, "project_slug")
		return
	}
	s.idempotent(w, r, c, body, func() (int, any) {
		var res *resource
		for _, x := range s.tracker.team(c.team).resources[req.Provider] {
			if x.candidateToken == req.CandidateToken {
				res = x
			}
		}
		if res == nil {
			return http.StatusNotFound, apiError{ErrorCode: "candidate_not_found", Message: fmt.Sprintf("no %s candidate %q in this team", req.Provider, req.CandidateToken)}
		}
		if res.bindingRef != "" && res.projectSlug != req.ProjectSlug {
			return http.StatusConflict, apiError{ErrorCode: "resource_already_bound", Message: fmt.Sprintf("%s is already bound to project %q", res.label, res.projectSlug)}
		}
		s.tracker.runs["bind-confirm"]++
		if res.bindingRef == "" {
			res.bindingRef = s.randomID("bind_", 8)
			res.projectSlug, res.projectUUID = req.ProjectSlug, req.ProjectUUID
			res.syncState = "idle"
		}
		return http.StatusOK, bindConfirmResponse{
			BindingRef: res.bindingRef, DisplayLabel: res.label, Provider: res.provider,
			ProviderContext: map[string]string{"workspace": res.workspace},
		}
	})
}

type validateResponse struct {
	Valid        bool   `json:"valid"`
	DisplayLabel string `json:"display_label"`
	Reason       string `json:"reason"`
}

// handleBindValidate answers 200 with valid=false for an unknown or revoked
// binding: checking that is the endpoint's whole purpose.
func (s *Server) handleBindValidate(w http.ResponseWriter, r *http.Request, c *caller) {
	var req bindRequest
	if _, ok := readJSON(w, r, &req); !ok || !checkProvider(w, req.Provider) {
		return
	}
	if req.BindingRef == "" {
		missingField(w, "binding_ref")
		return
	}
	s.tracker.mu.Lock()
	res := s.tracker.team(c.team).binding(req.Provider, req.BindingRef)
	resp := validateResponse{Reason: fmt.Sprintf("binding_not_found: no %s binding %q in team %s", req.Provider, req.BindingRef, c.team)}
	if res != nil {
		resp = validateResponse{Valid: true, DisplayLabel: res.label}
	}
	s.tracker.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// statusResponse answers GET /api/v1/tracker/status/ with every field the
// Python CLI reads of it (cli/commands/tracker.py status_command: configured,
// provider, identity_path.type, sync_state; tracker/saas_service.py:
// binding_ref for its binding-upgrade check).
type statusResponse struct {
	Configured   bool          `json:"configured"`
	SyncState    string        `json:"sync_state"`
	Provider     string        `json:"provider"`
	BindingRef   string        `json:"binding_ref"`
	DisplayLabel string        `json:"display_label"`
	LastSyncAt   string        `json:"last_sync_at,omitempty"`
	MappedItems  int           `json:"mapped_items"`
	IdentityPath *identityPath `json:"identity_path,omitempty"`
}

// identityPath says how the host routed the request: through the SaaS
// control plane, for the binding's provider.
type identityPath struct {
	Type     string `json:"type"`
	Provider string `json:"provider"`
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	provider, ref := q.Get("provider"), q.Get("binding_ref")
	if !checkProvider(w, provider) {
		return
	}
	s.tracker.mu.Lock()
	res := s.tracker.team(c.team).binding(provider, ref)
	var resp statusResponse
	if res != nil {
		resp = statusResponse{
			Configured: true, SyncState: res.syncState, Provider: provider, BindingRef: ref,
			DisplayLabel: res.label, MappedItems: len(res.mappings),
			IdentityPath: &identityPath{Type: "saas", Provider: provider},
		}
		if resp.SyncState == "" {
			resp.SyncState = "idle"
		}
		if !res.lastSync.IsZero() {
			resp.LastSyncAt = res.lastSync.UTC().Format(time.RFC3339)
		}
	}
	s.tracker.mu.Unlock()
	if res == nil {
		bindingNotFound(w, provider, ref)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

type mappingRequest struct {
	Provider   string `json:"provider"`
	BindingRef string `json:"binding_ref"`
	Mapping
}

func (s *Server) handleMappings(w http.ResponseWriter, r *http.Request, c *caller) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		provider, ref := q.Get("provider"), q.Get("binding_ref")
		if !checkProvider(w, provider) {
			return
		}
		s.tracker.mu.Lock()
		res := s.tracker.team(c.team).binding(provider, ref)
		var ms []Mapping
		if res != nil {
			ms = append([]Mapping{}, res.mappings...)
		}
		s.tracker.mu.Unlock()
		if res == nil {
			bindingNotFound(w, provider, ref)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"mappings": ms})
	case http.MethodPost:
		var req mappingRequest
		if _, ok := readJSON(w, r, &req); !ok || !checkProvider(w, req.Provider) {
			return
		}
		switch {
		case req.WPID == "":
			missingField(w, "wp_id")
			return
		case req.ExternalID == "":
			missingField(w, "external_id")
			return
		}
		s.tracker.mu.Lock()
		defer s.tracker.mu.Unlock()
		res := s.tracker.team(c.team).binding(req.Provider, req.BindingRef)
		if res == nil {
			bindingNotFound(w, req.Provider, req.BindingRef)
			return
		}
		for _, m := range res.mappings {
			if m.ExternalID == req.ExternalID && m.WPID != req.WPID {
				writeError(w, http.StatusConflict, "mapping_conflict", fmt.Sprintf("%s is already mapped to %s", req.ExternalID, m.WPID), false)
				return
			}
		}
		if i := res.mappingFor(req.WPID); i >= 0 {
			res.mappings[i] = req.Mapping
			writeJSON(w, http.StatusOK, req.Mapping)
			return
		}
		res.mappings = append(res.mappings, req.Mapping)
		writeJSON(w, http.StatusCreated, req.Mapping)
	default:
		methodNotAllowed(w, "GET, POST")
	}
}

type operationRequest struct {
	Provider    string `json:"provider"`
	BindingRef  string `json:"binding_ref"`
	Limit       *int   `json:"limit"`
	ProjectSlug string `json:"project_slug"`
}

type operationResponse struct {
	OperationID string   `json:"operation_id,omitempty"`
	Operation   string   `json:"operation"`
	Status      string   `json:"status"`
	Summary     *Summary `json:"summary,omitempty"`
	Error       string   `json:"error,omitempty"`
}

const trackerPrefix = "/api/v1/tracker/"

func (s *Server) handleOperation(w http.ResponseWriter, r *http.Request, c *caller) {
	kind := r.URL.Path[len(trackerPrefix) : len(r.URL.Path)-1]
	var req operationRequest
	body, ok := readJSON(w, r, &req)
	if !ok || !checkProvider(w, req.Provider) {
		return
	}
	limit := -1
	if req.Limit != nil {
		if *req.Limit <= 0 {
			writeError(w, http.StatusBadRequest, "invalid_request", "limit must be a positive integer, got "+strconv.Itoa(*req.Limit), false)
			return
		}
		limit = *req.Limit
	}
	async := s.async.Load()
	run := func() (int, any) {
		res := s.tracker.team(c.team).binding(req.Provider, req.BindingRef)
		if res == nil {
			return http.StatusNotFound, apiError{ErrorCode: "binding_not_found", Message: fmt.Sprintf("no %s binding %q in this team", req.Provider, req.BindingRef)}
		}
		s.tracker.runs[kind]++
		failure := s.tracker.failure
		var sum Summary
		if failure == "" {
			sum = s.runOperation(kind, res, limit)
		}
		if async {
			op := &operation{id: s.randomID("op_", 12), team: c.team, kind: kind, res: res, summary: sum, failure: failure}
			s.tracker.ops[op.id] = op
			res.syncState = "running"
			return http.StatusAccepted, map[string]string{"operation_id": op.id}
		}
		s.finish(res, failure)
		if failure != "" {
			return http.StatusOK, operationResponse{Operation: kind, Status: "failed", Summary: &Summary{}, Error: failure}
		}
		return http.StatusOK, operationResponse{Operation: kind, Status: "completed", Summary: &sum}
	}
	if kind == "pull" && r.Header.Get("Idempotency-Key") == "" {
		// The Python CLI's tracker client sends no Idempotency-Key on pull
		// and reads the answer as a synchronous 200 (it never polls a pull:
		// src/specify_cli/tracker/saas_client.py SaaSTrackerClient.pull).
		// Accept that, unreplayed and answered at once.
		async = false
		s.tracker.mu.Lock()
		status, v := run()
		s.tracker.mu.Unlock()
		writeJSON(w, status, v)
		return
	}
	s.idempotent(w, r, c, body, run)
}

func (s *Server) finish(res *resource, failure string) {
	res.lastSync = s.now()
	res.syncState = "idle"
	if failure != "" {
		res.syncState = "error"
	}
}

// runOperation simulates the work of one operation on a bound resource and
// returns its summary. The tracker mutex is held.
//
//	pull:    each remote item (up to limit) is pulled; mapped ones updated, others skipped
//	push:    each work package seen in the project's events (up to limit) is
//	         pushed; mapped ones updated, others created remotely and mapped
//	run:     push, then pull
//	publish: each work package with a known lane (up to limit) whose mapping
//	         exists is pushed and updated; the rest skipped
func (s *Server) runOperation(kind string, res *resource, limit int) Summary {
	capped := func(n int) int {
		if limit >= 0 && n > limit {
			return limit
		}
		return n
	}
	pull := func() (sum Summary) {
		for _, it := range res.remote[:capped(len(res.remote))] {
			sum.Pulled++
			if res.mapped(it.id) {
				sum.Updated++
			} else {
				sum.Skipped++
			}
		}
		return sum
	}
	wps, lanes := s.events.projectWorkPackages(res.projectSlug)
	wps = wps[:capped(len(wps))]
	push := func() (sum Summary) {
		for _, wp := range wps {
			sum.Pushed++
			if res.mappingFor(wp) >= 0 {
				sum.Updated++
				continue
			}
			it := res.addRemote()
			res.mappings = append(res.mappings, Mapping{WPID: wp, ExternalID: it.id, ExternalKey: it.key, ExternalURL: it.url})
			sum.Created++
		}
		return sum
	}
	switch kind {
	case "pull":
		return pull()
	case "push":
		return push()
	case "run":
		p := push()
		return p.add(pull())
	case "publish":
		var sum Summary
		for _, wp := range wps {
			if lanes[wp] != "" && res.mappingFor(wp) >= 0 {
				sum.Pushed++
				sum.Updated++
			} else {
				sum.Skipped++
			}
		}
		return sum
	}
	panic("hostedtest: unknown operation " + kind)
}

func (s *Server) handleOperationStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("id")
	s.tracker.mu.Lock()
	op := s.tracker.ops[id]
	if op == nil || op.team != c.team {
		s.tracker.mu.Unlock()
		writeError(w, http.StatusNotFound, "operation_not_found", fmt.Sprintf("no operation %q in this team", id), false)
		return
	}
	op.polls++
	resp := operationResponse{OperationID: op.id, Operation: op.kind}
	switch {
	case op.polls > s.opts.OperationSteps:
		if !op.done {
			op.done = true
			s.finish(op.res, op.failure)
		}
		if op.failure != "" {
			resp.Status, resp.Error, resp.Summary = "failed", op.failure, &Summary{}
		} else {
			sum := op.summary
			resp.Status, resp.Summary = "completed", &sum
		}
	case op.polls == 1:
		resp.Status = "pending"
	default:
		resp.Status = "running"
	}
	s.tracker.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// idempotent runs fn at most once per (user, team, path, Idempotency-Key)
// and replays its 2xx answer for a retry with the same body. A different
// body under a used key is refused with 422. fn runs with the tracker mutex
// held and returns the status and the value to marshal.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, c *caller, body []byte, fn func() (int, any)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		writeError(w, http.StatusBadRequest, "missing_idempotency_key", "the Idempotency-Key header is required on "+r.URL.Path, false)
		return
	}
	canon := canonicalJSON(body)
	k := idemKey{user: c.user.ID, team: c.team, path: r.URL.Path, key: key}
	s.tracker.mu.Lock()
	defer s.tracker.mu.Unlock()
	if e, ok := s.tracker.idem[k]; ok {
		if !bytes.Equal(e.body, canon) {
			writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used with a different request body", false)
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		writeRaw(w, e.status, e.resp)
		return
	}
	status, v := fn()
	if ae, ok := v.(apiError); ok {
		writeJSON(w, status, ae)
		return
	}
	resp, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("hostedtest: marshal %T: %v", v, err))
	}
	s.tracker.idem[k] = &idemEntry{body: canon, status: status, resp: resp}
	writeRaw(w, status, resp)
}

// canonicalJSON re-encodes a JSON body with sorted keys and no spacing so a
// retry that marshals the same values compares equal.
func canonicalJSON(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}
