// Command gen writes installer/packaging/spec-kitty-sync.service, the systemd
// user unit shipped in the .deb and .rpm, from svcmgr's template.
//
//	go run ./installer/gen          # rewrite the file
//	go run ./installer/gen -check   # exit 1 if it is out of date
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spec-kitty/spec-kitty-sync/installer"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "only check that the file is up to date")
	out := fs.String("o", filepath.Join("installer", installer.UnitFile), "file to write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	unit, err := installer.PackagedUnit()
	if err != nil {
		fmt.Fprintf(stderr, "gen: render unit: %v\n", err)
		return 1
	}
	if *check {
		have, err := os.ReadFile(*out)
		if err != nil || !bytes.Equal(have, []byte(unit)) {
			fmt.Fprintf(stderr, "gen: %s is out of date; run: go run ./installer/gen\n", *out)
			return 1
		}
		return 0
	}
	if err := os.WriteFile(*out, []byte(unit), 0o644); err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 1
	}
	return 0
}
