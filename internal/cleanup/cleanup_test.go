package cleanup

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// account is an in-memory AWS account: the fakes below share it and log each deletion in order. Describe calls
// ignore filters, as an emulator might, so the cleaner's own checks are what is tested.
type account struct {
	lbs     []elbv2types.LoadBalancer
	classic []elbtypes.LoadBalancerDescription
	tgs     []elbv2types.TargetGroup
	sgs     []ec2types.SecurityGroup
	enis    []ec2types.NetworkInterface
	logs    map[string]bool
	// fail maps an ID to the error codes its next deletions return, in order.
	fail    map[string][]string
	deleted []string
}

func (a *account) del(id string) error {
	if codes := a.fail[id]; len(codes) > 0 {
		a.fail[id] = codes[1:]
		return &smithy.GenericAPIError{Code: codes[0], Message: codes[0] + " for " + id}
	}
	a.deleted = append(a.deleted, id)
	return nil
}

type fakeEC2 struct{ *account }

func (f fakeEC2) DescribeSecurityGroups(context.Context, *ec2.DescribeSecurityGroupsInput, ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: f.sgs}, nil
}
func (f fakeEC2) DescribeNetworkInterfaces(context.Context, *ec2.DescribeNetworkInterfacesInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: f.enis}, nil
}
func (f fakeEC2) DeleteSecurityGroup(_ context.Context, in *ec2.DeleteSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error) {
	return &ec2.DeleteSecurityGroupOutput{}, f.del(aws.ToString(in.GroupId))
}
func (f fakeEC2) DeleteNetworkInterface(_ context.Context, in *ec2.DeleteNetworkInterfaceInput, _ ...func(*ec2.Options)) (*ec2.DeleteNetworkInterfaceOutput, error) {
	return &ec2.DeleteNetworkInterfaceOutput{}, f.del(aws.ToString(in.NetworkInterfaceId))
}

type fakeELBv2 struct{ *account }

func (f fakeELBv2) DescribeLoadBalancers(context.Context, *elbv2.DescribeLoadBalancersInput, ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	return &elbv2.DescribeLoadBalancersOutput{LoadBalancers: f.lbs}, nil
}
func (f fakeELBv2) DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	return &elbv2.DescribeTargetGroupsOutput{TargetGroups: f.tgs}, nil
}
func (f fakeELBv2) DeleteLoadBalancer(_ context.Context, in *elbv2.DeleteLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error) {
	return &elbv2.DeleteLoadBalancerOutput{}, f.del(aws.ToString(in.LoadBalancerArn))
}
func (f fakeELBv2) DeleteTargetGroup(_ context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	return &elbv2.DeleteTargetGroupOutput{}, f.del(aws.ToString(in.TargetGroupArn))
}

type fakeELB struct{ *account }

func (f fakeELB) DescribeLoadBalancers(context.Context, *elb.DescribeLoadBalancersInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	return &elb.DescribeLoadBalancersOutput{LoadBalancerDescriptions: f.classic}, nil
}
func (f fakeELB) DeleteLoadBalancer(_ context.Context, in *elb.DeleteLoadBalancerInput, _ ...func(*elb.Options)) (*elb.DeleteLoadBalancerOutput, error) {
	return &elb.DeleteLoadBalancerOutput{}, f.del(aws.ToString(in.LoadBalancerName))
}

type fakeLogs struct{ *account }

func (f fakeLogs) DeleteLogGroup(_ context.Context, in *cloudwatchlogs.DeleteLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error) {
	name := aws.ToString(in.LogGroupName)
	if err := f.del(name); err != nil {
		return nil, err
	}
	if !f.logs[name] {
		f.deleted = f.deleted[:len(f.deleted)-1]
		return nil, &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "The specified log group does not exist."}
	}
	delete(f.logs, name)
	return &cloudwatchlogs.DeleteLogGroupOutput{}, nil
}

func tags(kv ...string) []ec2types.Tag {
	var out []ec2types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// cluster c1 in vpc-1, with everything that may or may not be found around it.
func newAccount() *account {
	sg := func(id, name, vpc string, t []ec2types.Tag) ec2types.SecurityGroup {
		return ec2types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(name), VpcId: aws.String(vpc), Tags: t}
	}
	eni := func(id, vpc string, st ec2types.NetworkInterfaceStatus, t []ec2types.Tag) ec2types.NetworkInterface {
		return ec2types.NetworkInterface{NetworkInterfaceId: aws.String(id), VpcId: aws.String(vpc), Status: st, TagSet: t}
	}
	return &account{
		lbs: []elbv2types.LoadBalancer{
			{LoadBalancerArn: aws.String("arn:lb/k8s-web"), LoadBalancerName: aws.String("k8s-web"), VpcId: aws.String("vpc-1")},
			{LoadBalancerArn: aws.String("arn:lb/elsewhere"), LoadBalancerName: aws.String("elsewhere"), VpcId: aws.String("vpc-2")},
		},
		classic: []elbtypes.LoadBalancerDescription{
			{LoadBalancerName: aws.String("a1b2c3"), VPCId: aws.String("vpc-1")},
			{LoadBalancerName: aws.String("other"), VPCId: aws.String("vpc-2")},
		},
		tgs: []elbv2types.TargetGroup{
			{TargetGroupArn: aws.String("arn:tg/k8s-web"), TargetGroupName: aws.String("k8s-web"), VpcId: aws.String("vpc-1")},
			{TargetGroupArn: aws.String("arn:tg/other"), TargetGroupName: aws.String("other"), VpcId: aws.String("vpc-2")},
		},
		sgs: []ec2types.SecurityGroup{
			sg("sg-default", "default", "vpc-1", nil),
			sg("sg-lbc", "k8s-default-web", "vpc-1", tags("elbv2.k8s.aws/cluster", "c1")),
			sg("sg-intree", "k8s-elb-a1b2c3", "vpc-1", tags("kubernetes.io/cluster/c1", "owned")),
			sg("sg-eks", "eks-cluster-sg-c1", "vpc-1", tags("kubernetes.io/cluster/c1", "owned", "aws:eks:cluster-name", "c1")),
			sg("sg-kept", "kept", "vpc-1", tags("kubernetes.io/cluster/c1", "owned")),
			sg("sg-c2", "k8s-c2", "vpc-1", tags("elbv2.k8s.aws/cluster", "c2")),
			sg("sg-terraform", "tf", "vpc-1", tags("Name", "x")),
			sg("sg-vpc2", "k8s", "vpc-2", tags("elbv2.k8s.aws/cluster", "c1")),
		},
		enis: []ec2types.NetworkInterface{
			eni("eni-leaked", "vpc-1", ec2types.NetworkInterfaceStatusAvailable, tags("cluster.k8s.amazonaws.com/name", "c1")),
			// As the VPC CNI tags its interfaces when it knows the cluster's name (amazon-vpc-cni-k8s buildENITags).
			eni("eni-cni", "vpc-1", ec2types.NetworkInterfaceStatusAvailable, tags("node.k8s.amazonaws.com/instance_id",
				"i-0123456789abcdef0", "cluster.k8s.amazonaws.com/name", "c1", "eks:eni:owner", "amazon-vpc-cni")),
			// An interface an EKS-side controller owns is EKS's to delete.
			eni("eni-branch", "vpc-1", ec2types.NetworkInterfaceStatusAvailable, tags("cluster.k8s.amazonaws.com/name", "c1",
				"eks:eni:owner", "eks-vpc-resource-controller")),
			eni("eni-inuse", "vpc-1", ec2types.NetworkInterfaceStatusInUse, tags("cluster.k8s.amazonaws.com/name", "c1")),
			eni("eni-untagged", "vpc-1", ec2types.NetworkInterfaceStatusAvailable, nil),
			eni("eni-vpc2", "vpc-2", ec2types.NetworkInterfaceStatusAvailable, tags("kubernetes.io/cluster/c1", "owned")),
		},
		logs: map[string]bool{"/aws/eks/c1/cluster": true},
		fail: map[string][]string{},
	}
}

func newCleaner(a *account) *Cleaner {
	c := New(Clients{EC2: fakeEC2{a}, ELBv2: fakeELBv2{a}, ELB: fakeELB{a}, Logs: fakeLogs{a}})
	clock := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return clock }
	c.sleep = func(_ context.Context, d time.Duration) error { clock = clock.Add(d); return nil }
	return c
}

var target = Target{VPCID: "vpc-1", Cluster: "c1", Keep: []string{"sg-kept"}}

func ids(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestFind(t *testing.T) {
	items, err := newCleaner(newAccount()).Find(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:lb/k8s-web", "a1b2c3", "arn:tg/k8s-web", "eni-leaked", "eni-cni", "sg-lbc", "sg-intree"}
	if got := ids(items); !slices.Equal(got, want) {
		t.Fatalf("found %v, want %v", got, want)
	}
	for _, c := range []struct {
		i    int
		want string
	}{
		{0, "load balancer arn:lb/k8s-web (k8s-web): in the stack's VPC vpc-1"},
		{1, "classic load balancer a1b2c3: in the stack's VPC vpc-1"},
		{3, "network interface eni-leaked: available, tagged cluster.k8s.amazonaws.com/name=c1"},
		{4, "network interface eni-cni: available, tagged cluster.k8s.amazonaws.com/name=c1"},
		{5, "security group sg-lbc (k8s-default-web): tagged elbv2.k8s.aws/cluster=c1"},
		{6, "security group sg-intree (k8s-elb-a1b2c3): tagged kubernetes.io/cluster/c1"},
	} {
		if got := items[c.i].String(); got != c.want {
			t.Errorf("item %d: %q, want %q", c.i, got, c.want)
		}
	}
	if _, err := newCleaner(newAccount()).Find(context.Background(), Target{Cluster: "c1"}); err == nil {
		t.Error("Find without a VPC passed")
	}
}

func TestRemoveOrderAndRetries(t *testing.T) {
	a := newAccount()
	c := newCleaner(a)
	var log strings.Builder
	c.Log = &log
	items, _ := c.Find(context.Background(), target)
	slices.Reverse(items) // Remove sorts them itself
	// The target group is still held by the listener for a moment, the security group by the load balancer's
	// interfaces; the interface is already gone.
	a.fail["arn:tg/k8s-web"] = []string{"ResourceInUse"}
	a.fail["sg-lbc"] = []string{"DependencyViolation", "DependencyViolation"}
	a.fail["eni-leaked"] = []string{"InvalidNetworkInterfaceID.NotFound"}
	if err := c.Remove(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:lb/k8s-web", "a1b2c3", "arn:tg/k8s-web", "eni-cni", "sg-intree", "sg-lbc"}
	if !slices.Equal(a.deleted, want) {
		t.Fatalf("deleted %v, want %v", a.deleted, want)
	}
	if n := strings.Count(log.String(), "deleted "); n != 7 {
		t.Errorf("logged %d deletions:\n%s", n, log.String())
	}
}

func TestRemoveGivesUp(t *testing.T) {
	a := newAccount()
	c := newCleaner(a)
	c.RetryFor = time.Minute
	a.fail["sg-lbc"] = slices.Repeat([]string{"DependencyViolation"}, 100)
	a.fail["arn:lb/k8s-web"] = []string{"AccessDenied"}
	items, _ := c.Find(context.Background(), target)
	err := c.Remove(context.Background(), items)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"delete security group sg-lbc", "DependencyViolation", "delete load balancer arn:lb/k8s-web", "AccessDenied"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not say %q", err, w)
		}
	}
	if left := len(a.fail["sg-lbc"]); left < 90 || left > 96 {
		t.Errorf("tried sg-lbc %d times within a minute of 2s..15s waits", 100-left)
	}
	if len(a.fail["arn:lb/k8s-web"]) != 0 || slices.Contains(a.deleted, "arn:lb/k8s-web") {
		t.Error("AccessDenied was retried or the load balancer deleted")
	}
	// The rest went on.
	if !slices.Contains(a.deleted, "sg-intree") || !slices.Contains(a.deleted, "arn:tg/k8s-web") {
		t.Errorf("deleted %v", a.deleted)
	}
}

func TestDeleteLogGroup(t *testing.T) {
	a := newAccount()
	c := newCleaner(a)
	ctx := context.Background()
	if ok, err := c.DeleteLogGroup(ctx, LogGroupName("c1")); !ok || err != nil {
		t.Fatalf("existing group: %v %v", ok, err)
	}
	if ok, err := c.DeleteLogGroup(ctx, LogGroupName("c1")); ok || err != nil {
		t.Fatalf("missing group: %v %v", ok, err)
	}
	a.fail["/aws/eks/c2/cluster"] = []string{"AccessDeniedException"}
	if _, err := c.DeleteLogGroup(ctx, LogGroupName("c2")); err == nil || !strings.Contains(err.Error(), "/aws/eks/c2/cluster") {
		t.Fatalf("denied: %v", err)
	}
	if LogGroupName("eks-cluster-v1-dev") != "/aws/eks/eks-cluster-v1-dev/cluster" {
		t.Error("LogGroupName")
	}
}
