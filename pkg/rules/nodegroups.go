package rules

import (
	"fmt"
	"regexp"

	"github.com/tapstack/tapstack/pkg/config"
)

var instanceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[0-9]*[a-z][a-z0-9-]*$`)

func nodeGroups(c *config.Config) []struct {
	path string
	ng   config.NodeGroup
	spot bool
} {
	return []struct {
		path string
		ng   config.NodeGroup
		spot bool
	}{{"nodeGroups.onDemand", c.NodeGroups.OnDemand, false}, {"nodeGroups.spot", c.NodeGroups.Spot, true}}
}

func init() {
	register(Rule{ID: "TS107", Kind: Invalid, Summary: "node group sizes: 0 <= min <= desired <= max, max >= 1",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for _, g := range nodeGroups(in.Config) {
				n := g.ng
				if n.MinSize < 0 || n.MaxSize < 1 || n.MinSize > n.DesiredSize || n.DesiredSize > n.MaxSize {
					fs = append(fs, Finding{Path: g.path,
						Message: fmt.Sprintf("sizes min %d, desired %d, max %d break 0 <= min <= desired <= max with max >= 1", n.MinSize, n.DesiredSize, n.MaxSize),
						Fix:     "set minSize <= desiredSize <= maxSize, with maxSize at least 1"})
				}
			}
			return fs
		}})
	register(Rule{ID: "TS108", Kind: Invalid, Summary: "instance types are listed and well-formed",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for _, g := range nodeGroups(in.Config) {
				if len(g.ng.InstanceTypes) == 0 {
					fs = append(fs, Finding{Path: g.path + ".instanceTypes", Message: "no instance type", Fix: "list at least one, such as t3.medium"})
				}
				seen := map[string]bool{}
				for i, t := range g.ng.InstanceTypes {
					p := fmt.Sprintf("%s.instanceTypes[%d]", g.path, i)
					if !instanceTypePattern.MatchString(t) {
						fs = append(fs, Finding{Path: p, Message: fmt.Sprintf("%q is not an EC2 instance type", t), Fix: "use family.size, such as t3.medium"})
					}
					if seen[t] {
						fs = append(fs, Finding{Path: p, Message: fmt.Sprintf("%s is listed twice", t), Fix: "list each type once"})
					}
					seen[t] = true
				}
			}
			return fs
		}})
	register(Rule{ID: "TS306", Kind: Advice, Summary: "spot node groups are diversified over several instance types",
		Check: func(in *Input) []Finding {
			for _, g := range nodeGroups(in.Config) {
				if g.spot && len(g.ng.InstanceTypes) == 1 {
					return []Finding{{Path: g.path + ".instanceTypes",
						Message: fmt.Sprintf("the spot group uses only %s: one reclaimed spot pool takes every node", g.ng.InstanceTypes[0]),
						Fix:     "list several comparable types, such as t3.medium, t3a.medium, t2.medium"}}
				}
			}
			return nil
		}})
}
