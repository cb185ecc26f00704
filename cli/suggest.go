package cli

import "strings"

// suggest returns the path of the child of c whose name is closest to the
// mistyped word (an edit distance of at most 2, or a prefix of at least 3
// letters), or "" when nothing is close. Only registered children are
// candidates, so with the rollout gate off nothing hosted is ever offered.
func (c *Command) suggest(typed string) string {
	typed = strings.ToLower(typed)
	best, bestDist := "", 3
	for _, sub := range c.Commands {
		name := sub.Name()
		d := editDistance(typed, name)
		if len(typed) >= 3 && strings.HasPrefix(name, typed) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = sub.Path(), d
		}
	}
	return best
}

// editDistance is the Damerau (optimal string alignment) distance of a and
// b: insertions, deletions, substitutions and swaps of neighbours cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
