package mission

import (
	"os"
	"path/filepath"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// ResolveMission names the mission a message talks about (CONTRACTS §4): the
// --mission flag when given; else the mission whose status.events.jsonl was
// modified most recently (the alphabetically first on a tie); else the
// repo's directory name. It is never empty, never fails, and only stats
// files.
func ResolveMission(repo, flag string) string {
	if flag != "" {
		return flag
	}
	c := confine(repo)
	names, _, _ := candidates(c)
	best := ""
	var bestMod int64
	for _, n := range names {
		real, err := c.resolve(paths.EventsFile(repo, n))
		if err != nil {
			continue
		}
		fi, err := os.Lstat(real)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if mod := fi.ModTime().UnixNano(); best == "" || mod > bestMod {
			best, bestMod = n, mod
		}
	}
	if best != "" {
		return best
	}
	if base := filepath.Base(filepath.Clean(repo)); base != "" && base != "." && base != string(filepath.Separator) {
		return base
	}
	return "unknown"
}
