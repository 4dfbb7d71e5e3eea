package live

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/tapstack/tapstack/pkg/stack"
)

// runningAccount is an account where cluster eks-x runs what its state records: Kubernetes 1.31 with extended
// support and API_AND_CONFIG_MAP, node groups ng-od and ng-spot on 1.31, vpc-cni with its own role and coredns.
func runningAccount() *fakeAWS {
	f := cleanAccount()
	f.clusters = map[string]*ekstypes.Cluster{"eks-x": {Name: aws.String("eks-x"), Version: aws.String("1.31"),
		UpgradePolicy: &ekstypes.UpgradePolicyResponse{SupportType: ekstypes.SupportTypeExtended},
		AccessConfig:  &ekstypes.AccessConfigResponse{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap}}}
	f.nodegroups = map[string]*ekstypes.Nodegroup{
		"eks-x/ng-od":   {NodegroupName: aws.String("ng-od"), Version: aws.String("1.31")},
		"eks-x/ng-spot": {NodegroupName: aws.String("ng-spot"), Version: aws.String("1.31")},
	}
	f.addons = map[string]*ekstypes.Addon{
		"eks-x/vpc-cni": {AddonName: aws.String("vpc-cni"), AddonVersion: aws.String("v1.19.2-eksbuild.1"),
			ServiceAccountRoleArn: aws.String("arn:aws:iam::1:role/cni")},
		"eks-x/coredns": {AddonName: aws.String("coredns"), AddonVersion: aws.String("v1.11.4-eksbuild.2")},
	}
	return f
}

// recordedState is the state of runningAccount's environment, as stack.Existing reads it.
func recordedState(t *testing.T) *stack.Existing {
	t.Helper()
	ex, err := stack.ExistingFromState([]byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
	 {"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"name":"eks-x","version":"1.31",
	  "upgrade_policy":[{"support_type":"EXTENDED"}],"access_config":[{"authentication_mode":"API_AND_CONFIG_MAP"}]}},
	 {"address":"aws_eks_node_group.on_demand_node_group","mode":"managed","type":"aws_eks_node_group","name":"on_demand_node_group","values":{"node_group_name":"ng-od","version":"1.31"}},
	 {"address":"aws_eks_node_group.spot_node_group","mode":"managed","type":"aws_eks_node_group","name":"spot_node_group","values":{"node_group_name":"ng-spot","version":"1.31"}},
	 {"address":"aws_eks_addon.vpc_cni_addon","mode":"managed","type":"aws_eks_addon","name":"vpc_cni_addon","values":{"addon_name":"vpc-cni",
	  "addon_version":"v1.19.2-eksbuild.1","service_account_role_arn":"arn:aws:iam::1:role/cni"}},
	 {"address":"aws_eks_addon.coredns_addon","mode":"managed","type":"aws_eks_addon","name":"coredns_addon","values":{"addon_name":"coredns","addon_version":"v1.11.4-eksbuild.2"}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// readAndOverlay reads what runs for the recorded state and puts it over that state.
func readAndOverlay(t *testing.T, f *fakeAWS) (*stack.Existing, *stack.Running, []string) {
	t.Helper()
	ex := recordedState(t)
	cluster, ngs, addons := ex.LiveNames()
	r, err := ReadRunning(context.Background(), f, cluster, ngs, addons)
	if err != nil {
		t.Fatal(err)
	}
	return ex, r, ex.Overlay(*r)
}

func TestReadRunningAsRecorded(t *testing.T) {
	f := runningAccount()
	ex, r, diffs := readAndOverlay(t, f)
	want := &stack.Running{KubernetesVersion: "1.31", UpgradeSupportType: "EXTENDED", AuthenticationMode: "API_AND_CONFIG_MAP",
		NodeGroupVersions: map[string]string{"ng-od": "1.31", "ng-spot": "1.31"},
		Addons: map[string]stack.RunningAddon{"vpc-cni": {Version: "v1.19.2-eksbuild.1", ServiceAccountRoleARN: "arn:aws:iam::1:role/cni"},
			"coredns": {Version: "v1.11.4-eksbuild.2"}}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Running\n got  %+v\n want %+v", r, want)
	}
	if len(diffs) != 0 || !reflect.DeepEqual(ex, recordedState(t)) {
		t.Errorf("diffs %q", diffs)
	}
	if f.count("eks:DescribeCluster") != 1 || f.count("eks:DescribeNodegroup") != 2 || f.count("eks:DescribeAddon") != 2 {
		t.Errorf("calls %v", f.calls)
	}
}

// EKS upgraded the control plane by itself at the end of support; the node groups stay where they were.
func TestReadRunningAfterAnAutoUpgrade(t *testing.T) {
	f := runningAccount()
	f.clusters["eks-x"].Version = aws.String("1.32")
	ex, r, diffs := readAndOverlay(t, f)
	if r.KubernetesVersion != "1.32" || ex.KubernetesVersion != "1.32" || ex.NodeGroupVersions["aws_eks_node_group.spot_node_group"] != "1.31" {
		t.Errorf("Running %+v, Existing %+v", r, ex)
	}
	if !slices.Equal(diffs, []string{"cluster eks-x runs Kubernetes 1.32, where the state records 1.31"}) {
		t.Errorf("diffs %q", diffs)
	}
}

func TestReadRunningWithANodeGroupMissing(t *testing.T) {
	f := runningAccount()
	delete(f.nodegroups, "eks-x/ng-spot")
	ex, r, diffs := readAndOverlay(t, f)
	if !slices.Equal(r.NodeGroupsGone, []string{"ng-spot"}) || r.NodeGroupVersions["ng-od"] != "1.31" || len(r.NodeGroupVersions) != 1 {
		t.Errorf("Running %+v", r)
	}
	if ex.Addresses["aws_eks_node_group.spot_node_group"] || !ex.Addresses["aws_eks_node_group.on_demand_node_group"] ||
		!slices.Equal(diffs, []string{"EKS has no node group ng-spot, which the state records"}) {
		t.Errorf("Existing %+v, diffs %q", ex, diffs)
	}
}

func TestReadRunningWithTheAddonRoleRemoved(t *testing.T) {
	f := runningAccount()
	f.addons["eks-x/vpc-cni"].ServiceAccountRoleArn = nil
	delete(f.addons, "eks-x/coredns")
	ex, r, diffs := readAndOverlay(t, f)
	if r.Addons["vpc-cni"] != (stack.RunningAddon{Version: "v1.19.2-eksbuild.1"}) || !slices.Equal(r.AddonsGone, []string{"coredns"}) {
		t.Errorf("Running %+v", r)
	}
	if ex.CNIRoleInUse || ex.Addresses["aws_eks_addon.coredns_addon"] || len(diffs) != 2 {
		t.Errorf("Existing %+v, diffs %q", ex, diffs)
	}
}

// A cluster that is gone is no error: the caller says the state is stale.
func TestReadRunningWithTheClusterGone(t *testing.T) {
	f := runningAccount()
	f.clusters, f.nodegroups, f.addons = nil, nil, nil
	ex, r, diffs := readAndOverlay(t, f)
	if !reflect.DeepEqual(r, &stack.Running{ClusterGone: true}) {
		t.Errorf("Running %+v", r)
	}
	if ex.KubernetesVersion != "" || ex.Addresses["aws_eks_cluster.eks_cluster"] ||
		!slices.Equal(diffs, []string{"EKS has no cluster eks-x, which the state records: the state is stale"}) {
		t.Errorf("Existing %+v, diffs %q", ex, diffs)
	}
}

// An emulator or an old cluster may not report an upgrade policy or an access config: the state's stand.
func TestReadRunningWithoutPolicyOrAccessConfig(t *testing.T) {
	f := runningAccount()
	f.clusters["eks-x"].UpgradePolicy, f.clusters["eks-x"].AccessConfig = nil, nil
	ex, r, diffs := readAndOverlay(t, f)
	if r.UpgradeSupportType != "" || r.AuthenticationMode != "" || ex.UpgradeSupportType != "EXTENDED" ||
		ex.AuthenticationMode != "API_AND_CONFIG_MAP" || len(diffs) != 0 {
		t.Errorf("Running %+v, Existing %+v, diffs %q", r, ex, diffs)
	}
}

func TestReadRunningFailures(t *testing.T) {
	ctx := context.Background()
	f := runningAccount()
	f.errs = map[string]error{"eks:DescribeAddon": accessDenied}
	r, err := ReadRunning(ctx, f, "eks-x", []string{"ng-od"}, []string{"vpc-cni"})
	if api, action := apiOf(err); r != nil || api != "eks:DescribeAddon" || action != "eks:DescribeAddon" || classify(ctx, err) != classDenied {
		t.Errorf("denied DescribeAddon: %+v, %v", r, err)
	}
	f.errs = map[string]error{"eks:DescribeCluster": apiErr("ServerException", "boom")}
	if r, err := ReadRunning(ctx, f, "eks-x", nil, nil); r != nil || err == nil {
		t.Errorf("failed DescribeCluster: %+v, %v", r, err)
	}
	if _, err := ReadRunning(ctx, f, "", nil, nil); err == nil {
		t.Error("no cluster name: no error")
	}
}

// barrierEKS answers DescribeCluster only once every other call has arrived: ReadRunning makes its calls at
// once, or this test times out.
type barrierEKS struct {
	*fakeAWS
	others  int
	arrived chan struct{}
}

func (b *barrierEKS) DescribeCluster(ctx context.Context, in *eks.DescribeClusterInput, o ...func(*eks.Options)) (*eks.DescribeClusterOutput, error) {
	for range b.others {
		select {
		case <-b.arrived:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.fakeAWS.DescribeCluster(ctx, in, o...)
}

func (b *barrierEKS) DescribeNodegroup(ctx context.Context, in *eks.DescribeNodegroupInput, o ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error) {
	if err := b.arrive(ctx); err != nil {
		return nil, err
	}
	return b.fakeAWS.DescribeNodegroup(ctx, in, o...)
}

func (b *barrierEKS) DescribeAddon(ctx context.Context, in *eks.DescribeAddonInput, o ...func(*eks.Options)) (*eks.DescribeAddonOutput, error) {
	if err := b.arrive(ctx); err != nil {
		return nil, err
	}
	return b.fakeAWS.DescribeAddon(ctx, in, o...)
}

func (b *barrierEKS) arrive(ctx context.Context) error {
	select {
	case b.arrived <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestReadRunningCallsAtOnce(t *testing.T) {
	b := &barrierEKS{fakeAWS: runningAccount(), others: 4, arrived: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := ReadRunning(ctx, b, "eks-x", []string{"ng-od", "ng-spot"}, []string{"vpc-cni", "coredns"})
	if err != nil || r.KubernetesVersion != "1.31" || len(r.NodeGroupVersions) != 2 || len(r.Addons) != 2 {
		t.Fatalf("%+v, %v", r, err)
	}
}
