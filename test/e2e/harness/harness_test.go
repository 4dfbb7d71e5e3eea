package harness_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

const (
	stateBucket = "tapstack-test-state"
	stateKey    = "TapStackdev/dev/terraform.tfstate"
)

// quickDelay is how long a change takes in the front's own tests: above zero, shorter than a product test's.
const quickDelay = 300 * time.Millisecond

// startFront starts a front before moto's URL with quickDelay.
func startFront(t *testing.T, motoURL string) *harness.Front {
	t.Helper()
	f := harness.StartFront(t, motoURL)
	f.SetDelay(quickDelay)
	return f
}

// pause waits until the changes the front began so far have completed.
func pause(f *harness.Front) {
	time.Sleep(f.Delay() + 100*time.Millisecond) // clock: lets the front's changes complete
}

// startEKS starts moto and the front for one test: the front, an EKS client to it and a context of a minute.
func startEKS(t *testing.T) (*harness.Front, *eks.Client, context.Context) {
	t.Helper()
	front := startFront(t, harness.StartMoto(t).URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: CI runs many emulators on two cores
	t.Cleanup(cancel)
	return front, eksClient(front.URL), ctx
}

// testCredentials are the static credentials every test client signs with (moto checks no signature).
var testCredentials = credentials.NewStaticCredentialsProvider("test", "test", "")

func eksClient(endpoint string) *eks.Client {
	return eks.New(eks.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint), Credentials: testCredentials})
}

// newKey creates a symmetric KMS key in moto, with KMS's default key policy, and returns its ARN.
func newKey(t *testing.T, endpoint string) string {
	t.Helper()
	k := kms.New(kms.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint), Credentials: testCredentials})
	return createKey(t, context.Background(), k, "")
}

func iamClient(endpoint string) *iam.Client {
	return iam.New(iam.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint), Credentials: testCredentials})
}

func ec2Client(endpoint string) *ec2.Client {
	return ec2.New(ec2.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint), Credentials: testCredentials})
}

func elbv2Client(endpoint string) *elbv2.Client {
	return elbv2.New(elbv2.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint), Credentials: testCredentials})
}

func kmsClient(endpoint string) *kms.Client {
	return kms.New(kms.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint), Credentials: testCredentials})
}

func logsClient(endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint),
		Credentials: testCredentials})
}

// originalStack returns the original's dev stack, pointed at the test bucket and moved to Kubernetes 1.32.
func originalStack(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(harness.OriginalStack(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	s3 := dig(t, doc, "terraform", "backend", "s3")
	s3["bucket"] = stateBucket
	if s3["key"] != stateKey {
		t.Fatalf("fixture: backend key is %v, want %s", s3["key"], stateKey)
	}
	cluster := dig(t, doc, "resource", "aws_eks_cluster", "eks_cluster")
	if cluster["version"] != "1.29" {
		t.Fatalf("fixture: cluster version is %v, want 1.29", cluster["version"])
	}
	// hashicorp/aws 5.100 sends ComputeConfig on create, which EKS refuses below 1.29; the upstream scenario
	// moves to 1.32, the oldest version EKS still creates on the front's day.
	cluster["version"] = "1.32"
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dig(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			t.Fatalf("fixture: no object at %s", strings.Join(path, "."))
		}
		m = next
	}
	return m
}

// newTerraform returns terraform-exec for dir, talking to endpoint, with providers from the local mirror.
func newTerraform(t *testing.T, dir, endpoint string) *tfexec.Terraform {
	t.Helper()
	tf, err := tfexec.NewTerraform(dir, harness.TerraformBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range harness.CommandEnv(endpoint, harness.TerraformCLIConfig(t)) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range tfexec.ProhibitedEnv(env) {
		delete(env, k)
	}
	if err := tf.SetEnv(env); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("TAPSTACK_E2E_TF_LOG_DIR"); dir != "" { // Terraform's debug log, one file per test
		_ = tf.SetLog("DEBUG")
		_ = tf.SetLogPath(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".log"))
	}
	tf.SetStdout(&harness.LogWriter{T: t, Prefix: "terraform: "})
	tf.SetStderr(&harness.LogWriter{T: t, Prefix: "terraform (stderr): "})
	return tf
}

// TestOriginalStackAgainstMoto deploys the original's stack through the front with the real Terraform and the real
// hashicorp/aws provider: init with the S3 backend, apply, a clean re-plan, destroy.
//
// It takes 30 s to 1.5 min: hashicorp/aws waits a random 0-60 s before it deletes an EKS cluster.
func TestOriginalStackAgainstMoto(t *testing.T) {
	t.Parallel()
	harness.TerraformBinary(t)
	start := time.Now() // clock: measures a duration for the log
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	harness.CreateBucket(t, front.URL, stateBucket, harness.Region)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf.json"), originalStack(t), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := newTerraform(t, dir, front.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	defer func() {
		if t.Failed() {
			t.Logf("moto's log:\n%s", moto.Log())
		}
	}()

	if err := tf.Init(ctx, tfexec.BackendConfig("use_path_style=true"), tfexec.Upgrade(false)); err != nil {
		t.Fatalf("terraform init: %v", err)
	}
	if err := tf.Apply(ctx); err != nil {
		t.Fatalf("terraform apply: %v", err)
	}
	t.Logf("applied after %s", time.Since(start).Round(time.Second))

	// The add-on exists, as the stack asked for it.
	out, err := eksClient(front.URL).DescribeAddon(ctx, &eks.DescribeAddonInput{
		ClusterName: aws.String("eks-cluster-v1-dev"), AddonName: aws.String("vpc-cni"),
	})
	if err != nil {
		t.Fatalf("describe the vpc-cni add-on: %v", err)
	}
	if a := out.Addon; a.Status != ekstypes.AddonStatusActive || aws.ToString(a.AddonVersion) != "v1.18.1-eksbuild.3" ||
		aws.ToString(a.ConfigurationValues) != `{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}` ||
		a.Tags["ManagedBy"] != "CDKTF" {
		t.Errorf("vpc-cni add-on = status %s, version %s, configuration %s, tags %v",
			a.Status, aws.ToString(a.AddonVersion), aws.ToString(a.ConfigurationValues), a.Tags)
	}

	// The state landed in the bucket, add-on included.
	var state struct {
		Resources []struct{ Type, Name string } `json:"resources"`
	}
	if err := json.Unmarshal(harness.StateObject(t, front.URL, stateBucket, stateKey), &state); err != nil {
		t.Fatalf("state object: %v", err)
	}
	types := map[string]bool{}
	for _, r := range state.Resources {
		types[r.Type+"."+r.Name] = true
	}
	for _, want := range []string{"aws_eks_cluster.eks_cluster", "aws_eks_addon.vpc_cni_addon",
		"aws_eks_node_group.spot_node_group", "aws_iam_openid_connect_provider.eks_oidc_provider"} {
		if !types[want] {
			t.Errorf("state in s3://%s/%s has no %s (has %v)", stateBucket, stateKey, want, types)
		}
	}

	// The outputs: the OIDC issuer is the cluster's own, and the IAM provider is registered for it.
	outputs, err := tf.Output(ctx)
	if err != nil {
		t.Fatalf("terraform output: %v", err)
	}
	var issuer, providerARN string
	_ = json.Unmarshal(outputs["oidc_issuer_url"].Value, &issuer)
	_ = json.Unmarshal(outputs["oidc_provider_arn"].Value, &providerARN)
	cl, err := eksClient(front.URL).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("eks-cluster-v1-dev")})
	if err != nil {
		t.Fatalf("describe cluster: %v", err)
	}
	if want := harness.IssuerFor(aws.ToString(cl.Cluster.Arn)); issuer != want {
		t.Errorf("oidc_issuer_url = %q, want %q", issuer, want)
	}
	if !strings.HasSuffix(providerARN, ":oidc-provider/"+strings.TrimPrefix(issuer, "https://")) {
		t.Errorf("oidc_provider_arn = %q does not match the issuer %q", providerARN, issuer)
	}

	changes, err := tf.Plan(ctx)
	if err != nil {
		t.Fatalf("terraform plan: %v", err)
	}
	if changes {
		t.Fatalf("terraform plan after apply shows changes (exit code 2); want none")
	}

	if err := tf.Destroy(ctx); err != nil {
		t.Fatalf("terraform destroy: %v", err)
	}
	_, err = eksClient(front.URL).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("eks-cluster-v1-dev")})
	var rnf *ekstypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("after destroy, DescribeCluster: %v, want ResourceNotFoundException", err)
	}
	t.Logf("init, apply, plan and destroy took %s", time.Since(start).Round(time.Second))
}

// updatesStack exercises what the project's stacks use beyond the original: the zone filter, an OIDC provider
// without thumbprints, access_config, upgrade_policy, a launch template with default tags, node group
// update_config and node_repair_config, and add-ons without a version. Its variables change in the second apply.
const updatesStack = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
variable "team" { default = "a" }
variable "desired" { default = 2 }
variable "warm" { default = "1" }
variable "k8s" { default = "1.34" }
variable "public" { default = true }
variable "logs" {
  type    = list(string)
  default = ["api", "audit"]
}
provider "aws" {
  region = "us-east-1"
  default_tags { tags = { Team = var.team } }
}
data "aws_availability_zones" "zones" {
  state = "available"
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
  exclude_zone_ids = ["use1-az3"]
}
resource "aws_vpc" "v" { cidr_block = "10.0.0.0/16" }
resource "aws_subnet" "s" {
  count                   = 2
  vpc_id                  = aws_vpc.v.id
  cidr_block              = "10.0.${count.index + 1}.0/24"
  availability_zone       = data.aws_availability_zones.zones.names[count.index]
  map_public_ip_on_launch = true
}
resource "aws_iam_role" "cluster" {
  name = "updates-cluster"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow",
    Principal = { Service = "eks.amazonaws.com" }, Action = ["sts:AssumeRole", "sts:TagSession"] }] })
}
resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}
resource "aws_iam_role" "node" {
  name = "updates-node"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow",
    Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }] })
}
resource "aws_iam_role_policy_attachment" "node" {
  for_each   = toset(["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy"])
  role       = aws_iam_role.node.name
  policy_arn = "arn:aws:iam::aws:policy/${each.key}"
}
resource "aws_eks_cluster" "k" {
  name                      = "updates"
  version                   = var.k8s
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = var.logs
  upgrade_policy { support_type = "STANDARD" }
  access_config {
    authentication_mode                         = "API_AND_CONFIG_MAP"
    bootstrap_cluster_creator_admin_permissions = true
  }
  vpc_config {
    subnet_ids              = aws_subnet.s[*].id
    endpoint_private_access = true
    endpoint_public_access  = var.public
  }
  depends_on = [aws_iam_role_policy_attachment.cluster]
}
resource "aws_iam_openid_connect_provider" "o" {
  url            = aws_eks_cluster.k.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]
}
resource "aws_eks_addon" "cni" {
  cluster_name                = aws_eks_cluster.k.name
  addon_name                  = "vpc-cni"
  configuration_values        = jsonencode({ env = { ENABLE_PREFIX_DELEGATION = "true", WARM_PREFIX_TARGET = var.warm } })
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
}
resource "aws_eks_addon" "proxy" {
  cluster_name = aws_eks_cluster.k.name
  addon_name   = "kube-proxy"
}
resource "aws_launch_template" "lt" {
  name                   = "updates-lt"
  update_default_version = true
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}
resource "aws_eks_node_group" "g" {
  cluster_name    = aws_eks_cluster.k.name
  node_group_name = "updates-ng"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.s[*].id
  instance_types  = ["t3.medium"]
  launch_template {
    id      = aws_launch_template.lt.id
    version = aws_launch_template.lt.latest_version
  }
  scaling_config {
    desired_size = var.desired
    max_size     = 5
    min_size     = 1
  }
  update_config { max_unavailable_percentage = 33 }
  node_repair_config { enabled = true }
  depends_on = [aws_eks_addon.cni, aws_iam_role_policy_attachment.node]
}
output "zone_names" { value = data.aws_availability_zones.zones.names }
output "zone_ids" { value = data.aws_availability_zones.zones.zone_ids }
output "proxy_version" { value = aws_eks_addon.proxy.addon_version }
output "thumbprints" { value = aws_iam_openid_connect_provider.o.thumbprint_list }
`

// TestStackUpdatesThroughFront applies a stack with what the project's stacks use, re-plans it clean, changes
// tags, sizes, add-on configuration, logging, endpoint access and the Kubernetes version in one apply, and re-plans
// clean again. It does not destroy (TestOriginalStackAgainstMoto does), which spares the provider's random wait.
func TestStackUpdatesThroughFront(t *testing.T) {
	t.Parallel()
	harness.TerraformBinary(t)
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(updatesStack), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := newTerraform(t, dir, front.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	defer func() {
		if t.Failed() {
			t.Logf("moto's log:\n%s", moto.Log())
		}
	}()
	if err := tf.Init(ctx); err != nil {
		t.Fatalf("terraform init: %v", err)
	}
	if err := tf.Apply(ctx); err != nil {
		t.Fatalf("terraform apply: %v", err)
	}

	outputs, err := tf.Output(ctx)
	if err != nil {
		t.Fatalf("terraform output: %v", err)
	}
	var names, ids, thumbprints []string
	var proxyVersion string
	_ = json.Unmarshal(outputs["zone_names"].Value, &names)
	_ = json.Unmarshal(outputs["zone_ids"].Value, &ids)
	_ = json.Unmarshal(outputs["thumbprints"].Value, &thumbprints)
	_ = json.Unmarshal(outputs["proxy_version"].Value, &proxyVersion)
	// moto's us-east-1: a-f, us-east-1e being use1-az3, all opt-in-not-required.
	if strings.Join(names, ",") != "us-east-1a,us-east-1b,us-east-1c,us-east-1d,us-east-1f" ||
		strings.Contains(strings.Join(ids, ","), "use1-az3") {
		t.Errorf("zones = %v %v, want us-east-1a-d and f, without use1-az3", names, ids)
	}
	if len(thumbprints) != 0 {
		t.Errorf("OIDC provider thumbprints = %v, want none (moto accepts a provider without)", thumbprints)
	}
	if proxyVersion != "v1.34.0-eksbuild.1" {
		t.Errorf("kube-proxy without a version = %s, want the fixture's default for 1.34", proxyVersion)
	}

	if changes, err := tf.Plan(ctx); err != nil || changes {
		t.Fatalf("plan after apply: changes %v, error %v; want none", changes, err)
	}
	vars := []string{"team=b", "desired=3", "warm=2", `logs=["api"]`, "k8s=1.35", "public=false"}
	var applyOpts []tfexec.ApplyOption
	var planOpts []tfexec.PlanOption
	for _, v := range vars {
		applyOpts = append(applyOpts, tfexec.Var(v))
		planOpts = append(planOpts, tfexec.Var(v))
	}
	if err := tf.Apply(ctx, applyOpts...); err != nil {
		t.Fatalf("terraform apply with %v: %v", vars, err)
	}
	if changes, err := tf.Plan(ctx, planOpts...); err != nil || changes {
		t.Fatalf("plan after the updates: changes %v, error %v; want none", changes, err)
	}

	c := eksClient(front.URL)
	cl, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("updates")})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(cl.Cluster.Version); v != "1.35" || cl.Cluster.ResourcesVpcConfig.EndpointPublicAccess ||
		!cl.Cluster.ResourcesVpcConfig.EndpointPrivateAccess || cl.Cluster.Tags["Team"] != "b" {
		t.Errorf("cluster after the updates: version %s, vpc %+v, tags %v", v, cl.Cluster.ResourcesVpcConfig, cl.Cluster.Tags)
	}
	ng, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("updates"), NodegroupName: aws.String("updates-ng")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(ng.Nodegroup.ScalingConfig.DesiredSize) != 3 || ng.Nodegroup.Tags["Team"] != "b" || ng.Nodegroup.RemoteAccess != nil {
		t.Errorf("node group after the updates: scaling %+v, tags %v, remote access %+v",
			ng.Nodegroup.ScalingConfig, ng.Nodegroup.Tags, ng.Nodegroup.RemoteAccess)
	}
	providers, err := iamClient(front.URL).ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(providers.OpenIDConnectProviderList) != 1 {
		t.Errorf("OIDC providers: %v, %v; want one", providers, err)
	}
}

// TestTerraformCLIConfig: a TF_CLI_CONFIG_FILE naming a missing file is ignored, and the script's configuration
// points at a filesystem mirror.
func TestTerraformCLIConfig(t *testing.T) {
	t.Setenv("TF_CLI_CONFIG_FILE", filepath.Join(t.TempDir(), "missing.tfrc"))
	t.Setenv("TMPDIR", t.TempDir())
	p := harness.TerraformCLIConfig(t)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"filesystem_mirror", `include = ["registry.terraform.io/*/*"]`, `exclude = ["registry.terraform.io/*/*"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q:\n%s", p, want, b)
		}
	}
	t.Setenv("TF_CLI_CONFIG_FILE", p)
	if got := harness.TerraformCLIConfig(t); got != p {
		t.Errorf("with TF_CLI_CONFIG_FILE=%s (a file), TerraformCLIConfig = %s", p, got)
	}
}
