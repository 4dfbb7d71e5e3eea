package stack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func build(t *testing.T, profile string, mutate ...func(*config.Config)) *tfdoc.Document {
	t.Helper()
	c, ok := config.Defaults(profile)
	if !ok {
		t.Fatalf("profile %s", profile)
	}
	for _, m := range mutate {
		m(&c)
	}
	return Build(&c, Options{}).Doc
}

// unprotected turns off what the default profile adds to the original's shape, for tests of that shape.
func unprotected(c *config.Config) {
	c.Cluster.SecretsEncryption, c.Cluster.LogEncryption = false, false
	c.Cluster.AuthenticationMode, c.Cluster.BootstrapCreatorAdmin, c.Cluster.UpgradeSupportType = "", false, ""
	c.NodeGroups.LaunchTemplate, c.NodeGroups.AutoRepair, c.NodeGroups.MaxUnavailablePercentage = false, false, 0
	c.NodeGroups.Spot.InstanceTypes = []string{"t3.medium"}
	c.Addons.CoreDNS, c.Addons.KubeProxy, c.Addons.PodIdentityAgent, c.Addons.VPCCNI.IRSA = false, false, false, false
	c.Addons.EBSCSIDriver, c.Addons.MetricsServer, c.Addons.CloudWatchObservability = false, false, false
}

func res(t *testing.T, d *tfdoc.Document, addr string) tfdoc.Body {
	t.Helper()
	r, ok := d.Lookup(addr)
	if !ok {
		t.Fatalf("%s is missing", addr)
	}
	return r.Body
}

func deps(t *testing.T, d *tfdoc.Document, addr string) []string {
	t.Helper()
	r, _ := d.Lookup(addr)
	out := append([]string(nil), r.DependsOn...)
	sort.Strings(out)
	return out
}

func TestGolden(t *testing.T) {
	for _, profile := range config.Profiles {
		t.Run(profile, func(t *testing.T) {
			got, err := build(t, profile).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", profile+".tf.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/stack -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("synth of profile %s differs from %s; if intended, run go test ./pkg/stack -update and review the diff", profile, path)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := build(t, "default").Marshal()
	for i := 0; i < 20; i++ {
		b, _ := build(t, "default").Marshal()
		if !bytes.Equal(a, b) {
			t.Fatal("two builds of the same configuration differ")
		}
	}
}

// Every address the original had keeps its name, so its state carries over.
func TestOriginalAddressesKept(t *testing.T) {
	orig := []string{
		"data.aws_availability_zones.available_azs", "aws_vpc.vpc", "aws_internet_gateway.igw",
		"aws_subnet.public_subnet_1", "aws_subnet.public_subnet_2", "aws_route_table.public_route_table",
		"aws_route.public_route", "aws_route_table_association.public_subnet_1_association",
		"aws_route_table_association.public_subnet_2_association", "aws_iam_role.eks_cluster_role",
		"aws_iam_role_policy_attachment.eks_cluster_policy", "aws_iam_role_policy_attachment.eks_vpc_resource_controller",
		"aws_eks_cluster.eks_cluster", "aws_iam_openid_connect_provider.eks_oidc_provider", "aws_iam_role.eks_node_role",
		"aws_iam_role_policy_attachment.eks_worker_node_policy", "aws_iam_role_policy_attachment.eks_cni_policy",
		"aws_iam_role_policy_attachment.eks_container_registry_policy", "aws_eks_node_group.on_demand_node_group",
		"aws_eks_node_group.spot_node_group", "aws_eks_addon.vpc_cni_addon",
	}
	// With IRSA the CNI policy moves from every node to the add-on's own role: that attachment goes, nothing is renamed.
	dropped := map[string]string{"default": "aws_iam_role_policy_attachment.eks_cni_policy",
		"hardened": "aws_iam_role_policy_attachment.eks_cni_policy"}
	for _, profile := range config.Profiles {
		d := build(t, profile)
		for _, a := range orig {
			if _, ok := d.Lookup(a); !ok && dropped[profile] != a {
				t.Errorf("profile %s lacks %s", profile, a)
			}
		}
	}
	if _, ok := build(t, "original").Lookup(LegacyLogGroupAddress); !ok {
		t.Error("profile original lacks the original's log group")
	}
}

// The original profile is the CDKTF original, resource for resource, attribute for attribute; tapstack only adds
// dependencies, the default public_access_cidrs, and locking.
func TestOriginalProfileMatchesCDKTFOriginal(t *testing.T) {
	b, err := os.ReadFile("../tfdoc/testdata/cdktf-original-dev.tf.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := tfdoc.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	got := build(t, "original")
	norm := func(v any) any {
		j, _ := json.Marshal(v)
		var out any
		_ = json.Unmarshal(j, &out)
		return out
	}
	for _, w := range want.Resources() {
		g, ok := got.Lookup(w.Address())
		if !ok {
			t.Errorf("%s missing", w.Address())
			continue
		}
		wb := norm(w.Body).(map[string]any)
		delete(wb, "//")
		gb := norm(g.Body).(map[string]any)
		if vc, ok := gb["vpc_config"].(map[string]any); ok {
			if !reflect.DeepEqual(vc["public_access_cidrs"], []any{"0.0.0.0/0"}) {
				t.Errorf("public_access_cidrs must stay the AWS default in profile original")
			}
			delete(vc, "public_access_cidrs")
		}
		if !reflect.DeepEqual(wb, gb) {
			t.Errorf("%s differs from the original:\n got  %v\n want %v", w.Address(), gb, wb)
		}
		for _, dep := range w.DependsOn {
			if !contains(g.DependsOn, dep) {
				t.Errorf("%s lost the original's dependency on %s", w.Address(), dep)
			}
		}
	}
	if n := len(got.Resources()); n != len(want.Resources()) {
		t.Errorf("profile original has %d resources, the original %d", n, len(want.Resources()))
	}
	pw, pg := norm(want.Providers), norm(got.Providers)
	if !reflect.DeepEqual(pw, pg) {
		t.Errorf("provider differs:\n got  %v\n want %v", pg, pw)
	}
	for name, o := range want.Outputs {
		if !reflect.DeepEqual(norm(got.Outputs[name]), norm(o)) {
			t.Errorf("output %s differs: %v vs %v", name, got.Outputs[name], o)
		}
	}
	// Only the original's outputs: a new output alone makes the first plan of a takeover a change.
	if len(got.Outputs) != len(want.Outputs) {
		t.Errorf("profile original has %d outputs, the original %d", len(got.Outputs), len(want.Outputs))
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestBackendAndProvider(t *testing.T) {
	d := build(t, "default", func(c *config.Config) {
		c.EnvironmentSuffix, c.State.Bucket, c.State.Region, c.Region = "pr42", "bkt", "eu-west-1", "eu-central-1"
		c.Tags.Default = map[string]string{"CostCenter": "7"}
	})
	if d.RequiredVersion != ">= 1.11" || d.RequiredProviders["aws"].Version != "~> 5.100" || d.RequiredProviders["aws"].Source != "hashicorp/aws" {
		t.Errorf("terraform block: %v %v", d.RequiredVersion, d.RequiredProviders)
	}
	want := tfdoc.Body{"bucket": "bkt", "key": "TapStackpr42/pr42/terraform.tfstate", "region": "eu-west-1", "encrypt": true, "use_lockfile": true}
	if d.Backend.Type != "s3" || !reflect.DeepEqual(d.Backend.Config, want) {
		t.Errorf("backend %v", d.Backend)
	}
	p := d.Providers["aws"][0]
	if p["region"] != "eu-central-1" {
		t.Errorf("provider region %v", p["region"])
	}
	tags := p["default_tags"].([]tfdoc.Body)[0]["tags"].(map[string]string)
	wantTags := map[string]string{"Environment": "pr42", "Repository": "unknown", "Author": "unknown", "PRNumber": "unknown",
		"Team": "unknown", "ManagedBy": "tapstack", "tapstack:profile": "default", "CostCenter": "7"}
	if !reflect.DeepEqual(tags, wantTags) {
		t.Errorf("default tags %v", tags)
	}
	c, _ := config.Defaults("default")
	if Build(&c, Options{Engine: "tofu"}).Doc.RequiredVersion != ">= 1.10" {
		t.Error("OpenTofu checks required_version against its own version: >= 1.10")
	}
}

func TestNetwork(t *testing.T) {
	d := build(t, "default")
	vpc := res(t, d, "aws_vpc.vpc")
	if vpc["cidr_block"] != "10.0.0.0/16" || vpc["enable_dns_support"] != true || vpc["enable_dns_hostnames"] != true ||
		vpc["tags"].(map[string]string)["Name"] != "eks-vpc-v1-dev" {
		t.Errorf("vpc %v", vpc)
	}
	if res(t, d, "aws_internet_gateway.igw")["vpc_id"] != "${aws_vpc.vpc.id}" {
		t.Error("igw not in the VPC")
	}
	for i, cidr := range []string{"10.0.1.0/24", "10.0.2.0/24"} {
		n := []string{"1", "2"}[i]
		sn := res(t, d, "aws_subnet.public_subnet_"+n)
		tg := sn["tags"].(map[string]string)
		if sn["cidr_block"] != cidr || sn["map_public_ip_on_launch"] != true || tg["kubernetes.io/role/elb"] != "1" ||
			tg["Name"] != "eks-public-subnet-"+n+"-v1-dev" || sn["availability_zone"] != "${data.aws_availability_zones.available_azs.names["+[]string{"0", "1"}[i]+"]}" {
			t.Errorf("subnet %s: %v", n, sn)
		}
		a := res(t, d, "aws_route_table_association.public_subnet_"+n+"_association")
		if a["subnet_id"] != "${aws_subnet.public_subnet_"+n+".id}" || a["route_table_id"] != "${aws_route_table.public_route_table.id}" {
			t.Errorf("association %s: %v", n, a)
		}
	}
	rt := res(t, d, "aws_route_table.public_route_table")
	if _, inline := rt["route"]; inline {
		t.Error("inline route")
	}
	r := res(t, d, "aws_route.public_route")
	if r["destination_cidr_block"] != "0.0.0.0/0" || r["gateway_id"] != "${aws_internet_gateway.igw.id}" {
		t.Errorf("route %v", r)
	}
	azs := res(t, d, "data.aws_availability_zones.available_azs")
	if azs["state"] != "available" || !reflect.DeepEqual(azs["exclude_zone_ids"], []string{"use1-az3"}) ||
		!reflect.DeepEqual(azs["filter"], []tfdoc.Body{{"name": "opt-in-status", "values": []string{"opt-in-not-required"}}}) {
		t.Errorf("zones data source %v", azs)
	}
	// Explicit zones: no data source, literal names.
	d = build(t, "default", func(c *config.Config) { c.Network.AvailabilityZones = []string{"us-east-1b", "us-east-1c"} })
	if _, ok := d.Lookup("data.aws_availability_zones.available_azs"); ok {
		t.Error("explicit zones must not read the zones at plan time")
	}
	if res(t, d, "aws_subnet.public_subnet_2")["availability_zone"] != "us-east-1c" {
		t.Error("explicit zone not used")
	}
}

func TestIAM(t *testing.T) {
	d := build(t, "default", unprotected)
	cr := res(t, d, "aws_iam_role.eks_cluster_role")
	if cr["name"] != "eks-cluster-role-v1-dev" || cr["assume_role_policy"] != trustPolicy("eks.amazonaws.com") {
		t.Errorf("cluster role %v", cr)
	}
	nr := res(t, d, "aws_iam_role.eks_node_role")
	if nr["name"] != "eks-node-role-v1-dev" || nr["assume_role_policy"] != trustPolicy("ec2.amazonaws.com") {
		t.Errorf("node role %v", nr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(trustPolicy("eks.amazonaws.com")), &doc); err != nil {
		t.Fatalf("trust policy is not JSON: %v", err)
	}
	for addr, want := range map[string][2]string{
		"eks_cluster_policy":            {"eks_cluster_role", "AmazonEKSClusterPolicy"},
		"eks_vpc_resource_controller":   {"eks_cluster_role", "AmazonEKSVPCResourceController"},
		"eks_worker_node_policy":        {"eks_node_role", "AmazonEKSWorkerNodePolicy"},
		"eks_cni_policy":                {"eks_node_role", "AmazonEKS_CNI_Policy"},
		"eks_container_registry_policy": {"eks_node_role", "AmazonEC2ContainerRegistryReadOnly"},
	} {
		a := res(t, d, "aws_iam_role_policy_attachment."+addr)
		if a["role"] != "${aws_iam_role."+want[0]+".name}" || a["policy_arn"] != "arn:aws:iam::aws:policy/"+want[1] {
			t.Errorf("%s: %v", addr, a)
		}
	}
	if n := len(d.OfType("aws_iam_role_policy_attachment")); n != 5 {
		t.Errorf("%d attachments, want exactly 5 (least privilege)", n)
	}
}

func TestCluster(t *testing.T) {
	d := build(t, "default")
	c := res(t, d, "aws_eks_cluster.eks_cluster")
	vc := c["vpc_config"].(tfdoc.Body)
	if c["name"] != "eks-cluster-v1-dev" || c["version"] != "1.36" || c["role_arn"] != "${aws_iam_role.eks_cluster_role.arn}" ||
		!reflect.DeepEqual(c["enabled_cluster_log_types"], []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}) ||
		vc["endpoint_private_access"] != true || vc["endpoint_public_access"] != true ||
		!reflect.DeepEqual(vc["public_access_cidrs"], []string{"0.0.0.0/0"}) ||
		!reflect.DeepEqual(vc["subnet_ids"], []string{"${aws_subnet.public_subnet_1.id}", "${aws_subnet.public_subnet_2.id}"}) {
		t.Errorf("cluster %v", c)
	}
	if got := deps(t, d, "aws_eks_cluster.eks_cluster"); !reflect.DeepEqual(got, []string{
		"aws_cloudwatch_log_group.eks_cluster_log_group", "aws_iam_role_policy_attachment.eks_cluster_policy",
		"aws_iam_role_policy_attachment.eks_vpc_resource_controller"}) {
		t.Errorf("cluster depends on %v", got)
	}
	lg := res(t, d, LogGroupAddress)
	if lg["name"] != "/aws/eks/eks-cluster-v1-dev/cluster" || lg["retention_in_days"] != 30 {
		t.Errorf("log group %v", lg)
	}
	if _, ok := d.Lookup(LegacyLogGroupAddress); ok {
		t.Error("the original's misnamed log group is not created by default")
	}
	if !reflect.DeepEqual(d.Removed, []tfdoc.Removed{{From: LegacyLogGroupAddress, Destroy: false}}) {
		t.Errorf("removed %v: the original's group must leave the state without being deleted", d.Removed)
	}
	o := res(t, d, "aws_iam_openid_connect_provider.eks_oidc_provider")
	if o["url"] != "${aws_eks_cluster.eks_cluster.identity[0].oidc[0].issuer}" || !reflect.DeepEqual(o["client_id_list"], []string{"sts.amazonaws.com"}) {
		t.Errorf("oidc %v", o)
	}
	if _, pinned := o["thumbprint_list"]; pinned {
		t.Error("default profile lets IAM fetch the thumbprint")
	}
	if len(d.Imports) != 0 {
		t.Error("no import block unless asked")
	}
	cfg, _ := config.Defaults("default")
	if im := Build(&cfg, Options{ImportLogGroup: true}).Doc.Imports; !reflect.DeepEqual(im, []tfdoc.Import{{To: LogGroupAddress, ID: "/aws/eks/eks-cluster-v1-dev/cluster"}}) {
		t.Errorf("imports %v", im)
	}
}

func TestNodeGroupsAndAddon(t *testing.T) {
	d := build(t, "default", unprotected)
	for addr, want := range map[string][5]any{
		"aws_eks_node_group.on_demand_node_group": {"node-group-od-v1-dev", "ON_DEMAND", 2, 2, 5},
		"aws_eks_node_group.spot_node_group":      {"node-group-spot-v1-dev", "SPOT", 3, 3, 10},
	} {
		ng := res(t, d, addr)
		sc := ng["scaling_config"].(tfdoc.Body)
		if ng["node_group_name"] != want[0] || ng["capacity_type"] != want[1] || sc["min_size"] != want[2] ||
			sc["desired_size"] != want[3] || sc["max_size"] != want[4] || !reflect.DeepEqual(ng["instance_types"], []string{"t3.medium"}) ||
			ng["cluster_name"] != "${aws_eks_cluster.eks_cluster.name}" || ng["node_role_arn"] != "${aws_iam_role.eks_node_role.arn}" {
			t.Errorf("%s: %v", addr, ng)
		}
		if got := deps(t, d, addr); !reflect.DeepEqual(got, []string{"aws_eks_addon.vpc_cni_addon", "aws_eks_cluster.eks_cluster",
			"aws_iam_role_policy_attachment.eks_cni_policy", "aws_iam_role_policy_attachment.eks_container_registry_policy",
			"aws_iam_role_policy_attachment.eks_worker_node_policy"}) {
			t.Errorf("%s depends on %v: the CNI and the role's policies must come first", addr, got)
		}
	}
	a := res(t, d, "aws_eks_addon.vpc_cni_addon")
	if a["addon_name"] != "vpc-cni" || a["configuration_values"] != `{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}` ||
		a["resolve_conflicts_on_create"] != "OVERWRITE" || a["resolve_conflicts_on_update"] != "OVERWRITE" {
		t.Errorf("addon %v", a)
	}
	if _, pinned := a["addon_version"]; pinned {
		t.Error("default add-on version is unset so EKS picks the one for the cluster's version")
	}
	if len(deps(t, d, "aws_eks_addon.vpc_cni_addon")) != 0 {
		t.Error("the add-on must not wait for the node groups")
	}
	o := build(t, "original")
	if got := deps(t, o, "aws_eks_addon.vpc_cni_addon"); !reflect.DeepEqual(got, []string{"aws_eks_node_group.on_demand_node_group", "aws_eks_node_group.spot_node_group"}) {
		t.Errorf("original profile add-on deps %v", got)
	}
	if VPCCNIConfiguration(config.VPCCNI{PrefixDelegation: false, WarmPrefixTarget: 1}) != `{"env":{"ENABLE_PREFIX_DELEGATION":"false"}}` {
		t.Error("WARM_PREFIX_TARGET only with prefix delegation on")
	}
}

func TestOutputs(t *testing.T) {
	d := build(t, "default", unprotected, func(c *config.Config) { c.Region = "eu-west-1" })
	want := map[string]any{
		"cluster_endpoint":                   "${aws_eks_cluster.eks_cluster.endpoint}",
		"cluster_name":                       "${aws_eks_cluster.eks_cluster.name}",
		"oidc_provider_arn":                  "${aws_iam_openid_connect_provider.eks_oidc_provider.arn}",
		"oidc_issuer_url":                    "${aws_eks_cluster.eks_cluster.identity[0].oidc[0].issuer}",
		"kubectl_config_command":             "aws eks update-kubeconfig --region eu-west-1 --name ${aws_eks_cluster.eks_cluster.name}",
		"on_demand_node_group_name":          "${aws_eks_node_group.on_demand_node_group.node_group_name}",
		"spot_node_group_name":               "${aws_eks_node_group.spot_node_group.node_group_name}",
		"vpc_id":                             "${aws_vpc.vpc.id}",
		"public_subnet_ids":                  []string{"${aws_subnet.public_subnet_1.id}", "${aws_subnet.public_subnet_2.id}"},
		"cluster_security_group_id":          "${aws_eks_cluster.eks_cluster.vpc_config[0].cluster_security_group_id}",
		"cluster_certificate_authority_data": "${aws_eks_cluster.eks_cluster.certificate_authority[0].data}",
		"cluster_log_group_name":             "${aws_cloudwatch_log_group.eks_cluster_log_group.name}",
		"node_role_arn":                      "${aws_iam_role.eks_node_role.arn}",
	}
	if len(d.Outputs) != len(want) {
		t.Errorf("%d outputs, want %d", len(d.Outputs), len(want))
	}
	for name, v := range want {
		if !reflect.DeepEqual(d.Outputs[name].Value, v) {
			t.Errorf("output %s = %v, want %v", name, d.Outputs[name].Value, v)
		}
	}
}

func TestNoVolatileValues(t *testing.T) {
	b, _ := build(t, "default").Marshal()
	for _, bad := range [][]byte{[]byte("timestamp("), []byte("uuid("), []byte("CreatedAt")} {
		if bytes.Contains(b, bad) {
			t.Errorf("document contains %s", bad)
		}
	}
}

func BenchmarkSynth(b *testing.B) {
	c, _ := config.Defaults("default")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(&c, Options{}).Doc.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestExistingClusterKeepsItsVersion(t *testing.T) {
	c, _ := config.Defaults("default")
	for _, tc := range []struct {
		running, want, note string
	}{
		{"", "1.36", ""},
		{"1.36", "1.36", ""},
		{"1.30", "1.30", "tapstack upgrade --to 1.36"},
		{"1.37", "1.37", "never downgrades"},
	} {
		st := Build(&c, Options{Existing: &Existing{KubernetesVersion: tc.running}})
		got := res(t, st.Doc, ClusterAddress)["version"]
		if got != tc.want || st.KubernetesVersion != tc.want {
			t.Errorf("running %q: rendered %v, want %s", tc.running, got, tc.want)
		}
		joined := strings.Join(st.Notes, "\n")
		if (tc.note == "") != (joined == "") || !strings.Contains(joined, tc.note) {
			t.Errorf("running %q: notes %q, want one containing %q", tc.running, joined, tc.note)
		}
	}
}

// The default profile is production-ready: every protection the original lacked is on.
func TestDefaultProfileProtections(t *testing.T) {
	d := build(t, "default")
	c := res(t, d, ClusterAddress)
	if ec, ok := c["encryption_config"].(tfdoc.Body); !ok || !reflect.DeepEqual(ec["resources"], []string{"secrets"}) {
		t.Errorf("secrets are not envelope-encrypted: %v", c["encryption_config"])
	}
	if k := res(t, d, "aws_kms_key.eks_kms_key"); k["enable_key_rotation"] != true {
		t.Errorf("KMS key without rotation: %v", k)
	}
	if lg := res(t, d, LogGroupAddress); lg["kms_key_id"] == nil {
		t.Errorf("log group not encrypted: %v", lg)
	}
	ac, _ := c["access_config"].(tfdoc.Body)
	if ac["authentication_mode"] != "API_AND_CONFIG_MAP" || ac["bootstrap_cluster_creator_admin_permissions"] != true {
		t.Errorf("access_config %v", ac)
	}
	if up, _ := c["upgrade_policy"].(tfdoc.Body); up["support_type"] != "STANDARD" {
		t.Errorf("upgrade_policy %v", c["upgrade_policy"])
	}
	for _, addr := range []string{"aws_eks_node_group.on_demand_node_group", "aws_eks_node_group.spot_node_group"} {
		ng := res(t, d, addr)
		if ng["launch_template"] == nil || ng["node_repair_config"] == nil || ng["update_config"] == nil {
			t.Errorf("%s lacks a launch template, auto repair or an update budget: %v", addr, ng)
		}
	}
	if got := res(t, d, "aws_eks_node_group.spot_node_group")["instance_types"]; !reflect.DeepEqual(got, []string{"t3.medium", "t3a.medium", "t2.medium"}) {
		t.Errorf("spot instance types %v, want three comparable types", got)
	}
	for _, a := range []string{"aws_eks_addon.coredns_addon", "aws_eks_addon.kube_proxy_addon", "aws_eks_addon.pod_identity_agent_addon"} {
		res(t, d, a)
	}
	if res(t, d, "aws_eks_addon.vpc_cni_addon")["service_account_role_arn"] == nil {
		t.Error("vpc-cni does not run with its own role")
	}
	if _, ok := d.Lookup("aws_iam_role_policy_attachment.eks_cni_policy"); ok {
		t.Error("a new default environment gives every node the CNI policy")
	}
	if c["vpc_config"].(tfdoc.Body)["endpoint_public_access"] != true {
		t.Error("the default profile keeps the original's public endpoint")
	}
}

func TestNodeKeepsCNIPolicyUntilAddonUsesItsRole(t *testing.T) {
	c, _ := config.Defaults("hardened")
	has := func(e *Existing) bool {
		_, ok := Build(&c, Options{Existing: e}).Doc.Lookup("aws_iam_role_policy_attachment.eks_cni_policy")
		return ok
	}
	if has(nil) {
		t.Error("a new IRSA environment gives nodes no CNI policy")
	}
	if !has(&Existing{NodeCNIPolicy: true}) {
		t.Error("the node role must keep the CNI policy while vpc-cni runs without its role")
	}
	if has(&Existing{NodeCNIPolicy: true, CNIRoleInUse: true}) {
		t.Error("once vpc-cni runs with its role the node policy goes")
	}
}

func TestExistingFromState(t *testing.T) {
	show := []byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
	 {"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.30"}},
	 {"address":"aws_iam_role_policy_attachment.eks_cni_policy","mode":"managed","type":"aws_iam_role_policy_attachment","name":"eks_cni_policy","values":{}},
	 {"address":"aws_eks_addon.vpc_cni_addon","mode":"managed","type":"aws_eks_addon","name":"vpc_cni_addon","values":{"service_account_role_arn":""}},
	 {"address":"data.aws_availability_zones.available_azs","mode":"data","type":"aws_availability_zones","name":"available_azs","values":{}}]}}}`)
	e, err := ExistingFromState(show)
	if err != nil {
		t.Fatal(err)
	}
	if e.KubernetesVersion != "1.30" || !e.NodeCNIPolicy || e.CNIRoleInUse || len(e.Addresses) != 3 {
		t.Errorf("existing %+v", e)
	}
	if e, err := ExistingFromState([]byte(`{"format_version":"1.0"}`)); err != nil || e != nil {
		t.Errorf("empty state: %+v %v", e, err)
	}
}

// The creator's admin access is decided at creation: an existing cluster is never asked to change it.
func TestExistingClusterKeepsItsBootstrapChoice(t *testing.T) {
	c, _ := config.Defaults("default")
	ac := func(e *Existing) tfdoc.Body {
		return res(t, Build(&c, Options{Existing: e}).Doc, ClusterAddress)["access_config"].(tfdoc.Body)
	}
	if ac(nil)["bootstrap_cluster_creator_admin_permissions"] != true {
		t.Error("a new cluster states the creator's admin access")
	}
	existing := &Existing{KubernetesVersion: "1.36", Addresses: map[string]bool{ClusterAddress: true}}
	if got := ac(existing); got["authentication_mode"] != "API_AND_CONFIG_MAP" {
		t.Errorf("access_config %v", got)
	} else if _, set := got["bootstrap_cluster_creator_admin_permissions"]; set {
		t.Error("an existing cluster is asked to change the creator's admin access, which replaces it")
	}
}

// A new environment's launch templates are named lt-<node group>; an existing one keeps the name its state
// records, since renaming a launch template replaces it and the node group launched from it.
func TestLaunchTemplateNames(t *testing.T) {
	c, _ := config.Defaults("default")
	name := func(st *Stack, addr string) (string, string) {
		b := res(t, st.Doc, addr)
		tg, _ := b["tags"].(map[string]string)
		n, _ := b["name"].(string)
		return n, tg["Name"]
	}
	const od, spot = "aws_launch_template.on_demand_launch_template", "aws_launch_template.spot_launch_template"
	st := Build(&c, Options{})
	if n, tag := name(st, od); n != "lt-node-group-od-v1-dev" || tag != n {
		t.Errorf("new environment: on-demand launch template %q (tag Name %q), want lt-node-group-od-v1-dev", n, tag)
	}
	if n, _ := name(st, spot); n != "lt-node-group-spot-v1-dev" {
		t.Errorf("new environment: spot launch template %q, want lt-node-group-spot-v1-dev", n)
	}
	if len(st.Notes) != 0 {
		t.Errorf("new environment: notes %v", st.Notes)
	}

	// The state of an environment created with the doubled suffix has only the on-demand template (say, the spot
	// group was added later): that one keeps its name, the spot one gets the new name.
	show := []byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
	 {"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.36"}},
	 {"address":"aws_launch_template.on_demand_launch_template","mode":"managed","type":"aws_launch_template","name":"on_demand_launch_template","values":{"name":"lt-node-group-od-v1-dev-v1-dev"}}]}}}`)
	e, err := ExistingFromState(show)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e.LaunchTemplateNames, map[string]string{od: "lt-node-group-od-v1-dev-v1-dev"}) {
		t.Fatalf("launch template names from state %v", e.LaunchTemplateNames)
	}
	st = Build(&c, Options{Existing: e})
	if n, tag := name(st, od); n != "lt-node-group-od-v1-dev-v1-dev" || tag != n {
		t.Errorf("existing environment: on-demand launch template %q (tag Name %q), want the recorded lt-node-group-od-v1-dev-v1-dev", n, tag)
	}
	if n, _ := name(st, spot); n != "lt-node-group-spot-v1-dev" {
		t.Errorf("existing environment without a spot template: %q, want lt-node-group-spot-v1-dev", n)
	}
	if joined := strings.Join(st.Notes, "\n"); strings.Count(joined, "kept launch template name") != 1 ||
		!strings.Contains(joined, "lt-node-group-od-v1-dev-v1-dev") {
		t.Errorf("notes %q, want one on the kept on-demand name", joined)
	}

	// A state that records the derived name needs no note.
	st = Build(&c, Options{Existing: &Existing{LaunchTemplateNames: map[string]string{od: "lt-node-group-od-v1-dev"}}})
	if n, _ := name(st, od); n != "lt-node-group-od-v1-dev" || len(st.Notes) != 0 {
		t.Errorf("recorded derived name: %q, notes %v", n, st.Notes)
	}
}

// Every string in the document holds the environment suffix at most once, except the state key
// (TapStack<suffix>/<suffix>/terraform.tfstate, the original's).
func TestDocumentHoldsTheSuffixOnce(t *testing.T) {
	const suffix = "zq9"
	for _, profile := range config.Profiles {
		d := build(t, profile, func(c *config.Config) { c.EnvironmentSuffix = suffix; c.Network.FlowLogs = true })
		b, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		seen := 0
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					walk(path+"."+k, e)
				}
			case []any:
				for i, e := range x {
					walk(path+"["+strconv.Itoa(i)+"]", e)
				}
			case string:
				n := strings.Count(x, suffix)
				if n > 0 {
					seen++
				}
				if n > 1 && !strings.HasSuffix(path, ".backend.s3.key") {
					t.Errorf("profile %s: %s = %q holds the suffix %d times", profile, path, x, n)
				}
			}
		}
		walk("", v)
		if seen == 0 {
			t.Fatalf("profile %s: no string holds the suffix", profile)
		}
	}
}

// The guard matches plan entries by type: a protected type the stack does not build (a typo, a renamed resource)
// would protect nothing.
func TestProtectedTypesAreBuilt(t *testing.T) {
	for _, profile := range config.Profiles {
		d := build(t, profile)
		for _, typ := range ProtectedTypes {
			if len(d.OfType(typ)) == 0 {
				t.Errorf("%s: no %s in the document", profile, typ)
			}
		}
	}
}
