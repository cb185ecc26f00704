package hosted

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	const tok = "tok_SuperSecretValue123"
	s := NewSecret(tok)
	type holder struct {
		Name  string
		Token Secret `json:"token"`
	}
	h := holder{Name: "x", Token: s}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	out = append(out, fmt.Sprint(s), fmt.Sprintln(s), s.String(), s.GoString())
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b))
	m, _ := json.Marshal(map[Secret]int{s: 1})
	out = append(out, string(m))
	var buf bytes.Buffer
	for _, lh := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(lh)
		l.Info("x", "token", s, "holder", h, "any", any(s))
	}
	out = append(out, buf.String())
	for _, o := range out {
		if strings.Contains(o, tok) || strings.Contains(o, fmt.Sprintf("%x", tok)) {
			t.Errorf("token leaked: %s", o)
		}
	}
	if s.Reveal() != tok {
		t.Errorf("Reveal = %q", s.Reveal())
	}
	if !strings.Contains(string(b), `"token":"[redacted]"`) {
		t.Errorf("json = %s", b)
	}
}
