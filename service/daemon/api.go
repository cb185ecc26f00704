package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
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
		var req localapi.SyncRequest
		if err := decodeBody(w, r, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		answer := localapi.Accepted{Status: "scheduled"}
		if req.Repo != "" {
			repo, err := checkRepo(req.Repo)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			rr, ok := d.o.Worker.(RepoRegistrar)
			if !ok {
				writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "this daemon does not register repositories"})
				return
			}
			added, err := rr.RegisterRepo(r.Context(), repo)
			if err != nil {
				d.log.Warn("local API: register repository", "repo", repo, "error", err.Error())
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "register repository: " + err.Error()})
				return
			}
			if added {
				d.log.Info("repository registered for import", "repo", repo)
			}
			answer.Registered = added
			if len(req.Files) > 0 {
				files, err := checkEventsFiles(repo, req.Files)
				if err != nil {
					writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
					return
				}
				d.requestWakeFiles(repo, files)
				writeJSON(w, http.StatusAccepted, answer)
				return
			}
		} else if len(req.Files) > 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "files need a repo"})
			return
		}
		d.requestWake()
		writeJSON(w, http.StatusAccepted, answer)
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

// decodeBody decodes the JSON body of r into v; an empty body leaves v as it
// is. The body is bounded by localapi.MaxRequestBody.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, localapi.MaxRequestBody))
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("bad request body: %w", err)
	}
	return nil
}

// checkRepo accepts the repo of a sync request: the absolute path of a
// directory holding kitty-specs/ or .kittify/ (CONTRACTS.md §1's marks of
// a repository root). It returns the cleaned path.
func checkRepo(repo string) (string, error) {
	if !filepath.IsAbs(repo) {
		return "", fmt.Errorf("repo %q is not an absolute path", repo)
	}
	repo = filepath.Clean(repo)
	if fi, err := os.Stat(repo); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("repo %q is not a directory", repo)
	}
	for _, mark := range []string{"kitty-specs", ".kittify"} {
		if fi, err := os.Stat(filepath.Join(repo, mark)); err == nil && fi.IsDir() {
			return repo, nil
		}
	}
	return "", fmt.Errorf("repo %q is not a spec-kitty project (no kitty-specs/ or .kittify/)", repo)
}

// checkEventsFiles accepts the files of a sync request: events files of
// repo's missions (kitty-specs/<mission>/status.events.jsonl), absolute.
// It returns them cleaned; the file need not exist yet.
func checkEventsFiles(repo string, files []string) ([]string, error) {
	out := make([]string, 0, len(files))
	for _, f := range files {
		c := filepath.Clean(f)
		if !filepath.IsAbs(f) || filepath.Base(c) != paths.EventsFileName ||
			filepath.Dir(filepath.Dir(c)) != filepath.Join(repo, paths.SpecsDir) {
			return nil, fmt.Errorf("file %q is not an events file of repo %q (%s/<mission>/%s)", f, repo, paths.SpecsDir, paths.EventsFileName)
		}
		out = append(out, c)
	}
	return out, nil
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
