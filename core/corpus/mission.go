package corpus

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"time"
)

// style is the era a mission comes from, which decides the shapes of its lines.
type style int

const (
	// styleLegacy: numbered missions from before the event log, whose lines
	// a migration wrote: backfilled transitions at one old time, some
	// without from_lane, naive timestamps.
	styleLegacy style = iota
	// styleMigrated: live transitions followed by a migration's backfill of
	// older lines appended at the end of the file.
	styleMigrated
	// styleModern: lifecycle records (event_type), genesis moves, actor
	// objects, annotations, retrospectives.
	styleModern
)

type wpState struct {
	lane  string
	moved bool
	at    time.Time // the winning transition's (at, event_id)
	id    string
	// rollback: the winning move is a review rollback (to in_progress from
	// in_review, or from for_review with a review_ref).
	rollback bool
}

// missionWriter generates the lines of one mission and keeps the model of
// what the readers must make of them.
type missionWriter struct {
	p      missionPlan
	rng    *rand.Rand
	out    *bufio.Writer
	types  map[string]int
	counts Counts
	last   time.Time
	now    time.Time

	missionID string
	ascii     bool // encode like Python's json.dumps (ensure_ascii)
	wps       map[string]*wpState
	order     []string
	prevTrans [][]byte // earlier transition lines, for duplicates
	enc       encoder
}

func newMissionWriter(p missionPlan) *missionWriter {
	w := &missionWriter{p: p, rng: p.rng, now: p.start, wps: map[string]*wpState{}}
	w.missionID = ulidString(uint64(p.start.UnixMilli())<<16|uint64(p.rng.Uint32()&0xffff), p.rng.Uint64())
	w.ascii = p.rng.IntN(4) != 0
	return w
}

func (w *missionWriter) meta() (data []byte, id, title string) {
	o := obj{
		"created_at":     w.p.start.Format("2006-01-02T15:04:05Z"),
		"mission_id":     w.missionID,
		"mission_slug":   w.p.slug,
		"slug":           w.p.slug,
		"mission_type":   pick(w.rng, "software-dev", "software-dev", "software-dev", "research", "documentation", "plan"),
		"target_branch":  pick(w.rng, "main", "main", "develop"),
		"mission_number": nil,
	}
	if w.p.style != styleModern {
		o["mission_number"] = w.p.index + 1
		o["flattened"] = false
		o["status_phase"] = "1"
		o["topology"] = "single_branch"
	}
	// Most missions have a friendly name; some older ones only a slug.
	if w.rng.IntN(10) != 0 {
		title = w.p.title
		o["friendly_name"] = title
	}
	o["source_description"] = sentence(w.rng, 8+w.rng.IntN(30))
	w.enc.reset(false)
	w.enc.indent = true
	w.enc.value(o)
	w.enc.indent = false
	return append(w.enc.buf, '\n'), w.missionID, title
}

// tick advances the mission clock by at least a second, so that lines
// written in order stay in time order even when their times are printed
// without fractions.
func (w *missionWriter) tick() time.Time {
	d := time.Second + time.Duration(w.rng.Int64N(int64(90*time.Minute)))
	if w.rng.IntN(8) == 0 {
		d += time.Duration(w.rng.Int64N(int64(72 * time.Hour)))
	}
	w.now = w.now.Add(d).Add(time.Duration(w.rng.IntN(1_000_000)) * time.Microsecond).Truncate(time.Microsecond)
	return w.now
}

func (w *missionWriter) eventID(t time.Time) string {
	return ulidString(uint64(t.UnixMilli())<<16|uint64(w.rng.Uint32()&0xffff), w.rng.Uint64())
}

// legacyID is the shape of the ids migrations wrote: base32, not time-ordered.
func (w *missionWriter) legacyID() string {
	return ulidString(w.rng.Uint64()|1<<63, w.rng.Uint64())
}

func (w *missionWriter) run() {
	budget := w.p.budget
	nwp := 1 + budget/14
	if nwp > 14 {
		nwp = 10 + w.rng.IntN(5)
	}
	nwp = max(1, nwp-w.rng.IntN(3))
	for i := 1; i <= nwp; i++ {
		id := fmt.Sprintf("WP%02d", i)
		w.order = append(w.order, id)
		w.wps[id] = &wpState{lane: "planned"}
	}
	reserve := 0
	tail := w.p.index%29 == 3 && budget >= 3
	if tail {
		reserve++
	}
	backfill := 0
	if w.p.style != styleModern && budget >= 6 {
		backfill = min(nwp*2, budget/3)
		reserve += backfill
	}
	left := budget - reserve
	if w.p.style == styleModern {
		left -= w.header(left)
		for _, id := range w.order {
			if left == 0 {
				break
			}
			w.transition(id, "genesis", "planned", transOpts{actor: "finalize-tasks", reason: "canonical bootstrap"})
			left--
		}
	}
	for left > 0 {
		left -= w.step(left)
	}
	if backfill > 0 {
		w.backfill(backfill)
	}
	if tail {
		w.pendingTail()
	}
}

// header writes the lifecycle records a modern mission starts with; it
// returns how many lines it wrote (at most n).
func (w *missionWriter) header(n int) int {
	names := []string{"MissionCreated", "SpecifyStarted", "SpecifyCompleted", "PlanStarted", "PlanCompleted", "TasksStarted"}
	for _, id := range w.order {
		_ = id
		names = append(names, "WPCreated")
	}
	names = append(names, "TasksCompleted")
	k := 0
	for i, name := range names {
		if k == n {
			break
		}
		agg, aggType := w.p.slug, "Mission"
		if name == "WPCreated" {
			agg, aggType = w.order[i-6], "WorkPackage"
		}
		w.lifecycle(name, agg, aggType)
		k++
	}
	return k
}

func (w *missionWriter) lifecycle(name, agg, aggType string) {
	t := w.tick()
	payload := obj{"mission_slug": w.p.slug, "mission_number": nil, "actor": "spec-kitty agent mission " + pick(w.rng, "create", "setup-plan", "finalize-tasks")}
	switch name {
	case "MissionCreated":
		payload["friendly_name"] = w.p.title
		payload["mission_id"] = w.missionID
		payload["purpose_context"] = sentence(w.rng, 40+w.rng.IntN(60))
		payload["purpose_tldr"] = sentence(w.rng, 12+w.rng.IntN(12))
		payload["target_branch"] = "main"
		payload["created_at"] = pyTime(t)
	case "WPCreated":
		payload["wp_id"] = agg
		payload["wp_title"] = titleCase(sentence(w.rng, 3+w.rng.IntN(5)))
		payload["wp_path"] = "kitty-specs/" + w.p.slug + "/tasks/" + agg + "-" + slugWords[w.rng.IntN(len(slugWords))] + ".md"
		payload["depends_on"] = arr{}
		payload["created_at"] = t.Format("2006-01-02T15:04:05.000000Z")
	default:
		payload["artifact_path"] = "kitty-specs/" + w.p.slug + "/" + pick(w.rng, "spec.md", "plan.md", "tasks.md")
		payload["at"] = t.Format("2006-01-02T15:04:05.000000Z")
	}
	w.emit(obj{
		"aggregate_id": agg, "aggregate_type": aggType, "event_id": w.eventID(t), "event_type": name,
		"payload": payload, "project_slug": nil, "project_uuid": nil, "schema_version": "5.0.0",
		"timestamp": pyTime(t.Add(100 * time.Microsecond)),
	}, t.Add(100*time.Microsecond), name)
}

// next lanes from each lane, most likely first; the last ones are unusual
// moves that the Python state machine only takes with force.
var nextLanes = map[string][]string{
	"planned":     {"claimed", "claimed", "claimed", "claimed", "in_progress", "blocked", "done", "canceled", "planned"},
	"claimed":     {"in_progress", "in_progress", "in_progress", "in_progress", "planned", "done"},
	"in_progress": {"for_review", "for_review", "for_review", "for_review", "blocked", "planned", "approved"},
	"for_review":  {"in_review", "in_review", "in_review", "in_progress", "approved", "done", "planned"},
	"in_review":   {"approved", "approved", "approved", "in_progress", "planned", "for_review"},
	"approved":    {"done", "done", "done", "done", "for_review", "in_progress"},
	"blocked":     {"in_progress", "in_progress", "planned", "claimed"},
	"done":        {"done", "for_review", "approved"},
	"canceled":    {"planned"},
}

// forced reports whether the Python state machine needs force for a move.
func forced(from, to string) bool {
	for i, l := range nextLanes[from] {
		if l == to {
			return i >= 4 || from == "done" || from == "canceled"
		}
	}
	return true
}

// step writes one line of the mission's life: mostly lane transitions and
// annotations, now and then a record of another shape or a broken line. It
// returns how many non-blank lines it wrote (at most left).
func (w *missionWriter) step(left int) int {
	r := w.rng.IntN(1000)
	switch {
	case r < 4:
		w.malformed()
	case r < 7:
		w.noEventID()
	case r < 10:
		w.kindWithLane()
	case r < 22 && len(w.prevTrans) > 0:
		w.duplicate()
	case r < 30 && w.p.style == styleModern:
		w.decisionPoint()
	case r < 38 && w.p.style == styleModern:
		w.retrospective()
	case r < 60 && w.p.style == styleModern:
		w.lifecycle(pick(w.rng, "PlanStarted", "PlanCompleted", "ReviewerSelfApproval", "TasksCompleted"), w.p.slug, "Mission")
	case r < 300:
		w.annotation()
	case r < 360 && w.p.style == styleLegacy:
		w.legacyTransition()
	default:
		n := w.move(left)
		w.maybeBlank()
		return n
	}
	w.maybeBlank()
	return 1
}

func (w *missionWriter) maybeBlank() {
	if w.rng.IntN(300) == 0 {
		w.blank()
	}
}

// move advances one WP along the board; it writes one line, or two when it
// stamps a forward move with a rollback's time and left allows.
func (w *missionWriter) move(left int) int {
	id := w.order[w.rng.IntN(len(w.order))]
	for range 3 {
		if l := w.wps[id].lane; l != "done" && l != "canceled" {
			break
		}
		id = w.order[w.rng.IntN(len(w.order))]
	}
	st := w.wps[id]
	choices := nextLanes[st.lane]
	to := choices[w.rng.IntN(len(choices))]
	o := transOpts{actor: w.actor()}
	o.force = forced(st.lane, to) || w.rng.IntN(25) == 0
	if o.force || w.rng.IntN(2) == 0 {
		o.reason = w.reason()
	}
	if to == "done" {
		ref := "review-cycle://" + w.p.slug + "/" + id
		if w.rng.IntN(2) == 0 {
			ref = "Review passed: " + sentence(w.rng, 10+w.rng.IntN(60))
		}
		o.evidence = obj{"review": obj{"reference": ref, "reviewer": w.actorName(), "verdict": "approved"}}
	}
	verdict := ""
	switch {
	case to == "in_progress" && (st.lane == "for_review" || st.lane == "in_review"):
		verdict = "changes_requested"
		o.reviewRef = "review-cycle://" + w.p.slug + "/" + id + "/review-cycle-" + fmt.Sprint(1+w.rng.IntN(3)) + ".md"
	case to == "approved" || to == "done":
		verdict = "approved"
	}
	if verdict != "" {
		o.reviewResult = obj{"reference": "review-cycle://" + w.p.slug + "/" + id + "-" + slugWords[w.rng.IntN(len(slugWords))] + "/review-cycle-1.md",
			"reviewer": w.actorName(), "verdict": verdict,
			"feedback_path": "/private/var/folders/h5/" + ulidString(w.rng.Uint64(), w.rng.Uint64()) + "/T/spec-kitty-" + fmt.Sprint(w.rng.IntN(1_000_000)) +
				"/kitty-specs/" + w.p.slug + "/tasks/" + id + "-" + slugWords[w.rng.IntN(len(slugWords))] + "/review-cycle-1.md"}
	}
	from := st.lane
	w.transition(id, from, to, o)
	if verdict == "changes_requested" && left >= 2 && w.rng.IntN(5) == 0 {
		// A forward move stamped with the rollback's very time: the Python
		// reducer keeps the rollback.
		w.transition(id, "in_progress", "for_review", transOpts{actor: w.actor(), at: w.now})
		return 2
	}
	return 1
}

type transOpts struct {
	actor        any
	force        bool
	reason       any
	evidence     any
	reviewRef    any
	reviewResult any
	at           time.Time // zero: now
	id           string    // empty: a new ULID
	timeFormat   func(time.Time) string
}

func (w *missionWriter) transition(wp, from, to string, o transOpts) {
	t := o.at
	if t.IsZero() {
		t = w.tick()
	}
	id := o.id
	if id == "" {
		id = w.eventID(t)
	}
	format := o.timeFormat
	if format == nil {
		format = pyTime
	}
	line := obj{
		"actor": o.actor, "at": format(t), "event_id": id, "evidence": o.evidence,
		"execution_mode": pick(w.rng, "worktree", "direct_repo", "main"), "force": o.force,
		"from_lane": from, "mission_id": w.missionID, "mission_slug": w.p.slug,
		"policy_metadata": nil, "reason": o.reason, "review_ref": o.reviewRef, "to_lane": to, "wp_id": wp,
	}
	if o.reviewResult != nil || w.rng.IntN(2) == 0 {
		line["review_result"] = o.reviewResult
	}
	if w.rng.IntN(5) == 0 {
		line["policy_metadata"] = obj{"agent": pick(w.rng, "codex", "claude", "cursor"), "agent_profile": pick(w.rng, "implementer-ivan", "reviewer-renata"),
			"model": "__resolved_model_absent__", "provider": "__resolved_provider_absent__", "role": pick(w.rng, "implementer", "reviewer"),
			"lane": "lane-" + string(rune('a'+w.rng.IntN(8))), "worktree": ".worktrees/" + w.p.slug + "-" + wp,
			"notes": sentence(w.rng, 20+w.rng.IntN(60))}
	}
	w.emitTransition(line, wp, to, id, parsedTime(format(t)))
}

// emitTransition writes a lane transition and folds it into the model: the
// transition with the greatest (at, event_id) sets the WP's lane.
func (w *missionWriter) emitTransition(line obj, wp, to, id string, at time.Time) {
	b := w.emit(line, at, "WPStatusChanged")
	w.counts.Transitions++
	w.counts.Other-- // emit counted it as other
	w.prevTrans = append(w.prevTrans, b)
	if len(w.prevTrans) > 64 {
		w.prevTrans = w.prevTrans[32:]
	}
	st := w.wps[wp]
	if st == nil {
		st = &wpState{}
		w.wps[wp] = st
		w.order = append(w.order, wp)
	}
	rollback := to == "in_progress" && (line["from_lane"] == "in_review" || line["from_lane"] == "for_review" && line["review_ref"] != nil)
	switch {
	case st.moved && st.rollback && !rollback && at.Equal(st.at):
		// A forward move at the time of the rollback that set the lane
		// does not override it.
	case !st.moved || at.After(st.at) || at.Equal(st.at) && id > st.id:
		st.lane, st.at, st.id, st.moved, st.rollback = to, at, id, true, rollback
	}
}

// legacyTransition is an early line: no from_lane, sometimes "timestamp" in
// Python's naive isoformat instead of "at".
func (w *missionWriter) legacyTransition() {
	id := w.order[w.rng.IntN(len(w.order))]
	st := w.wps[id]
	choices := nextLanes[st.lane]
	to := choices[w.rng.IntN(min(4, len(choices)))]
	t := w.tick()
	ev := w.eventID(t)
	line := obj{"event_id": ev, "wp_id": id, "to_lane": to, "actor": w.actorName()}
	var when string
	if w.rng.IntN(3) == 0 {
		when = t.Format("2006-01-02T15:04:05.000000")
		line["timestamp"] = when
	} else {
		when = t.Format("2006-01-02T15:04:05Z")
		line["at"] = when
	}
	w.emitTransition(line, id, to, ev, parsedTime(when))
}

// backfill appends what a migration writes at the end of a file: moves of
// every WP stamped with one old time and ids that are not time-ordered.
func (w *missionWriter) backfill(n int) {
	at := w.p.start.Add(-time.Duration(1+w.rng.IntN(20)) * 24 * time.Hour).Truncate(time.Second)
	only := fmt.Sprintf("WP%02d", len(w.order)+1) // a WP only the migration knows
	for i := 0; i < n; i++ {
		id := w.order[i%len(w.order)]
		if i < len(w.order) {
			switch i {
			case 0:
				id = only
			case 1:
				// Two moves of one WP at one time: the greater event_id wins.
				id = w.order[0]
			}
			w.transition(id, "planned", pick(w.rng, "done", "done", "approved", "for_review"), transOpts{
				actor: "migration", force: true, reason: "historical_frontmatter_to_jsonl:v1",
				at: at, id: w.legacyID(), timeFormat: func(t time.Time) string { return t.Format("2006-01-02T15:04:05Z") },
			})
			continue
		}
		w.emitAt(obj{
			"actor": "migration:backfill_runtime_state", "at": at.Format("2006-01-02T15:04:05Z"), "event_id": w.legacyID(),
			"delta": obj{"subtasks": obj{fmt.Sprintf("T%03d", 1+w.rng.IntN(60)): "done"}}, "kind": "annotation", "wp_id": id,
		}, at, "annotation")
	}
}

func (w *missionWriter) annotation() {
	t := w.tick()
	id := w.order[w.rng.IntN(len(w.order))]
	var delta obj
	switch w.rng.IntN(3) {
	case 0:
		sub := obj{}
		for range 4 + w.rng.IntN(18) {
			sub[fmt.Sprintf("T%03d", 1+w.rng.IntN(80))] = pick(w.rng, "done", "planned", "in_progress")
		}
		delta = obj{"subtasks": sub}
	case 1:
		delta = obj{"tracker_refs": arr{fmt.Sprintf("#%d", 100+w.rng.IntN(3000))}}
	default:
		delta = obj{"agent": pick(w.rng, "claude", "codex", "cursor"), "agent_profile": "__resolved_profile_absent__",
			"model": "__resolved_model_absent__", "role": pick(w.rng, "implementer", "reviewer"), "shell_pid": w.rng.IntN(4_000_000)}
	}
	w.emit(obj{"actor": w.actor(), "at": pyTime(t), "delta": delta, "event_id": w.eventID(t), "kind": "annotation", "wp_id": id}, t, "annotation")
}

func (w *missionWriter) decisionPoint() {
	t := w.tick()
	name := pick(w.rng, "DecisionPointOpened", "DecisionPointResolved")
	w.emit(obj{"at": pyTime(t), "event_id": w.eventID(t), "event_type": name, "payload": obj{
		"decision_point_id": w.eventID(t), "mission_id": w.missionID, "mission_slug": w.p.slug, "options": arr{},
		"question": sentence(w.rng, 6+w.rng.IntN(10)) + "?", "recorded_at": t.Format("2006-01-02T15:04:05.000000Z"),
		"step_id": "plan." + slugWords[w.rng.IntN(len(slugWords))],
	}}, t, name)
}

func (w *missionWriter) retrospective() {
	t := w.tick()
	policy := obj{}
	for _, k := range []string{"apply_proposals", "enabled", "failure_policy", "generate_proposals", "generator",
		"permissions.apply_low_risk_changes", "permissions.inspect_mission_artifacts", "permissions.propose_doctrine_changes"} {
		policy[k] = "<default>"
	}
	w.emit(obj{
		"actor": obj{"display": "spec-kitty retrospect", "id": "cli", "kind": "human"}, "at": pyTime(t),
		"event_id": w.eventID(t), "evidence_ref_count": w.rng.IntN(12), "execution_mode": "main",
		"findings_status": pick(w.rng, "has_findings", "no_findings"), "force": false, "generator_version": "1.0",
		"lamport": 1 + w.rng.IntN(5), "mission_id": w.missionID, "mission_slug": w.p.slug, "policy_source": policy,
		"proposal_count": w.rng.IntN(6), "provenance_kind": "runtime_post_completion",
		"record_path": "kitty-specs/" + w.p.slug + "/retrospective.yaml", "schema_version": 1,
		"type": "RetrospectiveCaptured", "wp_id": nil, "summary": sentence(w.rng, 40+w.rng.IntN(80)),
	}, t, "")
}

// kindWithLane is a typed record that carries wp_id and to_lane: not a lane
// transition (the Python reader skips every line with kind or event_type).
func (w *missionWriter) kindWithLane() {
	t := w.tick()
	id := w.order[w.rng.IntN(len(w.order))]
	if w.rng.IntN(2) == 0 {
		w.emit(obj{"actor": w.actorName(), "at": pyTime(t), "event_id": w.eventID(t), "kind": "lane_hint",
			"to_lane": pick(w.rng, lanes...), "wp_id": id}, t, "lane_hint")
		return
	}
	w.emit(obj{"at": pyTime(t), "event_id": w.eventID(t), "event_type": "WPLaneProposed", "from_lane": "planned",
		"payload": obj{"wp_id": id}, "to_lane": pick(w.rng, lanes...), "wp_id": id}, t, "WPLaneProposed")
}

func (w *missionWriter) noEventID() {
	t := w.tick()
	w.emitAt(obj{"at": pyTime(t), "note": sentence(w.rng, 5), "wp_id": w.order[w.rng.IntN(len(w.order))]}, t, "")
}

func (w *missionWriter) duplicate() {
	b := w.prevTrans[w.rng.IntN(len(w.prevTrans))]
	w.write(b)
	w.counts.Lines++
	w.counts.Duplicates++
	w.counts.Synced++
	w.types["WPStatusChanged"]++
}

// malformed writes a line no reader can take: torn writes, garbage, JSON
// that is not an object.
func (w *missionWriter) malformed() {
	var b []byte
	switch w.rng.IntN(4) {
	case 0:
		b = []byte("{broken")
	case 1:
		b = []byte(`["not", "an", "object"]`)
	case 2:
		b = []byte(`"` + sentence(w.rng, 4) + `"`)
	default:
		b = w.tornPrefix()
	}
	w.write(append(b, '\n'))
	w.counts.Lines++
	w.counts.Malformed++
}

// tornPrefix is the start of a valid line, as a crash mid-append leaves it.
func (w *missionWriter) tornPrefix() []byte {
	t := w.now.Add(time.Second)
	w.enc.reset(w.ascii)
	w.enc.value(obj{"actor": w.actorName(), "at": pyTime(t), "event_id": w.eventID(t), "from_lane": "planned",
		"mission_slug": w.p.slug, "to_lane": "claimed", "wp_id": w.order[0]})
	full := w.enc.buf
	cut := 10 + w.rng.IntN(len(full)-12)
	return append([]byte(nil), full[:cut]...)
}

// pendingTail ends the file with an incomplete line and no newline: a
// writer still appending. The status reader counts it as malformed; the
// importer leaves it for later.
func (w *missionWriter) pendingTail() {
	w.write(w.tornPrefix())
	w.counts.Lines++
	w.counts.PendingTail++
}

func (w *missionWriter) blank() {
	w.write([]byte(pick(w.rng, "\n", "   \n", "\t\n")))
	w.counts.Blank++
}

// emit writes a valid line with an event_id whose time is at.
func (w *missionWriter) emit(o obj, at time.Time, typ string) []byte {
	b := w.emitAt(o, at, typ)
	return b
}

// emitAt writes a valid object line and counts it as other (emitTransition
// corrects that for transitions).
func (w *missionWriter) emitAt(o obj, at time.Time, typ string) []byte {
	w.enc.reset(w.ascii)
	w.enc.value(o)
	b := append(append([]byte(nil), w.enc.buf...), '\n')
	w.write(b)
	w.counts.Lines++
	w.counts.Other++
	if _, ok := o["event_id"]; ok {
		w.counts.Synced++
		if typ == "" {
			typ = "StatusRecord"
		}
		w.types[typ]++
	} else {
		w.counts.NoEventID++
	}
	if at.After(w.last) {
		w.last = at
	}
	return b
}

func (w *missionWriter) write(b []byte) {
	w.out.Write(b)
	w.counts.Bytes += int64(len(b))
}

func (w *missionWriter) actor() any {
	switch w.rng.IntN(6) {
	case 0:
		return obj{"model": nil, "profile": nil, "role": pick(w.rng, "implementer", "reviewer"), "tool": pick(w.rng, "claude", "codex")}
	case 1:
		return obj{"display": w.actorName(), "id": "cli", "kind": "human"}
	}
	return w.actorName()
}

func (w *missionWriter) actorName() string {
	return actorNames[w.rng.IntN(len(actorNames))]
}

func (w *missionWriter) reason() string {
	if w.rng.IntN(9) == 0 {
		return nonASCIIReasons[w.rng.IntN(len(nonASCIIReasons))]
	}
	return titleCase(sentence(w.rng, 16+w.rng.IntN(90)))
}

// pyTime is Python's datetime.isoformat() of an aware UTC time.
func pyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000+00:00") }

func parsedTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC()
		}
	}
	panic("corpus: unparsable time " + s)
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }
