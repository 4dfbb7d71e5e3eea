package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// The Cluster Autoscaler's side of the stack: its role through EKS Pod Identity, allowed to resize only this
// cluster's Auto Scaling groups, and the node groups' desired sizes left to it. What runs in the cluster
// (internal/incluster) finds the groups by the same tags.

const (
	// AutoscalerNamespace and AutoscalerServiceAccount are the service account the autoscaler runs as, as in
	// kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/examples/cluster-autoscaler-autodiscover.yaml.
	AutoscalerNamespace      = "kube-system"
	AutoscalerServiceAccount = "cluster-autoscaler"
	// AutoscalerEnabledTag is the tag key auto-discovery looks for beside AutoscalerClusterTag.
	AutoscalerEnabledTag = "k8s.io/cluster-autoscaler/enabled"
	// AutoscalerRoleOutput is the output holding the autoscaler's role ARN.
	AutoscalerRoleOutput = "cluster_autoscaler_role_arn"
	// AutoscalerAssociationAddress is the Pod Identity association of the autoscaler's service account.
	AutoscalerAssociationAddress = "aws_eks_pod_identity_association.cluster_autoscaler"
	// DesiredSizeIgnored is what a node group's lifecycle ignores while the autoscaler sizes it.
	DesiredSizeIgnored = "scaling_config[0].desired_size"
)

// AutoscalerClusterTag is the tag key naming the cluster on each of its groups' Auto Scaling groups.
func AutoscalerClusterTag(cluster string) string { return "k8s.io/cluster-autoscaler/" + cluster }

// AutoscalerNodeTemplateLabelTag is the Auto Scaling group tag that tells the autoscaler a label nodes of the
// group will carry, for a group it sees with no node (cluster-autoscaler/cloudprovider/aws/README.md,
// Auto-Discovery Setup).
func AutoscalerNodeTemplateLabelTag(label string) string {
	return "k8s.io/cluster-autoscaler/node-template/label/" + label
}

// The labels EKS puts on every node of a managed node group (EKS user guide, managed-node-groups: capacity types).
const (
	CapacityTypeLabel = "eks.amazonaws.com/capacityType"
	NodeGroupLabel    = "eks.amazonaws.com/nodegroup"
)

// autoscalerReads and autoscalerWrites are cluster-autoscaler/cloudprovider/aws/README.md's "Full Cluster Autoscaler Features Policy
// (Recommended)" (kubernetes/autoscaler at 55c37cd5, 2026-08-22): reads on every resource, since auto-discovery
// lists the Auto Scaling groups before it knows which are this cluster's and Describe* calls take no resource, and
// the two writes that README says to restrict.
var (
	autoscalerReads = []string{
		"autoscaling:DescribeAutoScalingGroups",
		"autoscaling:DescribeAutoScalingInstances",
		"autoscaling:DescribeLaunchConfigurations",
		"autoscaling:DescribeScalingActivities",
		"ec2:DescribeImages",
		"ec2:DescribeInstanceTypes",
		"ec2:DescribeLaunchTemplateVersions",
		"ec2:GetInstanceTypesFromInstanceRequirements",
		"eks:DescribeNodegroup",
	}
	autoscalerWrites = []string{
		"autoscaling:SetDesiredCapacity",
		"autoscaling:TerminateInstanceInAutoScalingGroup",
	}
)

// buildClusterAutoscaler declares the autoscaler's role and its Pod Identity association for
// kube-system:cluster-autoscaler, after the Pod Identity agent, and the scale-from-zero tags of the groups that can
// reach zero nodes.
func buildClusterAutoscaler(d *tfdoc.Document, cfg *config.Config, r iam, cl cluster, ngs []*tfdoc.Resource) {
	if !cfg.RunsClusterAutoscaler() {
		return
	}
	account, clusterARN := clusterARNOf(cfg, r)
	trust := podIdentityTrust(d, "cluster_autoscaler_assume_role_policy", account, clusterARN, AutoscalerNamespace, AutoscalerServiceAccount)
	role := d.Resource("aws_iam_role", "cluster_autoscaler_role", setTags(tfdoc.Body{
		"name":               cfg.ClusterAutoscalerRoleName(),
		"assume_role_policy": trust.Ref("json"),
	}, tags(cfg, "")))
	// EKS tags every managed node group's Auto Scaling group for the autoscaler's auto-discovery (EKS user guide,
	// managed-node-groups): k8s.io/cluster-autoscaler/enabled = true and k8s.io/cluster-autoscaler/<cluster> =
	// owned. The README asks the writes to be restricted by tag conditions; these two keep them to this cluster's
	// groups (EC2 Auto Scaling user guide, control-access-using-iam: aws:ResourceTag).
	doc := policyDocument(d, "cluster_autoscaler_policy",
		statement("DescribeScalingInputs", autoscalerReads, []string{"*"}, "", nil),
		statement("ScaleThisClustersGroups", autoscalerWrites, []string{"*"}, "", nil,
			condition("StringEquals", "aws:ResourceTag/"+AutoscalerClusterTag(cfg.ClusterName()), "owned"),
			condition("StringEquals", "aws:ResourceTag/"+AutoscalerEnabledTag, "true")))
	policy := d.Resource("aws_iam_role_policy", "cluster_autoscaler_policy", tfdoc.Body{
		"name":   "cluster-autoscaler",
		"role":   role.Ref("id"),
		"policy": doc.Ref("json"),
	})
	assoc := d.Resource("aws_eks_pod_identity_association", "cluster_autoscaler", setTags(tfdoc.Body{
		"cluster_name":    cl.eks.Ref("name"),
		"namespace":       AutoscalerNamespace,
		"service_account": AutoscalerServiceAccount,
		"role_arn":        role.Ref("arn"),
	}, tags(cfg, "")))
	// The policy first, so the credentials a pod gets carry it; the agent first, so a pod finds it.
	assoc.DependOn(policy)
	if agent, ok := d.Lookup(PodIdentityAgentAddress); ok {
		assoc.DependOn(agent)
	}
	buildScaleFromZeroTags(d, cfg, ngs)
	if !cfg.Compat.OriginalOutputs {
		d.Output(AutoscalerRoleOutput, "IAM role of the Cluster Autoscaler", role.Ref("arn"))
	}
}

// buildScaleFromZeroTags tags the Auto Scaling group of each node group in use (inUse, in NodeGroupKinds' order)
// whose minSize is 0 with the labels EKS puts on its nodes. With no node of a group to look at, the autoscaler reads
// labels from the group's tags; it asks EKS (eks:DescribeNodegroup) only for a group that never had a node, not one
// scaled back to zero (cluster-autoscaler/cloudprovider/aws/README.md), so a pod selecting SPOT or ON_DEMAND
// capacity would otherwise stay pending. The groups have no taints of their own to tag. A managed node group has
// one Auto Scaling group, which EKS creates; aws_autoscaling_group_tag adds a tag to it without managing the group.
func buildScaleFromZeroTags(d *tfdoc.Document, cfg *config.Config, inUse []*tfdoc.Resource) {
	for i, k := range NodeGroupKinds(cfg) {
		if k.Group.MinSize != 0 || i >= len(inUse) || inUse[i] == nil {
			continue
		}
		asg := inUse[i].Ref("resources[0].autoscaling_groups[0].name")
		name, _ := inUse[i].Body["node_group_name"].(string)
		for _, l := range []struct{ addr, label, value string }{
			{"capacity_type", CapacityTypeLabel, k.Capacity},
			{"nodegroup", NodeGroupLabel, name},
		} {
			d.Resource("aws_autoscaling_group_tag", k.Short+"_autoscaler_"+l.addr, tfdoc.Body{
				"autoscaling_group_name": asg,
				"tag": tfdoc.Body{
					"key":                 AutoscalerNodeTemplateLabelTag(l.label),
					"value":               l.value,
					"propagate_at_launch": false, // a hint for the autoscaler, not a tag for instances
				},
			})
		}
	}
}
