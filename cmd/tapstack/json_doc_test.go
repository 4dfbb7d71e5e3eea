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
	b, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, tc := range []struct {
		section string
		v       any
	}{{"## plan", planSummary{}}, {"## deploy", deploySummary{}}} {
		start := strings.Index(doc, tc.section+"\n")
		if start < 0 {
			t.Fatalf("docs/json.md has no %q section", tc.section)
		}
		body := doc[start+len(tc.section):]
		if end := strings.Index(body, "\n## "); end >= 0 {
			body = body[:end]
		}
		documented := map[string]bool{}
		for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(body, -1) {
			documented[m[1]] = true
		}
		fields := map[string]bool{}
		jsonFields(reflect.TypeOf(tc.v), "", fields)
		var missing []string
		used := map[string]bool{}
		for f := range fields {
			short := regexp.MustCompile(`^summary\.[a-zA-Z]+\[\]`).ReplaceAllString(f, "summary.*[]")
			if strings.HasPrefix(f, "rounds[].summary.") || strings.HasPrefix(f, "rounds[].allowedDestruction[].") {
				continue // documented through plan's summary and protected
			}
			if !documented[f] && !documented[short] {
				missing = append(missing, f)
			}
			used[f], used[short] = true, true
		}
		slices.Sort(missing)
		if len(missing) > 0 {
			t.Errorf("%s: fields not documented in docs/json.md: %v", tc.section, missing)
		}
		for f := range documented {
			if used[f] {
				continue
			}
			t.Errorf("%s: docs/json.md documents %s, which the JSON does not have", tc.section, f)
		}
	}
}
