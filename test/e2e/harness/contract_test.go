package harness_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// contractCase is one behaviour of ../shared/reference/eks-behaviour.md that the front enforces, named by its ID.
type contractCase struct {
	id   string // V1, U2, ... followed by a short name: "V4_StandardRefusedInExtendedSupport"
	test func(t *testing.T)
}

// contractIDs are the 24 behaviours of eks-behaviour.md, the platform add-ons' (N7-N9, issue 13) and the Pod
// Identity associations' (P1-P2); TestContract fails when one has no subtest.
var contractIDs = []string{
	"V1", "V2", "V3", "V4", "V5", "C1",
	"U1", "U2", "U3", "U4", "U5", "U6",
	"A1", "A2",
	"N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9",
	"P1", "P2",
	"L1", "L2", "D1", "D2",
}

// TestContract shows, one subtest per ID, that the front behaves as AWS documents it. The subtests are grouped by
// file: the EKS behaviours (contract_eks_test.go), the logs and deletion behaviours (contract_delete_test.go) and
// the Pod Identity associations (contract_podidentity_test.go).
func TestContract(t *testing.T) {
	var cases []contractCase
	cases = append(cases, contractEKS...)
	cases = append(cases, contractDeletion...)
	cases = append(cases, contractPodIdentity...)
	sort.Slice(cases, func(i, j int) bool { return cases[i].id < cases[j].id })
	have := map[string]bool{}
	for _, c := range cases {
		id, _, _ := cutID(c.id)
		have[id] = true
		t.Run(c.id, c.test)
	}
	for _, id := range contractIDs {
		if !have[id] {
			t.Errorf("behaviour %s of eks-behaviour.md has no TestContract subtest", id)
		}
	}
}

// cutID splits "V4_Name" into "V4" and "Name".
func cutID(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '_' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestContractTable keeps docs/test-front.md in step with TestContract: a row per ID naming its subtest, and
// every test the table names exists.
func TestContractTable(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	b, err := os.ReadFile(filepath.Join(root, "docs", "test-front.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range append(append(append([]contractCase{}, contractEKS...), contractDeletion...), contractPodIdentity...) {
		id, _, _ := cutID(c.id)
		if !strings.Contains(doc, "\n| "+id+" | ") || !strings.Contains(doc, "`"+c.id+"`") {
			t.Errorf("docs/test-front.md has no row for %s naming its subtest %s", id, c.id)
		}
	}
	var funcs strings.Builder
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, "_test.go") {
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			funcs.Write(src)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile("`(Test[A-Za-z0-9]+)`").FindAllStringSubmatch(doc, -1) {
		if !strings.Contains(funcs.String(), "func "+name[1]+"(") {
			t.Errorf("docs/test-front.md names %s, which does not exist", name[1])
		}
	}
}
