package harness_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
)

func nodegroupVersion(t *testing.T, c *eks.Client, cluster, name string) *ekstypes.Nodegroup {
	t.Helper()
	out, err := c.DescribeNodegroup(context.Background(), &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe node group %s: %v", name, err)
	}
	return out.Nodegroup
}

func clusterVersion(t *testing.T, c *eks.Client, name string) string {
	t.Helper()
	out, err := c.DescribeCluster(context.Background(), &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("describe cluster %s: %v", name, err)
	}
	return aws.ToString(out.Cluster.Version)
}

func createNodegroup(ctx context.Context, c *eks.Client, cluster, name string, mod func(*eks.CreateNodegroupInput)) (*eks.CreateNodegroupOutput, error) {
	in := &eks.CreateNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name),
		NodeRole: aws.String(roleARN), Subnets: []string{"subnet-1"}}
	if mod != nil {
		mod(in)
	}
	return c.CreateNodegroup(ctx, in)
}

// updateSucceeds checks an update is accepted and DescribeUpdate (with the node group, when there is one) reports
// it Successful.
func updateSucceeds(t *testing.T, c *eks.Client, what, cluster, nodegroup string, u *ekstypes.Update, err error) {
	t.Helper()
	if err != nil || u == nil || u.Type != ekstypes.UpdateTypeVersionUpdate || u.Status != ekstypes.UpdateStatusInProgress {
		t.Fatalf("%s: %+v, %v; want an InProgress VersionUpdate", what, u, err)
	}
	in := &eks.DescribeUpdateInput{Name: aws.String(cluster), UpdateId: u.Id}
	if nodegroup != "" {
		in.NodegroupName = aws.String(nodegroup)
	}
	if du := waitUpdate(t, c, in); du.Status != ekstypes.UpdateStatusSuccessful {
		t.Fatalf("%s: update %+v; want Successful", what, du)
	}
}

// waitUpdate polls DescribeUpdate until the update is no longer InProgress, and returns it.
func waitUpdate(t *testing.T, c *eks.Client, in *eks.DescribeUpdateInput) *ekstypes.Update {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) { // clock: polling
		du, err := c.DescribeUpdate(context.Background(), in)
		if err != nil {
			t.Fatalf("describe update %s: %v", aws.ToString(in.UpdateId), err)
		}
		if du.Update.Status != ekstypes.UpdateStatusInProgress || time.Now().After(deadline) { // clock: a polling deadline
			return du.Update
		}
	}
}

// TestFrontNodegroupVersions drives node group versions and cluster upgrades through aws-sdk-go-v2, following
// EKS's rules: node groups get the cluster's version, move only to it, never back, and a control plane moves one
// minor version at a time and never past its node groups.
func TestFrontNodegroupVersions(t *testing.T) {
	t.Parallel()
	front, c, ctx := startEKS(t)
	createCluster(t, c, "c", "1.32", nil)
	pause(front)

	// Created without a version: the cluster's, with a release of it (moto alone says 1.19).
	if _, err := createNodegroup(ctx, c, "c", "ng", nil); err != nil {
		t.Fatal(err)
	}
	if g := nodegroupVersion(t, c, "c", "ng"); aws.ToString(g.Version) != "1.32" || !strings.HasPrefix(aws.ToString(g.ReleaseVersion), "1.32.") {
		t.Errorf("node group created without a version: version %s, release %s; want the cluster's 1.32",
			aws.ToString(g.Version), aws.ToString(g.ReleaseVersion))
	}
	_, err := createNodegroup(ctx, c, "c", "old", func(in *eks.CreateNodegroupInput) { in.Version = aws.String("1.31") })
	wantAPIError(t, "create on another version", err, "InvalidParameterException", "Requested Nodegroup version 1.31 is invalid. Allowed version is 1.32")
	if _, err := createNodegroup(ctx, c, "c", "asked", func(in *eks.CreateNodegroupInput) { in.Version = aws.String("1.32") }); err != nil {
		t.Errorf("create on the cluster's version: %v", err)
	}
	if _, err := c.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: aws.String("c"), NodegroupName: aws.String("asked")}); err != nil {
		t.Fatal(err)
	}
	pause(front)

	// A node group never gets ahead of its control plane.
	_, err = c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		Version: aws.String("1.33")})
	wantAPIError(t, "node group ahead of the cluster", err, "InvalidParameterException", "newer than the cluster's version 1.32")
	_, err = c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("nope")})
	wantAPIError(t, "unknown node group", err, "ResourceNotFoundException", "No node group found for name: nope.")

	// The control plane: one minor version; then not past node groups left behind.
	uv, err := c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.33")})
	updateSucceeds(t, c, "cluster 1.32 -> 1.33", "c", "", uvUpdate(uv), err)
	_, err = c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.34")})
	wantAPIError(t, "cluster past its node groups", err, "InvalidParameterException",
		"Nodegroups ng must be updated to match cluster version 1.33 before updating cluster version")
	_, err = c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.35")})
	wantAPIError(t, "two minor versions", err, "InvalidParameterException", "from 1.33 to 1.35")

	// The node group follows: a release must belong to the version, no launch template it was not created with.
	_, err = c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		Version: aws.String("1.33"), ReleaseVersion: aws.String("1.32.9-20250101")})
	wantAPIError(t, "release of another version", err, "InvalidParameterException", "Requested release version 1.32.9-20250101 is not valid for kubernetes version 1.33.")
	_, err = c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		Version: aws.String("1.33"), LaunchTemplate: &ekstypes.LaunchTemplateSpecification{Id: aws.String("lt-1"), Version: aws.String("1")}})
	wantAPIError(t, "launch template on a node group without one", err, "InvalidParameterException", "was not created with one")
	un, err := c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		Version: aws.String("1.33")})
	updateSucceeds(t, c, "node group 1.32 -> 1.33", "c", "ng", ungUpdate(un), err)
	if g := nodegroupVersion(t, c, "c", "ng"); aws.ToString(g.Version) != "1.33" || !strings.HasPrefix(aws.ToString(g.ReleaseVersion), "1.33.") {
		t.Errorf("after the update: version %s, release %s", aws.ToString(g.Version), aws.ToString(g.ReleaseVersion))
	}
	_, err = c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		Version: aws.String("1.32")})
	wantAPIError(t, "roll back", err, "InvalidParameterException", "cannot be rolled back from 1.33")

	// Now the control plane may move; a node group updated without a version follows it.
	uv, err = c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.34")})
	updateSucceeds(t, c, "cluster 1.33 -> 1.34", "c", "", uvUpdate(uv), err)
	un, err = c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng")})
	updateSucceeds(t, c, "node group to the cluster's version", "c", "ng", ungUpdate(un), err)
	if v := aws.ToString(nodegroupVersion(t, c, "c", "ng").Version); v != "1.34" {
		t.Errorf("a node group updated without a version is on %s, want the cluster's 1.34", v)
	}

	// FailClusterUpgradeTo: accepted, then Failed with an error, and the cluster stays; cleared, it succeeds.
	front.FailClusterUpgradeTo("1.35")
	uv, err = c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.35")})
	if err != nil || uv.Update.Status != ekstypes.UpdateStatusInProgress {
		t.Fatalf("failing upgrade: %+v, %v; want it accepted", uv, err)
	}
	du := waitUpdate(t, c, &eks.DescribeUpdateInput{Name: aws.String("c"), UpdateId: uv.Update.Id})
	if du.Status != ekstypes.UpdateStatusFailed || len(du.Errors) != 1 ||
		du.Errors[0].ErrorCode != ekstypes.ErrorCodeInsufficientFreeAddresses || !strings.Contains(aws.ToString(du.Errors[0].ErrorMessage), "1.35") {
		t.Errorf("failed upgrade: %+v; want Failed with an error naming 1.35", du)
	}
	if v := clusterVersion(t, c, "c"); v != "1.34" {
		t.Errorf("after a failed upgrade the cluster is on %s, want 1.34", v)
	}
	front.FailClusterUpgradeTo("")
	uv, err = c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.35")})
	updateSucceeds(t, c, "cluster 1.34 -> 1.35 once cleared", "c", "", uvUpdate(uv), err)
	if v := clusterVersion(t, c, "c"); v != "1.35" {
		t.Errorf("after the cleared upgrade the cluster is on %s", v)
	}
}

func uvUpdate(o *eks.UpdateClusterVersionOutput) *ekstypes.Update {
	if o == nil {
		return nil
	}
	return o.Update
}

func ungUpdate(o *eks.UpdateNodegroupVersionOutput) *ekstypes.Update {
	if o == nil {
		return nil
	}
	return o.Update
}

// A node group created with a launch template moves only with that template, whose new version it then reports.
func TestFrontNodegroupVersionLaunchTemplate(t *testing.T) {
	t.Parallel()
	front, c, ctx := startEKS(t)
	ec := ec2Client(front.URL)
	lt, err := ec.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Medium}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	createCluster(t, c, "c", "1.32", nil)
	pause(front)
	if _, err := createNodegroup(ctx, c, "c", "ng", func(in *eks.CreateNodegroupInput) {
		in.LaunchTemplate = &ekstypes.LaunchTemplateSpecification{Id: aws.String(id), Version: aws.String("1")}
	}); err != nil {
		t.Fatal(err)
	}
	pause(front)
	uv, err := c.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("c"), Version: aws.String("1.33")})
	updateSucceeds(t, c, "cluster 1.32 -> 1.33", "c", "", uvUpdate(uv), err)
	_, err = c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		Version: aws.String("1.33"), LaunchTemplate: &ekstypes.LaunchTemplateSpecification{Id: aws.String("lt-0123456789abcdef0"), Version: aws.String("1")}})
	wantAPIError(t, "another launch template", err, "InvalidParameterException", "must match the one node group ng was created with")
	// As hashicorp/aws sends it for a version change: the template's ID and version, and the version.
	un, err := c.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("c"), NodegroupName: aws.String("ng"),
		Version: aws.String("1.33"), LaunchTemplate: &ekstypes.LaunchTemplateSpecification{Id: aws.String(id), Version: aws.String("2")}})
	updateSucceeds(t, c, "node group with its template", "c", "ng", ungUpdate(un), err)
	g := nodegroupVersion(t, c, "c", "ng")
	if aws.ToString(g.Version) != "1.33" || g.LaunchTemplate == nil || aws.ToString(g.LaunchTemplate.Id) != id ||
		aws.ToString(g.LaunchTemplate.Version) != "2" {
		t.Errorf("after the update: version %s, launch template %+v", aws.ToString(g.Version), g.LaunchTemplate)
	}
}
