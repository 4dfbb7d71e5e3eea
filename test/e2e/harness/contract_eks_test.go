package harness_test

import (
	"context"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

// contractEKS are the EKS behaviours: versions and support (V1-V5, C1), cluster updates (U1-U6), access entries
// (A1-A2), add-ons and nodes (N1-N6).
var contractEKS = []contractCase{
	{"V1_CreateClusterOnlyOnOfferedVersions", contractV1},
	{"V2_UpgradeOneMinorToOfferedVersion", contractV2},
	{"V3_NodeGroupsOnClusterVersionBeforeUpgrade", contractV3},
	{"V4_StandardSupportOnlyInStandardSupport", contractV4},
	{"V5_CalendarIsTheFrontsOwnOnTheTestsDay", contractV5},
	{"C1_EachClusterItsOwnIssuer", contractC1},
	{"U1_OneUpdateTypePerCall", contractU1},
	{"U2_UpdatesTakeTimeAndExcludeEachOther", contractU2},
	{"U3_AuthenticationModeOnlyForwardOneStep", contractU3},
	{"U4_SecretsEncryptionIsForever", contractU4},
	{"U5_EncryptionKeyMustBeUsable", contractU5},
	{"U6_ReadinessIssuesBlockUpgradeUnlessForced", contractU6},
	{"A1_CreatorEntryBootstrapped", contractA1},
	{"A2_NodeRoleEntriesCreatedByEKS", contractA2},
	{"N1_DeploymentAddonsDegradedWithoutNodes", contractN1},
	{"N2_VPCCNIRoleMustBeUsable", contractN2},
	{"N3_NodesJoinOnlyWithNodeRolePolicies", contractN3},
	{"N4_NodeGroupsAndAddonsTakeTime", contractN4},
	{"N5_AddonVersionForClusterVersion", contractN5},
	{"N6_PodIdentityOnlyWhereAddonSupportsIt", contractN6},
	{"N7_PodIdentityRoleMustTrustEKSPodIdentity", contractN7},
	{"N8_AddonAssociationsInTheAddonsNamespace", contractN8},
	{"N9_CloudWatchPodIdentityFrom310", contractN9},
}

// contractEnv is moto and the front for one subtest, with clients.
type contractEnv struct {
	front *harness.Front
	eks   *eks.Client
	iam   *iam.Client
	ctx   context.Context
}

func newContractEnv(t *testing.T) *contractEnv {
	t.Helper()
	t.Parallel()
	front, c, ctx := startEKS(t)
	return &contractEnv{front: front, eks: c, iam: iamClient(front.URL), ctx: ctx}
}

// cluster creates a cluster and waits until it is ACTIVE.
func (e *contractEnv) cluster(t *testing.T, name, version string, mod func(*eks.CreateClusterInput)) *ekstypes.Cluster {
	t.Helper()
	c := createCluster(t, e.eks, name, version, mod)
	e.waitCluster(t, name, ekstypes.ClusterStatusActive)
	return c
}

// waitCluster polls DescribeCluster until the cluster has status.
func (e *contractEnv) waitCluster(t *testing.T, name string, status ekstypes.ClusterStatus) *ekstypes.Cluster {
	t.Helper()
	var last *ekstypes.Cluster
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) { // clock: polling
		out, err := e.eks.DescribeCluster(e.ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("describe cluster %s: %v", name, err)
		}
		if last = out.Cluster; last.Status == status {
			return last
		}
	}
	t.Fatalf("cluster %s is %s, want %s", name, last.Status, status)
	return nil
}

// update waits for an update and checks it succeeded.
func (e *contractEnv) update(t *testing.T, what string, in *eks.DescribeUpdateInput) {
	t.Helper()
	if u := waitUpdate(t, e.eks, in); u.Status != ekstypes.UpdateStatusSuccessful {
		t.Fatalf("%s: update %+v, want Successful", what, u)
	}
}

// role creates an IAM role trusting service (or the trust document given) with AWS managed policies by name.
func (e *contractEnv) role(t *testing.T, name, trust string, policies ...string) string {
	t.Helper()
	if !strings.HasPrefix(trust, "{") {
		trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + trust +
			`"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	}
	out, err := e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	for _, p := range policies {
		if _, err := e.iam.AttachRolePolicy(e.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name),
			PolicyArn: aws.String("arn:aws:iam::aws:policy/" + p)}); err != nil {
			t.Fatalf("attach %s to %s: %v", p, name, err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

// nodeRole is a role nodes join with (EKS user guide, create-node-role).
func (e *contractEnv) nodeRole(t *testing.T, name string) string {
	return e.role(t, name, "ec2.amazonaws.com", "AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy")
}

// nodegroup creates a node group with one node and waits for status.
func (e *contractEnv) nodegroup(t *testing.T, cluster, name, role string, status ekstypes.NodegroupStatus) *ekstypes.Nodegroup {
	t.Helper()
	out, err := e.eks.CreateNodegroup(e.ctx, &eks.CreateNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name),
		NodeRole: aws.String(role), Subnets: []string{"subnet-1"},
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(2), DesiredSize: aws.Int32(1)}})
	if err != nil {
		t.Fatalf("create node group %s: %v", name, err)
	}
	if out.Nodegroup.Status != ekstypes.NodegroupStatusCreating {
		t.Errorf("node group %s created %s, want CREATING", name, out.Nodegroup.Status)
	}
	return e.waitNodegroup(t, cluster, name, status)
}

func (e *contractEnv) waitNodegroup(t *testing.T, cluster, name string, status ekstypes.NodegroupStatus) *ekstypes.Nodegroup {
	t.Helper()
	var last *ekstypes.Nodegroup
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) { // clock: polling
		out, err := e.eks.DescribeNodegroup(e.ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe node group %s: %v", name, err)
		}
		if last = out.Nodegroup; last.Status == status {
			return last
		}
		if last.Status != ekstypes.NodegroupStatusCreating && last.Status != ekstypes.NodegroupStatusUpdating {
			break
		}
	}
	t.Fatalf("node group %s is %s (health %+v), want %s", name, last.Status, last.Health, status)
	return nil
}

// addon creates an add-on and waits until it is no longer CREATING.
func (e *contractEnv) addon(t *testing.T, in *eks.CreateAddonInput) *ekstypes.Addon {
	t.Helper()
	out, err := e.eks.CreateAddon(e.ctx, in)
	if err != nil {
		t.Fatalf("create add-on %s: %v", aws.ToString(in.AddonName), err)
	}
	if out.Addon.Status != ekstypes.AddonStatusCreating {
		t.Errorf("add-on %s created %s, want CREATING", aws.ToString(in.AddonName), out.Addon.Status)
	}
	return e.settledAddon(t, aws.ToString(in.ClusterName), aws.ToString(in.AddonName))
}

func (e *contractEnv) settledAddon(t *testing.T, cluster, name string) *ekstypes.Addon {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) { // clock: polling
		out, err := e.eks.DescribeAddon(e.ctx, &eks.DescribeAddonInput{ClusterName: aws.String(cluster), AddonName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe add-on %s: %v", name, err)
		}
		if s := out.Addon.Status; (s != ekstypes.AddonStatusCreating && s != ekstypes.AddonStatusUpdating) || time.Now().After(deadline) { // clock: a polling deadline
			return out.Addon
		}
	}
}

func contractV1(t *testing.T) {
	e := newContractEnv(t)
	for _, v := range []string{"1.31", "1.29", "1.37"} { // past extended support on 2026-12-01, and not released
		_, err := e.eks.CreateCluster(e.ctx, &eks.CreateClusterInput{Name: aws.String("v" + v), Version: aws.String(v),
			RoleArn: aws.String(roleARN), ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-1"}}})
		wantAPIError(t, "create on "+v, err, "InvalidParameterException", "unsupported Kubernetes version "+v)
	}
	e.cluster(t, "oldest", "1.32", nil) // in extended support: still offered
	e.front.SetDay("2026-11-25")        // the day before 1.31's end of extended support
	e.cluster(t, "v131", "1.31", nil)
}

func contractV2(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.32", nil)
	_, err := e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.34")})
	wantAPIError(t, "two minor versions", err, "InvalidParameterException", "Unsupported Kubernetes minor version update from 1.32 to 1.34")
	// Long enough that a loaded machine still sees the update in progress.
	e.front.SetDelay(3 * time.Second)
	up, err := e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.33")})
	if err != nil {
		t.Fatalf("one minor version: %v", err)
	}
	// The version changes when the update completes, not before.
	if cl := e.waitCluster(t, "c", ekstypes.ClusterStatusUpdating); aws.ToString(cl.Version) != "1.32" {
		t.Errorf("during the update the cluster reports %s, want 1.32 still", aws.ToString(cl.Version))
	}
	e.update(t, "1.32 -> 1.33", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: up.Update.Id})
	if cl := e.waitCluster(t, "c", ekstypes.ClusterStatusActive); aws.ToString(cl.Version) != "1.33" {
		t.Errorf("after the update the cluster reports %s, want 1.33", aws.ToString(cl.Version))
	}
	// Not to a version EKS has not released on the day.
	e.front.SetDay("2026-05-01")
	e.cluster(t, "early", "1.35", nil)
	_, err = e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("early"), Version: aws.String("1.36")})
	wantAPIError(t, "a version released later", err, "InvalidParameterException", "unsupported Kubernetes version 1.36")
}

func contractV3(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.32", nil)
	e.nodegroup(t, "c", "ng", e.nodeRole(t, "node"), ekstypes.NodegroupStatusActive)
	up, err := e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.33")})
	if err != nil {
		t.Fatalf("node groups on the cluster's version: %v", err)
	}
	e.update(t, "1.32 -> 1.33", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: up.Update.Id})
	_, err = e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.34")})
	wantAPIError(t, "node group left on 1.32", err, "InvalidParameterException",
		"Nodegroups ng must be updated to match cluster version 1.33 before updating cluster version")
	un, err := e.eks.UpdateNodegroupVersion(e.ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng")})
	if err != nil {
		t.Fatal(err)
	}
	e.update(t, "node group to 1.33", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: un.Update.Id, NodegroupName: aws.String("ng")})
	if _, err := e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.34")}); err != nil {
		t.Errorf("once the node group follows: %v", err)
	}
}

func contractV4(t *testing.T) {
	e := newContractEnv(t)
	standard := &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportTypeStandard}
	e.cluster(t, "ext", "1.32", nil) // 1.32 is in extended support on 2026-12-01
	_, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("ext"), UpgradePolicy: standard})
	wantAPIError(t, "STANDARD on 1.32", err, "InvalidParameterException", "you cannot disable extended support once your cluster has entered it")
	up, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("ext"),
		UpgradePolicy: &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportTypeExtended}})
	if err != nil {
		t.Fatalf("EXTENDED on 1.32: %v", err)
	}
	e.update(t, "EXTENDED", &eks.DescribeUpdateInput{Name: aws.String("ext"), UpdateId: up.Update.Id})
	_, err = e.eks.CreateCluster(e.ctx, &eks.CreateClusterInput{Name: aws.String("new"), Version: aws.String("1.33"), RoleArn: aws.String(roleARN),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-1"}}, UpgradePolicy: standard})
	wantAPIError(t, "new 1.33 cluster with STANDARD", err, "InvalidParameterException", "you can only disable extended support for clusters on standard support")
	e.cluster(t, "std", "1.34", func(in *eks.CreateClusterInput) { in.UpgradePolicy = standard })
	// The same cluster the day 1.34 leaves standard support.
	e.front.SetDay("2026-12-02")
	e.cluster(t, "later", "1.34", nil)
	_, err = e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("later"), UpgradePolicy: standard})
	wantAPIError(t, "STANDARD on 1.34 on 2026-12-02", err, "InvalidParameterException", "extended support")
}

func contractV5(t *testing.T) {
	e := newContractEnv(t)
	status := func(day, v string) ekstypes.VersionStatus {
		e.front.SetDay(day)
		out, err := e.eks.DescribeClusterVersions(e.ctx, &eks.DescribeClusterVersionsInput{ClusterVersions: []string{v}, IncludeAll: aws.Bool(true)})
		if err != nil || len(out.ClusterVersions) != 1 {
			t.Fatalf("describe %s on %s: %+v, %v", v, day, out, err)
		}
		return out.ClusterVersions[0].VersionStatus
	}
	for _, c := range []struct {
		day, version string
		want         ekstypes.VersionStatus
	}{
		{"2026-12-01", "1.34", ekstypes.VersionStatusStandardSupport},
		{"2026-12-02", "1.34", ekstypes.VersionStatusExtendedSupport},
		{"2026-12-01", "1.31", ekstypes.VersionStatusUnsupported},
		{"2026-11-25", "1.31", ekstypes.VersionStatusExtendedSupport},
	} {
		if got := status(c.day, c.version); got != c.want {
			t.Errorf("%s on %s: %s, want %s", c.version, c.day, got, c.want)
		}
	}
	// The calendar is the harness's own: no file of the front imports the product.
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, "github.com/tapstack/tapstack/") {
				t.Errorf("%s imports %s: the front must not read the product's code or data", f, p)
			}
		}
	}
	if _, err := os.Stat(filepath.Join("testdata", "describe-cluster-versions.json")); err != nil {
		t.Errorf("the front's calendar fixture: %v", err)
	}
}

func contractC1(t *testing.T) {
	e := newContractEnv(t)
	a, b := e.cluster(t, "a", "1.34", nil), e.cluster(t, "b", "1.34", nil)
	ia, ib := aws.ToString(a.Identity.Oidc.Issuer), aws.ToString(b.Identity.Oidc.Issuer)
	if ia == ib || !strings.HasPrefix(ia, "https://oidc.eks.us-east-1.amazonaws.com/id/") {
		t.Fatalf("issuers %s and %s, want two of EKS's shape", ia, ib)
	}
	// Two environments in one account each get their IAM OIDC provider.
	for _, issuer := range []string{ia, ib} {
		if _, err := e.iam.CreateOpenIDConnectProvider(e.ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer),
			ClientIDList: []string{"sts.amazonaws.com"}}); err != nil {
			t.Errorf("OIDC provider for %s: %v", issuer, err)
		}
	}
}

func contractU1(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	_, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("c"),
		Logging:       &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Enabled: aws.Bool(true), Types: []ekstypes.LogType{ekstypes.LogTypeApi}}}},
		UpgradePolicy: &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportTypeStandard}})
	wantAPIError(t, "logging and upgrade policy", err, "InvalidParameterException", "Only one type of update can be allowed.")
	if _, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("c"),
		Logging: &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Enabled: aws.Bool(true), Types: []ekstypes.LogType{ekstypes.LogTypeApi}}}}}); err != nil {
		t.Errorf("logging alone: %v", err)
	}
}

func contractU2(t *testing.T) {
	e := newContractEnv(t)
	e.front.SetDelay(harness.DefaultDelay) // as the product's tests see it
	start := time.Now()                    // clock: measures the update's duration
	e.cluster(t, "c", "1.34", nil)
	if took := time.Since(start); took < harness.DefaultDelay {
		t.Errorf("the cluster was ACTIVE after %s, before the %s a change takes", took, harness.DefaultDelay)
	}
	logging := &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Enabled: aws.Bool(true), Types: []ekstypes.LogType{ekstypes.LogTypeAudit}}}}
	up, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("c"), Logging: logging})
	if err != nil || up.Update.Status != ekstypes.UpdateStatusInProgress {
		t.Fatalf("logging update: %+v, %v", up, err)
	}
	e.waitCluster(t, "c", ekstypes.ClusterStatusUpdating)
	_, err = e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("c"),
		UpgradePolicy: &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportTypeExtended}})
	var inUse *ekstypes.ResourceInUseException
	if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "currently has update "+aws.ToString(up.Update.Id)+" in progress") {
		t.Errorf("a second update meanwhile: %v, want ResourceInUseException naming update %s", err, aws.ToString(up.Update.Id))
	}
	_, err = e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.35")})
	if !errors.As(err, &inUse) {
		t.Errorf("a version update meanwhile: %v, want ResourceInUseException", err)
	}
	e.update(t, "logging", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: up.Update.Id})
	e.waitCluster(t, "c", ekstypes.ClusterStatusActive)
	if _, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("c"),
		UpgradePolicy: &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportTypeExtended}}); err != nil {
		t.Errorf("the next update once the first completed: %v", err)
	}
}

func contractU3(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil) // CONFIG_MAP, EKS's default
	mode := func(m ekstypes.AuthenticationMode) error {
		up, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("c"),
			AccessConfig: &ekstypes.UpdateAccessConfigRequest{AuthenticationMode: m}})
		if err == nil {
			e.update(t, string(m), &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: up.Update.Id})
		}
		return err
	}
	wantAPIError(t, "CONFIG_MAP -> API in one step", mode(ekstypes.AuthenticationModeApi), "InvalidParameterException",
		"Unsupported authentication mode update from CONFIG_MAP to API")
	if err := mode(ekstypes.AuthenticationModeApiAndConfigMap); err != nil {
		t.Fatalf("CONFIG_MAP -> API_AND_CONFIG_MAP: %v", err)
	}
	wantAPIError(t, "back to CONFIG_MAP", mode(ekstypes.AuthenticationModeConfigMap), "InvalidParameterException",
		"Unsupported authentication mode update from API_AND_CONFIG_MAP to CONFIG_MAP")
	if err := mode(ekstypes.AuthenticationModeApi); err != nil {
		t.Fatalf("API_AND_CONFIG_MAP -> API: %v", err)
	}
	wantAPIError(t, "back from API", mode(ekstypes.AuthenticationModeApiAndConfigMap), "InvalidParameterException",
		"Unsupported authentication mode update from API to API_AND_CONFIG_MAP")
}

func secrets(key string) []ekstypes.EncryptionConfig {
	return []ekstypes.EncryptionConfig{{Resources: []string{"secrets"}, Provider: &ekstypes.Provider{KeyArn: aws.String(key)}}}
}

func contractU4(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	first, second := newKey(t, e.front.URL), newKey(t, e.front.URL)
	out, err := e.eks.AssociateEncryptionConfig(e.ctx, &eks.AssociateEncryptionConfigInput{ClusterName: aws.String("c"), EncryptionConfig: secrets(first)})
	if err != nil {
		t.Fatal(err)
	}
	e.update(t, "encryption", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: out.Update.Id})
	_, err = e.eks.AssociateEncryptionConfig(e.ctx, &eks.AssociateEncryptionConfigInput{ClusterName: aws.String("c"), EncryptionConfig: secrets(second)})
	wantAPIError(t, "another key", err, "InvalidParameterException", "Encryption is already enabled on the cluster")
	cl := e.waitCluster(t, "c", ekstypes.ClusterStatusActive)
	if len(cl.EncryptionConfig) != 1 || aws.ToString(cl.EncryptionConfig[0].Provider.KeyArn) != first {
		t.Errorf("encryption after the refusal: %+v, want the first key still", cl.EncryptionConfig)
	}
}

func contractU5(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	k := kms.New(kms.Options{Region: harness.Region, BaseEndpoint: aws.String(e.front.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	disabled := newKey(t, e.front.URL)
	if _, err := k.DisableKey(e.ctx, &kms.DisableKeyInput{KeyId: aws.String(disabled[strings.LastIndex(disabled, "/")+1:])}); err != nil {
		t.Fatal(err)
	}
	asym, err := k.CreateKey(e.ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, key, msg string }{
		{"a key that does not exist", "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000", "does not exist"},
		{"a key in another region", "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000001", "not in the cluster's region"},
		{"a disabled key", disabled, "not Enabled"},
		{"an asymmetric key", aws.ToString(asym.KeyMetadata.Arn), "symmetric encryption key"},
	} {
		_, err := e.eks.AssociateEncryptionConfig(e.ctx, &eks.AssociateEncryptionConfigInput{ClusterName: aws.String("c"), EncryptionConfig: secrets(c.key)})
		wantAPIError(t, c.what, err, "InvalidParameterException", c.msg)
	}
	if _, err := e.eks.AssociateEncryptionConfig(e.ctx, &eks.AssociateEncryptionConfigInput{ClusterName: aws.String("c"),
		EncryptionConfig: secrets(newKey(t, e.front.URL))}); err != nil {
		t.Errorf("a usable key: %v", err)
	}
	_, err = e.eks.CreateCluster(e.ctx, &eks.CreateClusterInput{Name: aws.String("d"), Version: aws.String("1.34"), RoleArn: aws.String(roleARN),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-1"}}, EncryptionConfig: secrets(disabled)})
	wantAPIError(t, "create with a disabled key", err, "InvalidParameterException", "not Enabled")
}

func contractU6(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	e.front.BlockUpgrades("c", "deprecated API usage")
	_, err := e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.35")})
	wantAPIError(t, "upgrade with a readiness issue", err, "InvalidStateException", "Upgrade readiness issues detected")
	up, err := e.eks.UpdateClusterVersion(e.ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.35"), Force: true})
	if err != nil {
		t.Fatalf("forced: %v", err)
	}
	e.update(t, "forced upgrade", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: up.Update.Id})
}

const creator = "arn:aws:iam::123456789012:user/moto" // moto's caller

func contractA1(t *testing.T) {
	e := newContractEnv(t)
	api := func(bootstrap bool) func(*eks.CreateClusterInput) {
		return func(in *eks.CreateClusterInput) {
			in.AccessConfig = &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApi,
				BootstrapClusterCreatorAdminPermissions: aws.Bool(bootstrap)}
		}
	}
	// The caller exists in IAM, as every real caller does (moto answers GetCallerIdentity for a user it lacks).
	if _, err := e.iam.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String("moto")}); err != nil {
		t.Fatal(err)
	}
	e.cluster(t, "boot", "1.34", api(true))
	l, err := e.eks.ListAccessEntries(e.ctx, &eks.ListAccessEntriesInput{ClusterName: aws.String("boot"), AssociatedPolicyArn: aws.String(clusterAdmin)})
	if err != nil || !slices.Equal(l.AccessEntries, []string{creator}) {
		t.Errorf("cluster admins: %+v, %v; want the creator %s", l, err, creator)
	}
	_, err = e.eks.CreateAccessEntry(e.ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("boot"), PrincipalArn: aws.String(creator)})
	wantAPIError(t, "an entry for the creator", err, "ResourceInUseException", "The specified access entry resource is already in use on this cluster.")

	e.cluster(t, "noboot", "1.34", api(false))
	if l, err := e.eks.ListAccessEntries(e.ctx, &eks.ListAccessEntriesInput{ClusterName: aws.String("noboot")}); err != nil || len(l.AccessEntries) != 0 {
		t.Errorf("entries without bootstrap: %+v, %v; want none", l, err)
	}
	if _, err := e.eks.CreateAccessEntry(e.ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("noboot"), PrincipalArn: aws.String(creator)}); err != nil {
		t.Errorf("an entry for the creator without bootstrap: %v", err)
	}
}

func contractA2(t *testing.T) {
	e := newContractEnv(t)
	node := e.nodeRole(t, "node")
	wantNodeEntry := func(cluster string) {
		t.Helper()
		d, err := e.eks.DescribeAccessEntry(e.ctx, &eks.DescribeAccessEntryInput{ClusterName: aws.String(cluster), PrincipalArn: aws.String(node)})
		if err != nil || aws.ToString(d.AccessEntry.Type) != "EC2_LINUX" || aws.ToString(d.AccessEntry.Username) != "system:node:{{EC2PrivateDNSName}}" {
			t.Errorf("%s: the node role's entry: %+v, %v; want EC2_LINUX", cluster, d, err)
		}
	}
	e.cluster(t, "api", "1.34", func(in *eks.CreateClusterInput) {
		in.AccessConfig = &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap,
			BootstrapClusterCreatorAdminPermissions: aws.Bool(false)}
	})
	e.nodegroup(t, "api", "ng", node, ekstypes.NodegroupStatusActive)
	wantNodeEntry("api")
	_, err := e.eks.CreateAccessEntry(e.ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(node), Type: aws.String("EC2_LINUX")})
	wantAPIError(t, "the node role's entry again", err, "ResourceInUseException", "already in use")

	// A cluster that moves to access entries gets the entries of its existing node groups.
	e.cluster(t, "cm", "1.34", nil)
	e.nodegroup(t, "cm", "ng", node, ekstypes.NodegroupStatusActive)
	up, err := e.eks.UpdateClusterConfig(e.ctx, &eks.UpdateClusterConfigInput{Name: aws.String("cm"),
		AccessConfig: &ekstypes.UpdateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap}})
	if err != nil {
		t.Fatal(err)
	}
	e.update(t, "to access entries", &eks.DescribeUpdateInput{Name: aws.String("cm"), UpdateId: up.Update.Id})
	wantNodeEntry("cm")
}

func contractN1(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	dns := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("coredns")})
	if dns.Status != ekstypes.AddonStatusDegraded || dns.Health == nil || len(dns.Health.Issues) != 1 ||
		dns.Health.Issues[0].Code != ekstypes.AddonIssueCodeInsufficientNumberOfReplicas {
		t.Errorf("coredns without nodes: %s %+v, want DEGRADED with InsufficientNumberOfReplicas", dns.Status, dns.Health)
	}
	if proxy := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("kube-proxy")}); proxy.Status != ekstypes.AddonStatusActive {
		t.Errorf("kube-proxy (a DaemonSet) without nodes: %s, want ACTIVE", proxy.Status)
	}
	// The platform add-ons: the EBS CSI controller, metrics-server and the CloudWatch operator are Deployments; the
	// node monitoring agent is a DaemonSet.
	for name, deployment := range map[string]bool{"aws-ebs-csi-driver": true, "metrics-server": true,
		"amazon-cloudwatch-observability": true, "eks-node-monitoring-agent": false} {
		a := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String(name)})
		if got := a.Status == ekstypes.AddonStatusDegraded; got != deployment {
			t.Errorf("%s without nodes: %s %+v; DEGRADED %v, want %v", name, a.Status, a.Health, got, deployment)
		}
	}
	e.nodegroup(t, "c", "ng", e.nodeRole(t, "node"), ekstypes.NodegroupStatusActive)
	for _, name := range []string{"coredns", "aws-ebs-csi-driver", "metrics-server", "amazon-cloudwatch-observability"} {
		if a := e.settledAddon(t, "c", name); a.Status != ekstypes.AddonStatusActive {
			t.Errorf("%s once a node is ready: %s %+v, want ACTIVE", name, a.Status, a.Health)
		}
	}
}

// irsaTrust is a trust policy for a service account of the cluster through its OIDC provider.
func irsaTrust(provider, issuer, sa string) string {
	host := strings.TrimPrefix(issuer, "https://")
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provider +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + host + `:sub":"` + sa +
		`","` + host + `:aud":"sts.amazonaws.com"}}}]}`
}

func contractN2(t *testing.T) {
	e := newContractEnv(t)
	cl := e.cluster(t, "c", "1.34", nil)
	issuer := aws.ToString(cl.Identity.Oidc.Issuer)
	p, err := e.iam.CreateOpenIDConnectProvider(e.ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	provider := aws.ToString(p.OpenIDConnectProviderArn)
	wrongSA := e.role(t, "wrong-sa", irsaTrust(provider, issuer, "system:serviceaccount:kube-system:other"), "AmazonEKS_CNI_Policy")
	noPolicy := e.role(t, "no-policy", irsaTrust(provider, issuer, "system:serviceaccount:kube-system:aws-node"))
	good := e.role(t, "good", irsaTrust(provider, issuer, "system:serviceaccount:kube-system:aws-node"), "AmazonEKS_CNI_Policy")
	for _, c := range []struct{ role, why string }{{wrongSA, "does not trust"}, {noPolicy, "lacks AmazonEKS_CNI_Policy"}} {
		e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni"), ServiceAccountRoleArn: aws.String(c.role)})
		a := e.settledAddon(t, "c", "vpc-cni")
		if a.Status != ekstypes.AddonStatusDegraded || len(a.Health.Issues) != 1 || !strings.Contains(aws.ToString(a.Health.Issues[0].Message), c.why) {
			t.Errorf("vpc-cni with %s: %s %+v, want DEGRADED because the role %s", c.role, a.Status, a.Health, c.why)
		}
		if _, err := e.eks.DeleteAddon(e.ctx, &eks.DeleteAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni")}); err != nil {
			t.Fatal(err)
		}
	}
	if a := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni"), ServiceAccountRoleArn: aws.String(good)}); a.Status != ekstypes.AddonStatusActive {
		t.Errorf("vpc-cni with a usable role: %s %+v", a.Status, a.Health)
	}
}

func contractN3(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	bare := e.role(t, "bare", "ec2.amazonaws.com")
	g := e.nodegroup(t, "c", "bare", bare, ekstypes.NodegroupStatusCreateFailed)
	if g.Health == nil || len(g.Health.Issues) != 1 || g.Health.Issues[0].Code != ekstypes.NodegroupIssueCodeNodeCreationFailure ||
		!strings.Contains(aws.ToString(g.Health.Issues[0].Message), "AmazonEKSWorkerNodePolicy") {
		t.Errorf("node group of a bare role: %+v, want NodeCreationFailure naming AmazonEKSWorkerNodePolicy", g.Health)
	}
	e.nodegroup(t, "c", "good", e.nodeRole(t, "node"), ekstypes.NodegroupStatusActive)
	// Without the CNI policy on the node role, nodes join only when vpc-cni has it through its own role.
	noCNI := e.role(t, "no-cni", "ec2.amazonaws.com", "AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
	e.nodegroup(t, "c", "no-cni", noCNI, ekstypes.NodegroupStatusCreateFailed)
	cl := e.waitCluster(t, "c", ekstypes.ClusterStatusActive)
	issuer := aws.ToString(cl.Identity.Oidc.Issuer)
	p, err := e.iam.CreateOpenIDConnectProvider(e.ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	cni := e.role(t, "cni", irsaTrust(aws.ToString(p.OpenIDConnectProviderArn), issuer, "system:serviceaccount:kube-system:aws-node"), "AmazonEKS_CNI_Policy")
	e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni"), ServiceAccountRoleArn: aws.String(cni)})
	e.nodegroup(t, "c", "irsa", noCNI, ekstypes.NodegroupStatusActive)
}

func contractN4(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	out, err := e.eks.CreateAddon(e.ctx, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("kube-proxy")})
	if err != nil || out.Addon.Status != ekstypes.AddonStatusCreating {
		t.Fatalf("create add-on: %+v, %v; want CREATING", out, err)
	}
	_, err = e.eks.UpdateAddon(e.ctx, &eks.UpdateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("kube-proxy"),
		ConfigurationValues: aws.String("{}")})
	wantAPIError(t, "update while CREATING", err, "ResourceInUseException", "Addon kube-proxy cannot be updated as it is currently in CREATING state")
	if a := e.settledAddon(t, "c", "kube-proxy"); a.Status != ekstypes.AddonStatusActive {
		t.Fatalf("add-on after creation: %s", a.Status)
	}
	up, err := e.eks.UpdateAddon(e.ctx, &eks.UpdateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("kube-proxy"), ConfigurationValues: aws.String("{}")})
	if err != nil {
		t.Fatalf("update once ACTIVE: %v", err)
	}
	e.update(t, "add-on", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: up.Update.Id, AddonName: aws.String("kube-proxy")})

	ng, err := e.eks.CreateNodegroup(e.ctx, &eks.CreateNodegroupInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		NodeRole: aws.String(e.nodeRole(t, "node")), Subnets: []string{"subnet-1"}})
	if err != nil || ng.Nodegroup.Status != ekstypes.NodegroupStatusCreating {
		t.Fatalf("create node group: %+v, %v; want CREATING", ng, err)
	}
	scale := &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(2)}
	_, err = e.eks.UpdateNodegroupConfig(e.ctx, &eks.UpdateNodegroupConfigInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"), ScalingConfig: scale})
	wantAPIError(t, "node group update while CREATING", err, "ResourceInUseException", "CREATING")
	e.waitNodegroup(t, "c", "ng", ekstypes.NodegroupStatusActive)
	un, err := e.eks.UpdateNodegroupConfig(e.ctx, &eks.UpdateNodegroupConfigInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"), ScalingConfig: scale})
	if err != nil {
		t.Fatalf("node group update once ACTIVE: %v", err)
	}
	e.waitNodegroup(t, "c", "ng", ekstypes.NodegroupStatusUpdating)
	e.update(t, "node group", &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: un.Update.Id, NodegroupName: aws.String("ng")})
	e.waitNodegroup(t, "c", "ng", ekstypes.NodegroupStatusActive)
}

func contractN5(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.32", nil)
	_, err := e.eks.CreateAddon(e.ctx, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("coredns"),
		AddonVersion: aws.String("v1.12.1-eksbuild.2")}) // offered for 1.33 to 1.36 only
	wantAPIError(t, "coredns for newer clusters", err, "InvalidParameterException", "Addon version specified is not supported")
	if a := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("coredns"),
		AddonVersion: aws.String("v1.11.4-eksbuild.2")}); aws.ToString(a.AddonVersion) != "v1.11.4-eksbuild.2" {
		t.Errorf("an offered version: %+v", a)
	}
}

func contractN6(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.32", nil)
	cfg, err := e.eks.DescribeAddonConfiguration(e.ctx, &eks.DescribeAddonConfigurationInput{AddonName: aws.String("vpc-cni"),
		AddonVersion: aws.String("v1.20.4-eksbuild.2")})
	if err != nil || len(cfg.PodIdentityConfiguration) != 1 || aws.ToString(cfg.PodIdentityConfiguration[0].ServiceAccount) != "aws-node" ||
		!slices.Equal(cfg.PodIdentityConfiguration[0].RecommendedManagedPolicies, []string{"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}) {
		t.Errorf("vpc-cni's Pod Identity configuration: %+v, %v", cfg, err)
	}
	role := e.role(t, "cni", "pods.eks.amazonaws.com", "AmazonEKS_CNI_Policy")
	assoc := func(sa string) []ekstypes.AddonPodIdentityAssociations {
		return []ekstypes.AddonPodIdentityAssociations{{RoleArn: aws.String(role), ServiceAccount: aws.String(sa)}}
	}
	_, err = e.eks.CreateAddon(e.ctx, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni"),
		AddonVersion: aws.String("v1.18.3-eksbuild.3"), PodIdentityAssociations: assoc("aws-node")})
	wantAPIError(t, "a version without Pod Identity", err, "InvalidParameterException", "Pod Identity feature is not supported for addon version: v1.18.3-eksbuild.3")
	_, err = e.eks.CreateAddon(e.ctx, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni"),
		AddonVersion: aws.String("v1.19.6-eksbuild.1"), PodIdentityAssociations: assoc("other")})
	wantAPIError(t, "another service account", err, "InvalidParameterException", "Service account other in pod identity configuration is not supported for addon vpc-cni")
	a := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni"),
		AddonVersion: aws.String("v1.19.6-eksbuild.1"), PodIdentityAssociations: assoc("aws-node")})
	if a.Status != ekstypes.AddonStatusActive || len(a.PodIdentityAssociations) != 1 {
		t.Fatalf("vpc-cni through Pod Identity: %s %+v %v", a.Status, a.Health, a.PodIdentityAssociations)
	}
	id := a.PodIdentityAssociations[0][strings.LastIndex(a.PodIdentityAssociations[0], "/")+1:]
	d, err := e.eks.DescribePodIdentityAssociation(e.ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("c"), AssociationId: aws.String(id)})
	if err != nil || aws.ToString(d.Association.ServiceAccount) != "aws-node" || aws.ToString(d.Association.RoleArn) != role ||
		aws.ToString(d.Association.OwnerArn) != aws.ToString(a.AddonArn) {
		t.Errorf("the association: %+v, %v", d, err)
	}
}

// podIdentity is one association request for an add-on.
func podIdentity(role, sa string) []ekstypes.AddonPodIdentityAssociations {
	return []ekstypes.AddonPodIdentityAssociations{{RoleArn: aws.String(role), ServiceAccount: aws.String(sa)}}
}

func contractN7(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	ebs := func(role string) *eks.CreateAddonInput {
		return &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("aws-ebs-csi-driver"),
			PodIdentityAssociations: podIdentity(role, "ebs-csi-controller-sa")}
	}
	ec2 := e.role(t, "ec2-trust", "ec2.amazonaws.com", "service-role/AmazonEBSCSIDriverPolicy")
	noTag := e.role(t, "no-tag-session", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	for what, role := range map[string]string{"a role trusting EC2": ec2, "a role without sts:TagSession": noTag} {
		_, err := e.eks.CreateAddon(e.ctx, ebs(role))
		wantAPIError(t, what, err, "InvalidParameterException", "Trust policy of the role provided is invalid")
	}
	_, err := e.eks.CreateAddon(e.ctx, ebs("arn:aws:iam::123456789012:role/nobody"))
	wantAPIError(t, "a role that does not exist", err, "InvalidParameterException", "does not exist")
	if _, err := e.eks.DescribeAddon(e.ctx, &eks.DescribeAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("aws-ebs-csi-driver")}); err == nil {
		t.Fatal("a refused CreateAddon left an add-on")
	}
	good := e.role(t, "ebs", "pods.eks.amazonaws.com", "service-role/AmazonEBSCSIDriverPolicy")
	if a := e.addon(t, ebs(good)); len(a.PodIdentityAssociations) != 1 {
		t.Fatalf("a role trusting EKS Pod Identity: %+v", a)
	}
	_, err = e.eks.UpdateAddon(e.ctx, &eks.UpdateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("aws-ebs-csi-driver"),
		PodIdentityAssociations: podIdentity(ec2, "ebs-csi-controller-sa")})
	wantAPIError(t, "UpdateAddon to a role trusting EC2", err, "InvalidParameterException", "Trust policy of the role provided is invalid")
}

func contractN8(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	cw := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("amazon-cloudwatch-observability"),
		PodIdentityAssociations: podIdentity(e.role(t, "cw", "pods.eks.amazonaws.com", "CloudWatchAgentServerPolicy"), "cloudwatch-agent")})
	ebs := e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("aws-ebs-csi-driver"),
		PodIdentityAssociations: podIdentity(e.role(t, "ebs", "pods.eks.amazonaws.com"), "ebs-csi-controller-sa")})
	list, err := e.eks.ListPodIdentityAssociations(e.ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("c")})
	if err != nil || len(list.Associations) != 2 {
		t.Fatalf("associations: %+v, %v", list, err)
	}
	want := map[string][2]string{aws.ToString(cw.AddonArn): {"amazon-cloudwatch", "cloudwatch-agent"},
		aws.ToString(ebs.AddonArn): {"kube-system", "ebs-csi-controller-sa"}}
	for _, a := range list.Associations {
		w, ok := want[aws.ToString(a.OwnerArn)]
		if !ok || aws.ToString(a.Namespace) != w[0] || aws.ToString(a.ServiceAccount) != w[1] {
			t.Errorf("association %+v: want owned by an add-on, in %v", a, w)
		}
	}
	if _, err := e.eks.DeleteAddon(e.ctx, &eks.DeleteAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("amazon-cloudwatch-observability")}); err != nil {
		t.Fatal(err)
	}
	list, err = e.eks.ListPodIdentityAssociations(e.ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("c")})
	if err != nil || len(list.Associations) != 1 || aws.ToString(list.Associations[0].OwnerArn) != aws.ToString(ebs.AddonArn) {
		t.Errorf("after deleting the CloudWatch add-on: %+v, %v; want only the EBS CSI driver's", list, err)
	}
}

func contractN9(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.33", nil)
	for version, sa := range map[string]string{"v3.0.0-eksbuild.1": "", "v3.1.0-eksbuild.1": "cloudwatch-agent"} {
		cfg, err := e.eks.DescribeAddonConfiguration(e.ctx, &eks.DescribeAddonConfigurationInput{
			AddonName: aws.String("amazon-cloudwatch-observability"), AddonVersion: aws.String(version)})
		got := ""
		if err == nil && len(cfg.PodIdentityConfiguration) == 1 {
			got = aws.ToString(cfg.PodIdentityConfiguration[0].ServiceAccount)
		}
		if err != nil || got != sa {
			t.Errorf("%s's Pod Identity configuration: %q, %v; want %q", version, got, err, sa)
		}
	}
	role := e.role(t, "cw", "pods.eks.amazonaws.com", "CloudWatchAgentServerPolicy")
	in := func(version string) *eks.CreateAddonInput {
		return &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("amazon-cloudwatch-observability"),
			AddonVersion: aws.String(version), PodIdentityAssociations: podIdentity(role, "cloudwatch-agent")}
	}
	_, err := e.eks.CreateAddon(e.ctx, in("v3.0.0-eksbuild.1"))
	wantAPIError(t, "3.0.0 with Pod Identity", err, "InvalidParameterException", "Pod Identity feature is not supported for addon version: v3.0.0-eksbuild.1")
	if a := e.addon(t, in("v3.1.0-eksbuild.1")); aws.ToString(a.AddonVersion) != "v3.1.0-eksbuild.1" || len(a.PodIdentityAssociations) != 1 {
		t.Errorf("3.1.0 with Pod Identity: %+v", a)
	}
}
