package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// buildNodeGroups declares the on-demand and spot groups; version, when set, is their Kubernetes version. A launch
// template the state already has keeps its recorded name (existing may be nil); notes say so.
func buildNodeGroups(d *tfdoc.Document, cfg *config.Config, n network, r iam, cl cluster, a addons, version string,
	existing *Existing) (out []*tfdoc.Resource, notes []string) {
	ng := cfg.NodeGroups
	for _, g := range []struct {
		addr, short, name, capacity string
		group                       config.NodeGroup
	}{
		{"on_demand_node_group", "on_demand", cfg.OnDemandGroupName(), "ON_DEMAND", ng.OnDemand},
		{"spot_node_group", "spot", cfg.SpotGroupName(), "SPOT", ng.Spot},
	} {
		body := tfdoc.Body{
			"cluster_name":    cl.eks.Ref("name"),
			"node_group_name": g.name,
			"node_role_arn":   r.nodeRole.Ref("arn"),
			"subnet_ids":      n.nodeSubnetIDs(),
			"capacity_type":   g.capacity,
			"instance_types":  g.group.InstanceTypes,
			"scaling_config": tfdoc.Body{
				"min_size":     g.group.MinSize,
				"desired_size": g.group.DesiredSize,
				"max_size":     g.group.MaxSize,
			},
		}
		if version != "" {
			body["version"] = version
		}
		if ng.LaunchTemplate {
			addr := g.short + "_launch_template"
			name, note := launchTemplateName(cfg.LaunchTemplateName(g.name), "aws_launch_template."+addr, existing)
			if note != "" {
				notes = append(notes, note)
			}
			lt := launchTemplate(d, cfg, addr, name)
			body["launch_template"] = tfdoc.Body{"id": lt.Ref("id"), "version": lt.Ref("latest_version")}
		}
		if ng.AutoRepair {
			body["node_repair_config"] = tfdoc.Body{"enabled": true}
		}
		if ng.MaxUnavailablePercentage > 0 {
			body["update_config"] = tfdoc.Body{"max_unavailable_percentage": ng.MaxUnavailablePercentage}
		}
		res := d.Resource("aws_eks_node_group", g.addr, setTags(body, tags(cfg, "")))
		// Nodes need their role's policies to join, and to keep them while they drain on delete.
		res.DependOn(cl.eks)
		res.DependOn(r.nodeAttachments...)
		if !cfg.Compat.AddonAfterNodeGroups {
			// Nodes that join before the CNI is configured never become Ready.
			res.DependOn(a.beforeNode...)
		}
		out = append(out, res)
	}
	return out, notes
}

// launchTemplate requires IMDSv2 and an encrypted gp3 root. Hop limit 2: a pod outside the host network is one hop
// further, and the EBS CSI driver's pods need instance metadata (aws-ebs-csi-driver docs/install.md: hop limit 2
// with IMDSv2; its Kubernetes fallback cannot count the volumes an instance can attach). The CloudWatch agent runs
// on the host network and would manage with 1 (aws-observability/helm-charts #82). docs/profiles.md has the choice.
func launchTemplate(d *tfdoc.Document, cfg *config.Config, addr, name string) *tfdoc.Resource {
	return d.Resource("aws_launch_template", addr, setTags(tfdoc.Body{
		"name":                   name,
		"update_default_version": true,
		"metadata_options": tfdoc.Body{
			"http_endpoint":               "enabled",
			"http_tokens":                 "required",
			"http_put_response_hop_limit": 2,
		},
		"block_device_mappings": []tfdoc.Body{{
			"device_name": "/dev/xvda",
			"ebs": tfdoc.Body{
				"volume_size": cfg.NodeGroups.RootVolumeGiB, "volume_type": "gp3", "encrypted": true, "delete_on_termination": true,
			},
		}},
	}, tags(cfg, name)))
}
