package readiness_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/policy"
	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
)

// contractsGolden holds the stable wording of CONTRACTS.md verbatim: its
// **stable** code blocks and table rows, and the one line of `service run`
// with the gate off. Two tests hold it in place from both sides: the Go
// tables must render to it, and CONTRACTS.md (when it is beside the
// repository) must extract to it.
var contractsGolden = filepath.Join("testdata", "contracts.golden")

// goStableWording renders the Go tables in the shape of CONTRACTS.md.
func goStableWording() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[§2 Disabled message]\n%s\n", readiness.DisabledMessage())
	fmt.Fprintf(&b, "[§2 service run line]\n%s\n", rollout.ServiceRunLine)
	b.WriteString("[§4 Wording]\n")
	for _, s := range readiness.States {
		if s == readiness.Ready {
			continue
		}
		message, next := readiness.Wording(s)
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s, markdownCode(message), markdownCode(next))
	}
	fmt.Fprintf(&b, "[§6 Manual-mode notice]\n%s", policy.ManualNotice)
	return b.String()
}

// markdownCode spells s as a Markdown code span the way CONTRACTS.md does.
func markdownCode(s string) string {
	if strings.Contains(s, "`") {
		return "``" + s + "``"
	}
	return "`" + s + "`"
}

func TestStableWordingGolden(t *testing.T) {
	want, err := os.ReadFile(contractsGolden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), goStableWording()); diff != "" {
		t.Errorf("the Go wording tables differ from %s (-golden +go):\n%s", contractsGolden, diff)
	}
}

// TestContractsMatchGolden extracts the stable wording from
// ../shared/design/CONTRACTS.md beside the repository, so a contract edit
// that the golden file (and therefore the code) did not follow fails here.
func TestContractsMatchGolden(t *testing.T) {
	contracts := contractsPath(t)
	f, err := os.Open(contracts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := extractStable(bufio.NewScanner(f))
	if err != nil {
		t.Fatalf("%s: %v", contracts, err)
	}
	want, err := os.ReadFile(contractsGolden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs from %s (-golden +contracts):\n%s", contracts, contractsGolden, diff)
	}
}

func contractsPath(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "design", "CONTRACTS.md")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no CONTRACTS.md beside the repository (%s); the golden file alone pins the wording", p)
	}
	return p
}

var (
	sectionRE    = regexp.MustCompile(`^## (\d+)\.`)
	stableRE     = regexp.MustCompile(`^(.*?)\s*\(\*\*stable\*\*`)
	serviceRunRE = regexp.MustCompile("printing the one line `([^`]+)`")
)

// extractStable returns, in the golden file's order, every **stable** code
// block and table of CONTRACTS.md (after its first section heading, so the
// preamble that explains the marker is not taken for one) and the
// `service run` line of §2. Table header and separator rows are dropped.
func extractStable(sc *bufio.Scanner) (string, error) {
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	blocks := map[string]string{}
	var order []string
	add := func(name, text string) {
		if _, dup := blocks[name]; !dup {
			order = append(order, name)
		}
		blocks[name] += text
	}
	section := ""
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if section == "" {
			continue
		}
		if m := serviceRunRE.FindStringSubmatch(line); m != nil {
			add("§"+section+" service run line", m[1]+"\n")
		}
		m := stableRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := fmt.Sprintf("§%s %s", section, strings.TrimSpace(m[1]))
		// The stable element is the next code block or table.
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.HasPrefix(lines[j], "```") || strings.HasPrefix(lines[j], "|") || sectionRE.MatchString(lines[j]) {
				break
			}
		}
		if j == len(lines) || sectionRE.MatchString(lines[j]) {
			return "", fmt.Errorf("line %d: %q is marked stable but no code block or table follows", i+1, name)
		}
		var text strings.Builder
		if strings.HasPrefix(lines[j], "```") {
			for j++; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
				text.WriteString(lines[j] + "\n")
			}
		} else {
			for row := 0; j < len(lines) && strings.HasPrefix(lines[j], "|"); j, row = j+1, row+1 {
				if row >= 2 { // header and separator
					text.WriteString(lines[j] + "\n")
				}
			}
		}
		add(name, text.String())
		i = j
	}
	var b strings.Builder
	for _, name := range []string{"§2 Disabled message", "§2 service run line", "§4 Wording", "§6 Manual-mode notice"} {
		text, ok := blocks[name]
		if !ok {
			return "", fmt.Errorf("no stable block %q", name)
		}
		fmt.Fprintf(&b, "[%s]\n%s", name, text)
		delete(blocks, name)
	}
	for _, name := range order {
		if _, left := blocks[name]; left {
			return "", fmt.Errorf("stable block %q has no place in the golden file (and no Go table pinned by it)", name)
		}
	}
	return b.String(), nil
}

// The extractor itself, on a small document: the preamble's mention of the
// marker is ignored, code blocks and table rows are taken, and a stable
// block the golden file has no place for is an error, not a silent pass.
func TestExtractStable(t *testing.T) {
	doc := "Wording in `code blocks` marked **stable** is pinned.\n" +
		"```toml\nnot = \"stable\"\n```\n" +
		"## 2. Gate\n" +
		"Disabled message (**stable**):\n```\nOff.\n```\n" +
		"`service run` exits 0, printing the one line `off` and nothing else.\n" +
		"## 4. Readiness\n" +
		"Wording (**stable**; {host} is the URL):\n\n| state | message |\n|---|---|\n| a | `A.` |\n\nAfter.\n" +
		"## 6. Policy\n" +
		"Manual-mode notice (**stable**), printed\non stdout:\n```\nManual.\nRun it.\n```\n"
	got, err := extractStable(bufio.NewScanner(strings.NewReader(doc)))
	if err != nil {
		t.Fatal(err)
	}
	want := "[§2 Disabled message]\nOff.\n[§2 service run line]\noff\n[§4 Wording]\n| a | `A.` |\n[§6 Manual-mode notice]\nManual.\nRun it.\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	extra := doc + "## 7. More\nNew notice (**stable**):\n```\nNew.\n```\n"
	if _, err := extractStable(bufio.NewScanner(strings.NewReader(extra))); err == nil || !strings.Contains(err.Error(), "New notice") {
		t.Errorf("an unplaced stable block: err = %v", err)
	}
	missing := strings.Replace(doc, "Disabled message (**stable**)", "Disabled message", 1)
	if _, err := extractStable(bufio.NewScanner(strings.NewReader(missing))); err == nil {
		t.Error("a missing stable block: no error")
	}
}
