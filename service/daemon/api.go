package daemon

import (
	"encoding/json"
	"net/http"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

// handler serves the local API. Every request is checked for browser traits
// (Origin, Referer) and the expected Host before routing.
func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+localapi.RouteStatus, func(w http.ResponseWriter, r *http.Request) {
		st := localapi.Status{State: d.snapshot(), Running: true}
		if d.o.Readiness != nil {
			st.Readiness = d.o.Readiness(r.Context())
		} else {
			st.Readiness = readiness.Result{State: readiness.Ready}
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST "+localapi.RouteSync, func(w http.ResponseWriter, r *http.Request) {
		d.requestWake()
		writeJSON(w, http.StatusAccepted, localapi.Accepted{Status: "scheduled"})
	})
	mux.HandleFunc("POST "+localapi.RouteReload, func(w http.ResponseWriter, r *http.Request) {
		// The loop reloads config and session before each cycle and exits
		// there when the policy became manual.
		d.requestWake()
		writeJSON(w, http.StatusAccepted, localapi.Accepted{Status: "reloading"})
	})
	mux.HandleFunc("POST "+localapi.RouteShutdown, func(w http.ResponseWriter, r *http.Request) {
		d.requestStop("shutdown request")
		writeJSON(w, http.StatusAccepted, localapi.Accepted{Status: "stopping"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := localapi.CheckRequest(r); why != "" {
			d.log.Warn("local API request refused", "reason", why, "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": why})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func marshalState(st interface{}) ([]byte, error) {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
