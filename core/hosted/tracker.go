package hosted

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Resource is a tracker resource (project, board, repo) the team can bind.
type Resource struct {
	CandidateToken   string         `json:"candidate_token"`
	DisplayLabel     string         `json:"display_label"`
	Provider         string         `json:"provider"`
	ProviderContext  map[string]any `json:"provider_context,omitempty"`
	BindingRef       string         `json:"binding_ref,omitempty"`
	BoundProjectSlug string         `json:"bound_project_slug,omitempty"`
}

// MatchType is the kind of answer of bind-resolve.
type MatchType string

// Match types (wire values).
const (
	MatchExact      MatchType = "exact"
	MatchCandidates MatchType = "candidates"
	MatchNone       MatchType = "none"
)

// BindResolveRequest is the body of POST /api/v1/tracker/bind-resolve/.
type BindResolveRequest struct {
	Provider    string `json:"provider"`
	ProjectSlug string `json:"project_slug"`
	ProjectUUID string `json:"project_uuid"`
}

// BindResolution is the answer of bind-resolve.
type BindResolution struct {
	MatchType    MatchType  `json:"match_type"`
	BindingRef   string     `json:"binding_ref,omitempty"`
	DisplayLabel string     `json:"display_label,omitempty"`
	Candidates   []Resource `json:"candidates,omitempty"`
}

// BindConfirmRequest is the body of POST /api/v1/tracker/bind-confirm/.
type BindConfirmRequest struct {
	Provider       string `json:"provider"`
	CandidateToken string `json:"candidate_token"`
	ProjectSlug    string `json:"project_slug"`
	ProjectUUID    string `json:"project_uuid"`
}

// Binding is a confirmed binding.
type Binding struct {
	BindingRef      string         `json:"binding_ref"`
	DisplayLabel    string         `json:"display_label"`
	Provider        string         `json:"provider"`
	ProviderContext map[string]any `json:"provider_context,omitempty"`
}

// BindValidation is the answer of bind-validate.
type BindValidation struct {
	Valid        bool   `json:"valid"`
	DisplayLabel string `json:"display_label,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// TrackerStatus is the answer of GET /api/v1/tracker/status/. The host may
// send more fields than these; Raw holds the whole object.
type TrackerStatus struct {
	Configured   bool            `json:"configured"`
	SyncState    string          `json:"sync_state"`
	Provider     string          `json:"provider"`
	BindingRef   string          `json:"binding_ref"`
	DisplayLabel string          `json:"display_label"`
	LastSyncAt   string          `json:"last_sync_at,omitempty"`
	MappedItems  int             `json:"mapped_items"`
	Raw          json.RawMessage `json:"-"`
}

// Mapping links a work package to an external tracker item.
type Mapping struct {
	WPID        string `json:"wp_id"`
	ExternalID  string `json:"external_id"`
	ExternalKey string `json:"external_key,omitempty"`
	ExternalURL string `json:"external_url,omitempty"`
}

// AddMappingRequest is the body of POST /api/v1/tracker/mappings/.
type AddMappingRequest struct {
	Provider   string `json:"provider"`
	BindingRef string `json:"binding_ref"`
	Mapping
}

// SyncOp names a tracker sync operation (the last path segment).
type SyncOp string

// Sync operations (wire values).
const (
	SyncPull    SyncOp = "pull"
	SyncPush    SyncOp = "push"
	SyncRun     SyncOp = "run"
	SyncPublish SyncOp = "publish"
)

// SyncRequest is the body of the pull/push/run/publish calls.
type SyncRequest struct {
	Provider    string `json:"provider"`
	BindingRef  string `json:"binding_ref"`
	Limit       int    `json:"limit,omitempty"`
	ProjectSlug string `json:"project_slug"`
}

// Summary counts what a sync operation did.
type Summary struct {
	Pulled  int `json:"pulled"`
	Pushed  int `json:"pushed"`
	Created int `json:"created"`
	Updated int `json:"updated"`
	Skipped int `json:"skipped"`
}

// OpStatus is the state of a tracker operation.
type OpStatus string

// Operation states (wire values).
const (
	OpPending   OpStatus = "pending"
	OpRunning   OpStatus = "running"
	OpCompleted OpStatus = "completed"
	OpFailed    OpStatus = "failed"
)

// Done reports whether the operation reached a final state.
func (s OpStatus) Done() bool { return s == OpCompleted || s == OpFailed }

// SyncResult is the answer of a sync call: either finished (200: Status and
// Summary) or accepted for later (202: OperationID; poll with Operation).
type SyncResult struct {
	Operation   SyncOp   `json:"operation,omitempty"`
	Status      OpStatus `json:"status,omitempty"`
	Summary     Summary  `json:"summary"`
	OperationID string   `json:"operation_id,omitempty"`
	// Error is the host's reason when a synchronous operation failed.
	Error string `json:"error,omitempty"`
}

// Accepted reports whether the host queued the operation (202).
func (r SyncResult) Accepted() bool { return r.OperationID != "" }

// OperationState is the answer of GET /api/v1/tracker/operations/{id}/.
type OperationState struct {
	OperationID string   `json:"operation_id"`
	Status      OpStatus `json:"status"`
	Summary     Summary  `json:"summary"`
	Error       string   `json:"error,omitempty"`
}

func trackerGet(path string, q url.Values) *request {
	return &request{method: http.MethodGet, path: path, query: q, auth: true, team: true}
}

func trackerPost(path string, body any, idemKey string) *request {
	return &request{method: http.MethodPost, path: path, body: jsonBody(body), contentType: "application/json",
		auth: true, team: true, idemKey: idemKey}
}

// TrackerResources lists the team's resources of provider.
func (c *Client) TrackerResources(ctx context.Context, provider string) ([]Resource, error) {
	r := trackerGet("/api/v1/tracker/resources/", url.Values{"provider": {provider}})
	var out struct {
		Resources []Resource `json:"resources"`
	}
	if _, err := c.call(ctx, r, &out, "resources"); err != nil {
		return nil, err
	}
	for i, res := range out.Resources {
		if res.CandidateToken == "" {
			return nil, c.errorf(r, KindPermanent, "response is missing field %q", fmt.Sprintf("resources[%d].candidate_token", i))
		}
	}
	return out.Resources, nil
}

// BindResolve asks the host whether the project already maps to a resource.
func (c *Client) BindResolve(ctx context.Context, req BindResolveRequest) (BindResolution, error) {
	r := trackerPost("/api/v1/tracker/bind-resolve/", req, "")
	var out BindResolution
	if _, err := c.call(ctx, r, &out, "match_type"); err != nil {
		return BindResolution{}, err
	}
	switch out.MatchType {
	case MatchExact:
		if out.BindingRef == "" {
			return BindResolution{}, c.errorf(r, KindPermanent, "response is missing field \"binding_ref\" for an exact match")
		}
	case MatchCandidates, MatchNone:
	default:
		return BindResolution{}, c.errorf(r, KindPermanent, "unknown match_type %q", oneLine(string(out.MatchType)))
	}
	return out, nil
}

// BindConfirm binds the project to a candidate. idemKey makes the call safe
// to retry (and to repeat across invocations); empty means a fresh random key.
func (c *Client) BindConfirm(ctx context.Context, idemKey string, req BindConfirmRequest) (Binding, error) {
	if idemKey == "" {
		idemKey = NewIdempotencyKey()
	}
	r := trackerPost("/api/v1/tracker/bind-confirm/", req, idemKey)
	var out Binding
	if _, err := c.call(ctx, r, &out, "binding_ref"); err != nil {
		return Binding{}, err
	}
	return out, nil
}

// BindValidate checks that bindingRef still names a live binding.
func (c *Client) BindValidate(ctx context.Context, provider, bindingRef string) (BindValidation, error) {
	r := trackerPost("/api/v1/tracker/bind-validate/", map[string]string{"provider": provider, "binding_ref": bindingRef}, "")
	var out BindValidation
	if _, err := c.call(ctx, r, &out, "valid"); err != nil {
		return BindValidation{}, err
	}
	return out, nil
}

// TrackerStatus returns the binding's sync status (404 binding_not_found
// when the binding is unknown).
func (c *Client) TrackerStatus(ctx context.Context, provider, bindingRef string) (TrackerStatus, error) {
	r := trackerGet("/api/v1/tracker/status/", url.Values{"provider": {provider}, "binding_ref": {bindingRef}})
	resp, err := c.do(ctx, r)
	if err != nil {
		return TrackerStatus{}, err
	}
	var out TrackerStatus
	if err := c.decode(r, resp, &out, "configured", "sync_state"); err != nil {
		return TrackerStatus{}, err
	}
	out.Raw = append(json.RawMessage(nil), resp.body...)
	return out, nil
}

// Mappings lists the binding's WP-to-item mappings.
func (c *Client) Mappings(ctx context.Context, provider, bindingRef string) ([]Mapping, error) {
	r := trackerGet("/api/v1/tracker/mappings/", url.Values{"provider": {provider}, "binding_ref": {bindingRef}})
	var out struct {
		Mappings []Mapping `json:"mappings"`
	}
	if _, err := c.call(ctx, r, &out, "mappings"); err != nil {
		return nil, err
	}
	return out.Mappings, nil
}

// AddMapping records one mapping and returns it as stored.
func (c *Client) AddMapping(ctx context.Context, req AddMappingRequest) (Mapping, error) {
	r := trackerPost("/api/v1/tracker/mappings/", req, "")
	var out Mapping
	if _, err := c.call(ctx, r, &out, "wp_id", "external_id"); err != nil {
		return Mapping{}, err
	}
	return out, nil
}

// StartSync runs op. idemKey makes the call safe to retry and to repeat
// (the host runs the operation once per key); empty means a fresh key.
func (c *Client) StartSync(ctx context.Context, op SyncOp, idemKey string, req SyncRequest) (SyncResult, error) {
	switch op {
	case SyncPull, SyncPush, SyncRun, SyncPublish:
	default:
		return SyncResult{}, &Error{Kind: KindConfig, Host: c.Host.URL, Message: fmt.Sprintf("unknown sync operation %q", op)}
	}
	if idemKey == "" {
		idemKey = NewIdempotencyKey()
	}
	r := trackerPost("/api/v1/tracker/"+string(op)+"/", req, idemKey)
	resp, err := c.do(ctx, r)
	if err != nil {
		return SyncResult{}, err
	}
	var out SyncResult
	if resp.status == http.StatusAccepted {
		err = c.decode(r, resp, &out, "operation_id")
	} else {
		err = c.decode(r, resp, &out, "status")
	}
	if err != nil {
		return SyncResult{}, err
	}
	return out, nil
}

// Operation returns the state of an accepted operation.
func (c *Client) Operation(ctx context.Context, id string) (OperationState, error) {
	r := trackerGet("/api/v1/tracker/operations/"+url.PathEscape(id)+"/", nil)
	if id == "" {
		return OperationState{}, c.errorf(r, KindConfig, "empty operation id")
	}
	var out OperationState
	if _, err := c.call(ctx, r, &out, "operation_id", "status"); err != nil {
		return OperationState{}, err
	}
	return out, nil
}

// WaitOperation polls Operation every interval until it is completed or
// failed, or ctx ends.
func (c *Client) WaitOperation(ctx context.Context, id string, interval time.Duration) (OperationState, error) {
	for {
		st, err := c.Operation(ctx, id)
		if err != nil || st.Status.Done() {
			return st, err
		}
		if err := c.sleep(ctx, interval); err != nil {
			return st, &Error{Kind: KindRetryable, Host: c.Host.URL, Op: "GET /api/v1/tracker/operations/" + id + "/",
				Message: "operation still " + string(st.Status) + ": " + describeTransport(err, 0), Err: err}
		}
	}
}
