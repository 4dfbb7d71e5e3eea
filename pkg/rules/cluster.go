package rules

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	logTypes      = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}
	retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	volatile      = regexp.MustCompile(`\$\{[^}]*\b(timestamp|plantimestamp|uuid|bcrypt)\(`)
)

func init() {
	register(Rule{ID: "TS109", Kind: Invalid, Summary: "log retention and log types are values CloudWatch and EKS accept",
		Check: func(in *Input) []Finding {
			c := in.Config.Cluster
			var fs []Finding
			ok := false
			for _, d := range retentionDays {
				ok = ok || d == c.LogRetentionDays
			}
			if !ok {
				fs = append(fs, Finding{Path: "cluster.logRetentionDays", Message: fmt.Sprintf("CloudWatch does not accept a retention of %d days", c.LogRetentionDays),
					Fix: fmt.Sprintf("use one of %v", retentionDays)})
			}
			for i, t := range c.LogTypes {
				if !contains(logTypes, t) {
					fs = append(fs, Finding{Path: fmt.Sprintf("cluster.logTypes[%d]", i), Message: fmt.Sprintf("%q is not a control-plane log type", t),
						Fix: "use " + list(logTypes)})
				}
			}
			return fs
		}})
	register(Rule{ID: "TS114", Kind: Invalid, Summary: "the API endpoint is reachable privately or publicly",
		Check: func(in *Input) []Finding {
			c := in.Config.Cluster
			if c.EndpointPrivateAccess || c.EndpointPublicAccess {
				return nil
			}
			return []Finding{{Path: "cluster.endpointPublicAccess", Message: "both private and public endpoint access are off; EKS refuses that",
				Fix: "turn on endpointPrivateAccess, endpointPublicAccess, or both"}}
		}})
	register(Rule{ID: "TS111", Kind: Invalid, Summary: "tags within AWS limits",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for _, g := range tagSets(in) {
				for k, v := range g.tags {
					switch {
					case len(k) == 0 || len(k) > 128:
						fs = append(fs, Finding{Path: g.path, Message: fmt.Sprintf("tag key %q is %d characters (1 to 128)", k, len(k)), Fix: "shorten the key"})
					case strings.HasPrefix(strings.ToLower(k), "aws:"):
						fs = append(fs, Finding{Path: g.path, Message: fmt.Sprintf("tag key %q uses the reserved aws: prefix", k), Fix: "rename the key"})
					}
					if len(v) > 256 {
						fs = append(fs, Finding{Path: g.path, Message: fmt.Sprintf("tag %s's value is %d characters (at most 256)", k, len(v)), Fix: "shorten the value"})
					}
				}
			}
			return fs
		}})
	register(Rule{ID: "TS307", Kind: Advice, Summary: "no tag whose value changes on every synth or plan",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for _, g := range tagSets(in) {
				for k, v := range g.tags {
					if volatile.MatchString(v) {
						fs = append(fs, Finding{Path: g.path, Message: fmt.Sprintf("tag %s = %q changes on every run, so every plan shows changes", k, v),
							Fix: "use a value that only changes when the environment does (a commit, a PR number)"})
					}
				}
			}
			return fs
		}})
}

type tagSet struct {
	path string
	tags map[string]string
}

func tagSets(in *Input) []tagSet {
	t := in.Config.Tags
	return []tagSet{
		{"tags", map[string]string{"Repository": t.Repository, "Author": t.CommitAuthor, "PRNumber": t.PRNumber, "Team": t.Team, "ManagedBy": t.ManagedBy}},
		{"tags.default", t.Default},
		{"tags.resource", t.Resource},
	}
}
