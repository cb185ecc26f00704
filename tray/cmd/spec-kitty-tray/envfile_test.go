package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEnvFile(t *testing.T) {
	got, err := parseEnvFile("f", strings.NewReader("\ufeff# recorded by install.ps1\r\nSPEC_KITTY_ENABLE_SAAS_SYNC=1\r\n\r\nSPEC_KITTY_SAAS_URL=https://h.example/a=b\nSPEC_KITTY_HOME=C:\\Users\\a b\\.sk\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_SAAS_URL": "https://h.example/a=b", "SPEC_KITTY_HOME": `C:\Users\a b\.sk`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"PATH=/x\n", "SPEC_KITTY_HOME\n"} {
		if _, err := parseEnvFile("f", strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if err := envFileArgs([]string{"--bogus"}); err == nil {
		t.Error("--bogus accepted")
	}
}
