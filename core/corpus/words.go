package corpus

import (
	"math/rand/v2"
	"strings"
)

var slugWords = strings.Fields(`
	agent audit auth backfill batch board bootstrap branch cache canonical charter checkout cleanup cli
	command config coord cursor daemon dashboard decision doctor doctrine drift emit envelope event
	export feature gate glossary guard handoff harness identity import install kanban lane ledger lint
	lock manifest merge migration mission mode orchestrator pack parity plan policy profile provenance
	queue recovery refactor release repair report research retrospect review rollout runtime schema
	scope sequence session spec status sync task telemetry template topology tracker upgrade validate
	worktree
`)

var sentenceWords = strings.Fields(`
	the a an of to for with and in on from by without across into before after
	lane status event mission review agent merge branch worktree tracker queue cursor record file line
	fix add keep move split guard check write read emit validate migrate recover rename resolve sync
	canonical runtime legacy explicit stale missing duplicate concurrent atomic partial
`)

// Non-ASCII text as it appears in real repositories: accents, dashes,
// quotes, CJK, emoji (outside the BMP, so escaped as surrogate pairs).
var nonASCIITitles = []string{
	"Überarbeitung der Synchronisation",
	"réconciliation des états",
	"同期の修正",
	"Ревизия очереди",
	"“smart quotes” fix",
	"🚀 launch readiness",
}

var nonASCIIReasons = []string{
	"Reviewed by José — looks good",
	"Blocked: waiting for Zoë’s review",
	"レビュー完了",
	"ready ✅",
	"Передано на проверку",
	"naïve timestamps fixed 🎉",
}

var actorNames = []string{
	"user", "claude", "codex", "cursor", "migration", "finalize-tasks", "spec-kitty-merge",
	"reviewer-renata", "implementer-ivan", "stijn@example.com", "Zoë",
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(sentenceWords[r.IntN(len(sentenceWords))])
	}
	return b.String()
}

// KittifyConfig is the .kittify/config.yaml a generated repository gets: the
// shape of the public spec-kitty repository's (comments, unknown sections,
// lists, a project identity), so binding writes can be checked to leave
// everything else untouched.
const KittifyConfig = `vcs:
  type: git
agents:
  available:
  - claude
  - codex
  - cursor
  auto_commit: false
  lint_on_edit: true
project:
  uuid: 3f6c2a8e-5d1b-4c7a-9e2f-0b8d4a6c1e52
  slug: spec-kitty
  node_id: 5a1c9e3b7d20
  build_id: 9d2e4f60-1a3b-4c5d-8e7f-6a5b4c3d2e1f
# Charter pointer: resolves to charter.yaml, the activation authority.
charter: .kittify/charter/charter.yaml
# Merge strategy for the merge command (mission -> target step).
# One of: merge | squash | rebase. Default: squash.
merge:
  strategy: squash
mission_type_activations:
- software-dev
- documentation
- research
- plan
# Repo-local doctrine pack, loaded as an overlay on the built-in one.
doctrine:
  org:
    packs:
    - name: internal
      local_path: packs/internal
`
