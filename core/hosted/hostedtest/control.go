package hostedtest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
)

// serveControl answers the /_test/* endpoints. They need no token and never
// suffer faults; they exist only on this server, never in the client.
//
//	POST /_test/approve        form user_code=XXXX-XXXX [user_id=U]; no user_code approves every pending code
//	POST /_test/deny           form user_code=XXXX-XXXX
//	GET  /_test/events         {"count":N,"event_ids":[...]}
//	GET  /_test/faults         the current switches
//	POST /_test/faults         JSON Faults (replaces all switches)
//	POST /_test/expire-tokens  ExpireAccessTokens
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	post := func() bool {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return false
		}
		return true
	}
	switch r.URL.Path {
	case "/_test/approve":
		if !post() {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		code, user := r.PostFormValue("user_code"), r.PostFormValue("user_id")
		if user == "" {
			user = DefaultUser.ID
		}
		codes := []string{code}
		if code == "" {
			codes = s.PendingUserCodes()
			slices.Sort(codes)
		}
		for _, c := range codes {
			if err := s.ApproveAs(c, user); err != nil {
				writeError(w, http.StatusBadRequest, "approve_failed", err.Error(), false)
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"approved": append([]string{}, codes...)})
	case "/_test/deny":
		if !post() {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		if err := s.Deny(r.PostFormValue("user_code")); err != nil {
			writeError(w, http.StatusBadRequest, "deny_failed", err.Error(), false)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	case "/_test/events":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		ids := s.EventIDs()
		writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "event_ids": ids})
	case "/_test/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.CurrentFaults())
		case http.MethodPost:
			body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody))
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid_request", "read body: "+err.Error(), false)
				return
			}
			var f Faults
			if err := json.Unmarshal(body, &f); err != nil {
				writeError(w, http.StatusBadRequest, "invalid_faults", "faults JSON: "+err.Error(), false)
				return
			}
			if err := s.SetFaults(f); err != nil {
				writeError(w, http.StatusBadRequest, "invalid_faults", err.Error(), false)
				return
			}
			writeJSON(w, http.StatusOK, s.CurrentFaults())
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case "/_test/expire-tokens":
		if !post() {
			return
		}
		s.ExpireAccessTokens()
		writeJSON(w, http.StatusOK, struct{}{})
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint "+r.URL.Path, false)
	}
}
