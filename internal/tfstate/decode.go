// Package tfstate reads a Terraform state file as the S3 backend stores it (format version 4) into the
// *tfjson.State that `terraform show -json` prints for it (and engine.State returns), without running the
// engine: show starts the provider to load its schema, which for hashicorp/aws takes seconds.
//
// The result matches what Terraform 1.11's internal/command/jsonstate makes of the same file (testdata holds a
// real pair, see golden.sh) in every field but three that need the provider's schema or that nothing here reads:
// SensitiveValues, Checks and the identity fields are left empty. Attribute values are the stored ones: show
// re-encodes them through the schema, which adds a null for every attribute the file leaves out (a state that
// Terraform wrote has them all) and unwraps attributes of dynamic type, which the file stores as
// {"value": V, "type": T}. Decode unwraps those of Terraform's built-in provider (terraform_data,
// terraform_remote_state); another provider's stay wrapped, since only its schema tells them from an object
// with those two attributes (hashicorp/aws 5.100.0 has no dynamic attribute). Numbers are json.Number, as
// tfexec's Show decodes them.
package tfstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/go-version"
	tfjson "github.com/hashicorp/terraform-json"
)

// ErrUnsupported marks a state this package cannot read without the engine (another format version, or
// attributes stored in the flat pre-0.12 form); the caller can fall back to `show -json`.
var ErrUnsupported = errors.New("unsupported state")

type fileV4 struct {
	Version          *int                `json:"version"`
	TerraformVersion string              `json:"terraform_version"`
	Outputs          map[string]outputV4 `json:"outputs"`
	Resources        []resourceV4        `json:"resources"`
}

type outputV4 struct {
	Value     any             `json:"value"`
	Type      json.RawMessage `json:"type"`
	Sensitive bool            `json:"sensitive"`
}

type resourceV4 struct {
	Module    string       `json:"module"`
	Mode      string       `json:"mode"`
	Type      string       `json:"type"`
	Name      string       `json:"name"`
	Provider  string       `json:"provider"`
	Instances []instanceV4 `json:"instances"`
}

type instanceV4 struct {
	IndexKey       any               `json:"index_key"`
	Status         string            `json:"status"`
	Deposed        string            `json:"deposed"`
	SchemaVersion  uint64            `json:"schema_version"`
	Attributes     map[string]any    `json:"attributes"`
	AttributesFlat map[string]string `json:"attributes_flat"`
	Dependencies   []string          `json:"dependencies"`
}

// Decode reads a state file. Empty input (no state object yet) and a state with neither resources nor outputs
// give a State with a nil Values, as show -json prints {"format_version":"1.0"} for them; stack.ExistingFrom and
// engine.Resources then report nothing.
//
// Deposed objects (left by a create_before_destroy replacement that failed) are listed as show -json lists them:
// an entry of their own with the instance's address and a DeposedKey, after the current object (Terraform 1.11
// internal/command/jsonstate/state.go, marshalResources). Consumers that want what runs skip them.
func Decode(raw []byte) (*tfjson.State, error) {
	empty := &tfjson.State{FormatVersion: "1.0"}
	if len(bytes.TrimSpace(raw)) == 0 {
		return empty, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var f fileV4
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if f.Version == nil || *f.Version != 4 {
		v := "none"
		if f.Version != nil {
			v = strconv.Itoa(*f.Version)
		}
		return nil, fmt.Errorf("%w: format version %s, not 4", ErrUnsupported, v)
	}
	if len(f.Resources) == 0 && len(f.Outputs) == 0 {
		return empty, nil
	}
	st := &tfjson.State{FormatVersion: "1.0", Values: &tfjson.StateValues{}}
	if f.TerraformVersion != "" {
		v, err := version.NewVersion(f.TerraformVersion)
		if err != nil {
			return nil, fmt.Errorf("state: terraform_version %q: %w", f.TerraformVersion, err)
		}
		st.TerraformVersion = v.String()
	}
	outs, err := decodeOutputs(f.Outputs)
	if err != nil {
		return nil, err
	}
	st.Values.Outputs = outs
	root, err := decodeModules(f.Resources)
	if err != nil {
		return nil, err
	}
	st.Values.RootModule = root
	return st, nil
}

func decodeOutputs(in map[string]outputV4) (map[string]*tfjson.StateOutput, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]*tfjson.StateOutput, len(in))
	for name, o := range in {
		so := &tfjson.StateOutput{Sensitive: o.Sensitive, Value: o.Value}
		if err := so.Type.UnmarshalJSON(o.Type); err != nil {
			return nil, fmt.Errorf("state: output %s: type: %w", name, err)
		}
		out[name] = so
	}
	return out, nil
}

// entry is one resource entry on its way out, with what it sorts by.
type entry struct {
	res  *tfjson.StateResource
	mode string
	key  any // nil, int or string
}

func decodeModules(resources []resourceV4) (*tfjson.StateModule, error) {
	byModule := map[string][]entry{"": nil}
	seen := map[string]bool{}
	for _, r := range resources {
		var mode tfjson.ResourceMode
		switch r.Mode {
		case "managed":
			mode = tfjson.ManagedResourceMode
		case "data":
			mode = tfjson.DataResourceMode
		default:
			return nil, fmt.Errorf("state: resource %s.%s has mode %q", r.Type, r.Name, r.Mode)
		}
		provider, err := providerName(r.Provider)
		if err != nil {
			return nil, fmt.Errorf("state: resource %s.%s: %w", r.Type, r.Name, err)
		}
		if _, ok := byModule[r.Module]; !ok {
			if _, err := moduleSteps(r.Module); err != nil {
				return nil, err
			}
			byModule[r.Module] = nil
		}
		for _, in := range r.Instances {
			key, index, suffix, err := instanceKey(in.IndexKey)
			if err != nil {
				return nil, fmt.Errorf("state: resource %s.%s: %w", r.Type, r.Name, err)
			}
			addr := r.Type + "." + r.Name + suffix
			if mode == tfjson.DataResourceMode {
				addr = "data." + addr
			}
			if r.Module != "" {
				addr = r.Module + "." + addr
			}
			if in.Deposed != "" && len(in.Deposed) != 8 {
				return nil, fmt.Errorf("state: %s: deposed key %q is not 8 characters", addr, in.Deposed)
			}
			id := addr + " " + in.Deposed
			if seen[id] {
				return nil, fmt.Errorf("state: %s appears more than once", strings.TrimSpace(id))
			}
			seen[id] = true
			if in.Attributes == nil && in.AttributesFlat != nil {
				return nil, fmt.Errorf("%w: %s holds flat (pre-0.12) attributes", ErrUnsupported, addr)
			}
			tainted := false
			switch in.Status {
			case "":
			case "tainted":
				tainted = true
			default:
				return nil, fmt.Errorf("state: %s has status %q", addr, in.Status)
			}
			res := &tfjson.StateResource{
				Address: addr, Mode: mode, Type: r.Type, Name: r.Name, Index: index, ProviderName: provider,
				AttributeValues: in.Attributes, DependsOn: in.Dependencies, Tainted: tainted, DeposedKey: in.Deposed,
			}
			if res.AttributeValues == nil {
				res.AttributeValues = map[string]any{}
			}
			if provider == builtinProvider {
				unwrapDynamic(r.Type, res.AttributeValues)
			}
			// show -json leaves a deposed object's schema_version unset (jsonstate copies only the address
			// fields from the current object).
			if in.Deposed == "" {
				res.SchemaVersion = in.SchemaVersion
			}
			byModule[r.Module] = append(byModule[r.Module], entry{res: res, mode: r.Mode, key: key})
		}
	}

	// Every module's ancestors are listed too, resources or not, each under its parent.
	children := map[string][]string{}
	listed := map[string]bool{"": true}
	var addModule func(addr string)
	addModule = func(addr string) {
		if listed[addr] {
			return
		}
		listed[addr] = true
		steps, _ := moduleSteps(addr)
		parent := strings.Join(steps[:len(steps)-1], ".")
		children[parent] = append(children[parent], addr)
		addModule(parent)
	}
	for addr := range byModule {
		addModule(addr)
	}
	var build func(addr string) *tfjson.StateModule
	build = func(addr string) *tfjson.StateModule {
		m := &tfjson.StateModule{Address: addr, Resources: sortedResources(byModule[addr])}
		kids := children[addr]
		sort.Strings(kids) // jsonstate sorts child modules by their address string
		for _, k := range kids {
			m.ChildModules = append(m.ChildModules, build(k))
		}
		return m
	}
	return build(""), nil
}

const builtinProvider = "terraform.io/builtin/terraform"

// builtinDynamic are the attributes of dynamic type of the built-in provider's resource types.
var builtinDynamic = map[string][]string{
	"terraform_data":         {"input", "output", "triggers_replace"},
	"terraform_remote_state": {"config", "defaults", "outputs"},
}

// unwrapDynamic replaces each stored {"value": V, "type": T} of a dynamic attribute with V, as show prints it.
func unwrapDynamic(typ string, attrs map[string]any) {
	for _, name := range builtinDynamic[typ] {
		if w, ok := attrs[name].(map[string]any); ok {
			if v, ok := w["value"]; ok {
				attrs[name] = v
			}
		}
	}
}

// sortedResources orders a module's entries as jsonstate does: data sources before managed resources, then by
// type and name, then by instance key (none, then numbers in order, then strings), the current object before
// the deposed ones in key order.
func sortedResources(es []entry) []*tfjson.StateResource {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		switch {
		case a.mode != b.mode:
			return a.mode == "data"
		case a.res.Type != b.res.Type:
			return a.res.Type < b.res.Type
		case a.res.Name != b.res.Name:
			return a.res.Name < b.res.Name
		case !sameKey(a.key, b.key):
			return keyLess(a.key, b.key)
		}
		return a.res.DeposedKey < b.res.DeposedKey // "" (current) first
	})
	if len(es) == 0 {
		return nil
	}
	out := make([]*tfjson.StateResource, len(es))
	for i, e := range es {
		out[i] = e.res
	}
	return out
}

func sameKey(a, b any) bool { return a == b }

func keyLess(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return true
	case int:
		switch y := b.(type) {
		case int:
			return x < y
		case string:
			return true
		}
	case string:
		if y, ok := b.(string); ok {
			return x < y
		}
	}
	return false
}

// instanceKey reads index_key: nothing, a whole number (count) or a string (for_each). It returns the key to
// sort by, the Index show -json gives (json.Number or string) and the address suffix.
func instanceKey(raw any) (key, index any, suffix string, err error) {
	switch k := raw.(type) {
	case nil:
		return nil, nil, "", nil
	case json.Number:
		f, err := k.Float64()
		if err != nil {
			return nil, nil, "", fmt.Errorf("index_key %s: %w", k, err)
		}
		n := int(f) // Terraform reads the key as a float64 and keeps its integer part
		s := strconv.Itoa(n)
		return n, json.Number(s), "[" + s + "]", nil
	case string:
		return k, k, "[" + hclQuote(k) + "]", nil
	}
	return nil, nil, "", fmt.Errorf("index_key %v is neither a number nor a string", raw)
}

// hclQuote quotes a string key as Terraform writes it in an address: HCL's quoted-string syntax, with template
// introducers (${, %{) doubled and non-printable runes escaped.
func hclQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '$', '%':
			b.WriteRune(r)
			if strings.HasPrefix(s[i+1:], "{") {
				b.WriteRune(r)
			}
		default:
			switch {
			case unicode.IsPrint(r):
				b.WriteRune(r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// providerName reads the provider's source address from a resource's provider configuration address:
// [module.x.]provider["registry.terraform.io/hashicorp/aws"][.alias].
func providerName(config string) (string, error) {
	const open = `provider["`
	i := strings.Index(config, open)
	if i < 0 {
		return "", fmt.Errorf("%w: provider %q is not provider[\"<source>\"]", ErrUnsupported, config)
	}
	rest := config[i+len(open):]
	j := strings.Index(rest, `"]`)
	if j <= 0 {
		return "", fmt.Errorf("%w: provider %q is not provider[\"<source>\"]", ErrUnsupported, config)
	}
	return rest[:j], nil
}

// moduleSteps splits a module instance address (module.a["k"].module.b[0]) into its steps, each as written.
func moduleSteps(addr string) ([]string, error) {
	if addr == "" {
		return nil, nil
	}
	bad := func() error { return fmt.Errorf("state: module address %q", addr) }
	var steps []string
	for rest := addr; rest != ""; {
		if !strings.HasPrefix(rest, "module.") {
			return nil, bad()
		}
		n := len("module.")
		for n < len(rest) && rest[n] != '.' && rest[n] != '[' {
			n++
		}
		if n == len("module.") {
			return nil, bad()
		}
		if n < len(rest) && rest[n] == '[' {
			end, ok := keyEnd(rest, n)
			if !ok {
				return nil, bad()
			}
			n = end
		}
		steps = append(steps, rest[:n])
		rest = rest[n:]
		if rest != "" {
			if rest[0] != '.' || len(rest) == 1 {
				return nil, bad()
			}
			rest = rest[1:]
		}
	}
	return steps, nil
}

// keyEnd returns the index just past the instance key that starts with '[' at s[i].
func keyEnd(s string, i int) (int, bool) {
	j := i + 1
	if j < len(s) && s[j] == '"' {
		for j++; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				if j+1 < len(s) && s[j+1] == ']' {
					return j + 2, true
				}
				return 0, false
			}
		}
		return 0, false
	}
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k == j || k >= len(s) || s[k] != ']' {
		return 0, false
	}
	return k + 1, true
}
