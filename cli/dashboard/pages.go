package dashboard

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/version"
)

var funcs = template.FuncMap{
	"when": when,
	"iso":  iso,
}

// when formats a time the way `spec-kitty status` does; "—" when unknown.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// parsePages builds one template set per page: the layout, the sync panel
// and the page's content.
func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, p := range []string{"missions", "mission"} {
		t, err := template.New(p).Funcs(funcs).ParseFS(assets,
			"templates/layout.html", "templates/sync.html", "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		pages[p] = t
	}
	return pages, nil
}

// page is the data of every HTML page.
type page struct {
	Title    string
	Repo     string
	RepoName string
	CSRF     string     // empty with the gate off: nothing to protect
	Sync     *syncPanel // nil with the gate off: no panel at all
	Content  any
	// Tag is the page's content version (its ETag): the page script asks
	// with If-None-Match whether the missions changed, and reloads if so.
	Tag     string
	Version string
	DocsURL string
}

// DocsURL is the user guide linked from every page.
const DocsURL = "https://github.com/spec-kitty/spec-kitty-sync/blob/main/docs/guide.md"

// notModified answers 304 when the request already has the page's tag
// (the page script's check for changes), and sets the ETag otherwise.
func notModified(w http.ResponseWriter, r *http.Request, tag string) bool {
	if tag == "" {
		return false
	}
	etag := `"` + tag + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}

func (s *Server) newPage(r *http.Request, title string, content any) page {
	p := page{Title: title, Repo: s.cfg.Repo, RepoName: filepath.Base(s.cfg.Repo), Content: content,
		Version: version.String(), DocsURL: DocsURL}
	if s.gateOn() {
		p.CSRF = s.csrf
		p.Sync = panelOf(s.status(r.Context()))
	}
	return p
}

func (s *Server) render(w http.ResponseWriter, name string, p page) {
	var b bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		s.log.Error("render page", "page", name, "error", err.Error())
		httpError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

type missionsContent struct {
	Lanes []laneCount     // headers
	Rows  []template.HTML // one rendered <tr> per mission
	WPs   int
}

// cachedRow is a mission's rendered table row. It is reused while the
// mission (the cache's *mission.Mission, replaced when its files change) and
// the table's lane columns stay the same: rendering 412 rows through
// html/template is most of the page's cost.
type cachedRow struct {
	lanes string
	html  template.HTML
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	tag := s.missions.tag("")
	if notModified(w, r, tag) {
		return
	}
	ms, err := s.missions.list(r.Context())
	if err != nil {
		s.readFailed(w, err)
		return
	}
	lanes := boardLanes(ms...)
	names := make([]string, len(lanes))
	c := missionsContent{Rows: make([]template.HTML, len(ms))}
	for i, l := range lanes {
		c.Lanes = append(c.Lanes, laneCount{Lane: l, Label: laneLabel(l), Class: laneClass(l)})
		names[i] = string(l)
	}
	sig := strings.Join(names, ",")
	s.rowsMu.Lock()
	rows := make(map[*mission.Mission]cachedRow, len(ms))
	for i, m := range ms {
		row, ok := s.rows[m]
		if !ok || row.lanes != sig {
			var b bytes.Buffer
			if err := s.pages["missions"].ExecuteTemplate(&b, "row", viewOf(m, lanes)); err != nil {
				s.rowsMu.Unlock()
				s.log.Error("render row", "mission", m.Slug, "error", err.Error())
				httpError(w, http.StatusInternalServerError, "internal error")
				return
			}
			row = cachedRow{lanes: sig, html: template.HTML(b.String())}
		}
		rows[m] = row
		c.Rows[i] = row.html
		c.WPs += len(m.WPs)
	}
	s.rows = rows // drops the rows of missions that changed or went away
	s.rowsMu.Unlock()
	p := s.newPage(r, "Missions", c)
	p.Tag = tag
	s.render(w, "missions", p)
}

type missionContent struct {
	View    missionView
	Meta    mission.Meta
	Stats   mission.Stats
	Columns []column
}

func (s *Server) handleMission(w http.ResponseWriter, r *http.Request, name string) {
	m, err := s.missions.get(r.Context(), name)
	if err != nil {
		s.readFailed(w, err)
		return
	}
	tag := s.missions.tag(m.Slug)
	if notModified(w, r, tag) {
		return
	}
	titles := mission.WPTitles(s.cfg.Repo, m.Slug)
	c := missionContent{View: viewOf(m, boardLanes(m)), Meta: m.Meta, Stats: m.Stats, Columns: columnsOf(m, titles)}
	p := s.newPage(r, m.Title(), c)
	p.Tag = tag
	s.render(w, "mission", p)
}

type missionsJSON struct {
	Repo     string        `json:"repo"`
	Missions []missionJSON `json:"missions"`
}

func (s *Server) handleMissionsJSON(w http.ResponseWriter, r *http.Request) {
	ms, err := s.missions.list(r.Context())
	if err != nil {
		s.readFailed(w, err)
		return
	}
	lanes := boardLanes(ms...)
	v := missionsJSON{Repo: s.cfg.Repo, Missions: make([]missionJSON, len(ms))}
	for i, m := range ms {
		v.Missions[i] = toJSON(m, lanes)
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleMissionJSON(w http.ResponseWriter, r *http.Request, name string) {
	m, err := s.missions.get(r.Context(), name)
	if err != nil {
		s.readFailed(w, err)
		return
	}
	v := missionDetailJSON{missionJSON: toJSON(m, boardLanes(m)), WorkPackages: make([]wpJSON, len(m.WPs))}
	titles := mission.WPTitles(s.cfg.Repo, m.Slug)
	for i, wp := range m.WPs {
		j := wpJSON{WPID: wp.ID, Lane: string(wp.Lane), Actor: wp.Actor, EventID: wp.EventID, Title: titles[wp.ID]}
		if !wp.At.IsZero() {
			t := wp.At.UTC()
			j.At = &t
		}
		v.WorkPackages[i] = j
	}
	writeJSON(w, http.StatusOK, v)
}

// readFailed answers a failed read: 404 for anything that is not a mission,
// 500 (logged, without details in the answer) otherwise.
func (s *Server) readFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, errNoMission) {
		httpError(w, http.StatusNotFound, "not found")
		return
	}
	s.log.Error("read missions", "error", err.Error())
	httpError(w, http.StatusInternalServerError, "internal error")
}
