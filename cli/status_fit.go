package cli

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spec-kitty/spec-kitty-sync/core/mission"
	"github.com/spec-kitty/spec-kitty-sync/core/term"
)

// writeStatusFitted lays out the missions table. Piped (width 0) it is the full
// table: every lane a column. On a terminal it is fitted to the width, in
// the manner of gh: first lanes no mission uses are left out, then lane
// headers are abbreviated and times shortened to dates, then the narrow
// layout (mission, WPs, done, last active date), then mission names
// are shortened with an ellipsis, and as a last resort lines are cut.
func writeStatusFitted(out io.Writer, ms []*mission.Mission, width int, ellipsis string) {
	if len(ms) == 0 {
		return
	}
	lanes := statusLanes(ms)
	layouts := [][]mission.Lane{lanes}
	if width > 0 {
		var used []mission.Lane
		for _, l := range lanes {
			for _, m := range ms {
				if m.Counts[l] > 0 {
					used = append(used, l)
					break
				}
			}
		}
		layouts = append(layouts, used)
	}
	for _, ls := range layouts {
		rows := wideRows(ms, ls, false)
		if width == 0 || tableWidth(rows) <= width {
			writeRows(out, rows, width, ellipsis)
			return
		}
	}
	// The compact layout, with mission names cut to no less than 24 runes.
	if rows := wideRows(ms, layouts[len(layouts)-1], true); tableWidth(rows)-max(colWidth(rows, 0)-24, 0) <= width {
		shortenMissions(rows, tableWidth(rows)-width, 24, ellipsis)
		writeRows(out, rows, width, ellipsis)
		return
	}
	rows := [][]string{{"MISSION", "WPS", "DONE", "LAST ACTIVE"}}
	for _, m := range ms {
		last := "-"
		if !m.LastActivity.IsZero() {
			last = m.LastActivity.UTC().Format("2006-01-02")
		}
		rows = append(rows, []string{term.Sanitize(m.Slug), strconv.Itoa(len(m.WPs)), count(m.Counts[mission.Lane("done")]), last})
	}
	shortenMissions(rows, tableWidth(rows)-width, 8, ellipsis)
	writeRows(out, rows, width, ellipsis)
}

// shortenMissions cuts the mission column by over runes, keeping at least
// floor runes of each name.
func shortenMissions(rows [][]string, over, floor int, ellipsis string) {
	if over <= 0 {
		return
	}
	keep := max(colWidth(rows, 0)-over, floor)
	for i := 1; i < len(rows); i++ {
		rows[i][0] = truncate(rows[i][0], keep, ellipsis)
	}
}

// laneAbbrev are the lane headers of the compact layout.
var laneAbbrev = map[mission.Lane]string{
	"planned": "PLAN", "claimed": "CLAIM", "in_progress": "PROG", "for_review": "FOR_REV", "in_review": "IN_REV",
	"approved": "APPR", "done": "DONE", "blocked": "BLOCK", "canceled": "CANC",
}

// wideRows is one column per lane; compact abbreviates the lane headers and
// shows the date of the last activity only.
func wideRows(ms []*mission.Mission, lanes []mission.Lane, compact bool) [][]string {
	head := []string{"MISSION", "WPS"}
	for _, l := range lanes {
		h := term.Sanitize(strings.ToUpper(string(l)))
		if a, ok := laneAbbrev[l]; ok && compact {
			h = a
		} else if compact {
			h = truncate(h, 6, "")
		}
		head = append(head, h)
	}
	last := "LAST ACTIVITY"
	if compact {
		last = "LAST ACTIVE"
	}
	rows := [][]string{append(head, last)}
	for _, m := range ms {
		r := []string{term.Sanitize(m.Slug), strconv.Itoa(len(m.WPs))}
		for _, l := range lanes {
			r = append(r, count(m.Counts[l]))
		}
		t := shortTime(m.LastActivity)
		if compact && !m.LastActivity.IsZero() {
			t = m.LastActivity.UTC().Format("2006-01-02")
		}
		rows = append(rows, append(r, t))
	}
	return rows
}

// colPad is the space between columns (as tabwriter's padding 2).
const colPad = 2

func colWidth(rows [][]string, c int) int {
	w := 0
	for _, r := range rows {
		w = max(w, utf8.RuneCountInString(r[c]))
	}
	return w
}

func tableWidth(rows [][]string) int {
	n := len(rows[0])
	w := 0
	for c := range n - 1 {
		w += colWidth(rows, c) + colPad
	}
	return w + colWidth(rows, n-1)
}

// writeRows aligns rows in columns; lines longer than width (when > 0) are
// cut with the ellipsis.
func writeRows(out io.Writer, rows [][]string, width int, ellipsis string) {
	n := len(rows[0])
	widths := make([]int, n)
	for c := range n {
		widths[c] = colWidth(rows, c)
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for c, cell := range r {
			b.WriteString(cell)
			if c < n-1 {
				b.WriteString(strings.Repeat(" ", widths[c]-utf8.RuneCountInString(cell)+colPad))
			}
		}
		line := b.String()
		if width > 0 {
			line = truncate(line, width, ellipsis)
		}
		io.WriteString(out, line+"\n")
	}
}

// truncate shortens s to at most n runes, ending with the ellipsis when cut.
func truncate(s string, n int, ellipsis string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	e := utf8.RuneCountInString(ellipsis)
	if n <= e {
		return string([]rune(s)[:n])
	}
	return string([]rune(s)[:n-e]) + ellipsis
}

// ellipsisFor is "…" where the terminal's locale is UTF-8 and "..." where
// it may not show it.
func ellipsisFor(getenv func(string) string) string {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			if v := strings.ToUpper(v); strings.Contains(v, "UTF-8") || strings.Contains(v, "UTF8") {
				return "…"
			}
			return "..."
		}
	}
	return "..."
}
