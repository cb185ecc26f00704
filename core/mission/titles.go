package mission

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// titleFileLimit bounds what is read of one tasks file: a title sits at its
// top, and a repository is untrusted input.
const titleFileLimit = 1 << 20

// WPTitles returns the work-package titles of mission name, where the
// Python spec-kitty CLI keeps them: the `title:` of the front matter of
// kitty-specs/<name>/tasks/WPxx*.md, else the WP's heading in tasks.md
// ("## Work Package WP01: Title (Priority: P1)", "### WP02 - Title").
// Reads are confined like every mission read (nothing outside kitty-specs/,
// regular files only, bounded); what cannot be read is left out, so callers
// fall back to the id. Titles are raw repository text: escape or sanitise
// them where they are shown.
func WPTitles(repo, name string) map[string]string {
	titles := map[string]string{}
	c := confine(repo)
	dir, err := c.missionDir(name)
	if err != nil {
		return titles
	}
	if b, _, err := c.readBounded(filepath.Join(paths.MissionDir(repo, name), "tasks.md"), titleFileLimit, nil); err == nil {
		for id, t := range tasksMDTitles(b) {
			titles[id] = t
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "tasks"))
	if err != nil {
		return titles
	}
	for _, e := range ents {
		id := wpFileID().FindString(e.Name())
		if id == "" || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		p := filepath.Join(paths.MissionDir(repo, name), "tasks", e.Name())
		b, _, err := c.readBounded(p, titleFileLimit, nil)
		if err != nil {
			continue
		}
		if t := frontMatterTitle(b); t != "" {
			titles[strings.ToUpper(id)] = t
		}
	}
	return titles
}

// The title expressions are compiled on first use, not at program start:
// most spec-kitty commands never read a work package title.
var (
	wpFileID   = lazyRegexp(`^(?i)WP[0-9]+`)
	tasksTitle = lazyRegexp(`^#{1,6}\s+(?:Work Package\s+)?(WP[0-9]+)\b\s*[:\-–—.]?\s*(.*?)\s*$`)
	priority   = lazyRegexp(`\s*\((?i:priority)[^)]*\)\s*$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// frontMatterTitle is the `title:` of a leading `---` YAML block, unquoted.
func frontMatterTitle(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "---" {
		return ""
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "---" {
			return ""
		}
		if v, ok := strings.CutPrefix(line, "title:"); ok {
			return unquote(strings.TrimSpace(v))
		}
	}
	return ""
}

// tasksMDTitles reads the WP headings of tasks.md.
func tasksMDTitles(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		m := tasksTitle().FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		t := strings.TrimSpace(priority().ReplaceAllString(m[2], ""))
		id := strings.ToUpper(m[1])
		if _, seen := out[id]; !seen && t != "" {
			out[id] = t
		}
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		s = s[1 : len(s)-1]
		if s != "" && s[0] != '\'' {
			s = strings.ReplaceAll(s, `\"`, `"`)
		}
	}
	return strings.TrimSpace(s)
}
