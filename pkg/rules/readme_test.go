package rules_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/rules"
)

// The README's rule table is generated from the registry; -update rewrites it.
func TestREADMEListsEveryRule(t *testing.T) {
	const path = "../../README.md"
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
		t.Fatal("README lacks the rules:begin/end markers")
	}
	begin += len("<!-- rules:begin -->\n")
	if got := s[begin:end]; got != rows.String() {
		if *update {
			must(t, os.WriteFile(path, []byte(s[:begin]+rows.String()+s[end:]), 0o644))
			return
		}
		t.Errorf("README's rule table is out of date; run go test ./pkg/rules -run README -update")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
