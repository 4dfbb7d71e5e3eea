package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

const deployBucket = "tapstack-e2e-deploy-state"

// TestDeploy runs the six steps of issue 4 on one environment, in order, through the tapstack CLI: deploy,
// outputs (and the platform add-ons of issue 13 with their own roles), a clean second plan, two concurrent deploys, the plan guard (refused, then --allow-destroy), and a
// destroy that removes what Kubernetes would have left in the VPC: a load balancer and a network interface.
func TestDeploy(t *testing.T) {
	t.Parallel()        // each test has its own moto, front, bucket and working copy
	start := time.Now() // clock: the test's duration, logged
	harness.TerraformBinary(t)
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	harness.CreateBucket(t, front.URL, deployBucket, harness.Region)
	d := &deployStack{
		endpoint: front.URL,
		env:      deployEnv(front.URL, harness.TerraformCLIConfig(t)),
		bucket:   deployBucket,
		suffix:   "e2e1",
	}
	wc := newWorkingCopy(t)
	defer func() { t.Logf("TestDeploy took %s", time.Since(start).Round(time.Second)) }()

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"1_deploy_creates_every_resource", func(t *testing.T) { stepDeploy(t, d, wc) }},
		{"2_outputs_match_moto", func(t *testing.T) { stepOutputs(t, d, wc) }},
		{"2b_platform_addons_active_with_their_own_roles", func(t *testing.T) { stepPlatformAddons(t, d) }},
		{"3_second_plan_is_clean", func(t *testing.T) { d.run(t, wc, 0, "plan", "--detailed-exitcode") }},
		{"4_concurrent_deploys_meet_the_state_lock", func(t *testing.T) { stepConcurrent(t, d, wc) }},
		{"5_guard_refuses_replacing_the_vpc", func(t *testing.T) { stepGuard(t, d, wc) }},
		{"6_destroy_removes_what_kubernetes_left", func(t *testing.T) { stepDestroy(t, d, wc) }},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %s failed; the later steps depend on it", s.name)
		}
	}
}

// stepDeploy: deploy the default stack; every resource is created and the state is in the bucket.
func stepDeploy(t *testing.T, d *deployStack, wc string) {
	r := d.run(t, wc, 0, "deploy", "--lock-timeout", "30s")
	if got := strings.TrimSpace(r.stdout); got != outputs.DefaultPath {
		t.Errorf("deploy printed %q on stdout, want the outputs file %s", got, outputs.DefaultPath)
	}
	want := d.document(t, wc).addresses()
	got := d.state(t).managed()
	if !slices.Equal(got, want) {
		t.Fatalf("the state holds %d resources, the stack has %d:\nstate: %v\nstack: %v", len(got), len(want), got, want)
	}
	t.Logf("all %d resources of the stack are in s3://%s/%s", len(got), d.bucket, d.stateKey())
}

// stepOutputs: the outputs file holds every output of the stack, and the values match what moto reports.
func stepOutputs(t *testing.T, d *deployStack, wc string) {
	path := filepath.Join(wc, outputs.DefaultPath)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var nested map[string]map[string]any
	if err := json.Unmarshal(raw, &nested); err != nil || len(nested) != 1 || nested[d.name()] == nil {
		t.Fatalf("%s is not nested under %s: %s", path, d.name(), raw)
	}
	v, err := outputs.Read(path, d.name())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range v {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := d.document(t, wc).outputNames(); !slices.Equal(names, want) {
		t.Fatalf("outputs file names %v, the stack declares %v", names, want)
	}
	for _, n := range []string{"cluster_endpoint", "cluster_name", "oidc_provider_arn", "oidc_issuer_url",
		"kubectl_config_command", "on_demand_node_group_name", "spot_node_group_name", "vpc_id", "public_subnet_ids",
		"cluster_security_group_id", "cluster_certificate_authority_data", "cluster_log_group_name", "node_role_arn"} {
		if _, ok := v[n]; !ok {
			t.Errorf("output %s is missing", n)
		}
	}

	ctx := testContext(t)
	cl, err := eksAPI(d.endpoint).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
	if err != nil {
		t.Fatalf("describe cluster %s: %v", d.cluster(), err)
	}
	c := cl.Cluster
	for name, want := range map[string]string{
		"cluster_name":                       aws.ToString(c.Name),
		"cluster_endpoint":                   aws.ToString(c.Endpoint),
		"oidc_issuer_url":                    aws.ToString(c.Identity.Oidc.Issuer),
		"cluster_certificate_authority_data": aws.ToString(c.CertificateAuthority.Data),
	} {
		if got := v.String(name); got != want || got == "" {
			t.Errorf("output %s = %q, moto says %q", name, got, want)
		}
	}
	if got, want := v.Strings("public_subnet_ids"), c.ResourcesVpcConfig.SubnetIds; !sameSet(got, want) {
		t.Errorf("output public_subnet_ids = %v, the cluster's subnets are %v", got, want)
	}
	if !strings.Contains(v.String("kubectl_config_command"), "--name "+d.cluster()) {
		t.Errorf("kubectl_config_command = %q", v.String("kubectl_config_command"))
	}
	for _, ng := range []string{v.String("on_demand_node_group_name"), v.String("spot_node_group_name")} {
		if _, err := eksAPI(d.endpoint).DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{
			ClusterName: aws.String(d.cluster()), NodegroupName: aws.String(ng)}); err != nil {
			t.Errorf("node group %q of the outputs: %v", ng, err)
		}
	}
	oidc, err := iamAPI(d.endpoint).GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: aws.String(v.String("oidc_provider_arn"))})
	if err != nil {
		t.Errorf("OIDC provider %s of the outputs: %v", v.String("oidc_provider_arn"), err)
	} else if want := strings.TrimPrefix(v.String("oidc_issuer_url"), "https://"); strings.TrimPrefix(aws.ToString(oidc.Url), "https://") != want {
		t.Errorf("OIDC provider URL %s, issuer %s", aws.ToString(oidc.Url), want)
	}
	roleARN := v.String("node_role_arn")
	role, err := iamAPI(d.endpoint).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleARN[strings.LastIndex(roleARN, "/")+1:])})
	if err != nil || aws.ToString(role.Role.Arn) != roleARN {
		t.Errorf("node role %s of the outputs: %v", roleARN, err)
	}
	if lg := v.String("cluster_log_group_name"); lg != "/aws/eks/"+d.cluster()+"/cluster" || !logGroupExists(t, d.endpoint, lg) {
		t.Errorf("log group %q of the outputs does not exist or is not the control plane's", lg)
	}

	// moto leaves resourcesVpcConfig.vpcId empty: the cluster's subnets say which VPC it is in.
	vpcs, err := ec2API(d.endpoint).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{v.String("vpc_id")}})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("VPC %s of the outputs: %v", v.String("vpc_id"), err)
	}
	if got := aws.ToString(vpcs.Vpcs[0].CidrBlock); got != "10.0.0.0/16" {
		t.Errorf("VPC %s has CIDR %s, want the default 10.0.0.0/16", v.String("vpc_id"), got)
	}
	subnets, err := ec2API(d.endpoint).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: c.ResourcesVpcConfig.SubnetIds})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("the cluster's subnets %v: %v", c.ResourcesVpcConfig.SubnetIds, err)
	}
	for _, sn := range subnets.Subnets {
		if aws.ToString(sn.VpcId) != v.String("vpc_id") {
			t.Errorf("the cluster's subnet %s is in %s, not in the output vpc_id %s", aws.ToString(sn.SubnetId),
				aws.ToString(sn.VpcId), v.String("vpc_id"))
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return len(a) > 0 && slices.Equal(a, b)
}

// stepPlatformAddons: the platform add-ons are ACTIVE (those that run Deployments were created after the node
// groups: the front's N1); each that calls AWS has exactly one Pod Identity association, owned by the add-on (no
// second association), for its service account in its namespace, with the stack's role; the CloudWatch add-on's
// log groups exist with the stack's retention and key.
func stepPlatformAddons(t *testing.T, d *deployStack) {
	ctx := testContext(t)
	c := eksAPI(d.endpoint)
	want := map[string][3]string{ // namespace, service account, role name; empty: no role
		"aws-ebs-csi-driver":              {"kube-system", "ebs-csi-controller-sa", "eks-ebs-csi-role-v1-" + d.suffix},
		"amazon-cloudwatch-observability": {"amazon-cloudwatch", "cloudwatch-agent", "eks-cloudwatch-role-v1-" + d.suffix},
		"metrics-server":                  {},
		"eks-node-monitoring-agent":       {},
	}
	for name, w := range want {
		out, err := c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(d.cluster()), AddonName: aws.String(name)})
		if err != nil {
			t.Errorf("add-on %s: %v", name, err)
			continue
		}
		a := out.Addon
		if a.Status != ekstypes.AddonStatusActive || aws.ToString(a.AddonVersion) == "" {
			t.Errorf("add-on %s: %s at %q %+v, want ACTIVE at EKS's default build", name, a.Status, aws.ToString(a.AddonVersion), a.Health)
		}
		if w[0] == "" {
			if len(a.PodIdentityAssociations) != 0 {
				t.Errorf("add-on %s has associations %v; it calls no AWS API", name, a.PodIdentityAssociations)
			}
			continue
		}
		if len(a.PodIdentityAssociations) != 1 {
			t.Errorf("add-on %s: associations %v, want exactly one", name, a.PodIdentityAssociations)
			continue
		}
		arn := a.PodIdentityAssociations[0]
		pa, err := c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(d.cluster()),
			AssociationId: aws.String(arn[strings.LastIndex(arn, "/")+1:])})
		if err != nil {
			t.Errorf("add-on %s's association: %v", name, err)
			continue
		}
		as := pa.Association
		if aws.ToString(as.OwnerArn) != aws.ToString(a.AddonArn) || aws.ToString(as.Namespace) != w[0] ||
			aws.ToString(as.ServiceAccount) != w[1] || !strings.HasSuffix(aws.ToString(as.RoleArn), ":role/"+w[2]) {
			t.Errorf("add-on %s's association %+v, want owned by %s, %s/%s with role %s", name, as, aws.ToString(a.AddonArn), w[0], w[1], w[2])
		}
	}
	list, err := c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(d.cluster())})
	if err != nil || len(list.Associations) != 2 {
		t.Errorf("the cluster's associations: %+v, %v; want the two add-ons' only", list, err)
	}
	groups, err := logsAPI(d.endpoint).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{
		LogGroupNamePrefix: aws.String("/aws/containerinsights/" + d.cluster() + "/")})
	if err != nil || len(groups.LogGroups) != 4 {
		t.Fatalf("Container Insights log groups: %+v, %v; want four", groups, err)
	}
	for _, g := range groups.LogGroups {
		if aws.ToInt32(g.RetentionInDays) != 30 || !strings.Contains(aws.ToString(g.KmsKeyId), ":key/") {
			t.Errorf("log group %s: retention %d, key %q; want 30 days and the stack's key", aws.ToString(g.LogGroupName),
				aws.ToInt32(g.RetentionInDays), aws.ToString(g.KmsKeyId))
		}
	}
}

// stepConcurrent: two deploys of the environment at once, from two working copies as two pipelines on two
// machines would run them, both with --lock-timeout=0s. One gets the S3 state lock, the other fails on it
// (PreconditionFailed from S3's conditional write); the state stays whole. When the two happen not to overlap,
// the pair runs again.
func stepConcurrent(t *testing.T, d *deployStack, wc string) {
	before := d.state(t)
	args := append([]string{"deploy", "--lock-timeout=0s"}, d.stackArgs("deploy")...)
	const attempts = 4
	for attempt := 1; ; attempt++ {
		dirs := [2]string{newWorkingCopy(t), newWorkingCopy(t)}
		var rs [2]result
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range dirs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				rs[i] = d.tapstack(t, dirs[i], "deploy "+string(rune('A'+i)), nil, args...)
			}()
		}
		close(gate)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if rs[0].code == 0 && rs[1].code == 0 {
			if attempt == attempts {
				t.Fatalf("%d pairs of concurrent deploys never overlapped on the state lock", attempts)
			}
			t.Logf("attempt %d: the two deploys did not overlap; again", attempt)
			continue
		}
		won, lost := rs[0], rs[1]
		if won.code != 0 {
			won, lost = lost, won
		}
		if won.code != 0 || lost.code != 1 {
			t.Fatalf("exit codes %d and %d, want 0 for one deploy and 1 for the other\nA:\n%s\nB:\n%s",
				rs[0].code, rs[1].code, tail(rs[0].stderr, 40), tail(rs[1].stderr, 40))
		}
		out := lost.output()
		for _, want := range []string{"Error acquiring the state lock", "PreconditionFailed", "state is locked by another run"} {
			if !strings.Contains(out, want) {
				t.Errorf("the deploy that lost the lock does not say %q:\n%s", want, tail(lost.stderr, 40))
			}
		}
		// The lock is met by the refresh that reads the running environment, or by the plan itself.
		if !strings.Contains(out, "tapstack deploy: state: refresh: ") && !strings.Contains(out, "tapstack deploy: plan: ") {
			t.Errorf("the deploy that lost the lock does not name its step:\n%s", tail(lost.stderr, 10))
		}
		t.Logf("attempt %d: one deploy got the state lock, the other failed on it", attempt)
		break
	}
	after := d.state(t)
	if !slices.Equal(after.managed(), before.managed()) || after.Serial != before.Serial {
		t.Errorf("the state changed: serial %d -> %d, %d -> %d resources", before.Serial, after.Serial,
			len(before.managed()), len(after.managed()))
	}
	d.run(t, wc, 0, "plan", "--detailed-exitcode")
}

// networkConfig writes a configuration file that moves the VPC to another CIDR, which forces its replacement.
func networkConfig(t *testing.T, dir string) string {
	p := filepath.Join(dir, "vpc-10-1.yaml")
	body := "network:\n  vpcCIDR: 10.1.0.0/16\n  publicSubnetCIDRs: [10.1.1.0/24, 10.1.2.0/24]\n" +
		"  privateSubnetCIDRs: [10.1.16.0/20, 10.1.32.0/20]\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func vpcCIDR(t *testing.T, d *deployStack, id string) string {
	t.Helper()
	out, err := ec2API(d.endpoint).DescribeVpcs(testContext(t), &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("describe VPC %s: %v", id, err)
	}
	return aws.ToString(out.Vpcs[0].CidrBlock)
}

// stepGuard: a change that replaces the VPC is refused by the guard and changes nothing; with --allow-destroy
// it goes through.
func stepGuard(t *testing.T, d *deployStack, wc string) {
	cfg := networkConfig(t, wc)
	before := d.state(t)
	vpc, _ := before.attr("aws_vpc.vpc", "id").(string)

	// plan shows it, writes the JSON for policy tools, and warns that deploy would refuse it.
	planJSON := filepath.Join(wc, "plan.json")
	r := d.run(t, wc, 2, "plan", "--config", cfg, "--detailed-exitcode", "--json-out", planJSON)
	if !strings.Contains(r.stderr, "deploy would refuse") {
		t.Errorf("plan does not warn that deploy would refuse the plan:\n%s", tail(r.stderr, 20))
	}
	var pj struct {
		FormatVersion   string `json:"format_version"`
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions      []string `json:"actions"`
				ReplacePaths [][]any  `json:"replace_paths"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if b, err := os.ReadFile(planJSON); err != nil || json.Unmarshal(b, &pj) != nil || pj.FormatVersion == "" {
		t.Fatalf("--json-out %s is not a plan in JSON: %v", planJSON, err)
	}
	replaced := false
	for _, rc := range pj.ResourceChanges {
		if rc.Address == "aws_vpc.vpc" && slices.Contains(rc.Change.Actions, "delete") {
			replaced = true
		}
	}
	if !replaced {
		t.Errorf("the JSON plan does not replace aws_vpc.vpc")
	}

	r = d.run(t, wc, 2, "deploy", "--config", cfg)
	out := r.stderr
	for _, want := range []string{"tapstack deploy: guard:", "aws_vpc.vpc", "cidr_block", "aws_eks_cluster.eks_cluster",
		"--allow-destroy", "nothing was applied"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not mention %q:\n%s", want, tail(out, 30))
		}
	}
	if strings.Contains(out, "Destroying...") || strings.Contains(out, "Creating...") || strings.Contains(out, "Apply complete") {
		t.Errorf("the refused deploy applied something:\n%s", tail(out, 30))
	}
	after := d.state(t)
	if got, _ := after.attr("aws_vpc.vpc", "id").(string); got != vpc || after.Serial != before.Serial {
		t.Fatalf("the refused deploy changed the state: VPC %s -> %s, serial %d -> %d", vpc, got, before.Serial, after.Serial)
	}
	if got := vpcCIDR(t, d, vpc); got != "10.0.0.0/16" {
		t.Fatalf("VPC %s has CIDR %s after the refused deploy", vpc, got)
	}

	d.run(t, wc, 0, "deploy", "--config", cfg, "--allow-destroy")
	st := d.state(t)
	newVPC, _ := st.attr("aws_vpc.vpc", "id").(string)
	if newVPC == "" || newVPC == vpc {
		t.Fatalf("--allow-destroy did not replace VPC %s (now %q)", vpc, newVPC)
	}
	if got := vpcCIDR(t, d, newVPC); got != "10.1.0.0/16" {
		t.Errorf("the new VPC %s has CIDR %s, want 10.1.0.0/16", newVPC, got)
	}
	if want := d.document(t, wc).addresses(); !slices.Equal(st.managed(), want) {
		t.Errorf("after the replacement the state holds %v, the stack has %v", st.managed(), want)
	}
	v, err := outputs.Read(filepath.Join(wc, outputs.DefaultPath), d.name())
	if err != nil || v.String("vpc_id") != newVPC {
		t.Errorf("the outputs file was not rewritten with the new VPC %s: %v %v", newVPC, v["vpc_id"], err)
	}
	d.run(t, wc, 0, "plan", "--config", cfg, "--detailed-exitcode")
}

// stepDestroy: a load balancer the AWS Load Balancer Controller would have made (with its target group and
// security group) and a network interface the VPC CNI would have left behind hold the stack's subnets: EC2 refuses
// to delete them (DependencyViolation). destroy finds both, refuses without --yes, and with --yes removes them and
// then every resource, leaving an empty state and nothing in moto.
func stepDestroy(t *testing.T, d *deployStack, wc string) {
	cfg := networkConfig(t, wc)
	st := d.state(t)
	vpc, _ := st.attr("aws_vpc.vpc", "id").(string)
	var subnets []string
	for _, a := range []string{"aws_subnet.public_subnet_1", "aws_subnet.public_subnet_2"} {
		id, _ := st.attr(a, "id").(string)
		subnets = append(subnets, id)
	}
	ctx := testContext(t)
	ec, lb := ec2API(d.endpoint), elbv2API(d.endpoint)
	tag := "elbv2.k8s.aws/cluster"
	sg, err := ec.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("k8s-default-web-1a2b3c"), Description: aws.String("[k8s] Managed SecurityGroup for LoadBalancer"),
		VpcId: aws.String(vpc),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: aws.String(tag), Value: aws.String(d.cluster())},
				{Key: aws.String("ingress.k8s.aws/stack"), Value: aws.String("default/web")}}}},
	})
	if err != nil {
		t.Fatalf("create security group: %v", err)
	}
	lbTags := []elbv2types.Tag{{Key: aws.String(tag), Value: aws.String(d.cluster())},
		{Key: aws.String("ingress.k8s.aws/stack"), Value: aws.String("default/web")}}
	created, err := lb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("k8s-default-web-1a2b3c4d5e"), Subnets: subnets, SecurityGroups: []string{aws.ToString(sg.GroupId)},
		Scheme: elbv2types.LoadBalancerSchemeEnumInternetFacing, Type: elbv2types.LoadBalancerTypeEnumApplication, Tags: lbTags,
	})
	if err != nil || len(created.LoadBalancers) != 1 {
		t.Fatalf("create load balancer: %v", err)
	}
	lbARN := aws.ToString(created.LoadBalancers[0].LoadBalancerArn)
	eniID := createCNIInterface(t, d, subnets[0])
	tg, err := lb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("k8s-default-web-9f8e7d6c5b"), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80),
		VpcId: aws.String(vpc), TargetType: elbv2types.TargetTypeEnumIp, Tags: lbTags,
	})
	if err != nil {
		t.Fatalf("create target group: %v", err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	if _, err := lb.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}},
	}); err != nil {
		t.Fatalf("create listener: %v", err)
	}

	// What Terraform would meet without the cleanup: EC2 keeps the subnet the interface and the load balancer use.
	for _, sn := range subnets {
		_, err := ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(sn)})
		if code := apiErrorCode(err); code != "DependencyViolation" {
			t.Fatalf("DeleteSubnet %s under the load balancer and the interface: %v, want DependencyViolation", sn, err)
		}
	}

	// Without --yes, destroy lists what it found and refuses, even when the question is answered yes.
	r := d.tapstack(t, wc, "destroy", strings.NewReader("yes\n"), append([]string{"destroy", "--config", cfg}, d.stackArgs("destroy")...)...)
	if r.code != 2 {
		t.Fatalf("destroy without --yes: exit %d, want 2\n%s", r.code, tail(r.stderr, 30))
	}
	for _, want := range []string{"k8s-default-web-1a2b3c4d5e", "k8s-default-web-9f8e7d6c5b", aws.ToString(sg.GroupId), eniID, "--yes"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("destroy without --yes does not list %q:\n%s", want, tail(r.stderr, 30))
		}
	}
	if got := d.state(t).managed(); len(got) != len(st.managed()) {
		t.Fatalf("destroy without --yes changed the state: %d -> %d resources", len(st.managed()), len(got))
	}

	r = d.run(t, wc, 0, "destroy", "--config", cfg, "--yes")
	if !strings.Contains(r.stdout, "destroyed "+d.name()) {
		t.Errorf("destroy printed %q", r.stdout)
	}
	for _, want := range []string{"deleted load balancer " + lbARN, "deleted target group " + tgARN,
		"deleted network interface " + eniID, "deleted security group " + aws.ToString(sg.GroupId)} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("destroy --yes does not report %q", want)
		}
	}
	// The control-plane log group goes after the cluster (the cluster depends on it), so EKS, which writes it
	// again only while the cluster logs (the front's L2), has nothing to write it for: destroy has no group left
	// to remove afterwards.
	if strings.Contains(r.stderr, "which EKS had created again") {
		t.Errorf("destroy deleted the control-plane log group after Terraform had: EKS wrote it again, so "+
			"Terraform deleted it while the cluster still logged:\n%s", tail(r.stderr, 30))
	}
	// Asked afterwards, moto holds none of what the cleanup removed.
	if _, err := ec.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniID}}); apiErrorCode(err) != "InvalidNetworkInterfaceID.NotFound" {
		t.Errorf("network interface %s after destroy: %v, want InvalidNetworkInterfaceID.NotFound", eniID, err)
	}
	if _, err := ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}}); apiErrorCode(err) != "InvalidGroup.NotFound" {
		t.Errorf("security group %s after destroy: %v, want InvalidGroup.NotFound", aws.ToString(sg.GroupId), err)
	}
	lbs, err := lb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lbs.LoadBalancers {
		if aws.ToString(l.LoadBalancerArn) == lbARN {
			t.Errorf("load balancer %s is still there", lbARN)
		}
	}
	tgs, err := lb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range tgs.TargetGroups {
		if aws.ToString(g.TargetGroupArn) == tgARN {
			t.Errorf("target group %s is still there", tgARN)
		}
	}
	if out, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}}}); err != nil || len(out.Vpcs) != 0 {
		t.Errorf("VPC %s is still there (%v)", vpc, err)
	}
	if _, err := eksAPI(d.endpoint).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(d.cluster())}); err == nil {
		t.Errorf("cluster %s is still there", d.cluster())
	}
	if logGroupExists(t, d.endpoint, "/aws/eks/"+d.cluster()+"/cluster") {
		t.Errorf("the control-plane log group is still there")
	}
	for _, kind := range []string{"application", "dataplane", "host", "performance"} {
		if name := "/aws/containerinsights/" + d.cluster() + "/" + kind; logGroupExists(t, d.endpoint, name) {
			t.Errorf("log group %s is still there", name)
		}
	}
	if left := d.state(t); len(left.Resources) != 0 {
		t.Errorf("the state still holds %d resources: %v", len(left.Resources), left.managed())
	}
}

// createCNIInterface creates, in subnet, a network interface as the VPC CNI (aws-node) creates them for a node's
// pods and leaves behind, available, when the node goes away without detaching it: with the description and tags
// of aws/amazon-vpc-cni-k8s pkg/awsutils/awsutils.go (eniDescriptionPrefix "aws-K8S-" and the instance ID;
// createENITags and buildENITags with CLUSTER_NAME set: node.k8s.amazonaws.com/instance_id,
// node.k8s.amazonaws.com/createdAt, cluster.k8s.amazonaws.com/name, eks:eni:owner=amazon-vpc-cni). The CNI gives
// it the security groups of the node's primary interface, the cluster security group EKS creates; moto's cluster
// has none, so the VPC's default group stands in.
func createCNIInterface(t *testing.T, d *deployStack, subnet string) string {
	t.Helper()
	const instance = "i-0a1b2c3d4e5f60718"
	tag := func(k, v string) ec2types.Tag { return ec2types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	out, err := ec2API(d.endpoint).CreateNetworkInterface(testContext(t), &ec2.CreateNetworkInterfaceInput{
		SubnetId: aws.String(subnet), Description: aws.String("aws-K8S-" + instance),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeNetworkInterface, Tags: []ec2types.Tag{
			tag("node.k8s.amazonaws.com/instance_id", instance),
			tag("node.k8s.amazonaws.com/createdAt", "2026-11-30T09:00:00Z"),
			tag("cluster.k8s.amazonaws.com/name", d.cluster()),
			tag("eks:eni:owner", "amazon-vpc-cni"),
		}}},
	})
	if err != nil {
		t.Fatalf("create the VPC CNI's network interface: %v", err)
	}
	return aws.ToString(out.NetworkInterface.NetworkInterfaceId)
}

// apiErrorCode is the AWS error code of err, or "".
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
