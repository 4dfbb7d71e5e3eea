package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// The platform add-ons: storage, metrics, monitoring and node health, what a team needs on day one beyond the
// network and DNS. Each one that calls AWS gets a role of its own through the add-on's Pod Identity association
// (aws_eks_addon's pod_identity_association block: the association belongs to the add-on, so there is no second
// aws_eks_pod_identity_association for the same service account). Versions come from opts.AddonVersions (pinned
// by `upgrade` per step); unset, EKS installs its default build for the cluster's version.

// PlatformAddon is one platform add-on as the stack renders it: what verify compares the live add-on with.
type PlatformAddon struct {
	Name, Address string
	// Namespace, ServiceAccount and RoleName are its Pod Identity association; empty when it has no role.
	Namespace, ServiceAccount, RoleName string
}

const (
	// EKS user guide, csi-iam-role: the controller's service account.
	ebsCSINamespace, ebsCSIServiceAccount = "kube-system", "ebs-csi-controller-sa"
	// EKS user guide, amazon-cloudwatch-observability: the agent's service account.
	cloudWatchNamespace, cloudWatchServiceAccount = "amazon-cloudwatch", "cloudwatch-agent"
)

// PlatformAddons lists the platform add-ons a configuration renders, in the order Build declares them. Auto Mode
// renders none: it runs its own nodes and storage, and tapstack declares no add-on there.
func PlatformAddons(cfg *config.Config) []PlatformAddon {
	a := cfg.Addons
	if cfg.Cluster.Compute == config.ComputeAuto {
		return nil
	}
	var out []PlatformAddon
	if a.EBSCSIDriver {
		out = append(out, PlatformAddon{"aws-ebs-csi-driver", "aws_eks_addon.ebs_csi_driver_addon",
			ebsCSINamespace, ebsCSIServiceAccount, cfg.EBSCSIRoleName()})
	}
	if a.MetricsServer {
		out = append(out, PlatformAddon{Name: "metrics-server", Address: "aws_eks_addon.metrics_server_addon"})
	}
	if a.CloudWatchObservability {
		out = append(out, PlatformAddon{"amazon-cloudwatch-observability", "aws_eks_addon.cloudwatch_observability_addon",
			cloudWatchNamespace, cloudWatchServiceAccount, cfg.CloudWatchRoleName()})
	}
	if cfg.NodeGroups.AutoRepair {
		// Without the agent, auto repair sees only the standard node conditions (EKS user guide, node-health).
		out = append(out, PlatformAddon{Name: "eks-node-monitoring-agent", Address: "aws_eks_addon.node_monitoring_agent_addon"})
	}
	return out
}

// OwnsDefaultStorageClass says whether tapstack applies and verifies its default StorageClass in the cluster:
// whenever the stack installs the EBS CSI add-on that provisions its volumes (never in Auto Mode, whose own EBS
// driver the add-on is not).
func OwnsDefaultStorageClass(cfg *config.Config) bool {
	for _, p := range PlatformAddons(cfg) {
		if p.Name == "aws-ebs-csi-driver" {
			return true
		}
	}
	return false
}

// containerInsightsLogPattern is the key policy's logs condition for the CloudWatch add-on's groups; "" when it is
// off.
func containerInsightsLogPattern(cfg *config.Config, logsARNPrefix string) string {
	if cfg.Cluster.Compute == config.ComputeAuto || !cfg.Addons.CloudWatchObservability {
		return ""
	}
	return logsARNPrefix + "/aws/containerinsights/" + cfg.ClusterName() + "/*"
}

// buildPlatformAddons declares the platform add-ons after the node groups: all but the node monitoring agent run
// a Deployment, which EKS reports DEGRADED while no node is ready (as coredns).
func buildPlatformAddons(d *tfdoc.Document, cfg *config.Config, r iam, cl cluster, key *tfdoc.Resource, ngs []*tfdoc.Resource, opts Options) {
	for _, p := range PlatformAddons(cfg) {
		addr := p.Address[len("aws_eks_addon."):]
		body := tfdoc.Body{}
		var deps []*tfdoc.Resource
		if p.RoleName != "" {
			role, attached := platformRole(d, cfg, r, key, p)
			body["pod_identity_association"] = []tfdoc.Body{{"role_arn": role.Ref("arn"), "service_account": p.ServiceAccount}}
			deps = append(deps, attached...) // the role's permissions before its pods start, and after they stop
		}
		if p.Name == "amazon-cloudwatch-observability" {
			// The groups first, so the agent does not create them itself without retention or key.
			deps = append(deps, containerInsightsLogGroups(d, cfg, key)...)
		}
		res := addon(d, cfg, cl, addr, p.Name, opts.AddonVersions[p.Name], body)
		res.DependOn(deps...)
		if p.Name != "eks-node-monitoring-agent" { // a DaemonSet: ACTIVE without nodes
			res.DependOn(ngs...)
		}
	}
}

// platformRole is an add-on's own role, trusted by EKS Pod Identity for that add-on's service account on this
// cluster only, with its policies; it returns the role and what grants its permissions.
func platformRole(d *tfdoc.Document, cfg *config.Config, r iam, key *tfdoc.Resource, p PlatformAddon) (*tfdoc.Resource, []*tfdoc.Resource) {
	short := map[string]string{"aws-ebs-csi-driver": "ebs_csi", "amazon-cloudwatch-observability": "cloudwatch_observability"}[p.Name]
	account, clusterARN := clusterARNOf(cfg, r)
	trust := podIdentityTrust(d, short+"_assume_role_policy", account, clusterARN, p.Namespace, p.ServiceAccount)
	role := d.Resource("aws_iam_role", short+"_role", setTags(tfdoc.Body{
		"name":               p.RoleName,
		"assume_role_policy": trust.Ref("json"),
	}, tags(cfg, "")))
	var as []attachment
	switch p.Name {
	case "aws-ebs-csi-driver":
		as = []attachment{{"ebs_csi_driver_policy", "service-role/AmazonEBSCSIDriverPolicy"}}
	case "amazon-cloudwatch-observability":
		// EKS user guide, amazon-cloudwatch-observability: CloudWatchAgentServerPolicy, and AWSXrayWriteOnlyAccess
		// for Application Signals, which the add-on turns on by default (CloudWatch user guide,
		// install-CloudWatch-Observability-EKS-addon).
		as = []attachment{{"cloudwatch_agent_server_policy", "CloudWatchAgentServerPolicy"},
			{"cloudwatch_xray_write_policy", "AWSXrayWriteOnlyAccess"}}
	}
	granted := attach(d, role, as)
	if p.Name == "aws-ebs-csi-driver" && key != nil {
		granted = append(granted, ebsCSIKeyPolicy(d, role, key))
	}
	return role, granted
}

// ebsCSIKeyPolicy lets the EBS CSI driver create and attach volumes encrypted with the cluster's key: EC2 uses the
// key through grants the driver creates for it. The statements are the EKS user guide's (csi-iam-role, "If you use
// a custom KMS key"; aws-ebs-csi-driver docs/install.md), on this key only.
func ebsCSIKeyPolicy(d *tfdoc.Document, role, key *tfdoc.Resource) *tfdoc.Resource {
	doc := policyDocument(d, "ebs_csi_kms_policy",
		statement("GrantsForAWSResources", []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"},
			[]string{key.Ref("arn")}, "", nil, condition("Bool", "kms:GrantIsForAWSResource", "true")),
		statement("UseClusterKey", []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"},
			[]string{key.Ref("arn")}, "", nil))
	return d.Resource("aws_iam_role_policy", "ebs_csi_kms_policy", tfdoc.Body{
		"name":   "ebs-csi-cluster-key",
		"role":   role.Ref("id"),
		"policy": doc.Ref("json"),
	})
}

// containerInsightsLogGroups creates the CloudWatch add-on's log groups with the control plane's retention and,
// with log encryption, the stack's key (whose policy lets CloudWatch Logs use it for them: buildKMS).
func containerInsightsLogGroups(d *tfdoc.Document, cfg *config.Config, key *tfdoc.Resource) []*tfdoc.Resource {
	var out []*tfdoc.Resource
	for _, g := range cfg.ContainerInsightsLogGroups() {
		body := tfdoc.Body{"name": g.Name, "retention_in_days": cfg.Cluster.LogRetentionDays}
		if cfg.Cluster.LogEncryption && key != nil {
			body["kms_key_id"] = key.Ref("arn")
		}
		out = append(out, d.Resource("aws_cloudwatch_log_group", "container_insights_"+g.Kind, setTags(body, tags(cfg, ""))))
	}
	return out
}
