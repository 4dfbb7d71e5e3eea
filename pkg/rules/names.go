package rules

import (
	"fmt"
	"regexp"

	"github.com/tapstack/tapstack/pkg/config"
)

type nameLimit struct {
	max     int
	pattern *regexp.Regexp
	allowed string
}

// AWS limits on the names tapstack derives (eks-facts.md, "Limits on names").
var nameLimits = map[config.NameKind]nameLimit{
	config.KindCluster:   {100, regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`), "starts with a letter or digit; letters, digits, - and _"},
	config.KindNodeGroup: {63, regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`), "starts with a letter or digit; letters, digits, - and _"},
	config.KindIAMRole:   {64, regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]+$`), "letters, digits and +=,.@_-"},
	config.KindLogGroup:  {512, regexp.MustCompile(`^[A-Za-z0-9_\-/.#]+$`), "letters, digits and _-/.#"},
	config.KindTag:       {256, regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`), "letters, digits, spaces and _.:/=+-@"},
}

var suffixPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

func init() {
	register(Rule{ID: "TS101", Kind: Invalid, Summary: "every derived name within its AWS length limit and character set",
		Check: func(in *Input) []Finding {
			c := in.Config
			var fs []Finding
			if c.EnvironmentSuffix == "" {
				return []Finding{{Path: "environmentSuffix", Message: "the environment suffix is empty; every name would be shared by all environments",
					Fix: "set ENVIRONMENT_SUFFIX or --environment-suffix (for example dev or pr42)"}}
			}
			if !suffixPattern.MatchString(c.EnvironmentSuffix) {
				fs = append(fs, Finding{Path: "environmentSuffix",
					Message: fmt.Sprintf("environment suffix %q has characters some names cannot hold", c.EnvironmentSuffix),
					Fix:     "use letters, digits, hyphens and underscores, starting with a letter or digit"})
			}
			for _, n := range c.Names() {
				lim := nameLimits[n.Kind]
				path, shorten := "environmentSuffix", "the environment suffix"
				if p := c.NamePath(n.Resource); p != "" { // a name of the user's own, such as a workload identity's
					path, shorten = p, p+" (or the environment suffix)"
				}
				if len(n.Value) > lim.max {
					fs = append(fs, Finding{Path: path,
						Message: fmt.Sprintf("%s name %q of %s is %d characters; AWS allows %d", n.Kind, n.Value, n.Resource, len(n.Value), lim.max),
						Fix:     fmt.Sprintf("shorten %s by at least %d characters", shorten, len(n.Value)-lim.max)})
				} else if suffixPattern.MatchString(c.EnvironmentSuffix) && !lim.pattern.MatchString(n.Value) {
					fs = append(fs, Finding{Path: path,
						Message: fmt.Sprintf("%s name %q of %s has characters AWS refuses", n.Kind, n.Value, n.Resource),
						Fix:     "use " + lim.allowed})
				}
			}
			return fs
		}})
}
