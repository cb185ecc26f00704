package svcmgr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    map[string]string
		wantErr string
	}{
		{"empty", "", map[string]string{}, ""},
		{"comments and blanks", "# hi\n\n  \n# SPEC_KITTY_HOME=x\n", map[string]string{}, ""},
		{"values verbatim", "SPEC_KITTY_HOME=C:\\a b\\ \nSPEC_KITTY_SAAS_URL=https://x/?a=b=c#frag\n",
			map[string]string{"SPEC_KITTY_HOME": `C:\a b\ `, "SPEC_KITTY_SAAS_URL": "https://x/?a=b=c#frag"}, ""},
		{"CRLF", "SPEC_KITTY_ENABLE_SAAS_SYNC=1\r\n", map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1"}, ""},
		{"empty value", "SPEC_KITTY_SAAS_URL=\n", map[string]string{"SPEC_KITTY_SAAS_URL": ""}, ""},
		{"no equals", "SPEC_KITTY_HOME\n", nil, "service.env:1: expected KEY=VALUE"},
		{"unknown key", "\nPATH=/evil\n", nil, `service.env:2: variable "PATH" is not allowed`},
		{"duplicate", "SPEC_KITTY_HOME=a\nSPEC_KITTY_HOME=b\n", nil, "service.env:2: SPEC_KITTY_HOME is set twice"},
		{"control character", "SPEC_KITTY_HOME=a\x00b\n", nil, "service.env:1: SPEC_KITTY_HOME"},
		{"too large", strings.Repeat("#", maxEnvFile+1), nil, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvFile("service.env", []byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "service.env")
	env := map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_HOME": "/x y", "SPEC_KITTY_SAAS_URL": "http://127.0.0.1:1"}
	if err := os.WriteFile(p, []byte(FormatEnvFile(env)), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := LoadEnvFile(p + ".missing"); err == nil || !strings.Contains(err.Error(), "read env file") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseEnvFile: no input panics, and whatever parses survives a
// format/parse round trip unchanged.
func FuzzParseEnvFile(f *testing.F) {
	f.Add([]byte("SPEC_KITTY_ENABLE_SAAS_SYNC=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvFile("fuzz", data)
		if err != nil {
			return
		}
		again, err := ParseEnvFile("fuzz", []byte(FormatEnvFile(env)))
		if err != nil {
			t.Fatalf("formatted env does not parse: %v", err)
		}
		if diff := cmp.Diff(env, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
