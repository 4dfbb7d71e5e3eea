package harness_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

// contractDeletion are the logs, KMS, networking and deletion behaviours: L1-L2, D1-D2.
var contractDeletion = []contractCase{
	{id: "D1_NetworkInterfaceHoldsSubnetGroupAndVpc", test: contractD1Interface},
	{id: "D1_LoadBalancerHoldsSubnetsAndGroup", test: contractD1LoadBalancer},
	{id: "D1_MappedAddressesHoldInternetGateway", test: contractD1Gateway},
	{id: "D2_ClusterWithNodegroupsOrFargateProfiles", test: contractD2},
}

// network is a VPC with two subnets in two zones, for the D1 subtests.
type network struct {
	vpc, subnetA, subnetB string
}

func createNetwork(t *testing.T, ctx context.Context, ec *ec2.Client) network {
	t.Helper()
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	n := network{vpc: aws.ToString(vpc.Vpc.VpcId)}
	for i, p := range []*string{&n.subnetA, &n.subnetB} {
		sn, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.vpc),
			CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]), AvailabilityZone: aws.String(harness.Region + []string{"a", "b"}[i])})
		if err != nil {
			t.Fatal(err)
		}
		*p = aws.ToString(sn.Subnet.SubnetId)
	}
	return n
}

func createGroup(t *testing.T, ctx context.Context, ec *ec2.Client, vpc, name string) string {
	t.Helper()
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String(name), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(sg.GroupId)
}

// contractD1Interface: a network interface the VPC CNI left behind (available, tagged as aws/amazon-vpc-cni-k8s
// pkg/awsutils/awsutils.go tags its ENIs) holds its subnet, its security group and, through the subnet, the VPC:
// DependencyViolation until the interface is deleted. This is what `tapstack destroy` would meet without its
// cleanup.
func contractD1Interface(t *testing.T) {
	t.Parallel()
	front, _, ctx := startEKS(t)
	ec := ec2Client(front.URL)
	n := createNetwork(t, ctx, ec)
	sg := createGroup(t, ctx, ec, n.vpc, "nodes")
	eni, err := ec.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(n.subnetA),
		Groups: []string{sg}, Description: aws.String("aws-K8S-i-0123456789abcdef0"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeNetworkInterface, Tags: []ec2types.Tag{
			{Key: aws.String("node.k8s.amazonaws.com/instance_id"), Value: aws.String("i-0123456789abcdef0")},
			{Key: aws.String("cluster.k8s.amazonaws.com/name"), Value: aws.String("c1")},
			{Key: aws.String("eks:eni:owner"), Value: aws.String("amazon-vpc-cni")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(n.subnetA)})
	wantAPIError(t, "DeleteSubnet under a network interface", err, "DependencyViolation",
		"The subnet '"+n.subnetA+"' has dependencies and cannot be deleted.")
	_, err = ec.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)})
	wantAPIError(t, "DeleteSecurityGroup of a network interface's group", err, "DependencyViolation",
		"resource "+sg+" has a dependent object")
	if _, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(n.subnetB)}); err != nil {
		t.Fatalf("DeleteSubnet of the empty subnet: %v", err)
	}
	_, err = ec.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(n.vpc)}) // moto's own refusal
	wantAPIError(t, "DeleteVpc with a subnet under a network interface", err, "DependencyViolation",
		"The vpc '"+n.vpc+"' has dependencies and cannot be deleted.")

	if _, err := ec.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: eni.NetworkInterface.NetworkInterfaceId}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(n.subnetA)}); err != nil {
		t.Errorf("DeleteSubnet once the interface is gone: %v", err)
	}
	if _, err := ec.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)}); err != nil {
		t.Errorf("DeleteSecurityGroup once the interface is gone: %v", err)
	}
	if _, err := ec.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(n.vpc)}); err != nil {
		t.Errorf("DeleteVpc once it is empty: %v", err)
	}
}

// contractD1LoadBalancer: a load balancer (the AWS Load Balancer Controller's, say) holds its subnets and its
// security group until it is deleted.
func contractD1LoadBalancer(t *testing.T) {
	t.Parallel()
	front, _, ctx := startEKS(t)
	ec, lb := ec2Client(front.URL), elbv2Client(front.URL)
	n := createNetwork(t, ctx, ec)
	sg := createGroup(t, ctx, ec, n.vpc, "k8s-default-web")
	created, err := lb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("k8s-default-web"),
		Subnets: []string{n.subnetA, n.subnetB}, SecurityGroups: []string{sg}, Type: elbv2types.LoadBalancerTypeEnumApplication})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range []string{n.subnetA, n.subnetB} {
		_, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(sn)})
		wantAPIError(t, "DeleteSubnet under a load balancer", err, "DependencyViolation",
			"The subnet '"+sn+"' has dependencies and cannot be deleted.")
	}
	_, err = ec.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)})
	wantAPIError(t, "DeleteSecurityGroup of a load balancer's group", err, "DependencyViolation",
		"resource "+sg+" has a dependent object")

	if _, err := lb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: created.LoadBalancers[0].LoadBalancerArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)}); err != nil {
		t.Errorf("DeleteSecurityGroup once the load balancer is gone: %v", err)
	}
	for _, sn := range []string{n.subnetA, n.subnetB} {
		if _, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(sn)}); err != nil {
			t.Errorf("DeleteSubnet once the load balancer is gone: %v", err)
		}
	}
}

// contractD1Gateway: an internet gateway cannot be detached while an Elastic IP is associated in the VPC, through
// a network interface or a NAT gateway. Deleting the NAT gateway disassociates its address (and deletes its
// interface, which would otherwise hold the subnet), so a destroy that deletes NAT gateways first gets through.
func contractD1Gateway(t *testing.T) {
	t.Parallel()
	front, _, ctx := startEKS(t)
	ec := ec2Client(front.URL)
	n := createNetwork(t, ctx, ec)
	igw, err := ec.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	igwID := igw.InternetGateway.InternetGatewayId
	if _, err := ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igwID, VpcId: aws.String(n.vpc)}); err != nil {
		t.Fatal(err)
	}
	detach := func() error {
		_, err := ec.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: igwID, VpcId: aws.String(n.vpc)})
		return err
	}
	mapped := func(what string, err error) {
		t.Helper()
		wantAPIError(t, what, err, "DependencyViolation", "Network "+n.vpc+" has some mapped public address(es). "+
			"Please unmap those public address(es) before detaching the gateway.")
	}
	alloc := func() string {
		t.Helper()
		a, err := ec.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(a.AllocationId)
	}

	// An Elastic IP on a network interface.
	eni, err := ec.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(n.subnetA)})
	if err != nil {
		t.Fatal(err)
	}
	eip := alloc()
	assoc, err := ec.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: aws.String(eip),
		NetworkInterfaceId: eni.NetworkInterface.NetworkInterfaceId})
	if err != nil {
		t.Fatal(err)
	}
	// A NAT gateway's Elastic IP.
	natEIP := alloc()
	nat, err := ec.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(n.subnetB), AllocationId: aws.String(natEIP)})
	if err != nil {
		t.Fatal(err)
	}
	mapped("DetachInternetGateway with two addresses mapped", detach())
	if _, err := ec.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: assoc.AssociationId}); err != nil {
		t.Fatal(err)
	}
	mapped("DetachInternetGateway with the NAT gateway's address mapped", detach())

	if _, err := ec.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGateway.NatGatewayId}); err != nil {
		t.Fatal(err)
	}
	addrs, err := ec.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{natEIP}})
	if err != nil || len(addrs.Addresses) != 1 {
		t.Fatalf("the NAT gateway's address after DeleteNatGateway: %v %+v", err, addrs)
	} else if a := addrs.Addresses[0]; aws.ToString(a.AssociationId) != "" || aws.ToString(a.NetworkInterfaceId) != "" {
		t.Errorf("DeleteNatGateway left the address associated (%s, %s), want it disassociated and kept",
			aws.ToString(a.AssociationId), aws.ToString(a.NetworkInterfaceId))
	}
	enis, err := ec.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
		{Name: aws.String("subnet-id"), Values: []string{n.subnetB}}}})
	if err != nil || len(enis.NetworkInterfaces) != 0 {
		t.Errorf("DeleteNatGateway left %d network interfaces in its subnet (%v)", len(enis.NetworkInterfaces), err)
	}
	if err := detach(); err != nil {
		t.Errorf("DetachInternetGateway once no address is mapped: %v", err)
	}
	if _, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(n.subnetB)}); err != nil {
		t.Errorf("DeleteSubnet of the deleted NAT gateway's subnet: %v", err)
	}
}

// contractD2: a cluster with node groups, or with Fargate profiles, cannot be deleted: ResourceInUseException
// until they are deleted.
func contractD2(t *testing.T) {
	t.Parallel()
	_, c, ctx := startEKS(t)
	createCluster(t, c, "busy", "1.33", nil)
	if _, err := createNodegroup(ctx, c, "busy", "ng", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateFargateProfile(ctx, &eks.CreateFargateProfileInput{ClusterName: aws.String("busy"),
		FargateProfileName: aws.String("fp"), PodExecutionRoleArn: aws.String(roleARN),
		Selectors: []ekstypes.FargateProfileSelector{{Namespace: aws.String("default")}}}); err != nil {
		t.Fatal(err)
	}
	del := func() error {
		_, err := c.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("busy")})
		return err
	}
	wantAPIError(t, "DeleteCluster with a node group", del(), "ResourceInUseException", "Cluster has nodegroups attached")
	if _, err := c.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: aws.String("busy"), NodegroupName: aws.String("ng")}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "DeleteCluster with a Fargate profile", del(), "ResourceInUseException",
		"Cluster has Fargate Profiles in ACTIVE/CREATING state")
	if _, err := c.DeleteFargateProfile(ctx, &eks.DeleteFargateProfileInput{ClusterName: aws.String("busy"),
		FargateProfileName: aws.String("fp")}); err != nil {
		t.Fatal(err)
	}
	if err := del(); err != nil {
		t.Errorf("DeleteCluster once nothing is attached: %v", err)
	}
	if _, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("busy")}); err == nil {
		t.Error("the cluster is still there")
	}
}
