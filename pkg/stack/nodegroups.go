package stack

import (
	"fmt"
	"strings"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// Generation is which of a node group's two names it has. A change that replaces a node group (instance types, a
// new launch template) cannot be applied in place without dropping every node at once, and EKS refuses a second
// group of the same name, so `tapstack roll` brings up the replacement under the other name beside the old group,
// moves the pods, then removes the old group. Each generation has its own address, so the state says which one
// runs: no record outside the state is needed to render it.
type Generation int

const (
	// GenerationA is the plain name at the original's address (node-group-od-v1-<suffix>, on_demand_node_group).
	GenerationA Generation = iota
	// GenerationB is the name with config.AlternateSuffix at the address with _b.
	GenerationB
)

// Other is the generation a roll moves to.
func (g Generation) Other() Generation { return 1 - g }

func (g Generation) String() string {
	if g == GenerationB {
		return "b"
	}
	return "a"
}

// NodeGroupKind is one of the stack's two managed node groups, whatever its generation.
type NodeGroupKind struct {
	// Key is the name of its address in generation A: on_demand_node_group or spot_node_group.
	Key string
	// Short prefixes its launch template's address (on_demand_launch_template), which both generations share.
	Short    string
	Capacity string // ON_DEMAND or SPOT
	// Output is the output that names the generation in use.
	Output string
	// BaseName is its name in generation A.
	BaseName string
	Group    config.NodeGroup
}

// NodeGroupKinds are the stack's managed node groups; none with EKS Auto Mode.
func NodeGroupKinds(cfg *config.Config) []NodeGroupKind {
	if cfg.Cluster.Compute == config.ComputeAuto {
		return nil
	}
	return []NodeGroupKind{
		{"on_demand_node_group", "on_demand", "ON_DEMAND", "on_demand_node_group_name", cfg.OnDemandGroupName(), cfg.NodeGroups.OnDemand},
		{"spot_node_group", "spot", "SPOT", "spot_node_group_name", cfg.SpotGroupName(), cfg.NodeGroups.Spot},
	}
}

// Address is the kind's address in generation g.
func (k NodeGroupKind) Address(g Generation) string {
	if g == GenerationB {
		return "aws_eks_node_group." + k.Key + "_b"
	}
	return "aws_eks_node_group." + k.Key
}

// Name is the kind's EKS name in generation g.
func (k NodeGroupKind) Name(g Generation) string {
	if g == GenerationB {
		return config.AlternateGroupName(k.BaseName)
	}
	return k.BaseName
}

// GenerationOf says which generation name is, and whether it is one of the kind's.
func (k NodeGroupKind) GenerationOf(name string) (Generation, bool) {
	switch name {
	case k.BaseName:
		return GenerationA, true
	case k.Name(GenerationB):
		return GenerationB, true
	}
	return GenerationA, false
}

// Has reports whether the state holds a managed resource at address; a nil Existing holds none.
func (e *Existing) Has(address string) bool { return e != nil && e.Addresses[address] }

// Generations are the kind's generations in state, A first.
func (e *Existing) Generations(k NodeGroupKind) []Generation {
	var out []Generation
	for _, g := range []Generation{GenerationA, GenerationB} {
		if e.Has(k.Address(g)) {
			out = append(out, g)
		}
	}
	return out
}

// NodeGroupRoll renders one step of `tapstack roll` for one node group: generation To as configured and, while
// KeepFrom, generation From as it runs.
type NodeGroupRoll struct {
	Key      string // the kind's Key
	From, To Generation
	KeepFrom bool
}

// nodeGroupPlan is one node group resource to render: its generation, and whether it is held as it runs.
type nodeGroupPlan struct {
	kind   NodeGroupKind
	gen    Generation
	frozen bool
}

// planNodeGroups decides which generations of each kind to render. Without a roll the generation in state is
// rendered as configured (A for a new environment). Both in state without a roll is a roll under way: both are
// held as they run, the output names the one the state's output names, and rolling says so.
func planNodeGroups(cfg *config.Config, opts Options) (plans []nodeGroupPlan, live []nodeGroupPlan, rolling []string) {
	for _, k := range NodeGroupKinds(cfg) {
		gens := opts.Existing.Generations(k)
		switch r := opts.Roll; {
		case r != nil && r.Key == k.Key:
			if r.KeepFrom && opts.Existing.Has(k.Address(r.From)) {
				plans = append(plans, nodeGroupPlan{k, r.From, true})
			}
			p := nodeGroupPlan{k, r.To, false}
			plans, live = append(plans, p), append(live, p)
		case len(gens) == 2:
			named := GenerationA
			if opts.Existing != nil && opts.Existing.NodeGroupOutputs[k.Output] == k.Name(GenerationB) {
				named = GenerationB
			}
			for _, g := range gens {
				plans = append(plans, nodeGroupPlan{k, g, true})
			}
			live = append(live, nodeGroupPlan{k, named, true})
			rolling = append(rolling, k.BaseName)
		case len(gens) == 1:
			p := nodeGroupPlan{k, gens[0], false}
			plans, live = append(plans, p), append(live, p)
		default:
			p := nodeGroupPlan{k, GenerationA, false}
			plans, live = append(plans, p), append(live, p)
		}
	}
	return plans, live, rolling
}

// frozen holds a resource as it runs: Terraform plans no change to it, whatever the configuration says
// (lifecycle ignore_changes = all), so a setting that replaces a node group never touches the one being drained.
var frozen = tfdoc.Body{"ignore_changes": "all"}

// buildNodeGroups declares the node groups planNodeGroups chose; version, when set, is their Kubernetes version. A
// launch template the state already has keeps its recorded name (existing may be nil); notes say so. It returns
// the node groups in use (what the outputs name and the add-ons wait for), on-demand first.
func buildNodeGroups(d *tfdoc.Document, cfg *config.Config, n network, r iam, cl cluster, a addons, version string,
	opts Options) (inUse []*tfdoc.Resource, rolling, notes []string) {
	ng := cfg.NodeGroups
	existing := opts.Existing
	plans, live, rolling := planNodeGroups(cfg, opts)
	templates := map[string]*tfdoc.Resource{}
	byAddress := map[string]*tfdoc.Resource{}
	for _, p := range plans {
		g := p.kind.Group
		body := tfdoc.Body{
			"cluster_name":    cl.eks.Ref("name"),
			"node_group_name": p.kind.Name(p.gen),
			"node_role_arn":   r.nodeRole.Ref("arn"),
			"subnet_ids":      n.nodeSubnetIDs(),
			"capacity_type":   p.kind.Capacity,
			"instance_types":  g.InstanceTypes,
			"scaling_config": tfdoc.Body{
				"min_size":     g.MinSize,
				"desired_size": g.DesiredSize,
				"max_size":     g.MaxSize,
			},
		}
		if version != "" {
			body["version"] = version
		}
		ltAddr := p.kind.Short + "_launch_template"
		// A held group keeps the template it was launched from, even when the configuration no longer has one.
		if ng.LaunchTemplate || (p.frozen && existing.Has("aws_launch_template."+ltAddr)) {
			lt := templates[ltAddr]
			if lt == nil {
				name, note := launchTemplateName(cfg.LaunchTemplateName(p.kind.BaseName), "aws_launch_template."+ltAddr, existing)
				if note != "" {
					notes = append(notes, note)
				}
				lt = launchTemplate(d, cfg, ltAddr, name)
				if !ng.LaunchTemplate {
					lt.Lifecycle = frozen
				}
				templates[ltAddr] = lt
			}
			body["launch_template"] = tfdoc.Body{"id": lt.Ref("id"), "version": lt.Ref("latest_version")}
		}
		if ng.AutoRepair {
			body["node_repair_config"] = tfdoc.Body{"enabled": true}
		}
		if ng.MaxUnavailablePercentage > 0 {
			body["update_config"] = tfdoc.Body{"max_unavailable_percentage": ng.MaxUnavailablePercentage}
		}
		name := strings.TrimPrefix(p.kind.Address(p.gen), "aws_eks_node_group.")
		res := d.Resource("aws_eks_node_group", name, setTags(body, tags(cfg, "")))
		switch {
		case p.frozen:
			res.Lifecycle = frozen // ignores desired_size with everything else
		case cfg.RunsClusterAutoscaler():
			// The autoscaler owns the size between min and max: a plan, drift or deploy must not set it back.
			res.Lifecycle = tfdoc.Body{"ignore_changes": []string{DesiredSizeIgnored}}
		}
		// Nodes need their role's policies to join, and to keep them while they drain on delete.
		res.DependOn(cl.eks)
		res.DependOn(r.nodeAttachments...)
		if !cfg.Compat.AddonAfterNodeGroups {
			// Nodes that join before the CNI is configured never become Ready.
			res.DependOn(a.beforeNode...)
		}
		byAddress[res.Address()] = res
	}
	for _, p := range live {
		inUse = append(inUse, byAddress[p.kind.Address(p.gen)])
	}
	for _, name := range rolling {
		notes = append(notes, fmt.Sprintf("node group %s has both generations in state: a roll is under way, so both are "+
			"kept as they run; `tapstack roll --node-group %s` finishes it", name, name))
	}
	return inUse, rolling, notes
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
