package main

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// jsonFields lists the JSON field paths of a type: summary.kept, rounds[].summary.created, ... Struct fields
// embedded without a tag are flattened, as encoding/json does.
func jsonFields(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			jsonFields(f.Type, prefix, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := strings.TrimPrefix(prefix+"."+name, ".")
		out[path] = true
		jsonFields(f.Type, path, out)
	}
}

// docs/json.md documents every field of plan's and deploy's JSON, and no field they do not have. Lists of
// summary entries are documented once as summary.*[]; a round's summary and allowed destruction refer to plan's.
func TestJSONSummariesDocumented(t *testing.T) {
	summaryList := regexp.MustCompile(`^summary\.[a-zA-Z]+\[\]`)
	for _, tc := range []struct {
		section string
		v       any
	}{{"## plan", planSummary{}}, {"## deploy", deploySummary{}}} {
		checkJSONDocumented(t, "../../docs/json.md", tc.section, tc.v, func(f string) (string, bool) {
			if strings.HasPrefix(f, "rounds[].summary.") || strings.HasPrefix(f, "rounds[].allowedDestruction[].") {
				return "", false // documented through plan's summary and protected
			}
			return summaryList.ReplaceAllString(f, "summary.*[]"), true
		})
	}
}

// checkJSONDocumented checks that a section of a page documents every field of v's JSON in a table row
// ("| `field` |"), and no field v lacks. short gives a field's documented name, or false for one documented
// elsewhere.
func checkJSONDocumented(t *testing.T, page, section string, v any, short func(string) (string, bool)) {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, section+"\n")
	if start < 0 {
		t.Fatalf("%s has no %q section", page, section)
	}
	body := doc[start+len(section):]
	if end := strings.Index(body, "\n## "); end >= 0 {
		body = body[:end]
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(body, -1) {
		documented[m[1]] = true
	}
	fields := map[string]bool{}
	jsonFields(reflect.TypeOf(v), "", fields)
	var missing []string
	used := map[string]bool{}
	for f := range fields {
		name, ok := short(f)
		if !ok {
			continue
		}
		if !documented[f] && !documented[name] {
			missing = append(missing, f)
		}
		used[f], used[name] = true, true
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%s: fields not documented in %s: %v", section, page, missing)
	}
	for f := range documented {
		if !used[f] {
			t.Errorf("%s: %s documents %s, which the JSON does not have", section, page, f)
		}
	}
}

// docs/fleet.md documents every field of the fleet commands' JSON.
func TestFleetJSONDocumented(t *testing.T) {
	for _, tc := range []struct {
		section string
		v       any
	}{{"## envs", envsReport{}}, {"## drift", driftReport{}}} {
		checkJSONDocumented(t, "../../docs/fleet.md", tc.section, tc.v, func(f string) (string, bool) { return f, true })
	}
}
