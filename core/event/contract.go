package event

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The Python CLI's outbound envelope check, validate_outbound_payload(event,
// "envelope") in src/specify_cli/core/contract_gate.py, enforcing the
// "envelope" section of src/specify_cli/core/upstream_contract.json. Every
// envelope this client builds passes it (a host enforcing the same rules
// accepts our uploads), and core/hosted/hostedtest refuses what fails it.
// testdata/envelope_fields.golden pins these lists.
var (
	// RequiredEnvelopeFields must be present (any value, null included).
	RequiredEnvelopeFields = []string{"schema_version", "build_id", "aggregate_type", "event_type"}
	// ForbiddenEnvelopeFields must not be top-level keys (they belong in
	// the payload).
	ForbiddenEnvelopeFields = []string{"feature_slug", "feature_number", "from_lane", "to_lane", "actor", "force", "reason", "review_ref", "execution_mode", "evidence"}
	// AllowedAggregateTypes are the aggregate_type values the contract allows.
	AllowedAggregateTypes = []string{"Build", "Mission", "WorkPackage", "MissionDossier"}
)

// CheckEnvelopeContract applies the Python gate to one envelope's top-level
// fields; field returns a key's raw JSON value and whether it is present.
// It returns "" when the envelope passes, else the first violation in the
// gate's order and wording (the reason of its ContractViolationError).
func CheckEnvelopeContract(field func(key string) (json.RawMessage, bool)) string {
	for _, k := range RequiredEnvelopeFields {
		if _, ok := field(k); !ok {
			return fmt.Sprintf("required field '%s' missing in envelope payload", k)
		}
	}
	for _, k := range ForbiddenEnvelopeFields {
		if _, ok := field(k); ok {
			return fmt.Sprintf("forbidden field '%s' present in envelope payload", k)
		}
	}
	if v, ok := field("aggregate_type"); ok {
		s, isStr := stringField(v)
		allowed := false
		for _, a := range AllowedAggregateTypes {
			allowed = allowed || isStr && s == a
		}
		if !allowed {
			quoted := make([]string, len(AllowedAggregateTypes))
			for i, a := range AllowedAggregateTypes {
				quoted[i] = "'" + a + "'"
			}
			return fmt.Sprintf("field 'aggregate_type' must be one of [%s], got %s", strings.Join(quoted, ", "), pyRepr(v))
		}
	}
	if v, ok := field("schema_version"); ok {
		if s, isStr := stringField(v); !isStr || s != SchemaVersion {
			return fmt.Sprintf("field 'schema_version' must equal '%s', got %s", SchemaVersion, pyRepr(v))
		}
	}
	return ""
}

// pyRepr renders a JSON value roughly as Python's repr of its decoded value,
// for the gate's messages.
func pyRepr(v json.RawMessage) string {
	switch t := strings.TrimSpace(string(v)); t {
	case "null":
		return "None"
	case "true":
		return "True"
	case "false":
		return "False"
	}
	if s, ok := stringField(v); ok {
		return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
	}
	return strings.TrimSpace(string(v)) // numbers; objects and arrays roughly
}
