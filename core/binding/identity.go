package binding

import (
	"encoding/binary"
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
		if p.BuildID, err = uuid7(now(), rand); err != nil {
			return err
		}
	}
	return nil
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

// uuid7 is a time-ordered (version 7) UUID, RFC 9562: 48 bits of Unix
// milliseconds, then random bits.
func uuid7(t time.Time, rand io.Reader) (string, error) {
	var u [16]byte
	if _, err := io.ReadFull(rand, u[6:]); err != nil {
		return "", fmt.Errorf("generate build_id: %w", err)
	}
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(u[:6], ms[2:])
	u[6] = u[6]&0x0f | 0x70
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
