package rules

import (
	"fmt"
	"regexp"
	"strings"
)

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$`)

func init() {
	register(Rule{ID: "TS103", Kind: Invalid, Summary: "regions are well-formed",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for path, r := range map[string]string{"region": in.Config.Region, "state.region": in.Config.State.Region} {
				if !regionPattern.MatchString(r) {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("%q is not an AWS region name", r),
						Fix: "use a region such as us-east-1 or eu-west-1"})
				}
			}
			return fs
		}})
	register(Rule{ID: "TS206", Kind: WouldFail, Summary: "the region is one EKS is known to run in",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for path, r := range map[string]string{"region": in.Config.Region, "state.region": in.Config.State.Region} {
				if regionPattern.MatchString(r) && !in.Data.IsRegion(r) {
					fs = append(fs, Finding{Path: path,
						Message: fmt.Sprintf("region %s is not in tapstack's region list (data checked %s)", r, in.Data.Checked),
						Fix:     "check the spelling; for a region newer than the data, --allow TS206"})
				}
			}
			return fs
		}})
	register(Rule{ID: "TS106", Kind: Invalid, Summary: "at least two subnets in distinct zones that belong to the region",
		Check: func(in *Input) []Finding {
			c := in.Config
			var fs []Finding
			if n := len(c.Network.PublicSubnetCIDRs); n < 2 {
				fs = append(fs, Finding{Path: "network.publicSubnetCIDRs",
					Message: fmt.Sprintf("%d subnet(s); EKS needs subnets in at least two availability zones", n),
					Fix:     "list two subnet CIDRs"})
			}
			zs := c.Network.AvailabilityZones
			if len(zs) == 0 {
				return fs
			}
			seen := map[string]bool{}
			for i, z := range zs {
				path := fmt.Sprintf("network.availabilityZones[%d]", i)
				if !strings.HasPrefix(z, c.Region) || len(z) == len(c.Region) || !isLower(z[len(c.Region):]) {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("zone %q is not a zone of region %s", z, c.Region),
						Fix: fmt.Sprintf("use zones named %sa, %sb, ...", c.Region, c.Region)})
				}
				if seen[z] {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("zone %s is listed twice", z),
						Fix: "list distinct zones"})
				}
				seen[z] = true
			}
			if len(seen) < 2 {
				fs = append(fs, Finding{Path: "network.availabilityZones",
					Message: fmt.Sprintf("%d distinct zone(s); EKS needs at least two", len(seen)),
					Fix:     "list two or more zones, or none to pick them at plan time"})
			}
			if len(zs) > 0 && len(zs) < len(c.Network.PublicSubnetCIDRs) && len(seen) >= 2 {
				fs = append(fs, Finding{Path: "network.availabilityZones", Severity: Warning, Kind: Advice,
					Message: fmt.Sprintf("%d subnets share %d zones", len(c.Network.PublicSubnetCIDRs), len(zs)),
					Fix:     "list one zone per subnet"})
			}
			return fs
		}})
}

func isLower(s string) bool {
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}
