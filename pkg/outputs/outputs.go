// Package outputs reads and writes the pipeline's outputs file, cfn-outputs/flat-outputs.json. It is written
// nested per stack, {"TapStack<suffix>": {name: value}}, or flat with --flat; it is read in either shape, with
// snake_case, camelCase or PascalCase keys, as the original's integration tests accepted.
package outputs

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/internal/jsonout"
)

// DefaultPath is where the original pipeline kept its outputs.
const DefaultPath = "cfn-outputs/flat-outputs.json"

// Values maps snake_case output names to their values (strings, lists, ...).
type Values map[string]any

// FromTerraform turns `terraform output -json` (name -> {value, type, sensitive}) into Values. Sensitive outputs
// are left out so they never reach a file a pipeline uploads.
func FromTerraform(raw map[string]json.RawMessage) (Values, error) {
	v := Values{}
	for name, msg := range raw {
		var o struct {
			Value     any  `json:"value"`
			Sensitive bool `json:"sensitive"`
		}
		if err := json.Unmarshal(msg, &o); err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		if !o.Sensitive {
			v[name] = o.Value
		}
	}
	return v, nil
}

// FromState is FromTerraform of a decoded state's root outputs (show -json's values.outputs, or
// tfstate.Decode's), so that `terraform output -json` need not run. A state without outputs gives empty Values.
func FromState(st *tfjson.State) (Values, error) {
	raw := map[string]json.RawMessage{}
	if st != nil && st.Values != nil {
		for name, o := range st.Values.Outputs {
			b, err := json.Marshal(o)
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", name, err)
			}
			raw[name] = b
		}
	}
	return FromTerraform(raw)
}

// Encode renders the file: nested under stack unless flat. Keys are sorted, so the bytes are stable.
func Encode(stack string, v Values, flat bool) ([]byte, error) {
	var doc any = map[string]Values{stack: v}
	if flat {
		doc = v
	}
	return jsonout.Marshal(doc)
}

// Write writes the file atomically.
func Write(path, stack string, v Values, flat bool) error {
	b, err := Encode(stack, v, flat)
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, b, 0o644)
}

// Read reads an outputs file in any accepted shape. stack picks the entry of a nested file; when it is empty
// and the file holds exactly one stack, that one is used.
func Read(path, stack string) (Values, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(b, stack)
}

// knownNames are the outputs tapstack writes; their presence marks a flat file.
var knownNames = map[string]bool{"cluster_name": true, "cluster_endpoint": true, "vpc_id": true, "oidc_provider_arn": true}

// Decode parses an outputs document in any accepted shape and normalizes keys to snake_case.
func Decode(b []byte, stack string) (Values, error) {
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("outputs: %w", err)
	}
	flat := false
	for k := range top {
		if knownNames[SnakeCase(k)] {
			flat = true
		}
	}
	src := top
	if !flat {
		switch {
		case stack != "":
			m, ok := top[stack].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("outputs: no entry for stack %s (have %s)", stack, strings.Join(slices.Sorted(maps.Keys(top)), ", "))
			}
			src = m
		case len(top) == 1:
			for _, e := range top {
				m, ok := e.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("outputs: neither a flat map of outputs nor one nested per stack")
				}
				src = m
			}
		default:
			return nil, fmt.Errorf("outputs: the file holds several stacks (%s); name one", strings.Join(slices.Sorted(maps.Keys(top)), ", "))
		}
	}
	out := Values{}
	for k, v := range src {
		out[SnakeCase(k)] = v
	}
	return out, nil
}

// String returns a string output, or "".
func (v Values) String(name string) string {
	s, _ := v[name].(string)
	return s
}

// Strings returns a list output.
func (v Values) Strings(name string) []string {
	var out []string
	switch x := v[name].(type) {
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = x
	}
	return out
}

// SnakeCase turns clusterName, ClusterName or cluster_name into cluster_name, and OIDCProviderArn into
// oidc_provider_arn.
func SnakeCase(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsLower(rs[i+1])
			if (prevLower || nextLower) && b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
