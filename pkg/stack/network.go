package stack

import (
	"fmt"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

type network struct {
	vpc     *tfdoc.Resource
	subnets []*tfdoc.Resource
}

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

	n := network{vpc: vpc}
	for i, cidr := range cfg.Network.PublicSubnetCIDRs {
		num := i + 1
		sn := d.Resource("aws_subnet", fmt.Sprintf("public_subnet_%d", num), setTags(tfdoc.Body{
			"vpc_id":                  vpc.Ref("id"),
			"cidr_block":              cidr,
			"availability_zone":       zone(i),
			"map_public_ip_on_launch": true, // managed node groups in public subnets need it
		}, tags(cfg, cfg.SubnetName(num), "kubernetes.io/role/elb", "1")))
		d.Resource("aws_route_table_association", fmt.Sprintf("public_subnet_%d_association", num), tfdoc.Body{
			"subnet_id":      sn.Ref("id"),
			"route_table_id": rt.Ref("id"),
		})
		n.subnets = append(n.subnets, sn)
	}
	return n
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

func subnetIDs(n network) []string {
	ids := make([]string, len(n.subnets))
	for i, s := range n.subnets {
		ids[i] = s.Ref("id")
	}
	return ids
}
