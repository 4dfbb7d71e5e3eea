package rules_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/")

const today = "2026-11-25"

func run(t testing.TB, profile, date string, mutate func(*config.Config), docMutate func(*tfdoc.Document)) []rules.Finding {
	t.Helper()
	c, _ := config.Defaults(profile)
	if mutate != nil {
		mutate(&c)
	}
	doc := stack.Build(&c, stack.Options{}).Doc
	if docMutate != nil {
		docMutate(doc)
	}
	d, err := versions.ParseDate(date)
	if err != nil {
		t.Fatal(err)
	}
	return rules.Run(rules.Input{Config: &c, Doc: doc, Date: d})
}

func fired(fs []rules.Finding, id string) []rules.Finding {
	var out []rules.Finding
	for _, f := range fs {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

type ruleCase struct {
	id       string
	severity rules.Severity
	kind     rules.Kind
	path     string
	contains string
	date     string
	profile  string
	mutate   func(*config.Config)
	doc      func(*tfdoc.Document)
}

var cases = []ruleCase{
	{id: "TS100", severity: rules.Error, kind: rules.Invalid, path: "allow[0]", contains: "TS105 is an invalid rule", mutate: func(c *config.Config) { c.Allow = []string{"TS105"} }},
	{id: "TS100", severity: rules.Error, kind: rules.Invalid, path: "allow[0]", contains: "not a rule ID", mutate: func(c *config.Config) { c.Allow = []string{"TS999"} }},
	{id: "TS101", severity: rules.Error, kind: rules.Invalid, path: "environmentSuffix", contains: "is 65 characters; AWS allows 64",
		mutate: func(c *config.Config) { c.EnvironmentSuffix = strings.Repeat("a", 45) }},
	{id: "TS101", severity: rules.Error, kind: rules.Invalid, path: "environmentSuffix", contains: "empty", mutate: func(c *config.Config) { c.EnvironmentSuffix = "" }},
	{id: "TS101", severity: rules.Error, kind: rules.Invalid, path: "environmentSuffix", contains: "characters", mutate: func(c *config.Config) { c.EnvironmentSuffix = "pr/1" }},
	{id: "TS102", severity: rules.Error, kind: rules.Invalid, path: "state.bucket", contains: "lowercase", mutate: func(c *config.Config) { c.State.Bucket = "My_Bucket" }},
	{id: "TS102", severity: rules.Error, kind: rules.Invalid, path: "state.bucket", contains: "(3 to 63)", mutate: func(c *config.Config) { c.State.Bucket = "ab" }},
	{id: "TS103", severity: rules.Error, kind: rules.Invalid, path: "region", contains: "not an AWS region", mutate: func(c *config.Config) { c.Region = "US East" }},
	{id: "TS104", severity: rules.Error, kind: rules.Invalid, path: "cluster.kubernetesVersion", contains: "not a Kubernetes version", mutate: func(c *config.Config) { c.Cluster.KubernetesVersion = "v1.30" }},
	{id: "TS105", severity: rules.Error, kind: rules.Invalid, path: "network.vpcCIDR", contains: "not an IPv4 CIDR", mutate: func(c *config.Config) { c.Network.VPCCIDR = "10.0.0.0/33" }},
	{id: "TS105", severity: rules.Error, kind: rules.Invalid, path: "network.publicSubnetCIDRs[1]", contains: "outside the VPC", mutate: func(c *config.Config) { c.Network.PublicSubnetCIDRs[1] = "10.9.2.0/24" }},
	{id: "TS105", severity: rules.Error, kind: rules.Invalid, path: "network.publicSubnetCIDRs[1]", contains: "overlaps", mutate: func(c *config.Config) { c.Network.PublicSubnetCIDRs[1] = "10.0.1.128/25" }},
	{id: "TS105", severity: rules.Error, kind: rules.Invalid, path: "cluster.publicAccessCIDRs[0]", contains: "not a CIDR", mutate: func(c *config.Config) { c.Cluster.PublicAccessCIDRs = []string{"1.2.3.4"} }},
	{id: "TS106", severity: rules.Error, kind: rules.Invalid, path: "network.availabilityZones", contains: "1 distinct zone", mutate: func(c *config.Config) { c.Network.AvailabilityZones = []string{"us-east-1a", "us-east-1a"} }},
	{id: "TS106", severity: rules.Error, kind: rules.Invalid, path: "network.availabilityZones[1]", contains: "not a zone of region us-east-1", mutate: func(c *config.Config) { c.Network.AvailabilityZones = []string{"us-east-1a", "eu-west-1b"} }},
	{id: "TS106", severity: rules.Error, kind: rules.Invalid, path: "network.publicSubnetCIDRs", contains: "at least two", mutate: func(c *config.Config) { c.Network.PublicSubnetCIDRs = c.Network.PublicSubnetCIDRs[:1] }},
	{id: "TS107", severity: rules.Error, kind: rules.Invalid, path: "nodeGroups.spot", contains: "min 3, desired 2, max 10", mutate: func(c *config.Config) { c.NodeGroups.Spot.DesiredSize = 2 }},
	{id: "TS107", severity: rules.Error, kind: rules.Invalid, path: "nodeGroups.onDemand", contains: "max >= 1", mutate: func(c *config.Config) { c.NodeGroups.OnDemand = config.NodeGroup{InstanceTypes: []string{"t3.medium"}} }},
	{id: "TS108", severity: rules.Error, kind: rules.Invalid, path: "nodeGroups.onDemand.instanceTypes[0]", contains: "not an EC2 instance type", mutate: func(c *config.Config) { c.NodeGroups.OnDemand.InstanceTypes = []string{"t3medium"} }},
	{id: "TS108", severity: rules.Error, kind: rules.Invalid, path: "nodeGroups.spot.instanceTypes", contains: "no instance type", mutate: func(c *config.Config) { c.NodeGroups.Spot.InstanceTypes = nil }},
	{id: "TS109", severity: rules.Error, kind: rules.Invalid, path: "cluster.logRetentionDays", contains: "retention of 31 days", mutate: func(c *config.Config) { c.Cluster.LogRetentionDays = 31 }},
	{id: "TS109", severity: rules.Error, kind: rules.Invalid, path: "cluster.logTypes[0]", contains: "not a control-plane log type", mutate: func(c *config.Config) { c.Cluster.LogTypes = []string{"kubelet"} }},
	{id: "TS110", severity: rules.Error, kind: rules.Invalid, path: "addons.vpcCni.version", contains: "not an EKS add-on version", mutate: func(c *config.Config) { c.Addons.VPCCNI.Version = "1.18.1" }},
	{id: "TS110", severity: rules.Error, kind: rules.Invalid, path: "addons.vpcCni.resolveConflictsOnCreate", contains: "PRESERVE", mutate: func(c *config.Config) { c.Addons.VPCCNI.ResolveOnCreate = "PRESERVE" }},
	{id: "TS111", severity: rules.Error, kind: rules.Invalid, path: "tags.default", contains: "reserved aws: prefix", mutate: func(c *config.Config) { c.Tags.Default = map[string]string{"aws:x": "y"} }},
	{id: "TS112", severity: rules.Error, kind: rules.Invalid, path: "aws_iam_openid_connect_provider.eks_oidc_provider", contains: "aws_eks_cluster.identity_fqn",
		doc: func(d *tfdoc.Document) {
			r, _ := d.Lookup("aws_iam_openid_connect_provider.eks_oidc_provider")
			r.Body["url"] = "${aws_eks_cluster.identity_fqn.issuer}"
		}},
	{id: "TS113", severity: rules.Error, kind: rules.Invalid, path: "aws_route.public_route", contains: "no destination",
		doc: func(d *tfdoc.Document) {
			r, _ := d.Lookup("aws_route.public_route")
			delete(r.Body, "destination_cidr_block")
			r.Body["cidr_block"] = "0.0.0.0/0"
		}},
	{id: "TS114", severity: rules.Error, kind: rules.Invalid, path: "cluster.endpointPublicAccess", contains: "both private and public", mutate: func(c *config.Config) {
		c.Cluster.EndpointPrivateAccess, c.Cluster.EndpointPublicAccess = false, false
	}},
	{id: "TS115", severity: rules.Error, kind: rules.Invalid, path: "network.topology", contains: "\"hybrid\" is not allowed", mutate: func(c *config.Config) { c.Network.Topology = "hybrid" }},
	{id: "TS115", severity: rules.Error, kind: rules.Invalid, path: "cluster.upgradeSupportType", contains: "not allowed", mutate: func(c *config.Config) { c.Cluster.UpgradeSupportType = "LTS" }},
	{id: "TS116", severity: rules.Error, kind: rules.Invalid, path: "network.privateSubnetCIDRs[0]", contains: "overlaps 10.0.0.0/20", mutate: func(c *config.Config) {
		c.Network.Topology, c.Network.PrivateSubnetCIDRs = config.TopologyPrivate, []string{"10.0.8.0/22", "10.0.64.0/20"}
	}},
	{id: "TS116", severity: rules.Error, kind: rules.Invalid, path: "network.privateSubnetCIDRs[1]", contains: "outside the VPC", mutate: func(c *config.Config) {
		c.Network.Topology, c.Network.PrivateSubnetCIDRs = config.TopologyPrivate, []string{"10.0.64.0/20", "192.168.0.0/20"}
	}},
	{id: "TS117", severity: rules.Error, kind: rules.Invalid, path: "cluster.adminPrincipals[0]", contains: "not an IAM role or user ARN", mutate: func(c *config.Config) { c.Cluster.AdminPrincipals = []string{"admin@example.com"} }},
	{id: "TS101", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].name", contains: "is 66 characters; AWS allows 64",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[1].Name = strings.Repeat("n", 46) })},
	{id: "TS101", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0]", contains: "eks-workload-shop-" + strings.Repeat("s", 40),
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[0].ServiceAccount = strings.Repeat("s", 40) })},
	{id: "TS118", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].namespace", contains: "not a valid Kubernetes namespace name",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[1].Namespace = "Shop_Front" })},
	{id: "TS118", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].namespace", contains: "must not contain dots",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[1].Namespace = "shop.eu" })},
	{id: "TS118", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].serviceAccount", contains: "the service account is empty",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[0].ServiceAccount = "" })},
	{id: "TS118", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].serviceAccount", contains: "must be no more than 253 characters",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[0].Name, w[0].ServiceAccount = "orders", strings.Repeat("a", 254) })},
	{id: "TS118", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].name", contains: "\"Reports\" is not a valid name",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[1].Name = "Reports" })},
	{id: "TS119", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].serviceAccount", contains: "shop/orders already has workloadIdentities[0]",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[1].ServiceAccount = "orders" })},
	{id: "TS119", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].name", contains: "workloadIdentities[0] is already named \"shop-orders\"",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[1].Name = "shop-orders" })},
	{id: "TS119", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1]", contains: "eks-workload-shop-orders-x-v1-dev",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { // shop/orders-x and shop/orders.x both make shop-orders-x
			w[0].ServiceAccount = "orders-x"
			w[1].Name, w[1].ServiceAccount = "", "orders.x"
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0]", contains: "grants nothing",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[0].InlinePolicy = "" })},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].managedPolicyArns[0]", contains: "not an IAM managed policy ARN",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[1].ManagedPolicyARNs = []string{"AmazonS3ReadOnlyAccess"} })},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].managedPolicyArns[1]", contains: "listed twice",
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[1].ManagedPolicyARNs = append(w[1].ManagedPolicyARNs, w[1].ManagedPolicyARNs[0])
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[1].managedPolicyArns", contains: "21 managed policies",
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[1].ManagedPolicyARNs = nil
			for i := range 21 {
				w[1].ManagedPolicyARNs = append(w[1].ManagedPolicyARNs, fmt.Sprintf("arn:aws:iam::111122223333:policy/p%d", i))
			}
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: "not JSON",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[0].InlinePolicy = `{"Version": "2012-10-17",` })},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: `Version is "2008-10-17"`,
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[0].InlinePolicy = config.PolicyDocument(strings.Replace(string(w[0].InlinePolicy), "2012", "2008", 1))
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: "no Statement",
		mutate: withIdentities(func(w []config.WorkloadIdentity) { w[0].InlinePolicy = `{"Version": "2012-10-17", "Statement": []}` })},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: `Statement[0]: Effect is "allow"`,
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[0].InlinePolicy = config.PolicyDocument(strings.Replace(string(w[0].InlinePolicy), `"Allow"`, `"allow"`, 1))
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: "Statement[0] has no Resource",
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[0].InlinePolicy = `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sqs:SendMessage"}}`
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: "Statement[0] has no Action",
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[0].InlinePolicy = `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Resource": "*"}}`
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: `Action "sqs SendMessage" is not service:action`,
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[0].InlinePolicy = `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["sqs SendMessage"], "Resource": "*"}}`
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: "Statement[0] has Principal",
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			w[0].InlinePolicy = `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}}`
		})},
	{id: "TS120", severity: rules.Error, kind: rules.Invalid, path: "workloadIdentities[0].inlinePolicy", contains: "10241 characters without white space",
		mutate: withIdentities(func(w []config.WorkloadIdentity) {
			// 10,240 is IAM's limit; the statement's fixed part and the padding make 10,241 characters.
			pad := strings.Repeat("a", 10241-len(`{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`))
			w[0].InlinePolicy = config.PolicyDocument(`{"Version": "2012-10-17", "Statement": [{"Sid": "` + pad + `", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}`)
		})},
	{id: "TS121", severity: rules.Error, kind: rules.Invalid, path: "addons.podIdentityAgent", contains: "Pod Identity agent is off, so the pods of the 2 workload identities",
		mutate: withIdentities(func(w []config.WorkloadIdentity) {}, func(c *config.Config) { c.Addons.PodIdentityAgent = false })},
	{id: "TS117", severity: rules.Error, kind: rules.Invalid, path: "nodeGroups.rootVolumeGiB", contains: "outside gp3", mutate: func(c *config.Config) { c.NodeGroups.LaunchTemplate, c.NodeGroups.RootVolumeGiB = true, 0 }},
	{id: "TS122", severity: rules.Error, kind: rules.Invalid, path: "ttl", contains: `"3 days" is not a duration`, mutate: func(c *config.Config) { c.TTL = "3 days" }},
	{id: "TS122", severity: rules.Error, kind: rules.Invalid, path: "ttl", contains: "-1h is not positive", mutate: func(c *config.Config) { c.TTL = "-1h" }},
	{id: "TS122", severity: rules.Error, kind: rules.Invalid, path: "ttl", contains: "longer than a year (8760h)", mutate: func(c *config.Config) { c.TTL = "8761h" }},
	{id: "TS201", severity: rules.Error, kind: rules.WouldFail, path: "cluster.kubernetesVersion", contains: "not in the EKS calendar", mutate: func(c *config.Config) { c.Cluster.KubernetesVersion = "1.40" }},
	{id: "TS202", severity: rules.Error, kind: rules.WouldFail, path: "cluster.kubernetesVersion", contains: "Kubernetes 1.29 reached the end of extended support on 2026-03-23", profile: "original"},
	{id: "TS203", severity: rules.Error, kind: rules.WouldFail, path: "cluster.kubernetesVersion", contains: "not released on EKS until 2026-06-02", date: "2026-05-01"},
	{id: "TS204", severity: rules.Error, kind: rules.WouldFail, path: "cluster.kubernetesVersion", contains: "EKS Auto Mode is only supported", mutate: func(c *config.Config) { c.Cluster.KubernetesVersion = "1.28" }},
	{id: "TS205", severity: rules.Error, kind: rules.WouldFail, path: "addons.vpcCni.version", contains: "published for Kubernetes 1.23 to 1.29, not 1.36", mutate: func(c *config.Config) { c.Addons.VPCCNI.Version = "v1.18.1-eksbuild.3" }},
	{id: "TS206", severity: rules.Error, kind: rules.WouldFail, path: "region", contains: "not in tapstack's region list", mutate: func(c *config.Config) { c.Region = "xx-mars-1" }},
	{id: "TS207", severity: rules.Error, kind: rules.WouldFail, path: "state.encrypt", contains: "unencrypted", mutate: func(c *config.Config) { c.State.Encrypt = false }},
	{id: "TS208", severity: rules.Error, kind: rules.WouldFail, path: "state.useLockfile", contains: "not be locked", mutate: func(c *config.Config) { c.State.UseLockfile = false }},
	{id: "TS209", severity: rules.Error, kind: rules.WouldFail, path: "network.publicSubnetCIDRs", contains: "Ec2SubnetInvalidConfiguration",
		doc: func(d *tfdoc.Document) {
			r, _ := d.Lookup("aws_subnet.public_subnet_2")
			r.Body["map_public_ip_on_launch"] = false
		}},
	{id: "TS210", severity: rules.Error, kind: rules.WouldFail, path: "cluster.authenticationMode", contains: "Auto Mode needs access entries", mutate: func(c *config.Config) {
		c.Cluster.Compute, c.Cluster.AuthenticationMode = config.ComputeAuto, "CONFIG_MAP"
	}},
	{id: "TS210", severity: rules.Error, kind: rules.WouldFail, path: "cluster.compute", contains: "must all be enabled together",
		doc: func(d *tfdoc.Document) {
			r, _ := d.Lookup("aws_eks_cluster.eks_cluster")
			r.Body["compute_config"] = tfdoc.Body{"enabled": true}
		}},
	{id: "TS210", severity: rules.Error, kind: rules.WouldFail, path: "cluster.compute", contains: "declares 1 managed node group", mutate: func(c *config.Config) {
		c.Cluster.Compute, c.Cluster.AuthenticationMode = config.ComputeAuto, "API"
	}, doc: func(d *tfdoc.Document) { d.Resource("aws_eks_node_group", "extra", nil) }},
	{id: "TS211", severity: rules.Error, kind: rules.WouldFail, path: "cluster.secretsEncryption", contains: "hardened with KMS encryption", profile: "hardened",
		mutate: func(c *config.Config) { c.Cluster.SecretsEncryption = false }},
	{id: "TS212", severity: rules.Error, kind: rules.WouldFail, path: "cluster.upgradeSupportType", contains: "past its end of standard support on 2026-11-25",
		mutate: func(c *config.Config) { c.Cluster.KubernetesVersion = "1.33" }},
	{id: "TS301", severity: rules.Warning, kind: rules.Advice, path: "cluster.kubernetesVersion", contains: "+$365.00 a month", mutate: func(c *config.Config) { c.Cluster.KubernetesVersion = "1.31" }},
	{id: "TS302", severity: rules.Warning, kind: rules.Advice, path: "cluster.kubernetesVersion", contains: "ends on 2026-12-02, in 7 days", mutate: func(c *config.Config) { c.Cluster.KubernetesVersion = "1.34" }},
	{id: "TS303", severity: rules.Warning, kind: rules.Advice, path: "addons.vpcCni.version", contains: "older than v1.17.1", mutate: func(c *config.Config) { c.Addons.VPCCNI.Version = "v1.16.0-eksbuild.1" }},
	{id: "TS308", severity: rules.Warning, kind: rules.Advice, path: "cluster.endpointPublicAccess", contains: "private only", mutate: func(c *config.Config) { c.Cluster.EndpointPublicAccess = false }},
	{id: "TS309", severity: rules.Warning, kind: rules.Advice, path: "network.natGateways", contains: "2 NAT gateway(s) run all month: $65.70 a month", mutate: func(c *config.Config) {
		c.Network.Topology, c.Network.NATGateways = config.TopologyPrivate, config.NATPerZone
	}},
	{id: "TS309", severity: rules.Warning, kind: rules.Advice, path: "network.natGateways", contains: "1 NAT gateway(s) run all month: $32.85 a month", mutate: func(c *config.Config) {
		c.Network.Topology, c.Network.NATGateways = config.TopologyPrivate, config.NATSingle
	}},
	{id: "TS305", severity: rules.Warning, kind: rules.Advice, path: "network.publicSubnetCIDRs", contains: "need at least 30 /28 prefixes"},
	{id: "TS306", severity: rules.Warning, kind: rules.Advice, path: "nodeGroups.spot.instanceTypes", contains: "only t3.medium",
		mutate: func(c *config.Config) { c.NodeGroups.Spot.InstanceTypes = []string{"t3.medium"} }},
	{id: "TS220", severity: rules.Error, kind: rules.WouldFail, path: "addons.podIdentityAgent", contains: "add-on aws-ebs-csi-driver gets its role through Pod Identity",
		mutate: func(c *config.Config) { c.Addons.PodIdentityAgent = false }},
	{id: "TS307", severity: rules.Warning, kind: rules.Advice, path: "tags.default", contains: "changes on every run", mutate: func(c *config.Config) { c.Tags.Default = map[string]string{"CreatedAt": "${timestamp()}"} }},
}

// identities are two valid workload identities; withIdentities gives a configuration them, changed by edit.
func identities() []config.WorkloadIdentity {
	return []config.WorkloadIdentity{
		{Namespace: "shop", ServiceAccount: "orders",
			InlinePolicy: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:ReceiveMessage"], "Resource": "arn:aws:sqs:us-east-1:111122223333:orders"}]}`},
		{Name: "reports", Namespace: "shop", ServiceAccount: "reports", ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}},
	}
}

func withIdentities(edit func([]config.WorkloadIdentity), more ...func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.WorkloadIdentities = identities()
		edit(c.WorkloadIdentities)
		for _, m := range more {
			m(c)
		}
	}
}

// clean makes the default configuration free of the two default warnings, so a case shows only its own rule.
func clean(c *config.Config) {
	c.Network.PublicSubnetCIDRs = []string{"10.0.0.0/20", "10.0.16.0/20"}
	c.NodeGroups.Spot.InstanceTypes = []string{"t3.medium", "t3a.medium"}
}

func TestEachRuleFiresAndOnlyWhenItShould(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.id] = true
		t.Run(c.id+"/"+c.contains, func(t *testing.T) {
			date, profile := c.date, c.profile
			if date == "" {
				date = today
			}
			if profile == "" {
				profile = "default"
			}
			fs := run(t, profile, date, func(cfg *config.Config) {
				if c.id != "TS305" && c.id != "TS306" {
					clean(cfg)
				}
				if c.mutate != nil {
					c.mutate(cfg)
				}
			}, c.doc)
			got := fired(fs, c.id)
			if len(got) == 0 {
				t.Fatalf("%s did not fire; findings: %+v", c.id, fs)
			}
			match := false
			for _, f := range got {
				if f.Severity == c.severity && f.Kind == c.kind && f.Path == c.path && strings.Contains(f.Message, c.contains) && f.Fix != "" {
					match = true
				}
			}
			if !match {
				t.Errorf("no %s finding with severity %s, kind %s, path %s, message containing %q and a fix: %+v", c.id, c.severity, c.kind, c.path, c.contains, got)
			}
			// The clean baseline must not fire it.
			base := run(t, "default", date, clean, nil)
			if len(fired(base, c.id)) > 0 && c.date == "" {
				t.Errorf("%s fires on the clean default configuration: %+v", c.id, fired(base, c.id))
			}
		})
	}
	for _, r := range rules.All() {
		if !covered[r.ID] {
			t.Errorf("rule %s has no test case", r.ID)
		}
	}
}

func TestCleanDefaultsHaveNoFindings(t *testing.T) {
	if fs := run(t, "default", today, clean, nil); len(fs) != 0 {
		t.Errorf("findings on a clean configuration: %+v", fs)
	}
	// Two valid workload identities, one with an ABAC policy variable and a JSON inline policy, add none.
	if fs := run(t, "default", today, func(c *config.Config) {
		clean(c)
		c.WorkloadIdentities = identities()
		c.WorkloadIdentities[1].InlinePolicy = `{"Version": "2012-10-17", "Statement": [{"Sid": "OwnPrefix", "Effect": "Allow",
			"NotAction": "s3:Delete*", "Resource": "arn:aws:s3:::reports/${aws:PrincipalTag/kubernetes-namespace}/*",
			"Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}`
	}, nil); len(fs) != 0 {
		t.Errorf("findings on two valid workload identities: %+v", fs)
	}
	// The shipped defaults have no error (only the two documented warnings).
	fs := run(t, "default", today, nil, nil)
	if e, _, _ := rules.Count(fs); e != 0 {
		t.Errorf("errors on the defaults: %+v", fs)
	}
}

func TestAllowTurnsWouldFailIntoAllowedWarning(t *testing.T) {
	fs := run(t, "original", today, func(c *config.Config) { c.Allow = []string{"TS202"} }, nil)
	f := fired(fs, "TS202")
	if len(f) != 1 || f[0].Severity != rules.Warning || !f[0].Allowed {
		t.Errorf("allowed finding %+v", f)
	}
	if e, _, _ := rules.Count(fs); e != 0 {
		t.Errorf("errors remain: %+v", fs)
	}
}

// A live check's ID is allowed only when the caller names the live checks; otherwise it is no ID at all.
func TestAllowOfALiveCheckNeedsItsID(t *testing.T) {
	c, _ := config.Defaults("default")
	c.Allow = []string{"TS811"}
	in := rules.Input{Config: &c, Doc: stack.Build(&c, stack.Options{}).Doc}
	if f := fired(rules.Run(in), rules.IDAllow); len(f) != 1 || f[0].Path != "allow[0]" || !strings.Contains(f[0].Message, `"TS811" is not a rule ID`) {
		t.Errorf("--allow TS811 without the live checks' IDs: %+v", f)
	}
	in.LiveCheckIDs = []string{"TS801", "TS811"}
	if f := fired(rules.Run(in), rules.IDAllow); len(f) != 0 {
		t.Errorf("--allow TS811 with the live checks' IDs: %+v", f)
	}
	// A live check's ID does not make an invalid rule's ID allowable.
	c.Allow = []string{"TS811", "TS105"}
	if f := fired(rules.Run(in), rules.IDAllow); len(f) != 1 || f[0].Path != "allow[1]" {
		t.Errorf("--allow TS811,TS105: %+v", f)
	}
}

func TestTenMistakesTenFindings(t *testing.T) {
	fs := run(t, "default", today, func(c *config.Config) {
		clean(c)
		c.EnvironmentSuffix = strings.Repeat("x", 50)         // TS101
		c.State.Bucket = "Bad_Bucket"                         // TS102
		c.Region = "Mars"                                     // TS103
		c.Cluster.KubernetesVersion = "one"                   // TS104
		c.Network.VPCCIDR = "300.0.0.0/16"                    // TS105
		c.NodeGroups.Spot.MinSize = 11                        // TS107
		c.NodeGroups.OnDemand.InstanceTypes = []string{"big"} // TS108
		c.Cluster.LogRetentionDays = 2                        // TS109
		c.Addons.VPCCNI.Version = "latest"                    // TS110
		c.State.Encrypt = false                               // TS207
	}, nil)
	ids := map[string]bool{}
	for _, f := range fs {
		ids[f.Rule] = true
	}
	for _, id := range []string{"TS101", "TS102", "TS103", "TS104", "TS105", "TS107", "TS108", "TS109", "TS110", "TS207"} {
		if !ids[id] {
			t.Errorf("mistake for %s not reported", id)
		}
	}
	if e, _, _ := rules.Count(fs); e < 10 {
		t.Errorf("%d errors for ten mistakes: %+v", e, fs)
	}
}

func TestCostEstimate(t *testing.T) {
	c, _ := config.Defaults("default")
	d, _ := versions.ParseDate(today)
	est := rules.Estimate(&c, versions.Get(), d)
	// Control plane, both node groups, the CloudWatch add-on (unpriced) and the KMS key of the default profile's
	// encryption.
	if len(est.Items) != 5 || est.MonthlyLow < 134.73 || est.MonthlyLow > 134.75 || est.MonthlyHigh < 225.83 || est.MonthlyHigh > 225.85 {
		t.Errorf("estimate %+v", est)
	}
	for _, it := range est.Items {
		if it.Source == "" || (it.Priced && it.PriceDate == "") {
			t.Errorf("item without source/date: %+v", it)
		}
	}
	// The monitoring add-on is billed by use: named, with the reason, and left out of the totals.
	cw := est.Items[len(est.Items)-2]
	if len(est.Unpriced) != 1 || est.Unpriced[0] != cw.Item || !strings.HasPrefix(cw.Item, "amazon-cloudwatch-observability") ||
		cw.Priced || cw.MonthlyHigh != 0 || !strings.Contains(cw.Note, "per GB of logs") || versions.Get().Sources[cw.Source] == "" {
		t.Errorf("the CloudWatch add-on's item %+v, unpriced %v", cw, est.Unpriced)
	}
	off := c
	off.Addons.CloudWatchObservability = false
	if oest := rules.Estimate(&off, versions.Get(), d); len(oest.Unpriced) != 0 || len(oest.Items) != 4 || oest.MonthlyHigh != est.MonthlyHigh {
		t.Errorf("with the add-on off: %+v", oest)
	}
	c.Cluster.KubernetesVersion = "1.31" // extended support on that day
	if est := rules.Estimate(&c, versions.Get(), d); est.Items[0].MonthlyHigh != 0.60*730 {
		t.Errorf("extended support price not used: %+v", est.Items[0])
	}
	h, _ := config.Defaults("hardened")
	hest := rules.Estimate(&h, versions.Get(), d)
	var nat, kms bool
	for _, it := range hest.Items {
		nat = nat || (it.Item == "2 NAT gateway(s), hourly charge" && it.MonthlyHigh > 65.69 && it.MonthlyHigh < 65.71 && it.Source == "aws-samples-cfm-tips")
		kms = kms || (it.Item == "KMS key (secrets and log encryption)" && it.MonthlyHigh == 1)
	}
	if !nat || !kms {
		t.Errorf("hardened estimate lacks the NAT gateways or the KMS key: %+v", hest.Items)
	}
	h.Region = "eu-south-2"
	if est := rules.Estimate(&h, versions.Get(), d); len(est.Unpriced) < 2 {
		t.Errorf("no sourced NAT or instance price in eu-south-2 must be named, not invented: %+v", est.Unpriced)
	}
	c.NodeGroups.OnDemand.InstanceTypes = []string{"m7g.metal"}
	est = rules.Estimate(&c, versions.Get(), d)
	if len(est.Unpriced) != 2 || est.Items[1].Priced {
		t.Errorf("an unsourced price must be left out, never invented: %+v", est)
	}
	// Auto Mode has no node groups to price; its instances are named as unpriced.
	a, _ := config.Defaults("default")
	a.Cluster.Compute = config.ComputeAuto
	aest := rules.Estimate(&a, versions.Get(), d)
	for _, it := range aest.Items {
		if strings.Contains(it.Item, "node-group") {
			t.Errorf("Auto Mode estimate prices a node group: %+v", it)
		}
	}
	if len(aest.Unpriced) != 1 || !strings.Contains(aest.Unpriced[0], "Auto Mode") || aest.MonthlyLow != 73+1 {
		t.Errorf("Auto Mode estimate %+v", aest)
	}
}

// What a state holds is priced the same way: no cluster, no control plane; every KMS key and NAT gateway
// counted; a group of an unsourced type named, not priced; the configuration's holding gives Estimate's figures.
func TestEstimateHolding(t *testing.T) {
	d, _ := versions.ParseDate(today)
	c, _ := config.Defaults("default")
	if a, b := rules.Estimate(&c, versions.Get(), d), rules.EstimateHolding(rules.HoldingOf(&c), versions.Get(), d); a.MonthlyHigh != b.MonthlyHigh || len(a.Items) != len(b.Items) {
		t.Errorf("Estimate %+v, EstimateHolding of the same configuration %+v", a, b)
	}
	h := rules.Holding{Region: "us-east-1", KMSKeys: 2, NATGateways: 3, NodeGroups: []rules.HeldNodeGroup{
		{Name: "ng-a", InstanceTypes: []string{"t3.medium"}, DesiredSize: 2},
		{Name: "ng-b", InstanceTypes: []string{"x9.imaginary"}, DesiredSize: 4, Spot: true}}}
	est := rules.EstimateHolding(h, versions.Get(), d)
	var items []string
	for _, it := range est.Items {
		items = append(items, it.Item)
	}
	want := []string{"ng-a: 2 x t3.medium on-demand", "ng-b: 4 x x9.imaginary spot", "3 NAT gateway(s), hourly charge", "2 KMS keys"}
	if strings.Join(items, "|") != strings.Join(want, "|") {
		t.Errorf("items %q, want %q (no control plane without a cluster)", items, want)
	}
	if len(est.Unpriced) != 1 || est.Unpriced[0] != "ng-b: 4 x x9.imaginary spot" {
		t.Errorf("unpriced %v", est.Unpriced)
	}
	if want := 0.0416*730*2 + 0.045*730*3 + 2; est.MonthlyHigh < want-0.01 || est.MonthlyHigh > want+0.01 || est.MonthlyLow != est.MonthlyHigh {
		t.Errorf("total %.2f - %.2f, want %.2f", est.MonthlyLow, est.MonthlyHigh, want)
	}
}

func TestGoldenReports(t *testing.T) {
	mutate := func(c *config.Config) {
		c.State.UseLockfile = false
		c.Network.PublicSubnetCIDRs[1] = "10.0.1.0/24"
		c.NodeGroups.Spot.DesiredSize = 20
	}
	fs := run(t, "original", today, mutate, nil)
	c, _ := config.Defaults("original")
	mutate(&c)
	d, _ := versions.ParseDate(today)
	est := rules.Estimate(&c, versions.Get(), d)
	r := rules.NewReport(c.StackName(), c.Profile, today, fs, &est)
	for name, write := range map[string]func(*bytes.Buffer) error{
		"report.txt":  func(b *bytes.Buffer) error { return r.WriteText(b) },
		"report.json": func(b *bytes.Buffer) error { return r.WriteJSON(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name)
		if *update {
			_ = os.WriteFile(path, b.Bytes(), 0o644)
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./pkg/rules -update)", err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs from the golden file; run go test ./pkg/rules -update and review:\n%s", name, b.String())
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	c, _ := config.Defaults("default")
	doc := stack.Build(&c, stack.Options{}).Doc
	d, _ := versions.ParseDate(today)
	b.ReportAllocs()
	for b.Loop() {
		rules.Run(rules.Input{Config: &c, Doc: doc, Date: d})
	}
}
