// Package stealthtest holds the one list of words that name the hosted
// surface, for the gate-off proofs (CONTRACTS §2: with the gate off nothing
// a user can see — output, help, served pages and assets — names it). It is
// used by tests only and owns nothing else.
//
// The list is matched case-insensitively on word boundaries, so local
// wording stays allowed: "localhost" is not "host", and the config key
// names of CONTRACTS §5 (sync.max_queue_size, sync.background_daemon) are
// identifiers whose underscores join them into one word. What it catches:
// SaaS, host(s)/hosted, session(s), tracker(s), daemon(s), queue(s/d),
// "Sync now", the sync API paths, uploads, and the hosted command groups.
package stealthtest

import "regexp"

// HostedWords matches any word that names the hosted surface.
var HostedWords = regexp.MustCompile(`(?i)saas|\bhost(s|ed)?\b|\bsessions?\b|\btrackers?\b|\bdaemons?\b|\bqueue[sd]?\b|\bsync now\b|/api/sync|\bupload|\bspec-kitty (auth|sync|service|tracker)\b|\bsign(ed)? in\b|\blog ?in\b`)

// Find returns the hosted words in s, nil when there is none.
func Find(s string) []string {
	return HostedWords.FindAllString(s, -1)
}
