// Command corpus writes a spec-kitty repository for scripts, the demo and
// manual experiments: the generated corpus (core/corpus) of the size asked
// for, or the real public spec-kitty corpus when asked for and present
// (SPEC_KITTY_FIXTURES, else ../shared/fixtures beside the repository).
//
//	go run ./scripts/corpus -out DIR [-size small|default|large] [-source generated|real|auto]
//	                        [-missions A,B,...] [-kittify] [-json]
//
// It prints one line saying which corpus it wrote (or, with -json, the
// generated corpus's summary), and exits 1 when -source real is asked for
// and the real corpus is absent.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "", "directory to write kitty-specs/ into (required)")
	size := flag.String("size", "default", "generated corpus size: small, default or large")
	source := flag.String("source", "generated", "generated, real, or auto (real when present, else generated)")
	only := flag.String("missions", "", "comma-separated missions to copy (default: all)")
	kittify := flag.Bool("kittify", false, "also write .kittify/config.yaml (generated corpus only)")
	asJSON := flag.Bool("json", false, "print the generated corpus's summary as JSON")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	o, ok := corpus.Sizes[*size]
	if !ok {
		return fmt.Errorf("-size %q: want small, default or large", *size)
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	useReal := false
	switch *source {
	case "generated":
	case "real":
		useReal = true
	case "auto":
		_, err := fixture.Real()
		useReal = err == nil
		if err != nil && !errors.Is(err, fixture.ErrNoReal) {
			return err
		}
	default:
		return fmt.Errorf("-source %q: want generated, real or auto", *source)
	}
	if useReal {
		src, err := fixture.Real()
		if errors.Is(err, fixture.ErrNoReal) {
			return fmt.Errorf("%w (%s)", err, fixture.EnableHint)
		}
		if err != nil {
			return err
		}
		if err := fixture.CopyMissions(src, *out, names...); err != nil {
			return err
		}
		fmt.Printf("real corpus (the public spec-kitty repository's missions, from %s): %s\n", src, describe(*out))
		return nil
	}
	src, sum, err := fixture.Corpus(o)
	if err != nil {
		return err
	}
	if err := fixture.CopyMissions(src, *out, names...); err != nil {
		return err
	}
	if *kittify {
		if err := fixture.CopyKittify(src, *out); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", " ")
		return enc.Encode(sum)
	}
	fmt.Printf("generated corpus (core/corpus, %s, seed %d): %s\n", *size, o.Seed, describe(*out))
	return nil
}

// describe counts what was written: missions and non-blank event lines.
func describe(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "kitty-specs", "*", "status.events.jsonl"))
	missions, _ := filepath.Glob(filepath.Join(dir, "kitty-specs", "*"))
	lines := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
	}
	return fmt.Sprintf("%d missions, %d event lines", len(missions), lines)
}
