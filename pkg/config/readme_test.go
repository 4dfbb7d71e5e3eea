package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeRow is a row of the README's configuration table.
type readmeRow struct{ path, flag, env string }

// readmeConfigTable reads the README's configuration table (file path | flag | environment | default | meaning),
// with the backticks taken off the first three cells.
func readmeConfigTable(t *testing.T) []readmeRow {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const header = "| file path | flag | environment | default | meaning |"
	text := string(b)
	start := strings.Index(text, header)
	if start < 0 {
		t.Fatalf("README.md has no configuration table (%q)", header)
	}
	var rows []readmeRow
	for _, line := range strings.Split(text[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) < 6 {
			t.Fatalf("README.md: configuration row with %d cells: %s", len(cells)-2, line)
		}
		bare := func(i int) string { return strings.Trim(strings.TrimSpace(cells[i]), "`") }
		rows = append(rows, readmeRow{path: bare(1), flag: bare(2), env: bare(3)})
	}
	return rows
}

// yamlPaths lists the dotted YAML paths of a struct's leaf fields (a struct field is walked, anything else is a
// leaf).
func yamlPaths(typ reflect.Type, prefix string, out map[string]bool) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := strings.TrimPrefix(prefix+"."+name, ".")
		if f.Type.Kind() == reflect.Struct {
			yamlPaths(f.Type, path, out)
			continue
		}
		out[path] = true
	}
}

var braces = regexp.MustCompile(`^(.*)\{([^}]*)\}(.*)$`)

// expand turns nodeGroups.onDemand.{minSize,maxSize} into each path it names.
func expand(path string) []string {
	m := braces.FindStringSubmatch(path)
	if m == nil {
		return []string{path}
	}
	var out []string
	for _, part := range strings.Split(m[2], ",") {
		out = append(out, expand(m[1]+part+m[3])...)
	}
	return out
}

// The README's configuration table names every setting with its flag and environment variable as Settings
// declares them, names no flag or variable Settings lacks, and documents every field of the file, each once.
func TestReadmeConfigurationTable(t *testing.T) {
	rows := readmeConfigTable(t)
	byPath := map[string]readmeRow{}
	documented := map[string]int{}
	for _, r := range rows {
		byPath[r.path] = r
		for _, p := range expand(r.path) {
			documented[p]++
		}
	}
	for _, s := range Settings {
		r, ok := byPath[s.Path]
		if !ok {
			t.Errorf("README.md: no configuration row for %s", s.Path)
			continue
		}
		if want := "--" + s.Flag; s.Flag != "" && r.flag != want || s.Flag == "" && r.flag != "" {
			t.Errorf("README.md: %s: flag %q, Settings say %q", s.Path, r.flag, s.Flag)
		}
		if r.env != s.Env {
			t.Errorf("README.md: %s: environment %q, Settings say %q", s.Path, r.env, s.Env)
		}
	}
	extraFlags := map[string]string{"allow": "--allow ID"} // flags of a file field that no setting sets
	for _, r := range rows {
		i := slices.IndexFunc(Settings, func(s Setting) bool { return s.Path == r.path })
		if i < 0 && r.env != "" {
			t.Errorf("README.md: %s names environment variable %s, which no setting reads", r.path, r.env)
		}
		if i < 0 && r.flag != "" && extraFlags[r.path] != r.flag {
			t.Errorf("README.md: %s names flag %s, which no setting takes", r.path, r.flag)
		}
	}
	fields := map[string]bool{}
	yamlPaths(reflect.TypeOf(Config{}), "", fields)
	for p := range fields {
		if documented[p] == 0 {
			t.Errorf("README.md: the file field %s has no configuration row", p)
		}
	}
	for p, n := range documented {
		if !fields[p] {
			t.Errorf("README.md: the configuration row %s names no field of the file", p)
		}
		if n > 1 {
			t.Errorf("README.md: %s is documented %d times", p, n)
		}
	}
}
