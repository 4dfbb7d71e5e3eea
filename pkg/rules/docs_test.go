package rules_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/rules"
)

// docs/rules.md's rule table is generated from the registry; -update rewrites it.
func TestDocsListEveryRule(t *testing.T) {
	const path = "../../docs/rules.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows strings.Builder
	for _, r := range rules.All() {
		fmt.Fprintf(&rows, "| %s | %s | %s |\n", r.ID, r.Kind, r.Summary)
	}
	s := string(b)
	begin, end := strings.Index(s, "<!-- rules:begin -->\n"), strings.Index(s, "<!-- rules:end -->")
	if begin < 0 || end < begin {
		t.Fatal(path + " lacks the rules:begin/end markers")
	}
	begin += len("<!-- rules:begin -->\n")
	if got := s[begin:end]; got != rows.String() {
		if *update {
			must(t, os.WriteFile(path, []byte(s[:begin]+rows.String()+s[end:]), 0o644))
			return
		}
		t.Errorf("%s's rule table is out of date; run go test ./pkg/rules -run DocsListEveryRule -update", path)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
