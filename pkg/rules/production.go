package rules

import (
	"fmt"
	"net/netip"
	"regexp"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

var principalPattern = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:(role|user|assumed-role)/[A-Za-z0-9+=,.@_/-]+$`)

func oneOf(path, value string, allowed ...string) []Finding {
	if contains(allowed, value) {
		return nil
	}
	return []Finding{{Path: path, Message: fmt.Sprintf("%q is not allowed", value), Fix: "use " + list(allowed)}}
}

func init() {
	register(Rule{ID: "TS115", Kind: Invalid, Summary: "topology, NAT, compute, authentication mode and upgrade policy take known values",
		Check: func(in *Input) []Finding {
			c := in.Config
			var fs []Finding
			fs = append(fs, oneOf("network.topology", c.Network.Topology, config.TopologyPublic, config.TopologyPrivate)...)
			fs = append(fs, oneOf("network.natGateways", c.Network.NATGateways, config.NATSingle, config.NATPerZone)...)
			fs = append(fs, oneOf("cluster.compute", c.Cluster.Compute, config.ComputeNodes, config.ComputeAuto)...)
			fs = append(fs, oneOf("cluster.authenticationMode", c.Cluster.AuthenticationMode, "", "API", "API_AND_CONFIG_MAP", "CONFIG_MAP")...)
			fs = append(fs, oneOf("cluster.upgradeSupportType", c.Cluster.UpgradeSupportType, "", "STANDARD", "EXTENDED")...)
			return fs
		}})
	register(Rule{ID: "TS116", Kind: Invalid, Summary: "private subnets valid, inside the VPC and disjoint from every other subnet",
		Check: func(in *Input) []Finding {
			n := in.Config.Network
			if n.Topology != config.TopologyPrivate {
				return nil
			}
			var fs []Finding
			if len(n.PrivateSubnetCIDRs) < 2 {
				fs = append(fs, Finding{Path: "network.privateSubnetCIDRs", Message: fmt.Sprintf("%d private subnet(s); nodes need two zones", len(n.PrivateSubnetCIDRs)),
					Fix: "list two private subnet CIDRs"})
			}
			vpc, vpcErr := netip.ParsePrefix(n.VPCCIDR)
			var others []netip.Prefix
			for _, s := range n.PublicSubnetCIDRs {
				if p, err := netip.ParsePrefix(s); err == nil {
					others = append(others, p)
				}
			}
			for i, s := range n.PrivateSubnetCIDRs {
				path := fmt.Sprintf("network.privateSubnetCIDRs[%d]", i)
				p, err := netip.ParsePrefix(s)
				if err != nil || !p.Addr().Is4() || p.Masked() != p || p.Bits() < 16 || p.Bits() > 28 {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("%q is not an IPv4 subnet block between /16 and /28", s), Fix: "use a block such as 10.0.16.0/20"})
					continue
				}
				if vpcErr == nil && !(vpc.Contains(p.Addr()) && p.Bits() >= vpc.Bits()) {
					fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("private subnet %s is outside the VPC %s", s, n.VPCCIDR), Fix: "choose a subnet inside " + n.VPCCIDR})
				}
				for _, q := range others {
					if p.Overlaps(q) {
						fs = append(fs, Finding{Path: path, Message: fmt.Sprintf("private subnet %s overlaps %s", s, q), Fix: "make every subnet disjoint"})
					}
				}
				others = append(others, p)
			}
			return fs
		}})
	register(Rule{ID: "TS117", Kind: Invalid, Summary: "admin principals are IAM role or user ARNs; node settings in range",
		Check: func(in *Input) []Finding {
			c := in.Config
			var fs []Finding
			for i, p := range c.Cluster.AdminPrincipals {
				if !principalPattern.MatchString(p) {
					fs = append(fs, Finding{Path: fmt.Sprintf("cluster.adminPrincipals[%d]", i), Message: fmt.Sprintf("%q is not an IAM role or user ARN", p),
						Fix: "use arn:aws:iam::<account>:role/<name>"})
				}
			}
			if c.NodeGroups.LaunchTemplate && (c.NodeGroups.RootVolumeGiB < 1 || c.NodeGroups.RootVolumeGiB > 16384) {
				fs = append(fs, Finding{Path: "nodeGroups.rootVolumeGiB", Message: fmt.Sprintf("%d GiB is outside gp3's 1 to 16384", c.NodeGroups.RootVolumeGiB), Fix: "use 20 or more"})
			}
			if p := c.NodeGroups.MaxUnavailablePercentage; p < 0 || p > 100 {
				fs = append(fs, Finding{Path: "nodeGroups.maxUnavailablePercentage", Message: fmt.Sprintf("%d is not a percentage", p), Fix: "use 1 to 100, or 0 for EKS's default"})
			}
			return fs
		}})
	register(Rule{ID: "TS210", Kind: WouldFail, Summary: "Auto Mode: 1.29 or newer, its settings all on together, access entries on",
		Check: func(in *Input) []Finding {
			cl, ok := in.Doc.Lookup("aws_eks_cluster.eks_cluster")
			if !ok {
				return nil
			}
			cc, _ := cl.Body["compute_config"].(tfdoc.Body)
			enabled, _ := cc["enabled"].(bool)
			elb := nested(cl.Body, "kubernetes_network_config", "elastic_load_balancing", "enabled")
			storage := nested(cl.Body, "storage_config", "block_storage", "enabled")
			if !enabled && !elb && !storage {
				return nil
			}
			var fs []Finding
			if !(enabled && elb && storage) {
				fs = append(fs, Finding{Path: "cluster.compute", Message: "compute_config, elastic_load_balancing and block_storage must all be enabled together for Auto Mode",
					Fix: "set cluster.compute: auto and let tapstack set all three"})
			}
			if v := in.Config.Cluster.KubernetesVersion; versionOK(v) && versions.CompareMinor(v, in.Data.AutoModeMinimum) < 0 {
				fs = append(fs, Finding{Path: "cluster.kubernetesVersion", Message: fmt.Sprintf("Auto Mode needs Kubernetes %s or newer, not %s", in.Data.AutoModeMinimum, v),
					Fix: "use " + in.Data.DefaultKubernetesVersion})
			}
			if m := in.Config.Cluster.AuthenticationMode; m != "API" && m != "API_AND_CONFIG_MAP" {
				fs = append(fs, Finding{Path: "cluster.authenticationMode", Message: fmt.Sprintf("Auto Mode needs access entries; authentication mode is %q", m),
					Fix: "set cluster.authenticationMode: API_AND_CONFIG_MAP (or API)"})
			}
			if b, set := cl.Body["bootstrap_self_managed_addons"].(bool); !set || b {
				fs = append(fs, Finding{Path: "cluster.compute", Message: "Auto Mode needs bootstrap_self_managed_addons = false", Fix: "set cluster.compute: auto"})
			}
			if ngs := in.Doc.OfType("aws_eks_node_group"); len(ngs) > 0 {
				fs = append(fs, Finding{Path: "cluster.compute", Message: fmt.Sprintf("Auto Mode runs its own nodes, yet the document declares %d managed node group(s)", len(ngs)),
					Fix: "use managed node groups or Auto Mode, not both"})
			}
			return fs
		}})
	register(Rule{ID: "TS211", Kind: WouldFail, Summary: "profile hardened keeps secrets encryption on",
		Check: func(in *Input) []Finding {
			c := in.Config
			if c.Profile != "hardened" || (c.Cluster.SecretsEncryption && c.Cluster.LogEncryption) {
				return nil
			}
			return []Finding{{Path: "cluster.secretsEncryption", Message: "profile hardened with KMS encryption of secrets or logs turned off",
				Fix: "turn cluster.secretsEncryption and cluster.logEncryption back on, or use profile default"}}
		}})
	register(Rule{ID: "TS212", Kind: WouldFail, Summary: "upgrade policy STANDARD only on a version in standard support",
		Check: func(in *Input) []Finding {
			cl, ok := in.Doc.Lookup("aws_eks_cluster.eks_cluster")
			if !ok {
				return nil
			}
			up, _ := cl.Body["upgrade_policy"].(tfdoc.Body)
			version, _ := cl.Body["version"].(string)
			if up == nil || up["support_type"] != "STANDARD" || in.Date.IsZero() {
				return nil
			}
			status := in.Data.StatusOn(version, in.Date)
			if status != versions.StatusExtended && status != versions.StatusEnded { // unknown and unreleased versions have rules of their own
				return nil
			}
			next := version
			for i := 0; i < 20 && in.Data.StatusOn(next, in.Date) != versions.StatusStandard; i++ {
				next = versions.NextMinor(next)
			}
			// EKS user guide, disable-extended-support: "You can only disable extended support for clusters on
			// standard support."
			return []Finding{{Path: "cluster.upgradeSupportType", Message: fmt.Sprintf(
				"upgrade policy STANDARD on Kubernetes %s, which is past its end of standard support on %s: EKS refuses to turn extended support off on such a cluster",
				version, in.Date), Fix: fmt.Sprintf("choose Kubernetes %s or newer, or set cluster.upgradeSupportType: EXTENDED (billed at the extended-support rate)", next)}}
		}})
	register(Rule{ID: "TS308", Kind: Advice, Summary: "a private-only API endpoint needs a route into the VPC for kubectl",
		Check: func(in *Input) []Finding {
			c := in.Config.Cluster
			if c.EndpointPublicAccess || !c.EndpointPrivateAccess {
				return nil
			}
			return []Finding{{Path: "cluster.endpointPublicAccess", Message: "the API endpoint is private only: kubectl and CI need a route into the VPC (VPN, Direct Connect, a bastion or a runner inside it)",
				Fix: "make sure such a route exists, or open the public endpoint to listed CIDRs (cluster.publicAccessCIDRs)"}}
		}})
	register(Rule{ID: "TS309", Kind: Advice, Summary: "NAT gateways are billed by the hour and per GB",
		Check: func(in *Input) []Finding {
			n := in.Config.Network
			if n.Topology != config.TopologyPrivate {
				return nil
			}
			count := natCount(in.Config)
			msg := fmt.Sprintf("%d NAT gateway(s) run all month", count)
			if p, ok := in.Data.NATGatewayPrice(in.Config.Region); ok {
				msg += fmt.Sprintf(": $%.2f a month before data processing ($%g/h each, %s, source %s)", p.Value*in.Data.Prices.HoursPerMonth*float64(count), p.Value, p.Date, p.Source)
			} else {
				msg += fmt.Sprintf("; no sourced price for %s", in.Config.Region)
			}
			fix := "use natGateways: single for environments that can lose egress when one zone fails"
			if n.NATGateways == config.NATSingle {
				fix = "keep it for environments that can lose egress when its zone fails; per-zone gateways cost one each"
			}
			return []Finding{{Path: "network.natGateways", Message: msg, Fix: fix}}
		}})
}

func natCount(c *config.Config) int {
	if c.Network.NATGateways == config.NATPerZone {
		return min(len(c.Network.PrivateSubnetCIDRs), len(c.Network.PublicSubnetCIDRs))
	}
	return 1
}

// nested reads a bool at a path of single nested blocks.
func nested(b tfdoc.Body, path ...string) bool {
	var cur any = b
	for _, k := range path {
		m, ok := cur.(tfdoc.Body)
		if !ok {
			return false
		}
		cur = m[k]
	}
	v, _ := cur.(bool)
	return v
}
