package binding

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// fill generates every empty identity field.
func (p *Project) fill(slug string, now func() time.Time, rand io.Reader) error {
	var err error
	if p.UUID == "" {
		if p.UUID, err = uuid4(rand); err != nil {
			return err
		}
	}
	if p.Slug == "" {
		p.Slug = slug
	}
	if p.NodeID == "" {
		var b [6]byte
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return fmt.Errorf("generate node_id: %w", err)
		}
		p.NodeID = hex.EncodeToString(b[:])
	}
	if p.BuildID == "" {
		p.BuildID = DeriveBuildID(p.UUID, p.NodeID)
	}
	return nil
}

// buildIDNamespace is the Python CLI's _BUILD_ID_NAMESPACE,
// uuid5(NAMESPACE_URL, "spec-kitty:identity:build_id")
// (src/specify_cli/identity/project.py): 18c0fef1-8e60-5d6b-89d9-e2f1ccb9cc03,
// written out so no SHA-1 runs at start-up (issue 18); TestGeneratedIDsAreWellFormed derives it.
var buildIDNamespace = [16]byte{0x18, 0xc0, 0xfe, 0xf1, 0x8e, 0x60, 0x5d, 0x6b, 0x89, 0xd9, 0xe2, 0xf1, 0xcc, 0xb9, 0xcc, 0x03}

// DeriveBuildID is the Python CLI's derive_build_id (identity/project.py):
// uuid5(_BUILD_ID_NAMESPACE, f"{project_uuid}:{node_id}"), deterministic, so
// both tools (and every process racing to fill in a missing build_id) mint
// the same value for one (project_uuid, node_id). A project uuid is used in
// its canonical lower-case form, as Python's str(UUID(...)) gives it.
func DeriveBuildID(projectUUID, nodeID string) string {
	if u, ok := parseUUID(projectUUID); ok {
		projectUUID = format(u)
	}
	return format(uuid5(buildIDNamespace, projectUUID+":"+nodeID))
}

// uuid5 is a name-based (SHA-1, version 5) UUID, RFC 9562.
func uuid5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

// parseUUID reads the forms Python's UUID() accepts: 32 hex digits, with or
// without hyphens, braces or a "urn:uuid:" prefix.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	s = strings.TrimPrefix(strings.TrimSpace(s), "urn:uuid:")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return u, false
	}
	if _, err := hex.Decode(u[:], []byte(s)); err != nil {
		return u, false
	}
	return u, true
}

// uuid4 is a random (version 4) UUID, RFC 9562.
func uuid4(rand io.Reader) (string, error) {
	var u [16]byte
	if _, err := io.ReadFull(rand, u[:]); err != nil {
		return "", fmt.Errorf("generate uuid: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return format(u), nil
}

func format(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Slug normalises a directory name into a project slug: lower-case ASCII
// letters and digits, every other run of characters one "-", none at either
// end; "project" when nothing is left.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "project"
	}
	return b.String()
}
