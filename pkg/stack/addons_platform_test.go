package stack

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

func addonNames(d *tfdoc.Document) []string {
	var out []string
	for _, r := range d.OfType("aws_eks_addon") {
		out = append(out, r.Body["addon_name"].(string))
	}
	slices.Sort(out)
	return out
}

// The profiles' add-ons: default and hardened run the platform add-ons, original (the old stack) none of them.
func TestPlatformAddonsPerProfile(t *testing.T) {
	platform := []string{"amazon-cloudwatch-observability", "aws-ebs-csi-driver", "eks-node-monitoring-agent", "metrics-server"}
	for profile, want := range map[string][]string{
		"original": {"vpc-cni"},
		"default":  append([]string{"coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"}, platform...),
		"hardened": append([]string{"coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"}, platform...),
	} {
		slices.Sort(want)
		if got := addonNames(build(t, profile)); !slices.Equal(got, want) {
			t.Errorf("%s: add-ons %v, want %v", profile, got, want)
		}
	}
	// The node monitoring agent goes with auto repair; the CloudWatch knob takes its add-on, role and groups away.
	d := build(t, "default", func(c *config.Config) { c.NodeGroups.AutoRepair, c.Addons.CloudWatchObservability = false, false })
	if got := addonNames(d); slices.Contains(got, "eks-node-monitoring-agent") || slices.Contains(got, "amazon-cloudwatch-observability") {
		t.Errorf("without auto repair and CloudWatch: %v", got)
	}
	for _, addr := range []string{"aws_iam_role.cloudwatch_observability_role", "aws_cloudwatch_log_group.container_insights_performance"} {
		if _, ok := d.Lookup(addr); ok {
			t.Errorf("%s is there with CloudWatch observability off", addr)
		}
	}
	if strings.Contains(policyText(t, d, "eks_kms_key_policy"), "containerinsights") {
		t.Error("the key policy names the Container Insights groups with CloudWatch observability off")
	}
	if got := addonNames(build(t, "default", func(c *config.Config) { c.Cluster.Compute = config.ComputeAuto })); len(got) != 0 {
		t.Errorf("Auto Mode declares add-ons %v", got)
	}
}

func policyText(t *testing.T, d *tfdoc.Document, name string) string {
	t.Helper()
	r, ok := d.Lookup("data.aws_iam_policy_document." + name)
	if !ok {
		t.Fatalf("policy document %s is missing", name)
	}
	b, err := json.Marshal(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Each add-on that calls AWS has a role of its own through the add-on's own association: trusted by Pod Identity
// for exactly its service account on this cluster, with exactly its policies; no separate association resource.
func TestPlatformAddonRoles(t *testing.T) {
	d := build(t, "default")
	for _, a := range d.OfType("aws_eks_pod_identity_association") {
		if a.Address() != AutoscalerAssociationAddress { // the Cluster Autoscaler is no add-on
			t.Errorf("%s: the add-ons own their associations", a.Address())
		}
	}
	for _, c := range []struct {
		addon, short, ns, sa string
		policies             []string
	}{
		{"ebs_csi_driver_addon", "ebs_csi", "kube-system", "ebs-csi-controller-sa", []string{"service-role/AmazonEBSCSIDriverPolicy"}},
		{"cloudwatch_observability_addon", "cloudwatch_observability", "amazon-cloudwatch", "cloudwatch-agent",
			[]string{"AWSXrayWriteOnlyAccess", "CloudWatchAgentServerPolicy"}},
	} {
		a := res(t, d, "aws_eks_addon."+c.addon)
		want := []tfdoc.Body{{"role_arn": "${aws_iam_role." + c.short + "_role.arn}", "service_account": c.sa}}
		if !reflect.DeepEqual(a["pod_identity_association"], want) {
			t.Errorf("%s: pod_identity_association %v, want %v", c.addon, a["pod_identity_association"], want)
		}
		if _, irsa := a["service_account_role_arn"]; irsa {
			t.Errorf("%s has an IRSA role as well", c.addon)
		}
		// The same trust as the workload identities' (podIdentityTrust), the cluster's ARN from its known parts.
		account := "${split(\":\", aws_iam_role.eks_cluster_role.arn)[4]}"
		trust := res(t, d, "data.aws_iam_policy_document."+c.short+"_assume_role_policy")["statement"].([]tfdoc.Body)
		if len(trust) != 1 || !reflect.DeepEqual(trust[0]["actions"], []string{"sts:AssumeRole", "sts:TagSession"}) ||
			!reflect.DeepEqual(trust[0]["principals"], []tfdoc.Body{{"type": "Service", "identifiers": []string{"pods.eks.amazonaws.com"}}}) ||
			!reflect.DeepEqual(trust[0]["condition"], []tfdoc.Body{
				condition("StringEquals", "aws:SourceAccount", account),
				condition("StringEquals", "aws:RequestTag/eks-cluster-arn", "arn:${split(\":\", aws_iam_role.eks_cluster_role.arn)[1]}:eks:us-east-1:"+account+":cluster/eks-cluster-v1-dev"),
				condition("StringEquals", "aws:RequestTag/kubernetes-namespace", c.ns),
				condition("StringEquals", "aws:RequestTag/kubernetes-service-account", c.sa)}) {
			t.Errorf("%s trust: %v", c.short, trust)
		}
		var got []string
		for _, r := range d.OfType("aws_iam_role_policy_attachment") {
			if r.Body["role"] == "${aws_iam_role."+c.short+"_role.name}" {
				got = append(got, strings.TrimPrefix(r.Body["policy_arn"].(string), "arn:aws:iam::aws:policy/"))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.policies) {
			t.Errorf("%s role policies %v, want %v", c.short, got, c.policies)
		}
	}
	for _, addr := range []string{"aws_eks_addon.metrics_server_addon", "aws_eks_addon.node_monitoring_agent_addon"} {
		if a := res(t, d, addr); a["pod_identity_association"] != nil || a["service_account_role_arn"] != nil {
			t.Errorf("%s has a role; it calls no AWS API", addr)
		}
	}
}

// The EBS CSI driver may use the cluster's key for volumes, through grants for AWS resources only, and no other key.
func TestEBSCSIDriverKeyGrants(t *testing.T) {
	d := build(t, "default")
	p := res(t, d, "aws_iam_role_policy.ebs_csi_kms_policy")
	if p["role"] != "${aws_iam_role.ebs_csi_role.id}" {
		t.Errorf("policy on %v", p["role"])
	}
	st := res(t, d, "data.aws_iam_policy_document.ebs_csi_kms_policy")["statement"].([]tfdoc.Body)
	key := []string{"${aws_kms_key.eks_kms_key.arn}"}
	if len(st) != 2 ||
		!reflect.DeepEqual(st[0]["actions"], []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}) ||
		!reflect.DeepEqual(st[0]["resources"], key) ||
		!reflect.DeepEqual(st[0]["condition"], []tfdoc.Body{condition("Bool", "kms:GrantIsForAWSResource", "true")}) ||
		!reflect.DeepEqual(st[1]["actions"], []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}) ||
		!reflect.DeepEqual(st[1]["resources"], key) || st[1]["condition"] != nil {
		t.Errorf("EBS CSI key policy %v", st)
	}
	// No key, no grants: the driver's managed policy is all it needs.
	d = build(t, "default", func(c *config.Config) { c.Cluster.SecretsEncryption, c.Cluster.LogEncryption = false, false })
	if _, ok := d.Lookup("aws_iam_role_policy.ebs_csi_kms_policy"); ok {
		t.Error("a key policy without a key")
	}
	if deps := deps(t, d, "aws_eks_addon.ebs_csi_driver_addon"); slices.Contains(deps, "aws_iam_role_policy.ebs_csi_kms_policy") {
		t.Errorf("depends on %v", deps)
	}
}

// The Container Insights groups: created with the stack's retention and key, before the add-on, and the key
// policy lets CloudWatch Logs use the key for them.
func TestContainerInsightsLogGroups(t *testing.T) {
	d := build(t, "hardened")
	var groups []string
	for _, kind := range []string{"application", "dataplane", "host", "performance"} {
		addr := "aws_cloudwatch_log_group.container_insights_" + kind
		g := res(t, d, addr)
		if g["name"] != "/aws/containerinsights/eks-cluster-v1-dev/"+kind || g["retention_in_days"] != 365 ||
			g["kms_key_id"] != "${aws_kms_key.eks_kms_key.arn}" {
			t.Errorf("%s: %v", addr, g)
		}
		groups = append(groups, addr)
	}
	if got := deps(t, d, "aws_eks_addon.cloudwatch_observability_addon"); !reflect.DeepEqual(got[:4], groups) {
		t.Errorf("the add-on depends on %v, want the four groups first", got)
	}
	if p := policyText(t, d, "eks_kms_key_policy"); !strings.Contains(p,
		`:log-group:/aws/containerinsights/eks-cluster-v1-dev/*"`) {
		t.Errorf("the key policy's logs condition lacks the Container Insights groups: %s", p)
	}
	d = build(t, "default", func(c *config.Config) { c.Cluster.LogEncryption = false })
	if g := res(t, d, "aws_cloudwatch_log_group.container_insights_host"); g["kms_key_id"] != nil {
		t.Errorf("without log encryption: %v", g)
	}
}

// Deployments wait for the node groups (EKS reports them DEGRADED without nodes); the DaemonSet does not.
func TestPlatformAddonsAfterNodeGroups(t *testing.T) {
	d := build(t, "default")
	for addr, after := range map[string]bool{
		"aws_eks_addon.ebs_csi_driver_addon": true, "aws_eks_addon.metrics_server_addon": true,
		"aws_eks_addon.cloudwatch_observability_addon": true, "aws_eks_addon.node_monitoring_agent_addon": false,
	} {
		got := deps(t, d, addr)
		has := slices.Contains(got, "aws_eks_node_group.on_demand_node_group") && slices.Contains(got, "aws_eks_node_group.spot_node_group")
		if has != after {
			t.Errorf("%s depends on %v; after the node groups: %v, want %v", addr, got, has, after)
		}
	}
}

// A pinned build (upgrade resolves one per step) renders for every platform add-on; unpinned, EKS chooses.
func TestPlatformAddonVersions(t *testing.T) {
	c, _ := config.Defaults("default")
	pins := map[string]string{}
	for _, p := range PlatformAddons(&c) {
		pins[p.Name] = "v9.9.9-eksbuild.1"
	}
	if len(pins) != 4 {
		t.Fatalf("platform add-ons %v", pins)
	}
	d := Build(&c, Options{AddonVersions: pins}).Doc
	for _, p := range PlatformAddons(&c) {
		if v := res(t, d, p.Address)["addon_version"]; v != "v9.9.9-eksbuild.1" {
			t.Errorf("%s: addon_version %v", p.Name, v)
		}
		if v, set := res(t, build(t, "default"), p.Address)["addon_version"]; set {
			t.Errorf("%s unpinned renders %v", p.Name, v)
		}
	}
}

// metrics-server: the API server reaches the add-on's pod on 10251 (the EKS add-on's port) and metrics-server
// reaches every kubelet on 10250 (EKS user guide, metrics-server). tapstack declares no security group: the control
// plane's network interfaces and, with no security group in the launch template, every managed node (EKS user
// guide, launch-templates) get the cluster security group EKS creates, whose default rule admits all traffic from
// itself (sec-group-reqs), and pods' addresses sit on the nodes' interfaces. This holds while the document adds no
// security group anywhere; one that does must admit both ports from the cluster security group.
func TestNodesAdmitMetricsServerPortsFromTheControlPlane(t *testing.T) {
	for _, profile := range config.Profiles {
		d := build(t, profile)
		for _, typ := range []string{"aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
			"aws_vpc_security_group_egress_rule", "aws_network_interface"} {
			if n := len(d.OfType(typ)); n != 0 {
				t.Errorf("%s: %d %s: check that they admit 10250 and 10251 from the cluster security group", profile, n, typ)
			}
		}
		if vc := res(t, d, ClusterAddress)["vpc_config"].(tfdoc.Body); vc["security_group_ids"] != nil {
			t.Errorf("%s: the cluster has security groups of its own: %v", profile, vc["security_group_ids"])
		}
		for _, lt := range d.OfType("aws_launch_template") {
			for _, attr := range []string{"vpc_security_group_ids", "security_group_names", "network_interfaces"} {
				if lt.Body[attr] != nil {
					t.Errorf("%s: %s sets %s, so its nodes lose the cluster security group", profile, lt.Address(), attr)
				}
			}
		}
		for _, ng := range d.OfType("aws_eks_node_group") {
			if ng.Body["remote_access"] != nil {
				t.Errorf("%s: %s has remote_access", profile, ng.Address())
			}
		}
	}
}

// Instance metadata: IMDSv2 only, with hop limit 2 so that the EBS CSI driver's pods (and the SDKs of other
// pods that read instance metadata) reach it from their network namespace (docs/profiles.md, Instance metadata).
func TestLaunchTemplateMetadataOptions(t *testing.T) {
	for _, profile := range []string{"default", "hardened"} {
		for _, lt := range build(t, profile).OfType("aws_launch_template") {
			want := tfdoc.Body{"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 2}
			if got := lt.Body["metadata_options"]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: metadata_options %v, want %v", profile, lt.Address(), got, want)
			}
		}
	}
}

// The default StorageClass comes with the EBS CSI add-on the stack installs: not when it is off, nor in Auto Mode.
func TestOwnsDefaultStorageClass(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(*config.Config)
		want   bool
	}{
		{"default", func(*config.Config) {}, true},
		{"ebs csi off", func(c *config.Config) { c.Addons.EBSCSIDriver = false }, false},
		{"auto mode", func(c *config.Config) { c.Cluster.Compute = config.ComputeAuto }, false},
	} {
		cfg, _ := config.Defaults("default")
		c.mutate(&cfg)
		if got := OwnsDefaultStorageClass(&cfg); got != c.want {
			t.Errorf("%s: OwnsDefaultStorageClass = %v, want %v", c.name, got, c.want)
		}
	}
}
