package harness_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

const roleARN = "arn:aws:iam::123456789012:role/test"

func createCluster(t *testing.T, c *eks.Client, name, version string, mod func(*eks.CreateClusterInput)) *ekstypes.Cluster {
	t.Helper()
	in := &eks.CreateClusterInput{
		Name: aws.String(name), Version: aws.String(version), RoleArn: aws.String(roleARN),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-1", "subnet-2"},
			EndpointPrivateAccess: aws.Bool(true), EndpointPublicAccess: aws.Bool(true)},
	}
	if mod != nil {
		mod(in)
	}
	out, err := c.CreateCluster(context.Background(), in)
	if err != nil {
		t.Fatalf("create cluster %s: %v", name, err)
	}
	return out.Cluster
}

// wantAPIError checks err is the EKS error code with a message containing msg.
func wantAPIError(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var ae interface {
		error
		ErrorCode() string
		ErrorMessage() string
	}
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Errorf("%s: error %v, want %s containing %q", what, err, code, msg)
	}
}

// TestFrontAddonAPI drives the front's add-on API with aws-sdk-go-v2's EKS client: the shapes it sends and the
// answers it decodes are the ground truth.
func TestFrontAddonAPI(t *testing.T) {
	t.Parallel()
	moto := harness.StartMoto(t)
	front := startFront(t, moto.URL)
	c := eksClient(front.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: CI runs many emulators on two cores
	defer cancel()
	createCluster(t, c, "c1", "1.32", nil)
	pause(front)

	// No version: the fixture's default for the cluster's Kubernetes version.
	out, err := c.CreateAddon(ctx, &eks.CreateAddonInput{
		ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni"),
		ConfigurationValues: aws.String(`{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}`),
		ResolveConflicts:    ekstypes.ResolveConflictsOverwrite,
		Tags:                map[string]string{"ManagedBy": "test"},
	})
	if err != nil {
		t.Fatalf("create add-on: %v", err)
	}
	a := out.Addon
	if aws.ToString(a.AddonVersion) != "v1.19.6-eksbuild.1" || a.Status != ekstypes.AddonStatusCreating ||
		!strings.HasPrefix(aws.ToString(a.AddonArn), "arn:aws:eks:us-east-1:123456789012:addon/c1/vpc-cni/") ||
		a.CreatedAt == nil || a.CreatedAt.IsZero() {
		t.Errorf("created add-on = %+v", a)
	}
	pause(front)

	got, err := c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni")})
	if err != nil {
		t.Fatalf("describe add-on: %v", err)
	}
	if a := got.Addon; a.Status != ekstypes.AddonStatusActive || aws.ToString(a.ConfigurationValues) != `{"env":{"ENABLE_PREFIX_DELEGATION":"true"}}` ||
		a.Tags["ManagedBy"] != "test" || aws.ToString(a.ClusterName) != "c1" || a.Health == nil {
		t.Errorf("described add-on = %+v", a)
	}

	// The errors, in the shapes the SDK maps to its types.
	_, err = c.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni")})
	var inUse *ekstypes.ResourceInUseException
	if !errors.As(err, &inUse) || aws.ToString(inUse.AddonName) != "vpc-cni" {
		t.Errorf("duplicate add-on: %v, want ResourceInUseException", err)
	}
	_, err = c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("coredns")})
	var notFound *ekstypes.ResourceNotFoundException
	if !errors.As(err, &notFound) || aws.ToString(notFound.AddonName) != "coredns" {
		t.Errorf("unknown add-on: %v, want ResourceNotFoundException", err)
	}
	_, err = c.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: aws.String("nope"), AddonName: aws.String("coredns")})
	wantAPIError(t, "add-on of an unknown cluster", err, "ResourceNotFoundException", "No cluster found for name: nope.")
	_, err = c.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("coredns"),
		AddonVersion: aws.String("v1.12.1-eksbuild.2")})
	wantAPIError(t, "version for another Kubernetes version", err, "InvalidParameterException", "Addon version specified is not supported")
	_, err = c.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("kube-proxy"),
		ConfigurationValues: aws.String(`{"env":{"WARM_PREFIX_TARGET":1}}`)})
	wantAPIError(t, "env value that is not a string", err, "InvalidParameterException", "string expected")

	// UpdateAddon returns an update; DescribeUpdate reports it successful.
	up, err := c.UpdateAddon(ctx, &eks.UpdateAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni"),
		AddonVersion: aws.String("v1.18.3-eksbuild.3"), ConfigurationValues: aws.String(`{"env":{"WARM_PREFIX_TARGET":"1"}}`),
		ResolveConflicts: ekstypes.ResolveConflictsPreserve})
	if err != nil {
		t.Fatalf("update add-on: %v", err)
	}
	if up.Update.Type != ekstypes.UpdateTypeAddonUpdate || up.Update.Status != ekstypes.UpdateStatusInProgress {
		t.Errorf("add-on update = %+v", up.Update)
	}
	pause(front)
	du, err := c.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: aws.String("c1"), UpdateId: up.Update.Id, AddonName: aws.String("vpc-cni")})
	if err != nil || du.Update.Status != ekstypes.UpdateStatusSuccessful {
		t.Errorf("describe update: %+v, %v; want Successful", du, err)
	}
	_, err = c.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: aws.String("c1"), UpdateId: aws.String("nope"), AddonName: aws.String("vpc-cni")})
	wantAPIError(t, "unknown update", err, "ResourceNotFoundException", "No update found")
	got, _ = c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni")})
	if got == nil || aws.ToString(got.Addon.AddonVersion) != "v1.18.3-eksbuild.3" ||
		aws.ToString(got.Addon.ConfigurationValues) != `{"env":{"WARM_PREFIX_TARGET":"1"}}` {
		t.Errorf("add-on after the update = %+v", got)
	}

	// Tags on the add-on's ARN.
	arn := got.Addon.AddonArn
	if _, err := c.TagResource(ctx, &eks.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"Team": "x"}}); err != nil {
		t.Errorf("tag add-on: %v", err)
	}
	if _, err := c.UntagResource(ctx, &eks.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"ManagedBy"}}); err != nil {
		t.Errorf("untag add-on: %v", err)
	}
	tags, err := c.ListTagsForResource(ctx, &eks.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["Team"] != "x" {
		t.Errorf("add-on tags: %+v, %v; want Team=x only", tags, err)
	}

	if _, err := c.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("coredns")}); err != nil {
		t.Fatalf("create coredns: %v", err)
	}
	list, err := c.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String("c1")})
	if err != nil || strings.Join(list.Addons, ",") != "coredns,vpc-cni" {
		t.Errorf("list add-ons: %+v, %v", list, err)
	}

	del, err := c.DeleteAddon(ctx, &eks.DeleteAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni")})
	if err != nil || del.Addon.Status != ekstypes.AddonStatusDeleting {
		t.Errorf("delete add-on: %+v, %v", del, err)
	}
	_, err = c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni")})
	if !errors.As(err, &notFound) {
		t.Errorf("deleted add-on: %v, want ResourceNotFoundException", err)
	}
	_, err = c.DeleteAddon(ctx, &eks.DeleteAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni")})
	if !errors.As(err, &notFound) {
		t.Errorf("delete a deleted add-on: %v, want ResourceNotFoundException", err)
	}

	// Deleting the cluster drops its add-ons; so does a moto reset.
	if _, err := c.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("c1")}); err != nil {
		t.Fatalf("delete cluster: %v", err)
	}
	createCluster(t, c, "c1", "1.33", nil)
	pause(front)
	if list, err := c.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String("c1")}); err != nil || len(list.Addons) != 0 {
		t.Errorf("add-ons of a re-created cluster: %+v, %v; want none", list, err)
	}
	if _, err := c.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: aws.String("c1"), AddonName: aws.String("vpc-cni")}); err != nil {
		t.Fatal(err)
	}
	moto.Reset(t)
	createCluster(t, c, "c1", "1.33", nil)
	if list, err := c.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String("c1")}); err != nil || len(list.Addons) != 0 {
		t.Errorf("add-ons after a moto reset: %+v, %v; want none", list, err)
	}
}

// TestFrontVersionAPIs reads the fixtures through the SDK.
func TestFrontVersionAPIs(t *testing.T) {
	t.Parallel()
	moto := harness.StartMoto(t)
	front := startFront(t, moto.URL)
	front.SetDay("2026-12-01")
	c := eksClient(front.URL)
	ctx := context.Background()

	av, err := c.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String("vpc-cni"), KubernetesVersion: aws.String("1.33")})
	if err != nil || len(av.Addons) != 1 {
		t.Fatalf("describe add-on versions: %+v, %v", av, err)
	}
	var defaults []string
	for _, v := range av.Addons[0].AddonVersions {
		for _, cmp := range v.Compatibilities {
			if aws.ToString(cmp.ClusterVersion) != "1.33" {
				t.Errorf("%s: compatibility %s in an answer for 1.33", aws.ToString(v.AddonVersion), aws.ToString(cmp.ClusterVersion))
			}
			if cmp.DefaultVersion {
				defaults = append(defaults, aws.ToString(v.AddonVersion))
			}
		}
	}
	if strings.Join(defaults, ",") != "v1.20.4-eksbuild.2" {
		t.Errorf("default vpc-cni versions for 1.33 = %v", defaults)
	}
	all, err := c.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{})
	if err != nil || len(all.Addons) != 8 {
		t.Errorf("all add-ons: %d, %v; want vpc-cni, coredns, kube-proxy, eks-pod-identity-agent and the four platform add-ons", len(all.Addons), err)
	}
	// Every add-on has a default build on every Kubernetes version the fixture knows, so a cluster of any of them
	// gets each one at EKS's default.
	for _, k8s := range []string{"1.29", "1.32", "1.36"} {
		for _, name := range []string{"aws-ebs-csi-driver", "metrics-server", "amazon-cloudwatch-observability", "eks-node-monitoring-agent"} {
			out, err := c.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String(name), KubernetesVersion: aws.String(k8s)})
			def := 0
			if err == nil && len(out.Addons) == 1 {
				for _, v := range out.Addons[0].AddonVersions {
					for _, cmp := range v.Compatibilities {
						if cmp.DefaultVersion {
							def++
						}
					}
				}
			}
			if def != 1 {
				t.Errorf("%s on %s: %d default builds, %v; want one", name, k8s, def, err)
			}
		}
	}

	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // the front's day
	cv, err := c.DescribeClusterVersions(ctx, &eks.DescribeClusterVersionsInput{IncludeAll: aws.Bool(true)})
	if err != nil {
		t.Fatalf("describe cluster versions: %v", err)
	}
	if len(cv.ClusterVersions) == 0 || aws.ToString(cv.ClusterVersions[0].ClusterVersion) != "1.36" {
		t.Fatalf("cluster versions = %+v, want 1.36 first", cv.ClusterVersions)
	}
	defaultsSeen := 0
	for _, v := range cv.ClusterVersions {
		want := ekstypes.VersionStatusUnsupported
		switch {
		case now.Before(*v.EndOfStandardSupportDate):
			want = ekstypes.VersionStatusStandardSupport
		case now.Before(*v.EndOfExtendedSupportDate):
			want = ekstypes.VersionStatusExtendedSupport
		}
		if v.VersionStatus != want || v.ReleaseDate == nil {
			t.Errorf("%s: %+v, want version status %s", aws.ToString(v.ClusterVersion), v, want)
		}
		if v.DefaultVersion {
			defaultsSeen++
		}
	}
	if defaultsSeen != 1 {
		t.Errorf("%d default versions, want one", defaultsSeen)
	}
	if n := len(cv.ClusterVersions); n != 9 { // 1.28 to 1.36, all released by the day
		t.Errorf("%d versions with includeAll, want 9", n)
	}
	offered, err := c.DescribeClusterVersions(ctx, &eks.DescribeClusterVersionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range offered.ClusterVersions {
		names = append(names, aws.ToString(v.ClusterVersion))
	}
	if strings.Join(names, ",") != "1.36,1.35,1.34,1.33,1.32" {
		t.Errorf("versions offered on 2026-12-01 = %v, want 1.36 to 1.32", names)
	}
	one, err := c.DescribeClusterVersions(ctx, &eks.DescribeClusterVersionsInput{ClusterVersions: []string{"1.29"}})
	if err != nil || len(one.ClusterVersions) != 1 || aws.ToString(one.ClusterVersions[0].ClusterVersion) != "1.29" {
		t.Errorf("cluster version 1.29: %+v, %v", one, err)
	}
}

// TestFrontEKSGaps checks the patches to moto's clusters and node groups.
func TestFrontEKSGaps(t *testing.T) {
	t.Parallel()
	moto := harness.StartMoto(t)
	front := startFront(t, moto.URL)
	c := eksClient(front.URL)
	ctx := context.Background()

	// Each cluster its own issuer, the same at every call.
	a := createCluster(t, c, "a", "1.34", func(in *eks.CreateClusterInput) {
		in.AccessConfig = &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApi,
			BootstrapClusterCreatorAdminPermissions: aws.Bool(true)}
		in.UpgradePolicy = &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportTypeStandard}
	})
	b := createCluster(t, c, "b", "1.33", nil)
	pause(front)
	issuerA := aws.ToString(a.Identity.Oidc.Issuer)
	if issuerA != harness.IssuerFor(aws.ToString(a.Arn)) || issuerA == aws.ToString(b.Identity.Oidc.Issuer) {
		t.Errorf("issuers: %s and %s", issuerA, aws.ToString(b.Identity.Oidc.Issuer))
	}
	da, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(da.Cluster.Identity.Oidc.Issuer) != issuerA {
		t.Errorf("issuer changed between calls: %s, then %s", issuerA, aws.ToString(da.Cluster.Identity.Oidc.Issuer))
	}
	// What moto drops comes back as asked.
	if ac := da.Cluster.AccessConfig; ac == nil || ac.AuthenticationMode != ekstypes.AuthenticationModeApi {
		t.Errorf("access config = %+v", ac)
	}
	if up := da.Cluster.UpgradePolicy; up == nil || up.SupportType != ekstypes.SupportTypeStandard {
		t.Errorf("upgrade policy = %+v", up)
	}

	// UpdateClusterConfig answers an update, and a partial VPC configuration keeps the other members.
	uc, err := c.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{Name: aws.String("a"),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-3", "subnet-4"}}})
	if err != nil || uc.Update == nil || uc.Update.Id == nil {
		t.Fatalf("update cluster config: %+v, %v", uc, err)
	}
	pause(front)
	up, err := c.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{Name: aws.String("a"),
		UpgradePolicy: &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportTypeExtended}})
	if err != nil || up.Update == nil || up.Update.Type != ekstypes.UpdateTypeUpgradePolicyUpdate {
		t.Fatalf("update upgrade policy: %+v, %v", up, err)
	}
	pause(front)
	if du, err := c.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: aws.String("a"), UpdateId: uc.Update.Id}); err != nil ||
		du.Update.Status != ekstypes.UpdateStatusSuccessful {
		t.Errorf("describe cluster update: %+v, %v", du, err)
	}
	da, _ = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("a")})
	if vpc := da.Cluster.ResourcesVpcConfig; strings.Join(vpc.SubnetIds, ",") != "subnet-3,subnet-4" ||
		!vpc.EndpointPublicAccess || !vpc.EndpointPrivateAccess || da.Cluster.UpgradePolicy.SupportType != ekstypes.SupportTypeExtended {
		t.Errorf("after the update: vpc %+v, upgrade policy %+v", vpc, da.Cluster.UpgradePolicy)
	}

	// UpdateClusterVersion, one minor version at a time.
	_, err = c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("a"), Version: aws.String("1.36")})
	wantAPIError(t, "two minor versions at once", err, "InvalidParameterException", "from 1.34 to 1.36")
	uv, err := c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("a"), Version: aws.String("1.35")})
	if err != nil || uv.Update.Type != ekstypes.UpdateTypeVersionUpdate {
		t.Fatalf("update cluster version: %+v, %v", uv, err)
	}
	pause(front)
	da, _ = c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("a")})
	if v := aws.ToString(da.Cluster.Version); v != "1.35" {
		t.Errorf("version after the update = %s", v)
	}

	// Node groups: no remoteAccess unless asked for; update and repair configuration kept; tags; updates.
	ng, err := c.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: aws.String("a"), NodegroupName: aws.String("ng"),
		NodeRole: aws.String(roleARN), Subnets: []string{"subnet-3"}, Tags: map[string]string{"Team": "a"},
		UpdateConfig:     &ekstypes.NodegroupUpdateConfig{MaxUnavailablePercentage: aws.Int32(33)},
		NodeRepairConfig: &ekstypes.NodeRepairConfig{Enabled: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if ng.Nodegroup.RemoteAccess != nil {
		t.Errorf("node group created without remote access has %+v", ng.Nodegroup.RemoteAccess)
	}
	withSSH, err := c.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: aws.String("a"), NodegroupName: aws.String("ssh"),
		NodeRole: aws.String(roleARN), Subnets: []string{"subnet-3"}, RemoteAccess: &ekstypes.RemoteAccessConfig{Ec2SshKey: aws.String("k")}})
	if err != nil || withSSH.Nodegroup.RemoteAccess == nil || aws.ToString(withSSH.Nodegroup.RemoteAccess.Ec2SshKey) != "k" {
		t.Errorf("node group created with remote access: %+v, %v", withSSH, err)
	}
	pause(front)
	arn := ng.Nodegroup.NodegroupArn
	if _, err := c.TagResource(ctx, &eks.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"Team": "b"}}); err != nil {
		t.Errorf("tag node group: %v", err)
	}
	un, err := c.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{ClusterName: aws.String("a"), NodegroupName: aws.String("ng"),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredSize: aws.Int32(3)}})
	if err != nil {
		t.Fatalf("update node group: %v", err)
	}
	pause(front)
	if du, err := c.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: aws.String("a"), UpdateId: un.Update.Id,
		NodegroupName: aws.String("ng")}); err != nil || du.Update.Status != ekstypes.UpdateStatusSuccessful {
		t.Errorf("describe node group update: %+v, %v", du, err)
	}
	dn, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("a"), NodegroupName: aws.String("ng")})
	if err != nil {
		t.Fatal(err)
	}
	g := dn.Nodegroup
	if g.RemoteAccess != nil || g.Tags["Team"] != "b" || aws.ToInt32(g.ScalingConfig.DesiredSize) != 3 ||
		g.UpdateConfig == nil || aws.ToInt32(g.UpdateConfig.MaxUnavailablePercentage) != 33 ||
		g.NodeRepairConfig == nil || !aws.ToBool(g.NodeRepairConfig.Enabled) {
		t.Errorf("node group = remote access %+v, tags %v, scaling %+v, update %+v, repair %+v",
			g.RemoteAccess, g.Tags, g.ScalingConfig, g.UpdateConfig, g.NodeRepairConfig)
	}
}
