package mission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Transition guards of the Python CLI, so that `status emit` writes no move
// that the Python emitter would refuse or that its `agent status validate`
// flags. Sources (Priivacy-ai/spec-kitty):
//   - src/specify_cli/status/transitions.py validate_transition: the
//     transition matrix (allowedMoves), force requiring actor and reason,
//     and the guards of _GUARDED_TRANSITIONS;
//   - src/specify_cli/status/validate.py: validate_event_schema (force=true
//     needs a reason; for_review -> in_progress needs review_ref) and
//     validate_done_evidence (a move to done not forced needs evidence with
//     review.reviewer, review.verdict and review.reference).
//
// Guards that need state only the Python CLI keeps are not applied:
// workspace_context (claimed -> in_progress), subtasks_complete_or_force
// (in_progress -> for_review) and the reviewer conflict check of
// for_review -> in_review; the Python validator does not flag those moves.
// Messages are Python's, word for word.

// Python's wording (transitions.py).
const (
	msgForceNeedsActorReason = "Force transitions require actor and reason"
	msgReviewerApproval      = "Transition to approved/done requires evidence (reviewer identity and approval reference)"
	msgReviewRefRequired     = "Transition requires review_ref (review feedback reference)"
	msgReasonRequired        = "Transition in_progress -> planned requires reason"
	msgReviewResultRequired  = "Transition from in_review requires review_result (structured review outcome)"
)

// ErrForceWithoutReason: --force without --reason, refused before anything is
// read (a usage error).
//
//lint:ignore ST1005 the Python CLI's wording, word for word
var ErrForceWithoutReason = errors.New(msgForceNeedsActorReason)

// TransitionError is a move the guards refuse given the WP's current lane.
type TransitionError struct {
	From, To Lane
	Msg      string // Python's wording
}

func (e *TransitionError) Error() string { return e.Msg }

// Evidence is the `evidence` object of a move (Python's DoneEvidence):
// kept as given, with the review fields the guards check.
type Evidence struct {
	Raw    json.RawMessage // the object as written on the line
	Review struct {
		Reviewer  string `json:"reviewer"`
		Verdict   string `json:"verdict"`
		Reference string `json:"reference"`
	} `json:"review"`
}

// ParseEvidence reads an evidence JSON object, e.g.
// {"review": {"reviewer": "alice", "verdict": "approved", "reference": "PR#12"}}.
func ParseEvidence(s string) (*Evidence, error) {
	raw := bytes.TrimSpace([]byte(s))
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return nil, fmt.Errorf("evidence must be a JSON object, e.g. %s", `{"review": {"reviewer": "alice", "verdict": "approved", "reference": "PR#12"}}`)
	}
	var e Evidence
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("evidence: %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("evidence: %v", err)
	}
	e.Raw = compact.Bytes()
	return &e, nil
}

// checkRequest refuses what is wrong whatever the WP's lane. The actor is
// never blank here (Emit writes "unknown" for none), so a forced move needs
// only its reason.
func checkRequest(e EmitRequest) error {
	if e.Force && strings.TrimSpace(e.Reason) == "" {
		return ErrForceWithoutReason
	}
	return nil
}

// checkMove applies the guards to the move from -> to.
func checkMove(from, to Lane, e EmitRequest) error {
	refuse := func(msg string) error { return &TransitionError{From: from, To: to, Msg: msg} }
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	if !allowedMove(from, to) && !e.Force {
		return refuse(fmt.Sprintf("Illegal transition: %s -> %s", from, to))
	}
	// validate.py validate_event_schema, whether forced or not.
	if from == ForReview && to == InProgress && blank(e.ReviewRef) {
		return refuse(msgReviewRefRequired)
	}
	if e.Force {
		return nil // force bypasses the guards (actor and reason checked)
	}
	review := func() (reviewer, verdict, reference string) {
		if e.Evidence == nil {
			return "", "", ""
		}
		r := e.Evidence.Review
		return r.Reviewer, r.Verdict, r.Reference
	}
	reviewer, verdict, reference := review()
	switch [2]Lane{from, to} {
	case [2]Lane{InProgress, Approved}, [2]Lane{Approved, Done}:
		if blank(reviewer) || blank(reference) {
			return refuse(msgReviewerApproval)
		}
	case [2]Lane{Approved, InProgress}, [2]Lane{Approved, Planned}:
		if blank(e.ReviewRef) {
			return refuse(msgReviewRefRequired)
		}
	case [2]Lane{InProgress, Planned}:
		if blank(e.Reason) {
			return refuse(msgReasonRequired)
		}
	}
	if from == InReview {
		// The review result of an outbound in_review move is the evidence's
		// review section.
		switch {
		case e.Evidence == nil:
			return refuse(msgReviewResultRequired)
		case blank(reviewer):
			return refuse("Transition from in_review requires review_result with reviewer")
		case blank(verdict):
			return refuse("Transition from in_review requires review_result with verdict")
		case blank(reference):
			return refuse("Transition from in_review requires review_result with reference")
		}
	}
	if to == Done {
		// validate.py validate_done_evidence.
		switch {
		case e.Evidence == nil:
			return refuse(msgReviewerApproval)
		case blank(reviewer):
			return refuse("done evidence missing reviewer identity")
		case blank(verdict):
			return refuse("done evidence missing verdict")
		case blank(reference):
			return refuse("done evidence missing approval reference")
		}
	}
	return nil
}
