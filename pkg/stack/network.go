package stack

import (
	"fmt"
	"strconv"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

type network struct {
	vpc            *tfdoc.Resource
	igw            *tfdoc.Resource
	public         []*tfdoc.Resource
	private        []*tfdoc.Resource
	privateNetwork bool
}

func itoa(i int) string { return strconv.Itoa(i) }

func ids(rs []*tfdoc.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Ref("id")
	}
	return out
}

// nodeSubnetIDs are where nodes (and the control plane's network interfaces) go: the private subnets in the
// private topology, the public ones otherwise.
func (n network) nodeSubnetIDs() []string {
	if n.privateNetwork {
		return ids(n.private)
	}
	return ids(n.public)
}

func (n network) clusterSubnetIDs() []string { return n.nodeSubnetIDs() }

func buildNetwork(d *tfdoc.Document, cfg *config.Config) network {
	vpc := d.Resource("aws_vpc", "vpc", setTags(tfdoc.Body{
		"cidr_block":           cfg.Network.VPCCIDR,
		"enable_dns_support":   true,
		"enable_dns_hostnames": true,
	}, tags(cfg, cfg.VPCName())))

	igw := d.Resource("aws_internet_gateway", "igw", setTags(tfdoc.Body{
		"vpc_id": vpc.Ref("id"),
	}, tags(cfg, cfg.IGWName())))

	zone := zonePicker(d, cfg)
	rt := d.Resource("aws_route_table", "public_route_table", setTags(tfdoc.Body{
		"vpc_id": vpc.Ref("id"),
	}, tags(cfg, cfg.RouteTableName())))
	// A route of its own: inline routes were one of the original's failures.
	d.Resource("aws_route", "public_route", tfdoc.Body{
		"route_table_id":         rt.Ref("id"),
		"destination_cidr_block": "0.0.0.0/0",
		"gateway_id":             igw.Ref("id"),
	})

	n := network{vpc: vpc, igw: igw, privateNetwork: cfg.Network.Topology == config.TopologyPrivate}
	for i, cidr := range cfg.Network.PublicSubnetCIDRs {
		num := i + 1
		sn := d.Resource("aws_subnet", fmt.Sprintf("public_subnet_%d", num), setTags(tfdoc.Body{
			"vpc_id":            vpc.Ref("id"),
			"cidr_block":        cidr,
			"availability_zone": zone(i),
			// Nodes in public subnets need public IPs; in the private topology only load balancers and NAT live here.
			"map_public_ip_on_launch": !n.privateNetwork,
		}, tags(cfg, cfg.SubnetName(num), "kubernetes.io/role/elb", "1")))
		d.Resource("aws_route_table_association", fmt.Sprintf("public_subnet_%d_association", num), tfdoc.Body{
			"subnet_id":      sn.Ref("id"),
			"route_table_id": rt.Ref("id"),
		})
		n.public = append(n.public, sn)
	}
	if n.privateNetwork {
		buildPrivateSubnets(d, cfg, &n, zone)
	}
	return n
}

// buildPrivateSubnets adds the private topology: private subnets for nodes, NAT gateways in the public subnets
// (one, or one per zone), and a route table per private subnet.
func buildPrivateSubnets(d *tfdoc.Document, cfg *config.Config, n *network, zone func(int) string) {
	nats := 1
	if cfg.Network.NATGateways == config.NATPerZone {
		nats = min(len(cfg.Network.PrivateSubnetCIDRs), len(n.public))
	}
	var gws []*tfdoc.Resource
	for i := 0; i < nats && i < len(n.public); i++ {
		num := itoa(i + 1)
		eip := d.Resource("aws_eip", "nat_eip_"+num, setTags(tfdoc.Body{"domain": "vpc"},
			tags(cfg, cfg.EnvName("eks-nat-eip-"+num))))
		gw := d.Resource("aws_nat_gateway", "nat_gateway_"+num, setTags(tfdoc.Body{
			"allocation_id": eip.Ref("id"),
			"subnet_id":     n.public[i].Ref("id"),
		}, tags(cfg, cfg.EnvName("eks-nat-"+num))))
		gw.DependOn(n.igw) // a NAT gateway needs the internet gateway attached first
		gws = append(gws, gw)
	}
	for i, cidr := range cfg.Network.PrivateSubnetCIDRs {
		num := itoa(i + 1)
		sn := d.Resource("aws_subnet", "private_subnet_"+num, setTags(tfdoc.Body{
			"vpc_id":                  n.vpc.Ref("id"),
			"cidr_block":              cidr,
			"availability_zone":       zone(i),
			"map_public_ip_on_launch": false,
		}, tags(cfg, cfg.PrivateSubnetName(i+1), "kubernetes.io/role/internal-elb", "1")))
		rt := d.Resource("aws_route_table", "private_route_table_"+num, setTags(tfdoc.Body{
			"vpc_id": n.vpc.Ref("id"),
		}, tags(cfg, cfg.EnvName("eks-private-rt-"+num))))
		if len(gws) > 0 {
			d.Resource("aws_route", "private_route_"+num, tfdoc.Body{
				"route_table_id":         rt.Ref("id"),
				"destination_cidr_block": "0.0.0.0/0",
				"nat_gateway_id":         gws[i%len(gws)].Ref("id"),
			})
		}
		d.Resource("aws_route_table_association", "private_subnet_"+num+"_association", tfdoc.Body{
			"subnet_id":      sn.Ref("id"),
			"route_table_id": rt.Ref("id"),
		})
		n.private = append(n.private, sn)
	}
}

// zonePicker returns the zone of the i-th subnet: a configured name, or one chosen at plan time.
func zonePicker(d *tfdoc.Document, cfg *config.Config) func(int) string {
	if zs := cfg.Network.AvailabilityZones; len(zs) > 0 {
		return func(i int) string { return zs[i%len(zs)] }
	}
	body := tfdoc.Body{"state": "available"}
	if cfg.Network.ExcludeAvoidedZones {
		body["filter"] = []tfdoc.Body{{"name": "opt-in-status", "values": []string{"opt-in-not-required"}}}
		if ids := versions.Get().AvoidedZones(cfg.Region); len(ids) > 0 {
			body["exclude_zone_ids"] = ids
		}
	}
	azs := d.Data("aws_availability_zones", "available_azs", body)
	return func(i int) string { return azs.Ref(fmt.Sprintf("names[%d]", i)) }
}

// buildFlowLogs sends the VPC's flow logs to a CloudWatch log group through a role that may write only there.
func buildFlowLogs(d *tfdoc.Document, cfg *config.Config, n network, key *tfdoc.Resource) {
	if !cfg.Network.FlowLogs {
		return
	}
	body := tfdoc.Body{"name": cfg.FlowLogGroupName(), "retention_in_days": cfg.Cluster.LogRetentionDays}
	if cfg.Cluster.LogEncryption && key != nil {
		body["kms_key_id"] = key.Ref("arn")
	}
	lg := d.Resource("aws_cloudwatch_log_group", "vpc_flow_log_group", setTags(body, tags(cfg, "")))
	role := d.Resource("aws_iam_role", "vpc_flow_log_role", setTags(tfdoc.Body{
		"name":               cfg.FlowLogRoleName(),
		"assume_role_policy": trustPolicy("vpc-flow-logs.amazonaws.com"),
	}, tags(cfg, "")))
	doc := policyDocument(d, "vpc_flow_log_policy", statement("WriteFlowLogs",
		[]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"},
		[]string{lg.Ref("arn"), lg.Ref("arn") + ":*"}, "", nil))
	d.Resource("aws_iam_role_policy", "vpc_flow_log_policy", tfdoc.Body{
		"name": "vpc-flow-logs", "role": role.Ref("id"), "policy": doc.Ref("json"),
	})
	d.Resource("aws_flow_log", "vpc_flow_log", setTags(tfdoc.Body{
		"vpc_id":                   n.vpc.Ref("id"),
		"traffic_type":             "ALL",
		"log_destination_type":     "cloud-watch-logs",
		"log_destination":          lg.Ref("arn"),
		"iam_role_arn":             role.Ref("arn"),
		"max_aggregation_interval": 60,
	}, tags(cfg, cfg.EnvName("eks-vpc-flow-log"))))
}
