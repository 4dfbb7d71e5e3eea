package stack

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// autoscalerAddresses are what the autoscaler adds to a document (the scale-from-zero tags aside).
var autoscalerAddresses = []string{
	"aws_iam_role.cluster_autoscaler_role", "aws_iam_role_policy.cluster_autoscaler_policy", AutoscalerAssociationAddress,
	"data.aws_iam_policy_document.cluster_autoscaler_policy", "data.aws_iam_policy_document.cluster_autoscaler_assume_role_policy",
}

// With the autoscaler, every node group leaves desired_size to it; without (profile original, autoscaling: none,
// Auto Mode) nothing of it is rendered and the groups keep no lifecycle block.
func TestAutoscalerOwnsDesiredSize(t *testing.T) {
	for _, profile := range []string{"default", "hardened"} {
		d := build(t, profile)
		for _, addr := range nodeGroupAddresses {
			r, _ := d.Lookup(addr)
			if want := (tfdoc.Body{"ignore_changes": []string{"scaling_config[0].desired_size"}}); !reflect.DeepEqual(r.Lifecycle, want) {
				t.Errorf("%s %s: lifecycle %v, want %v", profile, addr, r.Lifecycle, want)
			}
			// desired_size is still set: it is the size at creation.
			if sc := r.Body["scaling_config"].(tfdoc.Body); sc["desired_size"] == nil {
				t.Errorf("%s %s: no desired_size at creation", profile, addr)
			}
		}
		for _, addr := range autoscalerAddresses {
			if _, ok := d.Lookup(addr); !ok {
				t.Errorf("%s lacks %s", profile, addr)
			}
		}
		if d.Outputs[AutoscalerRoleOutput].Value != "${aws_iam_role.cluster_autoscaler_role.arn}" {
			t.Errorf("%s: output %s = %v", profile, AutoscalerRoleOutput, d.Outputs[AutoscalerRoleOutput].Value)
		}
	}
	for name, d := range map[string]*tfdoc.Document{
		"original":          build(t, "original"),
		"autoscaling: none": build(t, "default", func(c *config.Config) { c.Autoscaling = config.AutoscalingNone }),
		"Auto Mode":         build(t, "default", func(c *config.Config) { c.Cluster.Compute = config.ComputeAuto }),
	} {
		for _, addr := range nodeGroupAddresses {
			if r, ok := d.Lookup(addr); ok && r.Lifecycle != nil {
				t.Errorf("%s: %s has lifecycle %v", name, addr, r.Lifecycle)
			}
		}
		for _, addr := range autoscalerAddresses {
			if _, ok := d.Lookup(addr); ok {
				t.Errorf("%s declares %s", name, addr)
			}
		}
		if _, ok := d.Outputs[AutoscalerRoleOutput]; ok {
			t.Errorf("%s has output %s", name, AutoscalerRoleOutput)
		}
	}
	// The original's outputs stay its seven even with the autoscaler turned on there.
	if d := build(t, "original", func(c *config.Config) { c.Autoscaling = config.AutoscalingClusterAutoscaler }); len(d.Outputs) != 7 {
		t.Errorf("original with the autoscaler: %d outputs", len(d.Outputs))
	}
}

// The policy is upstream's full-features policy: the reads on every resource, the two writes only on Auto Scaling
// groups tagged as this cluster's (owned) and enabled, and nothing else.
func TestAutoscalerPolicyScope(t *testing.T) {
	d := build(t, "default", func(c *config.Config) { c.EnvironmentSuffix = "pr42" })
	r, _ := d.Lookup("data.aws_iam_policy_document.cluster_autoscaler_policy")
	sts := r.Body["statement"].([]tfdoc.Body)
	if len(sts) != 2 {
		t.Fatalf("%d statements", len(sts))
	}
	reads, writes := sts[0], sts[1]
	wantReads := []string{"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
		"autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "ec2:DescribeImages",
		"ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
		"eks:DescribeNodegroup"}
	if !reflect.DeepEqual(reads["actions"], wantReads) || reads["condition"] != nil {
		t.Errorf("reads: %v", reads)
	}
	if !reflect.DeepEqual(writes["actions"], []string{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}) {
		t.Errorf("writes: %v", writes["actions"])
	}
	wantConditions := []tfdoc.Body{
		{"test": "StringEquals", "variable": "aws:ResourceTag/k8s.io/cluster-autoscaler/eks-cluster-v1-pr42", "values": []string{"owned"}},
		{"test": "StringEquals", "variable": "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled", "values": []string{"true"}},
	}
	if !reflect.DeepEqual(writes["condition"], wantConditions) {
		t.Errorf("writes are not scoped to this cluster's groups: %v", writes["condition"])
	}
	for _, s := range sts {
		if s["effect"] != "Allow" || !reflect.DeepEqual(s["resources"], []string{"*"}) {
			t.Errorf("statement %v", s)
		}
	}
	p := res(t, d, "aws_iam_role_policy.cluster_autoscaler_policy")
	if p["role"] != "${aws_iam_role.cluster_autoscaler_role.id}" || p["policy"] != "${data.aws_iam_policy_document.cluster_autoscaler_policy.json}" {
		t.Errorf("role policy %v", p)
	}
	if got := res(t, d, "aws_iam_role.cluster_autoscaler_role")["name"]; got != "eks-cluster-autoscaler-role-v1-pr42" {
		t.Errorf("role name %v", got)
	}
}

// One association binds the role to kube-system:cluster-autoscaler, after the Pod Identity agent and the policy;
// the role trusts Pod Identity for that service account on this cluster only.
func TestAutoscalerAssociation(t *testing.T) {
	d := build(t, "default")
	a := res(t, d, AutoscalerAssociationAddress)
	want := tfdoc.Body{"cluster_name": "${aws_eks_cluster.eks_cluster.name}", "namespace": "kube-system",
		"service_account": "cluster-autoscaler", "role_arn": "${aws_iam_role.cluster_autoscaler_role.arn}"}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("association %v, want %v", a, want)
	}
	if got := deps(t, d, AutoscalerAssociationAddress); !reflect.DeepEqual(got, []string{PodIdentityAgentAddress, "aws_iam_role_policy.cluster_autoscaler_policy"}) {
		t.Errorf("association depends on %v", got)
	}
	trust := policyText(t, d, "cluster_autoscaler_assume_role_policy")
	for _, want := range []string{`"pods.eks.amazonaws.com"`, `"aws:RequestTag/kubernetes-namespace"`, `["kube-system"]`,
		`"aws:RequestTag/kubernetes-service-account"`, `["cluster-autoscaler"]`, `:cluster/eks-cluster-v1-dev"]`} {
		if !strings.Contains(trust, want) {
			t.Errorf("trust policy lacks %s: %s", want, trust)
		}
	}
	if got := res(t, d, "aws_iam_role.cluster_autoscaler_role")["assume_role_policy"]; got != "${data.aws_iam_policy_document.cluster_autoscaler_assume_role_policy.json}" {
		t.Errorf("role trust %v", got)
	}
}

// A group whose minSize is 0 gets its nodes' labels as tags on its Auto Scaling group, for the autoscaler to
// scale it up from zero; a group that never reaches zero, or one no autoscaler sizes, gets none.
func TestAutoscalerScaleFromZeroTags(t *testing.T) {
	tagsOf := func(d *tfdoc.Document) map[string]tfdoc.Body {
		out := map[string]tfdoc.Body{}
		for _, r := range d.OfType("aws_autoscaling_group_tag") {
			out[r.Name] = r.Body
		}
		return out
	}
	if got := tagsOf(build(t, "default")); len(got) != 0 {
		t.Errorf("groups with minSize 2 and 3 are tagged: %v", got)
	}
	zero := func(c *config.Config) { c.NodeGroups.Spot.MinSize = 0 }
	got := tagsOf(build(t, "default", zero))
	asg := "${aws_eks_node_group.spot_node_group.resources[0].autoscaling_groups[0].name}"
	want := map[string]tfdoc.Body{
		"spot_autoscaler_capacity_type": {"autoscaling_group_name": asg, "tag": tfdoc.Body{
			"key": "k8s.io/cluster-autoscaler/node-template/label/eks.amazonaws.com/capacityType", "value": "SPOT", "propagate_at_launch": false}},
		"spot_autoscaler_nodegroup": {"autoscaling_group_name": asg, "tag": tfdoc.Body{
			"key": "k8s.io/cluster-autoscaler/node-template/label/eks.amazonaws.com/nodegroup", "value": "node-group-spot-v1-dev", "propagate_at_launch": false}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scale-from-zero tags\n got %v\nwant %v", got, want)
	}
	both := tagsOf(build(t, "default", zero, func(c *config.Config) { c.NodeGroups.OnDemand.MinSize = 0 }))
	if od := both["on_demand_autoscaler_capacity_type"]; od == nil || od["tag"].(tfdoc.Body)["value"] != "ON_DEMAND" ||
		od["autoscaling_group_name"] != "${aws_eks_node_group.on_demand_node_group.resources[0].autoscaling_groups[0].name}" {
		t.Errorf("on-demand tag %v", od)
	}
	if got := tagsOf(build(t, "default", zero, func(c *config.Config) { c.Autoscaling = config.AutoscalingNone })); len(got) != 0 {
		t.Errorf("tags without the autoscaler: %v", got)
	}
}

// After a roll the group in use is generation B: its scale-from-zero tags name its Auto Scaling group and its
// name. While a roll is under way both generations are held as they run (ignore_changes all), the autoscaler's
// desired size included.
func TestAutoscalerFollowsTheNodeGroupGeneration(t *testing.T) {
	c, _ := config.Defaults("default")
	c.NodeGroups.OnDemand.MinSize = 0
	d := Build(&c, Options{Existing: inState(nil, odB, spA)}).Doc
	tag := res(t, d, "aws_autoscaling_group_tag.on_demand_autoscaler_nodegroup")
	if tag["autoscaling_group_name"] != "${aws_eks_node_group.on_demand_node_group_b.resources[0].autoscaling_groups[0].name}" ||
		tag["tag"].(tfdoc.Body)["value"] != "node-group-od-v1-dev-b" {
		t.Errorf("generation B's tag %v", tag)
	}
	if r, _ := d.Lookup(odB); !reflect.DeepEqual(r.Lifecycle, tfdoc.Body{"ignore_changes": []string{DesiredSizeIgnored}}) {
		t.Errorf("generation B's lifecycle %v", r.Lifecycle)
	}
	rolling := Build(&c, Options{Existing: inState(nil, odA, odB, spA)}).Doc
	if !isFrozen(rolling, odA) || !isFrozen(rolling, odB) {
		t.Error("a roll under way does not hold both generations")
	}
}
