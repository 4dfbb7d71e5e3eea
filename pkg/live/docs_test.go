package live

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the live-check table in docs/live-checks.md")

// docs/live-checks.md's table is generated from Checks(): ID, name and IAM actions; -update rewrites it.
func TestLiveChecksDocListsEveryCheck(t *testing.T) {
	const path = "../../docs/live-checks.md"
	const beginMark, endMark = "<!-- live-checks:begin -->\n", "<!-- live-checks:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows strings.Builder
	for _, c := range Checks() {
		fmt.Fprintf(&rows, "| %s | %s | %s |\n", c.ID, c.Name, strings.Join(c.Actions, ", "))
	}
	s := string(b)
	begin, end := strings.Index(s, beginMark), strings.Index(s, endMark)
	if begin < 0 || end < begin {
		t.Fatal(path + " lacks the live-checks:begin/end markers")
	}
	begin += len(beginMark)
	if got := s[begin:end]; got != rows.String() {
		if *update {
			if err := os.WriteFile(path, []byte(s[:begin]+rows.String()+s[end:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's live-check table is out of date; run go test ./pkg/live -run LiveChecksDoc -update", path)
	}
}
