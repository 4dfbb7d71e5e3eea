// Package rules finds, before anything is created, what would make a TapStack deployment wrong or fail. Each
// rule has a stable ID and lives in its own file; Run checks the configuration and the synthesized document
// together and returns every finding at once.
package rules

import (
	"sort"
	"strings"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

// Severity is error or warning.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Kind says why a finding matters.
type Kind string

const (
	// Invalid: the document would be wrong (malformed values, name limits, CIDRs). Never overridable.
	Invalid Kind = "invalid"
	// WouldFail: the document is right but AWS would refuse it or it is unsafe. Overridable with --allow.
	WouldFail Kind = "would-fail"
	// Advice: a warning.
	Advice Kind = "advice"
)

// Finding is one problem, with its field path and the fix.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Kind     Kind     `json:"kind"`
	Path     string   `json:"path"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// Allowed is set when the user overruled this would-fail finding with --allow.
	Allowed bool `json:"allowed,omitempty"`
}

// Input is what rules look at.
type Input struct {
	Config *config.Config
	Doc    *tfdoc.Document
	Date   versions.Date
	Data   *versions.Data
	// LiveCheckIDs are the live checks' IDs (live.CheckIDs()), which --allow may name as it names a would-fail
	// rule's; an ID that is neither is refused.
	LiveCheckIDs []string
}

// Rule is one check.
type Rule struct {
	ID      string
	Kind    Kind
	Summary string
	Check   func(in *Input) []Finding
}

var registry []Rule

func register(r Rule) { registry = append(registry, r) }

// All returns every rule, sorted by ID.
func All() []Rule {
	out := append([]Rule(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup finds a rule by ID.
func Lookup(id string) (Rule, bool) {
	for _, r := range registry {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// Run checks everything and returns the findings sorted by severity, rule and path. Findings of would-fail rules
// listed in the configuration's Allow become allowed warnings.
func Run(in Input) []Finding {
	if in.Data == nil {
		in.Data = versions.Get()
	}
	var out []Finding
	for _, r := range All() {
		for _, f := range r.Check(&in) {
			f.Rule = r.ID
			if f.Kind == "" {
				f.Kind = r.Kind
			}
			if f.Severity == "" {
				f.Severity = Error
				if f.Kind == Advice {
					f.Severity = Warning
				}
			}
			out = append(out, f)
		}
	}
	AllowFindings(out, in.Config.Allow)
	Sort(out)
	return out
}

// Sort orders findings for reports: errors first, then by rule and path.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity == Error
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Path < b.Path
	})
}

// Count returns how many findings are errors, and how many of those are of kind Invalid.
func Count(fs []Finding) (errors, invalid, warnings int) {
	for _, f := range fs {
		switch {
		case f.Severity == Error && f.Kind == Invalid:
			errors++
			invalid++
		case f.Severity == Error:
			errors++
		default:
			warnings++
		}
	}
	return
}

// Only keeps the findings of the given kinds.
func Only(fs []Finding, kinds ...Kind) []Finding {
	var out []Finding
	for _, f := range fs {
		for _, k := range kinds {
			if f.Kind == k {
				out = append(out, f)
			}
		}
	}
	return out
}

func list(items []string) string { return strings.Join(items, ", ") }
