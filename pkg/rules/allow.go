package rules

import "fmt"

func init() {
	register(Rule{ID: "TS100", Kind: Invalid, Summary: "--allow names only would-fail rules",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for i, id := range in.Config.Allow {
				r, ok := Lookup(id)
				switch {
				case !ok:
					fs = append(fs, Finding{Path: fmt.Sprintf("allow[%d]", i), Message: fmt.Sprintf("%q is not a rule ID", id),
						Fix: "use an ID from tapstack check's report or the README's rule list"})
				case r.Kind != WouldFail:
					fs = append(fs, Finding{Path: fmt.Sprintf("allow[%d]", i), Message: fmt.Sprintf("%s is an %s rule and cannot be overruled", id, r.Kind),
						Fix: "fix the configuration instead"})
				}
			}
			return fs
		}})
}
