// Package cleanup finds and removes what Kubernetes created in a TapStack VPC outside Terraform: load balancers
// and target groups of Service and Ingress objects (the in-tree cloud provider and the AWS Load Balancer
// Controller), their security groups, and network interfaces left available. Terraform does not know these
// objects, and they make the deletion of the VPC fail (DependencyViolation), so `tapstack destroy` lists them
// and, when told to, removes them before it destroys the stack.
//
// The AWS calls sit behind small interfaces (Clients), so tests can use fakes; NewClients makes the real ones
// from an aws.Config, which config.LoadDefaultConfig builds with AWS_ENDPOINT_URL honoured.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/tapstack/tapstack/internal/awserr"
)

// EC2API is what the cleaner asks of EC2.
type EC2API interface {
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	DeleteSecurityGroup(context.Context, *ec2.DeleteSecurityGroupInput, ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
	DeleteNetworkInterface(context.Context, *ec2.DeleteNetworkInterfaceInput, ...func(*ec2.Options)) (*ec2.DeleteNetworkInterfaceOutput, error)
}

// ELBv2API is what the cleaner asks of Elastic Load Balancing v2 (ALB, NLB).
type ELBv2API interface {
	elbv2.DescribeLoadBalancersAPIClient
	elbv2.DescribeTargetGroupsAPIClient
	DeleteLoadBalancer(context.Context, *elbv2.DeleteLoadBalancerInput, ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error)
	DeleteTargetGroup(context.Context, *elbv2.DeleteTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
}

// ELBAPI is what the cleaner asks of classic Elastic Load Balancing.
type ELBAPI interface {
	elb.DescribeLoadBalancersAPIClient
	DeleteLoadBalancer(context.Context, *elb.DeleteLoadBalancerInput, ...func(*elb.Options)) (*elb.DeleteLoadBalancerOutput, error)
}

// LogsAPI is what the cleaner asks of CloudWatch Logs.
type LogsAPI interface {
	DeleteLogGroup(context.Context, *cloudwatchlogs.DeleteLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
}

// Clients are the AWS clients of a Cleaner.
type Clients struct {
	EC2   EC2API
	ELBv2 ELBv2API
	ELB   ELBAPI
	Logs  LogsAPI
}

// NewClients makes the real clients.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		EC2:   ec2.NewFromConfig(cfg),
		ELBv2: elbv2.NewFromConfig(cfg),
		ELB:   elb.NewFromConfig(cfg),
		Logs:  cloudwatchlogs.NewFromConfig(cfg),
	}
}

// Kind is a kind of object the cleaner removes, in the order it removes them.
type Kind int

const (
	LoadBalancer Kind = iota
	ClassicLoadBalancer
	TargetGroup
	NetworkInterface
	SecurityGroup
)

func (k Kind) String() string {
	switch k {
	case LoadBalancer:
		return "load balancer"
	case ClassicLoadBalancer:
		return "classic load balancer"
	case TargetGroup:
		return "target group"
	case NetworkInterface:
		return "network interface"
	case SecurityGroup:
		return "security group"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Item is one object found.
type Item struct {
	Kind Kind
	// ID is what deletes it: an ARN (ELBv2 load balancers, target groups), a name (classic load balancers) or an
	// ID (security groups, network interfaces).
	ID   string
	Name string
	// Why says what made it a candidate.
	Why string
}

func (i Item) String() string {
	s := i.Label()
	if i.Why != "" {
		s += ": " + i.Why
	}
	return s
}

// Label names the item without saying why it was found: "load balancer ARN (name)".
func (i Item) Label() string {
	s := i.Kind.String() + " " + i.ID
	if i.Name != "" && i.Name != i.ID {
		s += " (" + i.Name + ")"
	}
	return s
}

// Target says where to look.
type Target struct {
	VPCID   string
	Cluster string
	// Keep lists security groups to leave alone whatever their tags, such as the cluster security group EKS
	// creates and deletes itself.
	Keep []string
}

// Cleaner finds and removes what Kubernetes left in a VPC.
type Cleaner struct {
	Clients
	// RetryFor bounds how long a deletion that AWS refuses because of a dependency still going away
	// (DependencyViolation, ResourceInUse) is tried again; 0 means 5 minutes.
	RetryFor time.Duration
	// Log receives a line per object removed; nil discards.
	Log io.Writer

	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// New returns a Cleaner over c.
func New(c Clients) *Cleaner { return &Cleaner{Clients: c} }

// LogGroupName is the control-plane log group EKS writes to, and creates when it is missing.
func LogGroupName(cluster string) string { return "/aws/eks/" + cluster + "/cluster" }

// Tags that mark an object as the cluster's.
const (
	tagClusterPrefix = "kubernetes.io/cluster/"         // in-tree cloud provider; value owned or shared
	tagLBController  = "elbv2.k8s.aws/cluster"          // AWS Load Balancer Controller; value the cluster name
	tagVPCCNI        = "cluster.k8s.amazonaws.com/name" // vpc-cni's ENIs; value the cluster name
)

// clusterTag returns the tag that makes tags the cluster's, or "".
func clusterTag(tags map[string]string, cluster string) string {
	if _, ok := tags[tagClusterPrefix+cluster]; ok {
		return tagClusterPrefix + cluster
	}
	for _, k := range []string{tagLBController, tagVPCCNI} {
		if tags[k] == cluster {
			return k + "=" + cluster
		}
	}
	return ""
}

// VPC CNI's owner tag: with its cluster name set, the VPC CNI tags each interface it creates
// eks:eni:owner=amazon-vpc-cni beside cluster.k8s.amazonaws.com/name (aws/amazon-vpc-cni-k8s,
// pkg/awsutils/awsutils.go, buildENITags). The CNI sets it from the nodes, not EKS, and EKS does not delete the
// interfaces the CNI leaves behind.
const (
	tagENIOwner       = "eks:eni:owner"
	tagENIOwnerVPCCNI = "amazon-vpc-cni"
)

// eksManaged reports tags that AWS itself set (aws:eks:cluster-name on the cluster security group, eks:* on
// node-group objects): EKS deletes those objects with the cluster or node group. The VPC CNI's owner tag is not
// one of them.
func eksManaged(tags map[string]string) bool {
	for k, v := range tags {
		if k == tagENIOwner && v == tagENIOwnerVPCCNI {
			continue
		}
		if strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "eks:") {
			return true
		}
	}
	return false
}

// Find lists the load balancers and target groups in the VPC, and the security groups and available network
// interfaces in it tagged for the cluster, in the order Remove deletes them.
func (c *Cleaner) Find(ctx context.Context, t Target) ([]Item, error) {
	if t.VPCID == "" {
		return nil, errors.New("cleanup: no VPC to look in")
	}
	var items []Item
	for _, find := range []func(context.Context, Target) ([]Item, error){
		c.findLoadBalancers, c.findClassicLoadBalancers, c.findTargetGroups, c.findNetworkInterfaces, c.findSecurityGroups,
	} {
		found, err := find(ctx, t)
		if err != nil {
			return nil, err
		}
		items = append(items, found...)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Kind < items[j].Kind })
	return items, nil
}

func (c *Cleaner) findLoadBalancers(ctx context.Context, t Target) ([]Item, error) {
	var out []Item
	p := elbv2.NewDescribeLoadBalancersPaginator(c.ELBv2, &elbv2.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe load balancers: %w", err)
		}
		for _, lb := range page.LoadBalancers {
			if aws.ToString(lb.VpcId) == t.VPCID {
				out = append(out, Item{Kind: LoadBalancer, ID: aws.ToString(lb.LoadBalancerArn),
					Name: aws.ToString(lb.LoadBalancerName), Why: "in the stack's VPC " + t.VPCID})
			}
		}
	}
	return out, nil
}

func (c *Cleaner) findClassicLoadBalancers(ctx context.Context, t Target) ([]Item, error) {
	var out []Item
	p := elb.NewDescribeLoadBalancersPaginator(c.ELB, &elb.DescribeLoadBalancersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe classic load balancers: %w", err)
		}
		for _, lb := range page.LoadBalancerDescriptions {
			if aws.ToString(lb.VPCId) == t.VPCID {
				name := aws.ToString(lb.LoadBalancerName)
				out = append(out, Item{Kind: ClassicLoadBalancer, ID: name, Name: name, Why: "in the stack's VPC " + t.VPCID})
			}
		}
	}
	return out, nil
}

func (c *Cleaner) findTargetGroups(ctx context.Context, t Target) ([]Item, error) {
	var out []Item
	p := elbv2.NewDescribeTargetGroupsPaginator(c.ELBv2, &elbv2.DescribeTargetGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe target groups: %w", err)
		}
		for _, tg := range page.TargetGroups {
			if aws.ToString(tg.VpcId) == t.VPCID {
				out = append(out, Item{Kind: TargetGroup, ID: aws.ToString(tg.TargetGroupArn),
					Name: aws.ToString(tg.TargetGroupName), Why: "in the stack's VPC " + t.VPCID})
			}
		}
	}
	return out, nil
}

func vpcFilter(id string) []ec2types.Filter {
	return []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{id}}}
}

func (c *Cleaner) findNetworkInterfaces(ctx context.Context, t Target) ([]Item, error) {
	var out []Item
	p := ec2.NewDescribeNetworkInterfacesPaginator(c.EC2, &ec2.DescribeNetworkInterfacesInput{Filters: vpcFilter(t.VPCID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe network interfaces: %w", err)
		}
		for _, ni := range page.NetworkInterfaces {
			// The filter is checked here too: an emulator may ignore it.
			if aws.ToString(ni.VpcId) != t.VPCID || ni.Status != ec2types.NetworkInterfaceStatusAvailable {
				continue
			}
			tags := ec2Tags(ni.TagSet)
			if why := clusterTag(tags, t.Cluster); why != "" && !eksManaged(tags) {
				out = append(out, Item{Kind: NetworkInterface, ID: aws.ToString(ni.NetworkInterfaceId),
					Name: aws.ToString(ni.Description), Why: "available, tagged " + why})
			}
		}
	}
	return out, nil
}

func (c *Cleaner) findSecurityGroups(ctx context.Context, t Target) ([]Item, error) {
	var out []Item
	keep := map[string]bool{}
	for _, id := range t.Keep {
		keep[id] = true
	}
	p := ec2.NewDescribeSecurityGroupsPaginator(c.EC2, &ec2.DescribeSecurityGroupsInput{Filters: vpcFilter(t.VPCID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe security groups: %w", err)
		}
		for _, sg := range page.SecurityGroups {
			id := aws.ToString(sg.GroupId)
			if aws.ToString(sg.VpcId) != t.VPCID || keep[id] || aws.ToString(sg.GroupName) == "default" {
				continue
			}
			tags := ec2Tags(sg.Tags)
			if why := clusterTag(tags, t.Cluster); why != "" && !eksManaged(tags) {
				out = append(out, Item{Kind: SecurityGroup, ID: id, Name: aws.ToString(sg.GroupName), Why: "tagged " + why})
			}
		}
	}
	return out, nil
}

func ec2Tags(ts []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// Remove deletes items in order: load balancers first (their listeners hold the target groups, their
// interfaces the security groups), then target groups, network interfaces and security groups. A deletion that
// AWS refuses because a dependency is still going away is tried again for up to RetryFor. An object already
// gone counts as removed. Every item is tried; the errors are joined.
func (c *Cleaner) Remove(ctx context.Context, items []Item) error {
	sorted := append([]Item(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Kind < sorted[j].Kind })
	var errs []error
	for _, it := range sorted {
		if err := c.retry(ctx, func() error { return c.delete(ctx, it) }); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", it.Kind.String()+" "+it.ID, err))
			continue
		}
		if c.Log != nil {
			fmt.Fprintf(c.Log, "deleted %s\n", it.Label())
		}
	}
	return errors.Join(errs...)
}

func (c *Cleaner) delete(ctx context.Context, it Item) error {
	var err error
	switch it.Kind {
	case LoadBalancer:
		_, err = c.ELBv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(it.ID)})
	case ClassicLoadBalancer:
		_, err = c.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(it.ID)})
	case TargetGroup:
		_, err = c.ELBv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(it.ID)})
	case NetworkInterface:
		_, err = c.EC2.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(it.ID)})
	case SecurityGroup:
		_, err = c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(it.ID)})
	default:
		return fmt.Errorf("unknown kind %v", it.Kind)
	}
	return err
}

// DeleteLogGroup deletes a log group; deleted is false when there was none.
func (c *Cleaner) DeleteLogGroup(ctx context.Context, name string) (deleted bool, err error) {
	_, err = c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)})
	if err != nil {
		if gone(err) {
			return false, nil
		}
		return false, fmt.Errorf("delete log group %s: %w", name, err)
	}
	return true, nil
}

// gone reports an error saying the object does not exist (any more).
func gone(err error) bool {
	switch c := awserr.Code(err); c {
	case "LoadBalancerNotFound", "TargetGroupNotFound", "ResourceNotFoundException", "AccessPointNotFound":
		return true
	default:
		return strings.HasSuffix(c, ".NotFound") // InvalidGroup.NotFound, InvalidNetworkInterfaceID.NotFound
	}
}

// waiting reports an error that goes away once a dependency does.
func waiting(err error) bool {
	switch awserr.Code(err) {
	case "DependencyViolation", "ResourceInUse", "InvalidNetworkInterface.InUse", "OperationNotPermitted":
		return true
	}
	return false
}

const (
	defaultRetryFor = 5 * time.Minute
	firstDelay      = 2 * time.Second
	maxDelay        = 15 * time.Second
)

func (c *Cleaner) retry(ctx context.Context, fn func() error) error {
	now, sleep := c.now, c.sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	limit := c.RetryFor
	if limit <= 0 {
		limit = defaultRetryFor
	}
	deadline := now().Add(limit)
	delay := firstDelay
	for {
		err := fn()
		if err == nil || gone(err) {
			return nil
		}
		if !waiting(err) || !now().Add(delay).Before(deadline) {
			return err
		}
		if serr := sleep(ctx, delay); serr != nil {
			return errors.Join(err, serr)
		}
		delay = min(2*delay, maxDelay)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
