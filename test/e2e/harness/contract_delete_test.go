package harness_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

// contractDeletion are the logs, KMS, networking and deletion behaviours: L1-L2, D1-D2.
var contractDeletion = []contractCase{
	{id: "L1_KeyPolicyMustAllowLogs", test: contractL1},
	{id: "L2_DeletedControlPlaneLogGroupComesBack", test: contractL2},
	{id: "D1_NetworkInterfaceHoldsSubnetGroupAndVpc", test: contractD1Interface},
	{id: "D1_LoadBalancerHoldsSubnetsAndGroup", test: contractD1LoadBalancer},
	{id: "D1_MappedAddressesHoldInternetGateway", test: contractD1Gateway},
	{id: "D2_ClusterWithNodegroupsOrFargateProfiles", test: contractD2},
}

// testAccount is the account moto serves.
const testAccount = "123456789012"

// logGroupARN is a log group's ARN as CloudWatch Logs names it in KMS encryption contexts.
func logGroupARN(name string) string {
	return "arn:aws:logs:" + harness.Region + ":" + testAccount + ":log-group:" + name
}

// keyPolicy is a key policy with the account-root statement KMS gives every key, and stmts.
func keyPolicy(stmts ...map[string]any) string {
	all := []map[string]any{{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
		"Principal": map[string]any{"AWS": "arn:aws:iam::" + testAccount + ":root"}, "Action": "kms:*", "Resource": "*"}}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": append(all, stmts...)})
	return string(b)
}

// logsStatement is the statement of the CloudWatch Logs user guide (encrypt-log-data-kms) for the logs principal
// of region, with the condition op on kms:EncryptionContext:aws:logs:arn when op is not "".
func logsStatement(effect, region, op string, arns ...string) map[string]any {
	s := map[string]any{"Effect": effect, "Principal": map[string]any{"Service": "logs." + region + ".amazonaws.com"},
		"Action":   []string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
		"Resource": "*"}
	if op != "" {
		s["Condition"] = map[string]any{op: map[string]any{"kms:EncryptionContext:aws:logs:arn": arns}}
	}
	return s
}

// createKey creates a KMS key with the policy ("" for KMS's default, the account root alone) and returns its ARN.
func createKey(t *testing.T, ctx context.Context, k *kms.Client, policy string) string {
	t.Helper()
	in := &kms.CreateKeyInput{Description: aws.String("contract")}
	if policy != "" {
		in.Policy = aws.String(policy)
	}
	out, err := k.CreateKey(ctx, in)
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// logGroupInfo is what the tests look at of a log group.
type logGroupInfo struct {
	retention *int32
	key       string
}

// logGroup returns the log group of that exact name, or nil.
func logGroup(t *testing.T, ctx context.Context, lg *cloudwatchlogs.Client, name string) *logGroupInfo {
	t.Helper()
	out, err := lg.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatalf("describe log groups %s: %v", name, err)
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return &logGroupInfo{retention: g.RetentionInDays, key: aws.ToString(g.KmsKeyId)}
		}
	}
	return nil
}

// contractL1: CloudWatch Logs may use a KMS key for a log group only when the key policy lets the service
// principal logs.<region>.amazonaws.com use it, with the group's encryption context when the statement has a
// condition; otherwise CreateLogGroup with kmsKeyId and AssociateKmsKey fail with AccessDeniedException.
func contractL1(t *testing.T) {
	t.Parallel()
	front, _, ctx := startEKS(t)
	k, lg := kmsClient(front.URL), logsClient(front.URL)
	refused := func(what string, err error, group string) {
		t.Helper()
		wantAPIError(t, what, err, "AccessDeniedException",
			"The specified KMS key does not exist or is not allowed to be used with Arn '"+logGroupARN(group)+"'")
	}
	const group = "/aws/eks/c1/cluster"
	associate := func(group, key string) error {
		_, err := lg.AssociateKmsKey(ctx, &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String(group), KmsKeyId: aws.String(key)})
		return err
	}
	create := func(group, key string) error {
		_, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group), KmsKeyId: aws.String(key)})
		return err
	}

	// Refused: KMS's default policy names the account alone.
	key := createKey(t, ctx, k, "")
	refused("CreateLogGroup with a key of KMS's default policy", create(group, key), group)
	if logGroup(t, ctx, lg, group) != nil {
		t.Fatalf("the refused CreateLogGroup created %s", group)
	}
	if _, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	refused("AssociateKmsKey with a key of KMS's default policy", associate(group, key), group)
	refused("AssociateKmsKey with a key that does not exist",
		associate(group, "arn:aws:kms:"+harness.Region+":"+testAccount+":key/00000000-0000-0000-0000-000000000000"), group)

	// Refused: the statement names another region's logs principal, or its condition another group.
	put := func(policy string) {
		t.Helper()
		if _, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(key), PolicyName: aws.String("default"),
			Policy: aws.String(policy)}); err != nil {
			t.Fatalf("put key policy: %v", err)
		}
	}
	put(keyPolicy(logsStatement("Allow", "eu-west-2", "")))
	refused("AssociateKmsKey with a statement for logs.eu-west-2.amazonaws.com", associate(group, key), group)
	put(keyPolicy(logsStatement("Allow", harness.Region, "ArnEquals", logGroupARN("/aws/eks/c2/cluster"))))
	refused("AssociateKmsKey with a condition naming another group", associate(group, key), group)
	if g := logGroup(t, ctx, lg, group); g == nil || g.key != "" {
		t.Fatalf("after refused associations the group is %+v, want it without a key", g)
	}

	// Accepted: the user guide's statement, the condition naming the group exactly or through a wildcard.
	put(keyPolicy(logsStatement("Allow", harness.Region, "ArnEquals", logGroupARN(group))))
	if err := associate(group, key); err != nil {
		t.Fatalf("AssociateKmsKey with the user guide's statement: %v", err)
	}
	if g := logGroup(t, ctx, lg, group); g == nil || g.key != key {
		t.Fatalf("after AssociateKmsKey the group is %+v, want key %s", g, key)
	}
	put(keyPolicy(logsStatement("Allow", harness.Region, "ArnLike", logGroupARN("/aws/eks/c1/*"), logGroupARN("/aws/vpc-flow-log/v1"))))
	for _, g := range []string{"/aws/eks/c1/audit", "/aws/vpc-flow-log/v1"} {
		if err := create(g, key); err != nil {
			t.Errorf("CreateLogGroup %s under an ArnLike condition that covers it: %v", g, err)
		}
	}
	refused("CreateLogGroup outside the ArnLike condition", create("/aws/eks/c2/cluster", key), "/aws/eks/c2/cluster")
	put(keyPolicy(logsStatement("Allow", harness.Region, "")))
	if err := create("/any/group", key); err != nil {
		t.Errorf("CreateLogGroup under a statement without a condition: %v", err)
	}

	// Refused again: an explicit Deny for the logs principal wins over the Allow.
	put(keyPolicy(logsStatement("Allow", harness.Region, ""), logsStatement("Deny", harness.Region, "StringLike", logGroupARN("/aws/eks/*"))))
	refused("AssociateKmsKey under an explicit Deny", associate("/aws/eks/c1/audit", key), "/aws/eks/c1/audit")
	if err := create("/other/group", key); err != nil {
		t.Errorf("CreateLogGroup outside the Deny: %v", err)
	}
}

// contractL2: while a cluster exists with control-plane logging on, EKS writes its log group /aws/eks/<name>/cluster
// again after it is deleted (plain: no retention, no key); not for a cluster without logging, not for other
// groups, and not once the cluster is gone.
func contractL2(t *testing.T) {
	t.Parallel()
	front, c, ctx := startEKS(t)
	lg := logsClient(front.URL)
	createCluster(t, c, "logged", "1.33", func(in *eks.CreateClusterInput) {
		in.Logging = &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{
			{Types: []ekstypes.LogType{ekstypes.LogTypeApi, ekstypes.LogTypeAudit}, Enabled: aws.Bool(true)}}}
	})
	createCluster(t, c, "quiet", "1.33", nil)
	groups := []string{"/aws/eks/logged/cluster", "/aws/eks/quiet/cluster", "/aws/eks/logged/other"}
	for _, g := range groups {
		if _, err := lg.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := lg.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(g),
			RetentionInDays: aws.Int32(30)}); err != nil {
			t.Fatal(err)
		}
	}
	del := func(g string) {
		t.Helper()
		if _, err := lg.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatalf("delete %s: %v", g, err)
		}
	}
	for _, g := range groups {
		del(g)
	}
	if g := logGroup(t, ctx, lg, groups[0]); g == nil {
		t.Errorf("%s did not come back while cluster logged logs to it", groups[0])
	} else if g.retention != nil || g.key != "" {
		t.Errorf("%s came back with retention %v and key %q, want a plain group", groups[0], g.retention, g.key)
	}
	for _, g := range groups[1:] {
		if logGroup(t, ctx, lg, g) != nil {
			t.Errorf("%s came back", g)
		}
	}

	// Once the cluster is gone, nothing writes the group again.
	if _, err := c.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("logged")}); err != nil {
		t.Fatal(err)
	}
	del(groups[0])
	if logGroup(t, ctx, lg, groups[0]) != nil {
		t.Errorf("%s came back after the cluster was deleted", groups[0])
	}
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
