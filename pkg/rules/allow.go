package rules

import (
	"fmt"
	"slices"
)

// IDAllow is the rule that refuses an --allow of an ID that cannot be overruled.
const IDAllow = "TS100"

// AllowFindings turns the would-fail errors of allowed rule or check IDs into allowed warnings, in place.
func AllowFindings(fs []Finding, allow []string) {
	allowed := map[string]bool{}
	for _, id := range allow {
		allowed[id] = true
	}
	for i, f := range fs {
		if f.Kind == WouldFail && f.Severity == Error && allowed[f.Rule] {
			fs[i].Severity, fs[i].Allowed = Warning, true
		}
	}
}

func init() {
	register(Rule{ID: IDAllow, Kind: Invalid, Summary: "--allow names only would-fail rules",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for i, id := range in.Config.Allow {
				r, ok := Lookup(id)
				switch {
				case slices.Contains(in.LiveCheckIDs, id):
				case !ok:
					fs = append(fs, Finding{Path: fmt.Sprintf("allow[%d]", i), Message: fmt.Sprintf("%q is not a rule ID", id),
						Fix: "use an ID from tapstack check's report or the lists in docs/rules.md and docs/live-checks.md"})
				case r.Kind != WouldFail:
					fs = append(fs, Finding{Path: fmt.Sprintf("allow[%d]", i), Message: fmt.Sprintf("%s is an %s rule and cannot be overruled", id, r.Kind),
						Fix: "fix the configuration instead"})
				}
			}
			return fs
		}})
}
