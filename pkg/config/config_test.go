package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tapstack.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreTheDevEnvironment(t *testing.T) {
	c, _, err := Load(Sources{LookupEnv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.EnvironmentSuffix != "dev" || c.Region != "us-east-1" || c.State.Bucket != "iac-rlhf-tf-states" ||
		c.State.Region != "us-east-1" || !c.State.Encrypt || !c.State.UseLockfile {
		t.Errorf("defaults: %+v", c)
	}
	if c.Cluster.KubernetesVersion != "1.36" {
		t.Errorf("default Kubernetes version %s, want 1.36 from the version data", c.Cluster.KubernetesVersion)
	}
	if c.StackName() != "TapStackdev" || c.StateKey() != "TapStackdev/dev/terraform.tfstate" {
		t.Errorf("stack %s key %s", c.StackName(), c.StateKey())
	}
	if c.Tags.Repository != "unknown" || c.Tags.Team != "unknown" || c.Tags.ManagedBy != "tapstack" {
		t.Errorf("tags %+v", c.Tags)
	}
}

func TestPipelineEnvironment(t *testing.T) {
	c, _, err := Load(Sources{LookupEnv: env(map[string]string{
		"ENVIRONMENT_SUFFIX": "pr7107", "TERRAFORM_STATE_BUCKET": "states-b", "TERRAFORM_STATE_BUCKET_REGION": "eu-west-1",
		"AWS_REGION": "eu-central-1", "REPOSITORY": "org/repo", "COMMIT_AUTHOR": "ana", "PR_NUMBER": "7107", "TEAM": "plat",
	})})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.EnvironmentSuffix, c.State.Bucket, c.State.Region, c.Region, c.Tags.Repository, c.Tags.CommitAuthor, c.Tags.PRNumber, c.Tags.Team}
	want := []string{"pr7107", "states-b", "eu-west-1", "eu-central-1", "org/repo", "ana", "7107", "plat"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if c.ClusterName() != "eks-cluster-v1-pr7107" || c.StateKey() != "TapStackpr7107/pr7107/terraform.tfstate" {
		t.Errorf("names %s %s", c.ClusterName(), c.StateKey())
	}
}

func TestEmptyEnvironmentValuesAreUnset(t *testing.T) {
	c, _, err := Load(Sources{LookupEnv: env(map[string]string{"ENVIRONMENT_SUFFIX": "", "TEAM": ""})})
	if err != nil {
		t.Fatal(err)
	}
	if c.EnvironmentSuffix != "dev" || c.Tags.Team != "unknown" {
		t.Errorf("empty values must fall back to defaults: %q %q", c.EnvironmentSuffix, c.Tags.Team)
	}
}

// Flags beat the file, the file beats the environment, the environment beats defaults.
func TestPrecedence(t *testing.T) {
	f := writeFile(t, "region: eu-west-1\nenvironmentSuffix: fromfile\nstate:\n  bucket: file-bucket\n")
	c, notices, err := Load(Sources{
		LookupEnv: env(map[string]string{"AWS_REGION": "us-west-2", "ENVIRONMENT_SUFFIX": "fromenv", "TERRAFORM_STATE_BUCKET": "env-bucket", "TEAM": "envteam"}),
		File:      f,
		Flags:     map[string]string{"environment-suffix": "fromflag"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.EnvironmentSuffix != "fromflag" {
		t.Errorf("flag lost: %s", c.EnvironmentSuffix)
	}
	if c.Region != "eu-west-1" || c.State.Bucket != "file-bucket" {
		t.Errorf("file lost to env: region %s bucket %s", c.Region, c.State.Bucket)
	}
	if c.Tags.Team != "envteam" {
		t.Errorf("env lost to defaults: %s", c.Tags.Team)
	}
	joined := ""
	for _, n := range notices {
		joined += string(n) + "\n"
	}
	for _, want := range []string{"AWS_REGION=us-west-2 in the environment is overridden by region: eu-west-1", "TERRAFORM_STATE_BUCKET=env-bucket"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notices lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "TEAM") {
		t.Error("no notice when the file does not set the field")
	}
}

func TestFileSetsEveryKnob(t *testing.T) {
	f := writeFile(t, `
profile: default
environmentSuffix: stage
region: eu-west-1
ttl: 72h
protect: true
state: {bucket: b-1, region: eu-west-1, key: custom/key.tfstate, encrypt: false, useLockfile: false}
tags:
  repository: r
  commitAuthor: a
  prNumber: "12"
  team: t
  managedBy: me
  default: {CostCenter: "42"}
  resource: {Owner: ops}
network:
  vpcCIDR: 10.20.0.0/16
  publicSubnetCIDRs: [10.20.0.0/20, 10.20.16.0/20, 10.20.32.0/20]
  availabilityZones: [eu-west-1a, eu-west-1b, eu-west-1c]
  excludeAvoidedZones: false
  topology: private
  privateSubnetCIDRs: [10.20.64.0/20, 10.20.80.0/20]
  natGateways: per-zone
  flowLogs: true
cluster:
  kubernetesVersion: "1.35"
  endpointPrivateAccess: true
  endpointPublicAccess: false
  publicAccessCIDRs: [203.0.113.0/24]
  logTypes: [api, audit]
  logRetentionDays: 90
  oidcThumbprints: [abc]
  secretsEncryption: true
  logEncryption: true
  authenticationMode: API
  bootstrapCreatorAdmin: true
  adminPrincipals: [arn:aws:iam::111122223333:role/admin]
  upgradeSupportType: EXTENDED
  compute: auto
nodeGroups:
  onDemand: {instanceTypes: [m6i.large], minSize: 1, desiredSize: 1, maxSize: 3}
  spot: {instanceTypes: [m6i.large, m5.large], minSize: 0, desiredSize: 2, maxSize: 4}
  launchTemplate: true
  rootVolumeGiB: 50
  autoRepair: true
  maxUnavailablePercentage: 20
addons:
  vpcCni: {version: v1.20.0-eksbuild.1, prefixDelegation: false, warmPrefixTarget: 0, resolveConflictsOnCreate: NONE, resolveConflictsOnUpdate: PRESERVE, irsa: true}
  coreDns: true
  kubeProxy: true
  podIdentityAgent: true
  ebsCsiDriver: false
  metricsServer: false
  cloudWatchObservability: false
compat: {legacyLogGroup: true, addonAfterNodeGroups: true}
workloadIdentities:
  - {name: orders, namespace: shop, serviceAccount: orders-api, managedPolicyArns: [arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess]}
allow: [TS202]
`)
	c, _, err := Load(Sources{LookupEnv: env(nil), File: f})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Profile: "default", EnvironmentSuffix: "stage", Region: "eu-west-1", TTL: "72h", Protect: true,
		State: State{Bucket: "b-1", Region: "eu-west-1", Key: "custom/key.tfstate"},
		Tags: Tags{Repository: "r", CommitAuthor: "a", PRNumber: "12", Team: "t", ManagedBy: "me",
			Default: map[string]string{"CostCenter": "42"}, Resource: map[string]string{"Owner": "ops"}},
		Network: Network{VPCCIDR: "10.20.0.0/16", PublicSubnetCIDRs: []string{"10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20"},
			AvailabilityZones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, Topology: "private",
			PrivateSubnetCIDRs: []string{"10.20.64.0/20", "10.20.80.0/20"}, NATGateways: "per-zone", FlowLogs: true},
		Cluster: Cluster{KubernetesVersion: "1.35", EndpointPrivateAccess: true, PublicAccessCIDRs: []string{"203.0.113.0/24"},
			LogTypes: []string{"api", "audit"}, LogRetentionDays: 90, OIDCThumbprints: []string{"abc"},
			SecretsEncryption: true, LogEncryption: true, AuthenticationMode: "API", BootstrapCreatorAdmin: true,
			AdminPrincipals: []string{"arn:aws:iam::111122223333:role/admin"}, UpgradeSupportType: "EXTENDED", Compute: "auto"},
		NodeGroups: NodeGroups{
			OnDemand:       NodeGroup{InstanceTypes: []string{"m6i.large"}, MinSize: 1, DesiredSize: 1, MaxSize: 3},
			Spot:           NodeGroup{InstanceTypes: []string{"m6i.large", "m5.large"}, DesiredSize: 2, MaxSize: 4},
			LaunchTemplate: true, RootVolumeGiB: 50, AutoRepair: true, MaxUnavailablePercentage: 20,
		},
		Addons: Addons{VPCCNI: VPCCNI{Version: "v1.20.0-eksbuild.1", ResolveOnCreate: "NONE", ResolveOnUpdate: "PRESERVE", IRSA: true},
			CoreDNS: true, KubeProxy: true, PodIdentityAgent: true},
		Compat: Compat{LegacyLogGroup: true, AddonAfterNodeGroups: true},
		WorkloadIdentities: []WorkloadIdentity{{Name: "orders", Namespace: "shop", ServiceAccount: "orders-api",
			ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"}}},
		Allow: []string{"TS202"},
	}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}
}

func TestEveryFlagReachesItsField(t *testing.T) {
	flags := map[string]string{
		"environment-suffix": "x1", "region": "eu-north-1", "state-bucket": "sb", "state-bucket-region": "eu-north-1",
		"kubernetes-version": "1.34", "availability-zones": "eu-north-1a, eu-north-1b", "vpc-cni-version": "v1.20.0-eksbuild.1",
		"profile": "original", "ttl": "36h", "protect": "true", "cloudwatch-observability": "true",
	}
	c, _, err := Load(Sources{LookupEnv: env(nil), Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	if c.EnvironmentSuffix != "x1" || c.Region != "eu-north-1" || c.State.Bucket != "sb" || c.State.Region != "eu-north-1" ||
		c.Cluster.KubernetesVersion != "1.34" || !reflect.DeepEqual(c.Network.AvailabilityZones, []string{"eu-north-1a", "eu-north-1b"}) ||
		c.Addons.VPCCNI.Version != "v1.20.0-eksbuild.1" || c.Profile != "original" || c.TTL != "36h" || !c.Protect ||
		!c.Addons.CloudWatchObservability {
		t.Errorf("flags not applied: %+v", c)
	}
	for _, s := range Settings {
		if s.Flag != "" {
			if _, ok := flags[s.Flag]; !ok {
				t.Errorf("flag --%s is not covered by this test", s.Flag)
			}
		}
	}
}

func TestProfiles(t *testing.T) {
	c, _, err := Load(Sources{LookupEnv: env(map[string]string{"TAPSTACK_PROFILE": "original"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != "original" || c.Cluster.KubernetesVersion != "1.29" || c.Addons.VPCCNI.Version != "v1.18.1-eksbuild.3" ||
		!c.Compat.LegacyLogGroup || c.Tags.Resource["ManagedBy"] != "CDKTF" || len(c.Cluster.OIDCThumbprints) != 1 {
		t.Errorf("original profile: %+v", c)
	}
	// A knob set on top of a profile wins over the profile.
	f := writeFile(t, "profile: original\ncluster:\n  kubernetesVersion: \"1.30\"\n")
	c, _, err = Load(Sources{LookupEnv: env(nil), File: f})
	if err != nil || c.Cluster.KubernetesVersion != "1.30" || c.Profile != "original" {
		t.Errorf("knob over profile: %v %+v", err, c)
	}
}

func TestLoadErrorsListEveryProblem(t *testing.T) {
	f := writeFile(t, "region: [a]\nnodeGroups:\n  spot:\n    maxSize: ten\nbogus: 1\n")
	_, _, err := Load(Sources{LookupEnv: env(map[string]string{"TAPSTACK_PROTECT": "maybe"}), File: f,
		Flags: map[string]string{"profile": "nope", "not-a-flag": "x", "protect": "yes please"}})
	le, ok := err.(*LoadError)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	joined := strings.Join(le.Problems, "\n")
	for _, want := range []string{"unknown profile \"nope\"", "line 1", "ten", "field bogus not found", "--not-a-flag",
		`TAPSTACK_PROTECT: "maybe" is not true or false`, `--protect: "yes please" is not true or false`} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q:\n%s", want, joined)
		}
	}
	if len(le.Problems) < 7 {
		t.Errorf("want every problem at once, got %d:\n%s", len(le.Problems), joined)
	}
}

func TestMissingFileAndEmptyFile(t *testing.T) {
	if _, _, err := Load(Sources{LookupEnv: env(nil), File: "/does/not/exist.yaml"}); err == nil {
		t.Error("a missing file must be an error")
	}
	c, _, err := Load(Sources{LookupEnv: env(nil), File: writeFile(t, "")})
	if err != nil || c.EnvironmentSuffix != "dev" {
		t.Errorf("an empty file is the defaults: %v", err)
	}
}

func TestNamesCoverEveryLimitedResource(t *testing.T) {
	c, _ := Defaults("default")
	got := map[string]string{}
	for _, n := range c.Names() {
		got[n.Resource] = n.Value
	}
	for res, want := range map[string]string{
		"aws_eks_cluster.eks_cluster":                    "eks-cluster-v1-dev",
		"aws_iam_role.eks_cluster_role":                  "eks-cluster-role-v1-dev",
		"aws_iam_role.eks_node_role":                     "eks-node-role-v1-dev",
		"aws_eks_node_group.on_demand_node_group":        "node-group-od-v1-dev",
		"aws_eks_node_group.spot_node_group":             "node-group-spot-v1-dev",
		"aws_cloudwatch_log_group.eks_cluster_log_group": "/aws/eks/eks-cluster-v1-dev/cluster",
	} {
		if got[res] != want {
			t.Errorf("%s = %q, want %q", res, got[res], want)
		}
	}
}

// Every name derived from the environment suffix holds it exactly once: a name built from another derived name
// must not append the suffix again (launch templates once read lt-node-group-od-v1-dev-v1-dev).
func TestDerivedNamesHoldTheSuffixOnce(t *testing.T) {
	const suffix = "zq9"
	for _, profile := range Profiles {
		c, _ := Defaults(profile)
		c.EnvironmentSuffix = suffix
		c.Network.FlowLogs, c.Addons.VPCCNI.IRSA = true, true
		c.Addons.EBSCSIDriver, c.Addons.CloudWatchObservability = true, true
		names := map[string]string{
			"StackName":                c.StackName(),
			"ClusterName":              c.ClusterName(),
			"ClusterRoleName":          c.ClusterRoleName(),
			"NodeRoleName":             c.NodeRoleName(),
			"OnDemandGroupName":        c.OnDemandGroupName(),
			"SpotGroupName":            c.SpotGroupName(),
			"VPCName":                  c.VPCName(),
			"IGWName":                  c.IGWName(),
			"RouteTableName":           c.RouteTableName(),
			"SubnetName":               c.SubnetName(1),
			"LogGroupName":             c.LogGroupName(),
			"LegacyLogGroupName":       c.LegacyLogGroupName(),
			"VPCCNIRoleName":           c.VPCCNIRoleName(),
			"EBSCSIRoleName":           c.EBSCSIRoleName(),
			"CloudWatchRoleName":       c.CloudWatchRoleName(),
			"FlowLogRoleName":          c.FlowLogRoleName(),
			"FlowLogGroupName":         c.FlowLogGroupName(),
			"PrivateSubnetName":        c.PrivateSubnetName(2),
			"LaunchTemplateName":       c.LaunchTemplateName(c.OnDemandGroupName()),
			"KMSAliasName":             c.KMSAliasName(),
			"EnvName":                  c.EnvName("eks-nat-1"),
			"WorkloadIdentityRoleName": c.WorkloadIdentityRoleName("orders-api"),
		}
		if got := c.LaunchTemplateName(c.SpotGroupName()); got != "lt-node-group-spot-v1-zq9" {
			t.Errorf("spot launch template %q, want lt-node-group-spot-v1-zq9", got)
		}
		if got := names["LaunchTemplateName"]; got != "lt-node-group-od-v1-zq9" {
			t.Errorf("on-demand launch template %q, want lt-node-group-od-v1-zq9", got)
		}
		// StateKey is a path, TapStack<suffix>/<suffix>/terraform.tfstate: the original's key, which existing
		// environments' state lives under, holds the suffix twice by design.
		// NamePath is a field path, not a name.
		notNames := map[string]bool{"StateKey": true, "NamePath": true}
		for k, v := range names {
			if n := strings.Count(v, suffix); n != 1 {
				t.Errorf("profile %s: %s = %q holds the suffix %d times, want once", profile, k, v, n)
			}
		}
		for _, n := range c.Names() {
			if k := strings.Count(n.Value, suffix); k != 1 {
				t.Errorf("profile %s: %s (%s) = %q holds the suffix %d times, want once", profile, n.Resource, n.Kind, n.Value, k)
			}
		}
		// A new derived name must be listed above.
		typ := reflect.TypeOf(&c)
		for i := 0; i < typ.NumMethod(); i++ {
			m := typ.Method(i)
			if m.Type.NumOut() == 1 && m.Type.Out(0).Kind() == reflect.String && !notNames[m.Name] {
				if _, ok := names[m.Name]; !ok {
					t.Errorf("(*Config).%s returns a string this test does not check", m.Name)
				}
			}
		}
	}
}

// An inline policy is a YAML mapping or a JSON string; either way the configuration holds its JSON, with every
// scalar of the mapping keeping its YAML type: an unquoted 2012-10-17 stays a string.
func TestWorkloadIdentitiesFromTheFile(t *testing.T) {
	f := writeFile(t, `
environmentSuffix: pr9
workloadIdentities:
  - namespace: shop
    serviceAccount: orders.api
    inlinePolicy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Action: [sqs:ReceiveMessage]
          Resource: arn:aws:sqs:us-east-1:111122223333:orders
          Condition: {NumericLessThan: {"aws:MultiFactorAuthAge": 3600}, Bool: {"aws:SecureTransport": true}}
  - name: reports
    namespace: shop
    serviceAccount: reports
    managedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
    inlinePolicy: '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}'
`)
	c, _, err := Load(Sources{LookupEnv: env(nil), File: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.WorkloadIdentities) != 2 {
		t.Fatalf("workload identities %+v", c.WorkloadIdentities)
	}
	first, second := c.WorkloadIdentities[0], c.WorkloadIdentities[1]
	want := `{"Statement":[{"Action":["sqs:ReceiveMessage"],"Condition":{"Bool":{"aws:SecureTransport":true},` +
		`"NumericLessThan":{"aws:MultiFactorAuthAge":3600}},"Effect":"Allow","Resource":"arn:aws:sqs:us-east-1:111122223333:orders"}],"Version":"2012-10-17"}`
	if string(first.InlinePolicy) != want {
		t.Errorf("a YAML mapping as policy:\n got %s\nwant %s", first.InlinePolicy, want)
	}
	if !strings.HasPrefix(string(second.InlinePolicy), `{"Version": "2012-10-17"`) || second.ManagedPolicyARNs[0] != "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" {
		t.Errorf("a JSON string as policy is kept as written: %+v", second)
	}
	// Names: given, or <namespace>-<serviceAccount> with dots as hyphens; roles and addresses follow.
	if first.ResolvedName() != "shop-orders-api" || second.ResolvedName() != "reports" {
		t.Errorf("names %q %q", first.ResolvedName(), second.ResolvedName())
	}
	if got := c.WorkloadIdentityRoleName(first.ResolvedName()); got != "eks-workload-shop-orders-api-v1-pr9" {
		t.Errorf("role name %q", got)
	}
	if got := WorkloadIdentityAddress("shop-orders-api"); got != "workload_identity_shop_orders_api" {
		t.Errorf("address %q", got)
	}
	names := map[string]string{}
	for _, n := range c.Names() {
		names[n.Resource] = n.Value
	}
	if names["aws_iam_role.workload_identity_reports"] != "eks-workload-reports-v1-pr9" {
		t.Errorf("Names() lacks the workload identities' roles: %v", names)
	}
	if c.NamePath("aws_iam_role.workload_identity_reports") != "workloadIdentities[1].name" ||
		c.NamePath("aws_iam_role.workload_identity_shop_orders_api") != "workloadIdentities[0]" || c.NamePath("aws_iam_role.eks_node_role") != "" {
		t.Error("NamePath does not lead back to the entries")
	}
}

// A misspelt key of an entry, or a policy that YAML cannot turn into JSON, is a load error; every one is listed.
func TestWorkloadIdentityLoadErrors(t *testing.T) {
	f := writeFile(t, `
workloadIdentities:
  - namespace: shop
    serviceaccount: orders
  - namespace: shop
    serviceAccount: reports
    inlinePolicy: {Statement: [{? [a, b] : c}]}
`)
	_, _, err := Load(Sources{LookupEnv: env(nil), File: f})
	le, ok := err.(*LoadError)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	joined := strings.Join(le.Problems, "\n")
	for _, want := range []string{"field serviceaccount not found", "inlinePolicy: line 7: a policy's keys are strings"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q:\n%s", want, joined)
		}
	}
}

// A bool setting reads what strconv.ParseBool reads, from the environment as from a flag; the flag wins.
func TestProtectFromEnvironmentAndFlag(t *testing.T) {
	c, _, err := Load(Sources{LookupEnv: env(map[string]string{"TAPSTACK_PROTECT": "1", "TAPSTACK_TTL": "48h"})})
	if err != nil || !c.Protect || c.TTL != "48h" {
		t.Fatalf("TAPSTACK_PROTECT=1 TAPSTACK_TTL=48h: %v %+v", err, c)
	}
	c, _, err = Load(Sources{LookupEnv: env(map[string]string{"TAPSTACK_PROTECT": "true"}), Flags: map[string]string{"protect": "false"}})
	if err != nil || c.Protect {
		t.Fatalf("--protect=false over TAPSTACK_PROTECT=true: %v %+v", err, c)
	}
	// The file and the environment agree on 1 and true: no notice.
	_, notices, err := Load(Sources{LookupEnv: env(map[string]string{"TAPSTACK_PROTECT": "1"}), File: writeFile(t, "protect: true\n")})
	if err != nil || len(notices) != 0 {
		t.Errorf("protect: true in the file and TAPSTACK_PROTECT=1: %v %v", err, notices)
	}
	for _, s := range Settings {
		if s.IsBool() != (s.Path == "protect" || s.Path == "addons.cloudWatchObservability") {
			t.Errorf("setting %s: IsBool %v", s.Path, s.IsBool())
		}
	}
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"72h": 72 * time.Hour, "90m": 90 * time.Minute, "8760h": MaxTTL, "1s": time.Second} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"": `"" is not a duration`, "3d": `"3d" is not a duration`, "0s": "0s is not positive",
		"-2h": "-2h is not positive", "8760h1s": "8760h1s is longer than a year (8760h)"} {
		if _, err := ParseTTL(in); err == nil || err.Error() != want {
			t.Errorf("ParseTTL(%q): %v, want %q", in, err, want)
		}
	}
}

// The CloudWatch observability knob: on in default and hardened, off in original (which mirrors the old stack);
// the flag and the environment turn it off, and a value that is not a boolean is a problem, never false.
func TestCloudWatchObservabilityKnob(t *testing.T) {
	for profile, want := range map[string]bool{"default": true, "hardened": true, "original": false} {
		c, _ := Defaults(profile)
		if c.Addons.CloudWatchObservability != want || c.Addons.EBSCSIDriver != want || c.Addons.MetricsServer != want {
			t.Errorf("profile %s: platform add-ons %+v, want all %v", profile, c.Addons, want)
		}
	}
	c, _, err := Load(Sources{LookupEnv: env(map[string]string{"TAPSTACK_CLOUDWATCH_OBSERVABILITY": "false"})})
	if err != nil || c.Addons.CloudWatchObservability {
		t.Errorf("TAPSTACK_CLOUDWATCH_OBSERVABILITY=false: %v %v", err, c.Addons.CloudWatchObservability)
	}
	c, _, err = Load(Sources{LookupEnv: env(nil), Flags: map[string]string{"cloudwatch-observability": "false"}})
	if err != nil || c.Addons.CloudWatchObservability {
		t.Errorf("--cloudwatch-observability=false: %v %v", err, c.Addons.CloudWatchObservability)
	}
	_, _, err = Load(Sources{LookupEnv: env(map[string]string{"TAPSTACK_CLOUDWATCH_OBSERVABILITY": "off"}),
		Flags: map[string]string{"cloudwatch-observability": "nope"}})
	le, ok := err.(*LoadError)
	if !ok || len(le.Problems) != 2 || !strings.Contains(le.Problems[0], `"off" is not true or false`) ||
		!strings.Contains(le.Problems[1], `--cloudwatch-observability: "nope"`) {
		t.Errorf("bad booleans: %v", err)
	}
}

// README's Configuration table has a row for every setting a flag or the environment reaches, naming both.
func TestReadmeConfigurationTableNamesEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || cells[0] != "" {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		cells = cells[1:]
		rows[strings.Trim(cells[0], "`")] = cells
	}
	for _, s := range Settings {
		cells, ok := rows[s.Path]
		if !ok {
			t.Errorf("README's Configuration table has no row for %s", s.Path)
			continue
		}
		if s.Flag != "" && cells[1] != "`--"+s.Flag+"`" {
			t.Errorf("README row %s names flag %s, want `--%s`", s.Path, cells[1], s.Flag)
		}
		if s.Env != "" && cells[2] != "`"+s.Env+"`" {
			t.Errorf("README row %s names environment variable %s, want `%s`", s.Path, cells[2], s.Env)
		}
	}
}
