package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

const takeoverBucket = "tapstack-e2e-takeover-state"

// TestTakeover takes over an environment the original deployed: the original's own CDKTF output, applied with
// plain Terraform at Kubernetes 1.32 (where EKS has moved it from 1.29 by the front's day, 2026-12-01, with
// extended support on as EKS's default), then planned and deployed by tapstack on the same state, and walked to
// 1.36. EKS refuses STANDARD support on 1.32 and 1.33 (V4): deploy keeps the cluster's policy, and upgrade sets
// STANDARD at the 1.34 step, the first in standard support.
func TestTakeover(t *testing.T) {
	t.Parallel()        // each test has its own moto, front, bucket and working copy
	start := time.Now() // clock: the test's duration, logged
	defer func() { t.Logf("TestTakeover took %s", time.Since(start).Round(time.Second)) }()
	harness.TerraformBinary(t)
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	harness.CreateBucket(t, front.URL, takeoverBucket, harness.Region)
	cliConfig := harness.TerraformCLIConfig(t)
	d := &deployStack{endpoint: front.URL, env: deployEnv(front.URL, cliConfig), bucket: takeoverBucket, suffix: "dev"}
	wc := newWorkingCopy(t)
	// Node-group settings that replace a group apply to new environments only; this team keeps its groups.
	keep := filepath.Join(wc, "keep-node-groups.yaml")
	if err := os.WriteFile(keep, []byte("profile: default\nnodeGroups:\n  launchTemplate: false\n  spot:\n    instanceTypes: [t3.medium]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var clusterARN string

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"1_original_deployed_with_plain_terraform", func(t *testing.T) { clusterARN = deployOriginal(t, d, cliConfig) }},
		{"2_profile_original_changes_nothing", func(t *testing.T) { takeoverOriginalPlan(t, d, wc) }},
		{"3_default_profile_keeps_the_environment", func(t *testing.T) { takeoverDefaultPlan(t, d, wc) }},
		{"4_deploy_refuses_node_group_replacements", func(t *testing.T) {
			before := d.state(t).Serial
			r := d.run(t, wc, 2, "deploy", "--profile", "default", "--adopt-existing")
			for _, want := range []string{"refused: the plan would delete or replace", "aws_eks_node_group.spot_node_group"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("deploy output lacks %q:\n%s", want, tail(r.stderr, 40))
				}
			}
			if after := d.state(t).Serial; after != before {
				t.Errorf("a refused deploy changed the state (serial %d -> %d)", before, after)
			}
		}},
		{"5_deploy_adopts_the_real_log_group", func(t *testing.T) {
			r := d.run(t, wc, 0, "deploy", "--config", keep, "--adopt-existing")
			st := d.state(t)
			if got := st.attr("aws_cloudwatch_log_group.eks_cluster_log_group", "name"); got != "/aws/eks/eks-cluster-v1-dev/cluster" {
				t.Errorf("adopted log group in state: %v", got)
			}
			if slices.Contains(st.managed(), "aws_cloudwatch_log_group.eks_log_group") {
				t.Error("the original's log group is still in the state")
			}
			if !logGroupExists(t, d.endpoint, "/aws/eks/eks-cluster-v1-dev") {
				t.Error("the original's log group was deleted; the removed block must only forget it")
			}
			if !strings.Contains(r.stderr, "adopted:") || !strings.Contains(r.stderr, "import /aws/eks/eks-cluster-v1-dev/cluster") {
				t.Errorf("the plan summary does not show the adoption:\n%s", tail(r.stderr, 60))
			}
			if !strings.Contains(r.stderr, "second round: vpc-cni now runs with its own role") {
				t.Errorf("vpc-cni's move to its own role did not finish in this deploy:\n%s", tail(r.stderr, 30))
			}
			if slices.Contains(d.state(t).managed(), "aws_iam_role_policy_attachment.eks_cni_policy") {
				t.Error("the node role still holds AmazonEKS_CNI_Policy after the second round")
			}
			c, err := eksAPI(d.endpoint).DescribeCluster(testContext(t), &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(c.Cluster.Arn) != clusterARN || aws.ToString(c.Cluster.Version) != "1.32" {
				t.Errorf("cluster %s on %s, want the original %s on 1.32", aws.ToString(c.Cluster.Arn), aws.ToString(c.Cluster.Version), clusterARN)
			}
			if up := c.Cluster.UpgradePolicy; up == nil || up.SupportType != "EXTENDED" {
				t.Errorf("the cluster's upgrade policy is %+v, want the EXTENDED it had (EKS refuses STANDARD on 1.32)", up)
			}
			for _, want := range []string{"note: kept upgrade policy EXTENDED: Kubernetes 1.32 is past its end of standard support on 2026-12-01",
				"`tapstack upgrade --to 1.34` sets STANDARD", "note: estimate: EKS control plane (extended support) on Kubernetes 1.32, $0.6/h"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("deploy does not say %q:\n%s", want, tail(r.stderr, 40))
				}
			}
			if c.Cluster.EncryptionConfig == nil || c.Cluster.AccessConfig == nil || c.Cluster.AccessConfig.AuthenticationMode != "API_AND_CONFIG_MAP" {
				t.Errorf("the existing cluster did not get encryption and access entries: %+v %+v", c.Cluster.EncryptionConfig, c.Cluster.AccessConfig)
			}
		}},
		{"6_second_plan_is_clean", func(t *testing.T) {
			d.run(t, wc, 0, "plan", "--config", keep, "--detailed-exitcode")
		}},
		{"7_upgrade_sets_standard_at_1_34", func(t *testing.T) {
			r := d.run(t, wc, 0, "upgrade", "--config", keep, "--to", "1.36")
			if !strings.Contains(r.stdout, "Kubernetes 1.32 -> 1.36 in 4 step(s)") {
				t.Errorf("upgrade output:\n%s", r.stdout)
			}
			// Each step's plan summary names what it changes in place: the policy moves with the 1.34 step, the second.
			var changes []string
			for _, line := range strings.Split(r.stderr, "\n") {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, "aws_eks_cluster.eks_cluster (") {
					changes = append(changes, l)
				}
			}
			want := []string{"aws_eks_cluster.eks_cluster (version)", "aws_eks_cluster.eks_cluster (upgrade_policy, version)",
				"aws_eks_cluster.eks_cluster (version)", "aws_eks_cluster.eks_cluster (version)"}
			if !slices.Equal(changes, want) {
				t.Errorf("the cluster's changes, step by step: %q, want %q", changes, want)
			}
			d.wantVersions(t, "1.36")
			c, err := eksAPI(d.endpoint).DescribeCluster(testContext(t), &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
			if err != nil {
				t.Fatal(err)
			}
			if up := c.Cluster.UpgradePolicy; up == nil || up.SupportType != "STANDARD" {
				t.Errorf("after the upgrade the policy is %+v, want STANDARD", up)
			}
		}},
		{"8_plan_after_the_upgrade_is_clean", func(t *testing.T) {
			d.run(t, wc, 0, "plan", "--config", keep, "--detailed-exitcode")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %s failed; the later steps depend on it", s.name)
		}
	}
}

// deployOriginal applies the original's synthesized stack (harness.OriginalStack), with
// plain Terraform: its backend pointed at the test bucket and its cluster on 1.32. Then, as EKS does for every
// cluster with logging on, the real /aws/eks/<cluster>/cluster group appears outside the state. It returns the
// cluster's ARN.
func deployOriginal(t *testing.T, d *deployStack, cliConfig string) string {
	raw, err := os.ReadFile(harness.OriginalStack(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	s3 := doc["terraform"].(map[string]any)["backend"].(map[string]any)["s3"].(map[string]any)
	s3["bucket"] = d.bucket
	if s3["key"] != d.stateKey() {
		t.Fatalf("the fixture's state key %v is not tapstack's %s", s3["key"], d.stateKey())
	}
	cluster := doc["resource"].(map[string]any)["aws_eks_cluster"].(map[string]any)["eks_cluster"].(map[string]any)
	if cluster["version"] != "1.29" {
		t.Fatalf("the fixture's cluster is on %v, expected the original's 1.29", cluster["version"])
	}
	cluster["version"] = "1.32"
	dir := t.TempDir()
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "cdk.tf.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	tf := plainTerraform(t, dir, d.endpoint, cliConfig, "original: ")
	ctx := testContext(t)
	if err := tf.Init(ctx, tfexec.BackendConfig("use_path_style=true")); err != nil {
		t.Fatalf("terraform init of the original: %v", err)
	}
	if err := tf.Apply(ctx); err != nil {
		t.Fatalf("terraform apply of the original: %v", err)
	}
	if n := len(d.state(t).managed()); n != 21 {
		t.Fatalf("the original's state holds %d resources, want its 21", n)
	}
	if _, err := logsAPI(d.endpoint).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String("/aws/eks/" + d.cluster() + "/cluster")}); err != nil {
		t.Fatal(err)
	}
	c, err := eksAPI(d.endpoint).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(c.Cluster.Arn)
}

// takeoverOriginalPlan: profile original plans no change at all, resources and outputs alike (exit 0 with
// --detailed-exitcode), and says it keeps the version the cluster runs.
func takeoverOriginalPlan(t *testing.T, d *deployStack, wc string) {
	planFile := filepath.Join(t.TempDir(), "plan.json")
	r := d.run(t, wc, 0, "plan", "--profile", "original", "--detailed-exitcode", "--json-out", planFile)
	if !strings.Contains(r.stderr, "note: kept Kubernetes 1.32, which the cluster runs") {
		t.Errorf("no note on the kept version:\n%s", tail(r.stderr, 20))
	}
	p := readPlan(t, planFile)
	kept := 0
	for _, rc := range p.ResourceChanges {
		if !rc.Change.Actions.NoOp() {
			t.Errorf("%s: %v, want no change", rc.Address, rc.Change.Actions)
		}
		kept++
	}
	if kept != 21 {
		t.Errorf("%d resources in the plan, want the original's 21", kept)
	}
	for name, oc := range p.OutputChanges {
		if !oc.Actions.NoOp() {
			t.Errorf("output %s: %v, want no change", name, oc.Actions)
		}
	}
	if !strings.Contains(r.stdout, "Plan summary: 21 kept, 0 changed in place, 0 adopted, 0 moved, 0 created, 0 replaced, 0 deleted, 0 forgotten") {
		t.Errorf("summary:\n%s", tail(r.stdout, 30))
	}
}

func readPlan(t *testing.T, file string) *tfjson.Plan {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var p tfjson.Plan
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// takeoverDefaultPlan: with the default profile nothing the environment cannot lose is replaced or destroyed,
// the cluster stays on 1.32 with its upgrade policy, the real log group is imported, and what would be replaced is named with the
// attribute that forces it and refused by the guard.
func takeoverDefaultPlan(t *testing.T, d *deployStack, wc string) {
	planFile := filepath.Join(t.TempDir(), "plan.json")
	r := d.run(t, wc, 0, "plan", "--profile", "default", "--adopt-existing", "--json-out", planFile)
	p := readPlan(t, planFile)
	mustKeep := []string{"aws_eks_cluster.eks_cluster", "aws_vpc.vpc", "aws_subnet.public_subnet_1", "aws_subnet.public_subnet_2",
		"aws_iam_openid_connect_provider.eks_oidc_provider", "aws_iam_role.eks_cluster_role", "aws_iam_role.eks_node_role"}
	var replaced []string
	for _, rc := range p.ResourceChanges {
		a := rc.Change.Actions
		if slices.Contains(mustKeep, rc.Address) && (a.Delete() || a.Replace()) {
			t.Errorf("%s would be %v", rc.Address, a)
		}
		if a.Replace() {
			replaced = append(replaced, rc.Address)
			if len(rc.Change.ReplacePaths) == 0 {
				t.Errorf("%s is replaced without an attribute that forces it", rc.Address)
			}
		}
		switch rc.Address {
		case "aws_eks_cluster.eks_cluster":
			after := rc.Change.After.(map[string]any)
			if v := after["version"]; v != "1.32" {
				t.Errorf("the cluster is planned on %v, want the running 1.32", v)
			}
			if up, _ := after["upgrade_policy"].([]any); len(up) != 1 || up[0].(map[string]any)["support_type"] != "EXTENDED" {
				t.Errorf("the cluster is planned with upgrade policy %v, want its EXTENDED (EKS refuses STANDARD on 1.32)", after["upgrade_policy"])
			}
		case "aws_cloudwatch_log_group.eks_cluster_log_group":
			if rc.Change.Importing == nil || rc.Change.Importing.ID != "/aws/eks/eks-cluster-v1-dev/cluster" {
				t.Errorf("the real log group is not imported: %+v", rc.Change)
			}
		case "aws_cloudwatch_log_group.eks_log_group":
			if !a.Forget() {
				t.Errorf("the original's log group is %v, want forget", a)
			}
		}
	}
	if len(replaced) == 0 {
		t.Fatal("the default profile's launch templates and spot types replace the original's node groups; the plan replaces nothing")
	}
	for _, addr := range replaced {
		if !strings.Contains(r.stdout, "    "+addr+" (forced by ") {
			t.Errorf("the summary does not list %s with what forces it:\n%s", addr, tail(r.stdout, 40))
		}
	}
	if !strings.Contains(r.stderr, "deploy would refuse this plan") {
		t.Errorf("no guard warning:\n%s", tail(r.stderr, 30))
	}
	t.Logf("the default profile would replace %v", replaced)
}
