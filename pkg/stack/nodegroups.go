package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

func buildNodeGroups(d *tfdoc.Document, cfg *config.Config, n network, r iam, cl cluster, a addons) []*tfdoc.Resource {
	var out []*tfdoc.Resource
	for _, g := range []struct {
		addr, name, capacity string
		ng                   config.NodeGroup
	}{
		{"on_demand_node_group", cfg.OnDemandGroupName(), "ON_DEMAND", cfg.NodeGroups.OnDemand},
		{"spot_node_group", cfg.SpotGroupName(), "SPOT", cfg.NodeGroups.Spot},
	} {
		ng := d.Resource("aws_eks_node_group", g.addr, setTags(tfdoc.Body{
			"cluster_name":    cl.eks.Ref("name"),
			"node_group_name": g.name,
			"node_role_arn":   r.nodeRole.Ref("arn"),
			"subnet_ids":      subnetIDs(n),
			"capacity_type":   g.capacity,
			"instance_types":  g.ng.InstanceTypes,
			"scaling_config": tfdoc.Body{
				"min_size":     g.ng.MinSize,
				"desired_size": g.ng.DesiredSize,
				"max_size":     g.ng.MaxSize,
			},
		}, tags(cfg, "")))
		// Nodes need their role's policies to join, and to keep them while they drain on delete.
		ng.DependOn(cl.eks)
		ng.DependOn(r.nodeAttachments...)
		if !cfg.Compat.AddonAfterNodeGroups {
			// Nodes that join before the CNI is configured never become Ready.
			ng.DependOn(a.vpcCNI)
		}
		out = append(out, ng)
	}
	return out
}
