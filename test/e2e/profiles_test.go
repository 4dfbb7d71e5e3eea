package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

// TestProfiles deploys what TestDeploy does not: the private topology of the default profile, the hardened
// profile (with admin principals and two workload identities) and an Auto Mode cluster, each through deploy, a
// clean re-plan and destroy. Each subtest has its own moto, front, state bucket and environment suffix, so they
// run in parallel (the provider alone waits up to a minute before it deletes a cluster).
func TestProfiles(t *testing.T) {
	t.Parallel()        // each test has its own moto, front, bucket and working copy
	start := time.Now() // clock: measures a duration for the log
	harness.TerraformBinary(t)
	cliConfig := harness.TerraformCLIConfig(t)
	t.Cleanup(func() { t.Logf("TestProfiles took %s", time.Since(start).Round(time.Second)) })

	t.Run("private_topology", func(t *testing.T) {
		t.Parallel()
		p := startProfileStack(t, cliConfig, "prv1")
		cfg := writeProfileConfig(t, p.wc, "network:\n  topology: private\n  natGateways: single\n")
		args := []string{"--profile", "default", "--config", cfg}

		// The vCPU quota is read from Service Quotas: lowered below what the node groups need at maximum size,
		// the live checks report it; at the front's usual value every check passes.
		p.front.SetQuota(live.QuotaOnDemandVCPUs, 8)
		rep := p.checkLive(t, 2, args...)
		wantLiveFinding(t, rep, "TS816", rules.Error, "nodeGroups.onDemand.maxSize", "quota of 8", live.QuotaOnDemandVCPUs)
		p.front.SetQuota(live.QuotaOnDemandVCPUs, 1152)
		rep = p.checkLive(t, 0, args...)
		for _, c := range rep.Live.Checks {
			if c.Status != live.StatusOK {
				t.Errorf("live check %s %s: %s (%s)", c.ID, c.Name, c.Status, c.Note)
			}
		}

		p.deployReplanDestroy(t, args, func(t *testing.T, doc document, st tfState) {
			if n := len(doc.Resource["aws_nat_gateway"]); n != 1 {
				t.Errorf("natGateways single: %d NAT gateways in the document", n)
			}
			checkPrivateTopology(t, p.d, doc, st)
		})
	})

	t.Run("hardened", func(t *testing.T) {
		t.Parallel()
		p := startProfileStack(t, cliConfig, "hrd1")
		// An admin principal exercises the access entry and its policy association; EKS wants the role to exist.
		admin, err := iamAPI(p.d.endpoint).CreateRole(testContext(t), &iam.CreateRoleInput{RoleName: aws.String("platform-admin"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)})
		if err != nil {
			t.Fatalf("create the admin role: %v", err)
		}
		adminARN := aws.ToString(admin.Role.Arn)
		// Two workload identities: roles, policies and associations through the front's Pod Identity API.
		cfg := writeProfileConfig(t, p.wc, "cluster:\n  adminPrincipals: ["+adminARN+"]\n"+workloadIdentitiesYAML)
		args := []string{"--profile", "hardened", "--config", cfg}

		p.deployReplanDestroy(t, args, func(t *testing.T, doc document, st tfState) {
			body := doc.body(t, "aws_eks_cluster", "eks_cluster")
			if body["access_config"] == nil || body["encryption_config"] == nil || len(doc.Resource["aws_flow_log"]) == 0 {
				t.Fatalf("the hardened document lacks access_config, encryption_config or flow logs: %v", doc.addresses())
			}
			checkPrivateTopology(t, p.d, doc, st)
			ctx := testContext(t)
			c := eksAPI(p.d.endpoint)
			entry, err := c.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: aws.String(p.d.cluster()), PrincipalArn: aws.String(adminARN)})
			if err != nil {
				t.Fatalf("the admin principal's access entry: %v", err)
			}
			if aws.ToString(entry.AccessEntry.Type) != "STANDARD" || entry.AccessEntry.AccessEntryArn == nil {
				t.Errorf("access entry = %+v", entry.AccessEntry)
			}
			pol, err := c.ListAssociatedAccessPolicies(ctx, &eks.ListAssociatedAccessPoliciesInput{ClusterName: aws.String(p.d.cluster()),
				PrincipalArn: aws.String(adminARN)})
			if err != nil || len(pol.AssociatedAccessPolicies) != 1 ||
				!strings.HasSuffix(aws.ToString(pol.AssociatedAccessPolicies[0].PolicyArn), ":cluster-access-policy/AmazonEKSClusterAdminPolicy") ||
				pol.AssociatedAccessPolicies[0].AccessScope.Type != ekstypes.AccessScopeTypeCluster {
				t.Errorf("the admin principal's access policies: %+v, %v; want AmazonEKSClusterAdminPolicy on the cluster", pol, err)
			}
			for _, name := range sortedNames(doc, "aws_eks_node_group") {
				ng := describeNodegroup(t, p.d, st, name)
				if ng.LaunchTemplate == nil || aws.ToString(ng.LaunchTemplate.Id) == "" {
					t.Errorf("node group %s has no launch template", name)
				}
			}
			checkWorkloadIdentities(t, p.d, p.wc)
		})
		checkWorkloadRolesGone(t, p.d)
	})

	t.Run("auto_mode", func(t *testing.T) {
		t.Parallel()
		p := startProfileStack(t, cliConfig, "auto1")
		cfg := writeProfileConfig(t, p.wc, "cluster:\n  compute: auto\n")
		planJSON := filepath.Join(p.wc, "auto.plan.json")
		p.d.run(t, p.wc, 2, "plan", "--profile", "default", "--config", cfg, "--detailed-exitcode", "--json-out", planJSON)
		doc := p.d.document(t, p.wc)
		if len(doc.Resource["aws_eks_node_group"]) != 0 || len(doc.Resource["aws_eks_addon"]) != 0 {
			t.Errorf("an Auto Mode document has node groups or add-ons: %v", doc.addresses())
		}
		var pj struct {
			ResourceChanges []struct {
				Address string `json:"address"`
				Mode    string `json:"mode"`
				Change  struct {
					Actions []string       `json:"actions"`
					After   map[string]any `json:"after"`
				} `json:"change"`
			} `json:"resource_changes"`
		}
		if b, err := os.ReadFile(planJSON); err != nil || json.Unmarshal(b, &pj) != nil {
			t.Fatalf("--json-out %s is not a plan in JSON: %v", planJSON, err)
		}
		var planned []string
		for _, rc := range pj.ResourceChanges {
			if rc.Mode != "managed" {
				continue
			}
			planned = append(planned, rc.Address)
			if !slices.Equal(rc.Change.Actions, []string{"create"}) {
				t.Errorf("%s: actions %v in a new environment, want create", rc.Address, rc.Change.Actions)
			}
			if rc.Address != "aws_eks_cluster.eks_cluster" {
				continue
			}
			cc, _ := rc.Change.After["compute_config"].([]any)
			var compute map[string]any
			if len(cc) == 1 {
				compute, _ = cc[0].(map[string]any)
			}
			if compute["enabled"] != true || !sameSet(anyStrings(compute["node_pools"]), []string{"general-purpose", "system"}) ||
				rc.Change.After["bootstrap_self_managed_addons"] != false {
				t.Errorf("the planned cluster is not in Auto Mode: compute_config %v, bootstrap_self_managed_addons %v",
					rc.Change.After["compute_config"], rc.Change.After["bootstrap_self_managed_addons"])
			}
		}
		sort.Strings(planned)
		if want := doc.addresses(); !slices.Equal(planned, want) {
			t.Errorf("the plan creates %v, the document declares %v", planned, want)
		}
		// moto keeps no Auto Mode settings: the front echoes computeConfig, so this sees what the provider sent.
		p.deployReplanDestroy(t, []string{"--profile", "default", "--config", cfg}, func(t *testing.T, doc document, st tfState) {
			out, err := eksAPI(p.d.endpoint).DescribeCluster(testContext(t), &eks.DescribeClusterInput{Name: aws.String(p.d.cluster())})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Cluster
			if c.ComputeConfig == nil || !aws.ToBool(c.ComputeConfig.Enabled) || !sameSet(c.ComputeConfig.NodePools, []string{"general-purpose", "system"}) {
				t.Errorf("the cluster's compute config = %+v", c.ComputeConfig)
			}
		})
	})
}

// profileStack is one subtest's account: moto behind the front, a state bucket and a working copy.
type profileStack struct {
	d     *deployStack
	front *harness.Front
	wc    string
}

func startProfileStack(t *testing.T, cliConfig, suffix string) *profileStack {
	t.Helper()
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	bucket := "tapstack-e2e-" + suffix + "-state"
	harness.CreateBucket(t, front.URL, bucket, harness.Region)
	// Versioned, as the live checks (TS812) want a state bucket.
	if _, err := harness.S3Client(front.URL, harness.Region).PutBucketVersioning(testContext(t), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatalf("versioning on the state bucket: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto's log (tail):\n%s", tail(moto.Log(), 60))
		}
	})
	return &profileStack{
		d:     &deployStack{endpoint: front.URL, env: deployEnv(front.URL, cliConfig), bucket: bucket, suffix: suffix},
		front: front,
		wc:    t.TempDir(),
	}
}

func writeProfileConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "tapstack.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkLive runs `tapstack check --live --format json`, expecting exit code want.
func (p *profileStack) checkLive(t *testing.T, want int, args ...string) liveCheckJSON {
	t.Helper()
	r := p.d.run(t, p.wc, want, append([]string{"check", "--live", "--format", "json"}, args...)...)
	var rep liveCheckJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Live == nil {
		t.Fatalf("check --live printed no live report (%v):\n%s", err, r.stdout)
	}
	return rep
}

// deployReplanDestroy deploys, checks that the state holds every resource of the document, runs inspect, plans
// again (no changes), destroys with --yes and checks that the state is empty and the VPC gone.
func (p *profileStack) deployReplanDestroy(t *testing.T, args []string, inspect func(*testing.T, document, tfState)) {
	t.Helper()
	d := p.d
	d.run(t, p.wc, 0, append([]string{"deploy"}, args...)...)
	doc := d.document(t, p.wc)
	st := d.state(t)
	if got, want := st.managed(), doc.addresses(); !slices.Equal(got, want) {
		t.Fatalf("the state holds %d resources, the stack has %d:\nstate: %v\nstack: %v", len(got), len(want), got, want)
	}
	t.Logf("all %d resources of the stack are in the state", len(st.managed()))
	vpc, _ := st.attr("aws_vpc.vpc", "id").(string)
	t.Run("in_moto", func(t *testing.T) { inspect(t, doc, st) })
	d.run(t, p.wc, 0, append([]string{"plan", "--detailed-exitcode"}, args...)...)
	d.run(t, p.wc, 0, append([]string{"destroy", "--yes"}, args...)...)
	if left := d.state(t); len(left.Resources) != 0 {
		t.Errorf("the state still holds %d resources after destroy: %v", len(left.Resources), left.managed())
	}
	out, err := ec2API(d.endpoint).DescribeVpcs(testContext(t), &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(out.Vpcs) != 0 {
		t.Errorf("VPC %s is still there after destroy (%v)", vpc, err)
	}
}

// checkPrivateTopology checks in moto what makes the topology private: the cluster and the node groups in the
// private subnets, which carry the internal load balancer tag; the document's NAT gateways in public subnets,
// each private subnet routed to one; no public IPs on launch; the cluster's access and encryption as rendered.
func checkPrivateTopology(t *testing.T, d *deployStack, doc document, st tfState) {
	t.Helper()
	ctx := testContext(t)
	ec := ec2API(d.endpoint)
	private, public := subnetIDs(t, doc, st, "private_subnet_"), subnetIDs(t, doc, st, "public_subnet_")
	if len(private) == 0 || len(public) == 0 {
		t.Fatalf("private subnets %v, public subnets %v: want both", private, public)
	}
	subnets, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: append(slices.Clone(private), public...)})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range subnets.Subnets {
		id := aws.ToString(sn.SubnetId)
		if aws.ToBool(sn.MapPublicIpOnLaunch) {
			t.Errorf("subnet %s maps public IPs on launch", id)
		}
		if slices.Contains(private, id) && ec2Tag(sn.Tags, "kubernetes.io/role/internal-elb") != "1" {
			t.Errorf("private subnet %s lacks kubernetes.io/role/internal-elb=1: %v", id, sn.Tags)
		}
		if slices.Contains(public, id) && ec2Tag(sn.Tags, "kubernetes.io/role/elb") != "1" {
			t.Errorf("public subnet %s lacks kubernetes.io/role/elb=1: %v", id, sn.Tags)
		}
	}

	vpc, _ := st.attr("aws_vpc.vpc", "id").(string)
	nats, err := ec.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("state"), Values: []string{"available"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var natIDs []string
	for _, n := range nats.NatGateways {
		natIDs = append(natIDs, aws.ToString(n.NatGatewayId))
		if !slices.Contains(public, aws.ToString(n.SubnetId)) {
			t.Errorf("NAT gateway %s is in %s, not in a public subnet %v", aws.ToString(n.NatGatewayId), aws.ToString(n.SubnetId), public)
		}
	}
	if want := len(doc.Resource["aws_nat_gateway"]); len(natIDs) != want || want == 0 {
		t.Errorf("%d available NAT gateways in %s, the document has %d", len(natIDs), vpc, want)
	}
	for _, id := range private {
		rts, err := ec.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
			{Name: aws.String("association.subnet-id"), Values: []string{id}}}})
		if err != nil || len(rts.RouteTables) != 1 {
			t.Errorf("route table of private subnet %s: %v", id, err)
			continue
		}
		var via string
		for _, r := range rts.RouteTables[0].Routes {
			if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				via = aws.ToString(r.NatGatewayId) + aws.ToString(r.GatewayId)
			}
		}
		if !slices.Contains(natIDs, via) {
			t.Errorf("private subnet %s sends 0.0.0.0/0 to %q, not to a NAT gateway %v", id, via, natIDs)
		}
	}

	for _, name := range sortedNames(doc, "aws_eks_node_group") {
		if ng := describeNodegroup(t, d, st, name); !sameSet(ng.Subnets, private) {
			t.Errorf("node group %s is in %v, not in the private subnets %v", name, ng.Subnets, private)
		}
	}

	out, err := eksAPI(d.endpoint).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Cluster
	if !sameSet(c.ResourcesVpcConfig.SubnetIds, private) {
		t.Errorf("the cluster is in %v, not in the private subnets %v", c.ResourcesVpcConfig.SubnetIds, private)
	}
	body := doc.body(t, "aws_eks_cluster", "eks_cluster")
	vc, _ := body["vpc_config"].(map[string]any)
	if c.ResourcesVpcConfig.EndpointPublicAccess != (vc["endpoint_public_access"] == true) {
		t.Errorf("the cluster's public endpoint is %v, the document says %v", c.ResourcesVpcConfig.EndpointPublicAccess, vc["endpoint_public_access"])
	}
	if ac, ok := body["access_config"].(map[string]any); ok {
		if c.AccessConfig == nil || string(c.AccessConfig.AuthenticationMode) != ac["authentication_mode"] {
			t.Errorf("the cluster's access config is %+v, the document says %v", c.AccessConfig, ac)
		}
	}
	if _, ok := body["encryption_config"]; ok {
		key, _ := st.attr("aws_kms_key.eks_kms_key", "arn").(string)
		if len(c.EncryptionConfig) != 1 || c.EncryptionConfig[0].Provider == nil || key == "" ||
			//lint:ignore SA1019 deprecated in the SDK but still in the EKS API; the document sends it (hashicorp/aws 5.x requires encryption_config.resources) and this checks the cluster got it
			aws.ToString(c.EncryptionConfig[0].Provider.KeyArn) != key || !slices.Contains(c.EncryptionConfig[0].Resources, "secrets") {
			t.Errorf("the cluster's encryption config is %+v, want the secrets under %s", c.EncryptionConfig, key)
		}
	}
}

// body returns a resource's block in the document.
func (doc document) body(t *testing.T, typ, name string) map[string]any {
	t.Helper()
	b, ok := doc.Resource[typ][name].(map[string]any)
	if !ok {
		t.Fatalf("the document has no %s.%s", typ, name)
	}
	return b
}

func sortedNames(doc document, typ string) []string {
	var out []string
	for n := range doc.Resource[typ] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// subnetIDs are the IDs, from the state, of the document's subnets whose names start with prefix.
func subnetIDs(t *testing.T, doc document, st tfState, prefix string) []string {
	t.Helper()
	var out []string
	for _, name := range sortedNames(doc, "aws_subnet") {
		if strings.HasPrefix(name, prefix) {
			id, _ := st.attr("aws_subnet."+name, "id").(string)
			if id == "" {
				t.Fatalf("aws_subnet.%s has no ID in the state", name)
			}
			out = append(out, id)
		}
	}
	return out
}

func describeNodegroup(t *testing.T, d *deployStack, st tfState, name string) *ekstypes.Nodegroup {
	t.Helper()
	ngName, _ := st.attr("aws_eks_node_group."+name, "node_group_name").(string)
	out, err := eksAPI(d.endpoint).DescribeNodegroup(testContext(t), &eks.DescribeNodegroupInput{
		ClusterName: aws.String(d.cluster()), NodegroupName: aws.String(ngName)})
	if err != nil {
		t.Fatalf("node group %s (%q): %v", name, ngName, err)
	}
	return out.Nodegroup
}

func ec2Tag(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func anyStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
