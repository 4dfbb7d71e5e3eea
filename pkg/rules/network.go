package rules

import (
	"fmt"
	"net/netip"

	"github.com/tapstack/tapstack/pkg/config"
)

func init() {
	register(Rule{ID: "TS105", Kind: Invalid, Summary: "CIDRs valid; subnets inside the VPC and disjoint",
		Check: func(in *Input) []Finding {
			n := in.Config.Network
			var fs []Finding
			vpc, err := netip.ParsePrefix(n.VPCCIDR)
			switch {
			case err != nil || !vpc.Addr().Is4():
				fs = append(fs, Finding{Path: "network.vpcCIDR", Message: fmt.Sprintf("%q is not an IPv4 CIDR", n.VPCCIDR),
					Fix: "use a block such as 10.0.0.0/16"})
				vpc = netip.Prefix{}
			case vpc.Bits() < 16 || vpc.Bits() > 28:
				fs = append(fs, Finding{Path: "network.vpcCIDR", Message: fmt.Sprintf("VPC block %s is /%d; AWS allows /16 to /28", n.VPCCIDR, vpc.Bits()),
					Fix: "use a block between /16 and /28"})
			case vpc.Masked() != vpc:
				fs = append(fs, Finding{Path: "network.vpcCIDR", Message: fmt.Sprintf("%s has host bits set", n.VPCCIDR),
					Fix: "use " + vpc.Masked().String()})
			}
			var subnets []netip.Prefix
			var paths []string
			for i, s := range n.PublicSubnetCIDRs {
				path := fmt.Sprintf("network.publicSubnetCIDRs[%d]", i)
				p, err := netip.ParsePrefix(s)
				if err != nil || !p.Addr().Is4() {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("%q is not an IPv4 CIDR", s), Fix: "use a block such as 10.0.1.0/24"})
					continue
				}
				if p.Masked() != p {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("%s has host bits set", s), Fix: "use " + p.Masked().String()})
				}
				if p.Bits() < 16 || p.Bits() > 28 {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("subnet %s is /%d; AWS allows /16 to /28", s, p.Bits()),
						Fix: "use a block between /16 and /28"})
				}
				if vpc.IsValid() && !(vpc.Contains(p.Addr()) && p.Bits() >= vpc.Bits()) {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("subnet %s is outside the VPC %s", s, n.VPCCIDR),
						Fix: "choose a subnet inside " + n.VPCCIDR})
				}
				for j, q := range subnets {
					if p.Overlaps(q) {
						fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("subnet %s overlaps %s (%s)", s, q, paths[j]),
							Fix: "make the subnets disjoint"})
					}
				}
				subnets, paths = append(subnets, p), append(paths, path)
			}
			for i, s := range in.Config.Cluster.PublicAccessCIDRs {
				if p, err := netip.ParsePrefix(s); err != nil || p.Masked() != p {
					fs = append(fs, Finding{Path: fmt.Sprintf("cluster.publicAccessCIDRs[%d]", i),
						Message: fmt.Sprintf("%q is not a CIDR block", s), Fix: "use a block such as 203.0.113.0/24"})
				}
			}
			return fs
		}})

	register(Rule{ID: "TS305", Kind: Advice, Summary: "the subnets hold enough /28 blocks for prefix delegation at maximum size",
		Check: func(in *Input) []Finding {
			c := in.Config
			if !c.Addons.VPCCNI.PrefixDelegation {
				return nil
			}
			if c.Cluster.Compute == config.ComputeAuto {
				return nil // Auto Mode manages its own networking
			}
			nodes := c.NodeGroups.OnDemand.MaxSize + c.NodeGroups.Spot.MaxSize
			need := nodes * (1 + c.Addons.VPCCNI.WarmPrefixTarget)
			free := 0
			nodeSubnets, path := c.Network.PublicSubnetCIDRs, "network.publicSubnetCIDRs"
			if c.Network.Topology == config.TopologyPrivate {
				nodeSubnets, path = c.Network.PrivateSubnetCIDRs, "network.privateSubnetCIDRs"
			}
			for _, s := range nodeSubnets {
				p, err := netip.ParsePrefix(s)
				if err != nil || p.Bits() > 28 {
					continue
				}
				blocks := 1 << (28 - p.Bits())
				// AWS reserves the first four and the last address, which spoils the first and last /28.
				free += max(blocks-2, 0)
			}
			if need <= free {
				return nil
			}
			return []Finding{{Path: path,
				Message: fmt.Sprintf("with prefix delegation, %d nodes at maximum size need at least %d /28 prefixes (1 + WARM_PREFIX_TARGET each); the subnets hold at most %d, fewer once node addresses fragment them",
					nodes, need, free),
				Fix: "use larger subnets (a /20 holds 254 prefixes), lower the node groups' maxSize, or turn prefix delegation off"}}
		}})

	register(Rule{ID: "TS209", Kind: WouldFail, Summary: "node groups in public subnets get public IPs",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for _, ng := range in.Doc.OfType("aws_eks_node_group") {
				ids, _ := ng.Body["subnet_ids"].([]string)
				for _, ref := range ids {
					for _, addr := range refsOf(ref) {
						sn, ok := in.Doc.Lookup(addr)
						if !ok || sn.Type != "aws_subnet" {
							continue
						}
						if v, _ := sn.Body["map_public_ip_on_launch"].(bool); !v && isPublic(in, sn.Address()) {
							fs = append(fs, Finding{Path: "network.publicSubnetCIDRs",
								Message: fmt.Sprintf("node group %s uses public subnet %s, which does not map public IPs: EKS fails with Ec2SubnetInvalidConfiguration", ng.Name, addr),
								Fix:     "set map_public_ip_on_launch = true on public subnets that host nodes"})
						}
					}
				}
			}
			return fs
		}})
}
