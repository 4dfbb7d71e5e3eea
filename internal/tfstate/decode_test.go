package tfstate

//go:generate bash testdata/golden.sh

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

// showJSON parses a golden `terraform show -json` as engine.State gets it (tfexec's Show decodes numbers as
// json.Number).
func showJSON(t *testing.T, path string) *tfjson.State {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st tfjson.State
	st.UseJSONNumber(true)
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func decodeFile(t *testing.T, path string) *tfjson.State {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(%s): %v", path, err)
	}
	return st
}

// Each testdata/NAME.tfstate decodes to what Terraform's show -json printed for it (NAME.show.json, written by
// golden.sh), on every field consumers read.
func TestDecodeMatchesShowJSON(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.tfstate"))
	if len(files) < 3 {
		t.Fatalf("golden pairs: %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got, want := decodeFile(t, f), showJSON(t, strings.TrimSuffix(f, ".tfstate")+".show.json")
			if got.FormatVersion != want.FormatVersion || got.TerraformVersion != want.TerraformVersion {
				t.Errorf("versions %q %q, want %q %q", got.FormatVersion, got.TerraformVersion, want.FormatVersion, want.TerraformVersion)
			}
			if (got.Values == nil) != (want.Values == nil) {
				t.Fatalf("Values %v, want %v", got.Values, want.Values)
			}
			if want.Values == nil {
				return
			}
			compareOutputs(t, got.Values.Outputs, want.Values.Outputs)
			if (got.Values.RootModule == nil) != (want.Values.RootModule == nil) {
				t.Fatalf("root module %v, want %v", got.Values.RootModule, want.Values.RootModule)
			}
			compareModule(t, got.Values.RootModule, want.Values.RootModule)
		})
	}
}

func compareOutputs(t *testing.T, got, want map[string]*tfjson.StateOutput) {
	t.Helper()
	if len(got) != len(want) || (got == nil) != (want == nil) {
		t.Errorf("outputs %v, want %v", got, want)
	}
	for name, w := range want {
		g := got[name]
		if g == nil {
			t.Errorf("output %s missing", name)
			continue
		}
		if g.Sensitive != w.Sensitive || !reflect.DeepEqual(g.Value, w.Value) || !g.Type.Equals(w.Type) {
			t.Errorf("output %s = %v %#v %s, want %v %#v %s", name, g.Sensitive, g.Value, g.Type.FriendlyName(),
				w.Sensitive, w.Value, w.Type.FriendlyName())
		}
	}
}

func compareModule(t *testing.T, got, want *tfjson.StateModule) {
	t.Helper()
	if got.Address != want.Address {
		t.Errorf("module %q, want %q", got.Address, want.Address)
	}
	if len(got.Resources) != len(want.Resources) {
		t.Errorf("module %q: %d resources, want %d", want.Address, len(got.Resources), len(want.Resources))
	}
	for i := 0; i < len(got.Resources) && i < len(want.Resources); i++ {
		compareResource(t, got.Resources[i], want.Resources[i])
	}
	if len(got.ChildModules) != len(want.ChildModules) {
		t.Errorf("module %q: %d child modules, want %d", want.Address, len(got.ChildModules), len(want.ChildModules))
	}
	for i := 0; i < len(got.ChildModules) && i < len(want.ChildModules); i++ {
		compareModule(t, got.ChildModules[i], want.ChildModules[i])
	}
}

func compareResource(t *testing.T, g, w *tfjson.StateResource) {
	t.Helper()
	type head struct {
		Address, Type, Name, ProviderName, DeposedKey string
		Mode                                          tfjson.ResourceMode
		Index                                         any
		SchemaVersion                                 uint64
		Tainted                                       bool
		DependsOn                                     []string
	}
	gh := head{g.Address, g.Type, g.Name, g.ProviderName, g.DeposedKey, g.Mode, g.Index, g.SchemaVersion, g.Tainted, g.DependsOn}
	wh := head{w.Address, w.Type, w.Name, w.ProviderName, w.DeposedKey, w.Mode, w.Index, w.SchemaVersion, w.Tainted, w.DependsOn}
	if !reflect.DeepEqual(gh, wh) {
		t.Errorf("resource\n got  %#v\n want %#v", gh, wh)
		return
	}
	// show re-encodes the values through the schema: an attribute the hand-written file leaves out is null there.
	for k, wv := range w.AttributeValues {
		gv, ok := g.AttributeValues[k]
		if !ok && wv == nil {
			continue
		}
		if !reflect.DeepEqual(gv, wv) {
			t.Errorf("%s %s: %#v, want %#v", w.Address, k, gv, wv)
		}
	}
	for k := range g.AttributeValues {
		if _, ok := w.AttributeValues[k]; !ok {
			t.Errorf("%s: attribute %s is not in show -json", w.Address, k)
		}
	}
}

func TestDecodeNoState(t *testing.T) {
	for _, raw := range []string{"", " \n", `{"version":4,"terraform_version":"1.11.4","serial":2,"lineage":"x","outputs":{},"resources":[]}`} {
		st, err := Decode([]byte(raw))
		if err != nil || st == nil || st.Values != nil || st.FormatVersion != "1.0" {
			t.Errorf("Decode(%q) = %+v, %v; want a State with nil Values", raw, st, err)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	const inst = `"provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","mode":"managed","type":"aws_vpc","name":"v"`
	for _, c := range []struct {
		name, raw   string
		unsupported bool
	}{
		{"not JSON", `{"version":4,`, false},
		{"format 3", `{"version":3,"modules":[]}`, true},
		{"no version (show -json given)", `{"format_version":"1.0"}`, true},
		{"OpenTofu's encrypted state", `{"serial":1,"lineage":"x","meta":{},"encrypted_data":"AAAA","encryption_version":"v0"}`, true},
		{"flat attributes", `{"version":4,"resources":[{` + inst + `,"instances":[{"attributes_flat":{"id":"vpc-1"}}]}]}`, true},
		{"legacy provider address", `{"version":4,"resources":[{"provider":"provider.aws","mode":"managed","type":"aws_vpc","name":"v","instances":[{}]}]}`, true},
		{"bad mode", `{"version":4,"resources":[{"provider":"provider[\"x/y\"]","mode":"other","type":"aws_vpc","name":"v","instances":[{}]}]}`, false},
		{"duplicate instance", `{"version":4,"resources":[{` + inst + `,"instances":[{"attributes":{}},{"attributes":{}}]}]}`, false},
		{"short deposed key", `{"version":4,"resources":[{` + inst + `,"instances":[{"deposed":"ab","attributes":{}}]}]}`, false},
		{"bad status", `{"version":4,"resources":[{` + inst + `,"instances":[{"status":"gone","attributes":{}}]}]}`, false},
		{"bad module address", `{"version":4,"resources":[{"module":"mod.x",` + inst + `,"instances":[{"attributes":{}}]}]}`, false},
		{"bad output type", `{"version":4,"outputs":{"o":{"value":"x","type":"strung"}},"resources":[]}`, false},
	} {
		st, err := Decode([]byte(c.raw))
		if err == nil {
			t.Errorf("%s: no error, got %+v", c.name, st)
			continue
		}
		if errors.Is(err, ErrUnsupported) != c.unsupported {
			t.Errorf("%s: %v; ErrUnsupported %v, want %v", c.name, err, errors.Is(err, ErrUnsupported), c.unsupported)
		}
	}
}

func TestModuleSteps(t *testing.T) {
	for addr, want := range map[string][]string{
		"module.a":                     {"module.a"},
		`module.a["k.]x"].module.b[0]`: {`module.a["k.]x"]`, "module.b[0]"},
		`module.a["q\"]"].module.c`:    {`module.a["q\"]"]`, "module.c"},
	} {
		got, err := moduleSteps(addr)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("moduleSteps(%s) = %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, bad := range []string{"module.", "module.a.", "module.a[x]", `module.a["k"`, "module.a[1", "data.x"} {
		if _, err := moduleSteps(bad); err == nil {
			t.Errorf("moduleSteps(%s): no error", bad)
		}
	}
}

// Child modules come in the order of their address strings, as jsonstate sorts them (module.m["x"] before
// module.m[10] before module.m[2]), each under its parent, whatever the order of the file.
func TestDecodeModuleOrder(t *testing.T) {
	var rs []string
	for _, m := range []string{"module.z", "module.m[2]", "module.a.module.y", "module.m[10]", `module.m["x"]`, "module.b", "module.a.module.c"} {
		rs = append(rs, `{"module":`+strconvQuote(m)+`,"mode":"managed","type":"aws_vpc","name":"v","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":[{"attributes":{}}]}`)
	}
	st, err := Decode([]byte(`{"version":4,"resources":[` + strings.Join(rs, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(m *tfjson.StateModule, depth int)
	walk = func(m *tfjson.StateModule, depth int) {
		for _, c := range m.ChildModules {
			got = append(got, strings.Repeat(" ", depth)+c.Address)
			walk(c, depth+1)
		}
	}
	walk(st.Values.RootModule, 0)
	want := []string{"module.a", " module.a.module.c", " module.a.module.y", "module.b", `module.m["x"]`, "module.m[10]", "module.m[2]", "module.z"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("modules\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if a := st.Values.RootModule.ChildModules[0]; len(a.Resources) != 0 {
		t.Errorf("module.a holds %d resources, want none", len(a.Resources))
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
