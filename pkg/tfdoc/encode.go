package tfdoc

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/tapstack/tapstack/internal/jsonout"
)

// Marshal renders the document as Terraform JSON: two-space indent, sorted keys, no HTML escaping, a final
// newline. The same document always gives the same bytes.
func (d *Document) Marshal() ([]byte, error) {
	if err := d.Err(); err != nil {
		return nil, err
	}
	b, err := jsonout.Marshal(d.tree())
	if err != nil {
		return nil, fmt.Errorf("tfdoc: %w", err)
	}
	return b, nil
}

func (d *Document) tree() map[string]any {
	root := map[string]any{}
	if len(d.Meta) > 0 {
		root["//"] = d.Meta
	}
	tf := map[string]any{}
	if d.RequiredVersion != "" {
		tf["required_version"] = d.RequiredVersion
	}
	if len(d.RequiredProviders) > 0 {
		tf["required_providers"] = d.RequiredProviders
	}
	if d.Backend != nil {
		tf["backend"] = map[string]any{d.Backend.Type: d.Backend.Config}
	}
	if len(tf) > 0 {
		root["terraform"] = tf
	}
	if len(d.Providers) > 0 {
		root["provider"] = d.Providers
	}
	managed, data := map[string]map[string]any{}, map[string]map[string]any{}
	for _, r := range d.resources {
		into := managed
		if r.Mode == "data" {
			into = data
		}
		if into[r.Type] == nil {
			into[r.Type] = map[string]any{}
		}
		into[r.Type][r.Name] = r.render()
	}
	if len(managed) > 0 {
		root["resource"] = managed
	}
	if len(data) > 0 {
		root["data"] = data
	}
	if len(d.Outputs) > 0 {
		root["output"] = d.Outputs
	}
	if len(d.Moved) > 0 {
		root["moved"] = d.Moved
	}
	if len(d.Imports) > 0 {
		root["import"] = d.Imports
	}
	if len(d.Removed) > 0 {
		var rs []map[string]any
		for _, r := range d.Removed {
			rs = append(rs, map[string]any{"from": r.From, "lifecycle": map[string]any{"destroy": r.Destroy}})
		}
		root["removed"] = rs
	}
	return root
}

func (r *Resource) render() map[string]any {
	out := make(map[string]any, len(r.Body)+2)
	for k, v := range r.Body {
		out[k] = v
	}
	if len(r.DependsOn) > 0 {
		deps := append([]string(nil), r.DependsOn...)
		sort.Strings(deps)
		out["depends_on"] = deps
	}
	if len(r.Lifecycle) > 0 {
		out["lifecycle"] = r.Lifecycle
	}
	return out
}

var refPattern = regexp.MustCompile(`\$\{\s*((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)`)

// References returns the resource addresses interpolated anywhere in v (a body, a list, a string), sorted and
// without duplicates. Variables, locals and functions are not resource addresses and are left out.
func References(v any) []string {
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for _, m := range refPattern.FindAllStringSubmatch(x, -1) {
				a := m[1]
				if isResourceAddress(a) {
					seen[a] = true
				}
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case []Body:
			for _, e := range x {
				walk(e)
			}
		case []string:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func isResourceAddress(a string) bool {
	for _, p := range []string{"var.", "local.", "module.", "path.", "terraform.", "each.", "count.", "self."} {
		if len(a) >= len(p) && a[:len(p)] == p {
			return false
		}
	}
	return true
}
