package live

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

var checkDay = mustDate("2026-11-25")

func mustDate(s string) versions.Date {
	d, err := versions.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func defaults(t *testing.T, profile string) *config.Config {
	t.Helper()
	c, ok := config.Defaults(profile)
	if !ok {
		t.Fatalf("no profile %s", profile)
	}
	return &c
}

func epoch(s string) *time.Time {
	t := mustDate(s).Time
	return &t
}

// cleanAccount is an account where the default dev stack can be created: us-east-1's zones as moto maps them,
// t3.medium, t3a.medium and t2.medium offered everywhere but us-east-1e, the state bucket versioned, room in every quota.
func cleanAccount() *fakeAWS {
	f := &fakeAWS{
		offerings:     map[string]bool{},
		vcpus:         map[string]int32{"t3.medium": 2, "t3a.medium": 2, "t2.medium": 2, "m5.xlarge": 4, "p5.48xlarge": 192},
		bucket:        &fakeBucket{name: "iac-rlhf-tf-states", region: "us-east-1", versioning: s3types.BucketVersioningStatusEnabled},
		quotas:        map[string]float64{QuotaVPCs: 5, QuotaIGWs: 5, QuotaEIPs: 5, QuotaOnDemandVCPUs: 32, QuotaSpotVCPUs: 64},
		defaultQuotas: map[string]float64{},
		vpcs:          1,
		clusterVersions: []ekstypes.ClusterVersionInformation{
			{ClusterVersion: aws.String("1.36"), Status: ekstypes.ClusterVersionStatusStandardSupport, DefaultVersion: false,
				EndOfStandardSupportDate: epoch("2027-08-02"), EndOfExtendedSupportDate: epoch("2028-08-02")},
			{ClusterVersion: aws.String("1.31"), Status: ekstypes.ClusterVersionStatusExtendedSupport,
				EndOfStandardSupportDate: epoch("2025-11-26"), EndOfExtendedSupportDate: epoch("2026-11-26")},
			{ClusterVersion: aws.String("1.29"), Status: ekstypes.ClusterVersionStatusUnsupported},
		},
		addonVersions: []ekstypes.AddonVersionInfo{
			{AddonVersion: aws.String("v1.20.4-eksbuild.2"), Compatibilities: []ekstypes.Compatibility{
				{ClusterVersion: aws.String("1.36"), DefaultVersion: true}, {ClusterVersion: aws.String("1.31")}}},
			{AddonVersion: aws.String("v1.18.1-eksbuild.3"), Compatibilities: []ekstypes.Compatibility{
				{ClusterVersion: aws.String("1.29"), DefaultVersion: true}}},
		},
	}
	for _, z := range [][2]string{{"a", "use1-az6"}, {"b", "use1-az1"}, {"c", "use1-az2"}, {"d", "use1-az4"}, {"e", "use1-az3"}, {"f", "use1-az5"}} {
		name := "us-east-1" + z[0]
		f.zones = append(f.zones, ec2types.AvailabilityZone{ZoneName: aws.String(name), ZoneId: aws.String(z[1]),
			State: ec2types.AvailabilityZoneStateAvailable, OptInStatus: ec2types.AvailabilityZoneOptInStatusOptInNotRequired,
			ZoneType: aws.String("availability-zone")})
		for _, t := range []string{"t3.medium", "t3a.medium", "t2.medium", "m5.xlarge"} {
			if z[0] != "e" {
				f.offerings[t+"@"+name] = true
			}
		}
	}
	f.offerings["p5.48xlarge@us-east-1a"] = true
	return f
}

func runChecks(t *testing.T, f *fakeAWS, in Input, only ...string) *Report {
	t.Helper()
	if in.Config == nil {
		in.Config = defaults(t, "default")
	}
	if in.Date.IsZero() {
		in.Date = checkDay
	}
	return Run(context.Background(), f.clients(), in, Options{Timeout: 5 * time.Second, Only: only})
}

func result(t *testing.T, r *Report, id string) Result {
	t.Helper()
	for _, res := range r.Results {
		if res.ID == id {
			return res
		}
	}
	t.Fatalf("no result for %s in %+v", id, r.Results)
	return Result{}
}

func findingsOf(r *Report, id string) []rules.Finding {
	var out []rules.Finding
	for _, f := range r.Findings {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

// one runs a single check and returns its result and findings.
func one(t *testing.T, f *fakeAWS, in Input, id string) (Result, []rules.Finding) {
	t.Helper()
	r := runChecks(t, f, in, id)
	if len(r.Results) != 1 {
		t.Fatalf("ran %d checks, want only %s", len(r.Results), id)
	}
	return result(t, r, id), findingsOf(r, id)
}

func wantFinding(t *testing.T, fs []rules.Finding, sev rules.Severity, kind rules.Kind, parts ...string) rules.Finding {
	t.Helper()
	for _, f := range fs {
		text := f.Path + " " + f.Message + " " + f.Fix
		ok := f.Severity == sev && f.Kind == kind
		for _, p := range parts {
			ok = ok && strings.Contains(text, p)
		}
		if ok {
			return f
		}
	}
	t.Fatalf("no %s %s finding mentioning %q among %+v", sev, kind, parts, fs)
	return rules.Finding{}
}

func wantClean(t *testing.T, res Result, fs []rules.Finding) {
	t.Helper()
	if res.Status != StatusOK || len(fs) != 0 {
		t.Fatalf("%s: status %s (%s), findings %+v; want ok and none", res.ID, res.Status, res.Note, fs)
	}
}

func TestCleanAccountPassesEveryCheck(t *testing.T) {
	r := runChecks(t, cleanAccount(), Input{})
	if len(r.Results) != len(Checks()) || len(r.Results) < 17 {
		t.Fatalf("%d results for %d checks", len(r.Results), len(Checks()))
	}
	for _, res := range r.Results {
		if res.Status != StatusOK {
			t.Errorf("%s %s: %s (%s)", res.ID, res.Name, res.Status, res.Note)
		}
		if res.Duration <= 0 || res.DurationMS < 0 {
			t.Errorf("%s: no duration", res.ID)
		}
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings in a clean account: %+v", r.Findings)
	}
	if r.Failed() {
		t.Error("Failed() in a clean account")
	}
}

func TestCaller(t *testing.T) {
	res, fs := one(t, cleanAccount(), Input{}, "TS801")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "account 123456789012") || !strings.Contains(res.Note, "partition aws") {
		t.Errorf("note %q lacks the account and partition", res.Note)
	}
	cfg := defaults(t, "default")
	cfg.Region = "cn-north-1"
	_, fs = one(t, cleanAccount(), Input{Config: cfg}, "TS801")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "partition aws", "aws-cn")
}

func TestRoleCollision(t *testing.T) {
	cfg := defaults(t, "default")
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS802")
	wantClean(t, res, fs)

	f.roles = map[string]bool{cfg.ClusterRoleName(): true}
	res, fs = one(t, f, Input{}, "TS802")
	if res.Status != StatusFinding {
		t.Errorf("status %s", res.Status)
	}
	wantFinding(t, fs, rules.Error, rules.WouldFail, "aws_iam_role.eks_cluster_role", "eks-cluster-role-v1-dev", "EntityAlreadyExists",
		"this stack has no state yet", "delete-role", "terraform import")

	// The stack's own role is no collision.
	res, fs = one(t, f, Input{InState: NewState(cfg.ClusterRoleName())}, "TS802")
	wantClean(t, res, fs)

	// A state that cannot be read downgrades collisions to warnings.
	_, fs = one(t, f, Input{StateUnknown: "the state could not be read (access denied: needs s3:GetObject)"}, "TS802")
	wantFinding(t, fs, rules.Warning, rules.Advice, "may be this stack's own")
}

func clusterNamed(name, issuer string) *ekstypes.Cluster {
	return &ekstypes.Cluster{Name: aws.String(name), Arn: aws.String("arn:aws:eks:us-east-1:123456789012:cluster/" + name),
		Status: ekstypes.ClusterStatusActive, Version: aws.String("1.36"), Endpoint: aws.String("https://ABC.gr7.us-east-1.eks.amazonaws.com"),
		Identity: &ekstypes.Identity{Oidc: &ekstypes.OIDC{Issuer: aws.String(issuer)}}}
}

const issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
const oidcARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"

func TestClusterNodeGroupAndOIDCCollisions(t *testing.T) {
	cfg := defaults(t, "default")
	f := cleanAccount()
	for _, id := range []string{"TS803", "TS804", "TS806"} {
		res, fs := one(t, f, Input{}, id)
		wantClean(t, res, fs)
	}
	cl := cfg.ClusterName()
	f.clusters = map[string]*ekstypes.Cluster{cl: clusterNamed(cl, issuer)}
	f.nodegroups = map[string]*ekstypes.Nodegroup{cl + "/" + cfg.SpotGroupName(): {NodegroupName: aws.String(cfg.SpotGroupName()),
		NodegroupArn: aws.String("arn:aws:eks:us-east-1:123456789012:nodegroup/x"), Status: ekstypes.NodegroupStatusActive}}
	f.oidc = map[string]*iam.GetOpenIDConnectProviderOutput{oidcARN: {}}

	_, fs := one(t, f, Input{}, "TS803")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "aws_eks_cluster.eks_cluster", "eks-cluster-v1-dev", "ResourceInUseException")
	_, fs = one(t, f, Input{}, "TS804")
	if len(fs) != 1 {
		t.Fatalf("want one node group collision, got %+v", fs)
	}
	wantFinding(t, fs, rules.Error, rules.WouldFail, "aws_eks_node_group.spot_node_group", "node-group-spot-v1-dev")
	_, fs = one(t, f, Input{}, "TS806")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "aws_iam_openid_connect_provider.eks_oidc_provider", oidcARN)

	// All of them in the state: no collision.
	st := NewState(cl, cl+":"+cfg.SpotGroupName(), oidcARN)
	for _, id := range []string{"TS803", "TS804", "TS806"} {
		res, fs := one(t, f, Input{InState: st}, id)
		wantClean(t, res, fs)
	}
}

func TestOrphanedLogGroupIsOfferedForAdoption(t *testing.T) {
	cfg := defaults(t, "default")
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS805")
	wantClean(t, res, fs)

	f.logGroups = map[string]*int32{cfg.LogGroupName(): nil, "/aws/eks/other/cluster": nil}
	_, fs = one(t, f, Input{}, "TS805")
	wantFinding(t, fs, rules.Error, rules.WouldFail, LogGroupAddress, "/aws/eks/eks-cluster-v1-dev/cluster", "never expires",
		"ResourceAlreadyExistsException", "--adopt-existing")

	res, fs = one(t, f, Input{Adopt: true}, "TS805")
	if len(fs) != 1 || fs[0].Severity != rules.Warning {
		t.Fatalf("with --adopt-existing: %+v", fs)
	}
	wantFinding(t, fs, rules.Warning, rules.Advice, "imports it")
	if !strings.Contains(res.Note, "adopting") {
		t.Errorf("note %q", res.Note)
	}

	res, fs = one(t, f, Input{InState: NewState(cfg.LogGroupName())}, "TS805")
	wantClean(t, res, fs)

	// The original's profile manages /aws/eks/<cluster>: a collision there is not adoptable.
	orig := defaults(t, "original")
	f.logGroups = map[string]*int32{orig.LegacyLogGroupName(): aws.Int32(30)}
	_, fs = one(t, f, Input{Config: orig, Adopt: true}, "TS805")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "aws_cloudwatch_log_group.eks_log_group", "retention 30 days")
}

func TestAvoidedZones(t *testing.T) {
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS807")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "us-east-1e=use1-az3") {
		t.Errorf("note %q lacks the zone mapping", res.Note)
	}

	cfg := defaults(t, "default")
	cfg.Network.AvailabilityZones = []string{"us-east-1a", "us-east-1e"}
	_, fs = one(t, f, Input{Config: cfg}, "TS807")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "network.availabilityZones[1]", "us-east-1e is use1-az3", "us-east-1b (use1-az1)")

	// Zone names map to IDs per account: here us-east-1a is the avoided ID.
	f.zones[0].ZoneId, f.zones[4].ZoneId = aws.String("use1-az3"), aws.String("use1-az6")
	cfg = defaults(t, "original") // picks names[0] and names[1] of all available zones, as the original did
	_, fs = one(t, f, Input{Config: cfg}, "TS807")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "network.excludeAvoidedZones", "us-east-1a is use1-az3")
	res, fs = one(t, f, Input{}, "TS807") // the default profile excludes it
	wantClean(t, res, fs)
}

func TestZonesExistAndAreAvailable(t *testing.T) {
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS808")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "us-east-1a, us-east-1b") {
		t.Errorf("note %q", res.Note)
	}
	cfg := defaults(t, "default")
	cfg.Network.AvailabilityZones = []string{"us-east-1a", "us-east-1z", "us-east-1c"}
	cfg.Network.PublicSubnetCIDRs = []string{"10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"}
	f.zones[2].State = ec2types.AvailabilityZoneStateImpaired
	_, fs = one(t, f, Input{Config: cfg}, "TS808")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "network.availabilityZones[1]", "us-east-1z does not exist")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "network.availabilityZones[2]", "impaired")

	// Zones picked at plan time: too few usable zones.
	f.zones = f.zones[:1]
	_, fs = one(t, f, Input{}, "TS808")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "needs 2 zones")
}

func TestKubernetesVersion(t *testing.T) {
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS809")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "standard-support") || !strings.Contains(res.Note, "2027-08-02") {
		t.Errorf("note %q", res.Note)
	}
	for v, want := range map[string][2]string{
		"1.31": {string(rules.Advice), "extended support"},
		"1.29": {string(rules.WouldFail), "past the end of support"},
		"1.30": {string(rules.WouldFail), "does not offer Kubernetes 1.30"},
	} {
		cfg := defaults(t, "default")
		cfg.Cluster.KubernetesVersion = v
		_, fs := one(t, f, Input{Config: cfg}, "TS809")
		sev := rules.Error
		if want[0] == string(rules.Advice) {
			sev = rules.Warning
		}
		wantFinding(t, fs, sev, rules.Kind(want[0]), "cluster.kubernetesVersion", want[1])
	}
}

func TestVPCCNIVersion(t *testing.T) {
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS810")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "EKS would install v1.20.4-eksbuild.2") {
		t.Errorf("note %q", res.Note)
	}
	cfg := defaults(t, "default")
	cfg.Addons.VPCCNI.Version = "v1.20.4-eksbuild.2"
	res, fs = one(t, f, Input{Config: cfg}, "TS810")
	wantClean(t, res, fs)

	cfg.Addons.VPCCNI.Version = "v1.18.1-eksbuild.3" // the original's pin, published for 1.29 only
	_, fs = one(t, f, Input{Config: cfg}, "TS810")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "addons.vpcCni.version", "v1.18.1-eksbuild.3 is not offered for Kubernetes 1.36",
		"leave the version unset", "v1.20.4-eksbuild.2")
}

func TestInstanceTypeOfferings(t *testing.T) {
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS811")
	wantClean(t, res, fs)

	cfg := defaults(t, "default")
	cfg.NodeGroups.OnDemand.InstanceTypes = []string{"t3.medium", "p5.48xlarge"}
	_, fs = one(t, f, Input{Config: cfg}, "TS811")
	if len(fs) != 1 {
		t.Fatalf("want one finding, got %+v", fs)
	}
	wantFinding(t, fs, rules.Error, rules.WouldFail, "nodeGroups.onDemand.instanceTypes[1]", "p5.48xlarge is not offered in us-east-1b")

	cfg = defaults(t, "default")
	cfg.Network.AvailabilityZones = []string{"us-east-1d", "us-east-1e"}
	_, fs = one(t, f, Input{Config: cfg}, "TS811")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "nodeGroups.spot.instanceTypes[0]", "t3.medium is not offered in us-east-1e")

	// --allow TS811 overrules it knowingly, as it does a rule: a valid ID, and an allowed warning.
	cfg.Allow = []string{"TS811"}
	if ts100 := rules.Run(rules.Input{Config: cfg, Doc: stack.Build(cfg, stack.Options{}).Doc, LiveCheckIDs: CheckIDs()}); len(ts100) > 0 {
		for _, x := range ts100 {
			if x.Rule == rules.IDAllow {
				t.Errorf("--allow TS811 is refused: %+v", x)
			}
		}
	}
	_, fs = one(t, f, Input{Config: cfg}, "TS811")
	for _, x := range fs {
		if x.Severity != rules.Warning || !x.Allowed {
			t.Errorf("an allowed live finding stays an error: %+v", x)
		}
	}
	if len(fs) == 0 {
		t.Error("the allowed finding disappeared; it must stay in the report as allowed")
	}
}

func TestStateBucket(t *testing.T) {
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS812")
	wantClean(t, res, fs)

	f.bucket.versioning = ""
	f.bucket.region = "eu-west-1"
	_, fs = one(t, f, Input{}, "TS812")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "state.region", "is in eu-west-1, not in us-east-1")
	wantFinding(t, fs, rules.Warning, rules.Advice, "versioning", "never enabled", "put-bucket-versioning")

	f.bucket = nil
	_, fs = one(t, f, Input{}, "TS812")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "state.bucket", "does not exist")
}

func TestCountQuotas(t *testing.T) {
	f := cleanAccount()
	for _, id := range []string{"TS813", "TS814", "TS815"} {
		res, fs := one(t, f, Input{}, id)
		wantClean(t, res, fs)
	}
	f.vpcs, f.igws = 5, 5
	_, fs := one(t, f, Input{}, "TS813")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "VPCs: 5 in use of a quota of 5", "L-F678F1CE")
	_, fs = one(t, f, Input{}, "TS814")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "internet gateways", "L-A4707A72")

	// A redeploy creates nothing new: no quota is read.
	st := NewState()
	st.Types["aws_vpc"], st.Types["aws_internet_gateway"] = 1, 1
	before := f.count("servicequotas:GetServiceQuota")
	res, fs := one(t, f, Input{InState: st}, "TS813")
	wantClean(t, res, fs)
	if f.count("servicequotas:GetServiceQuota") != before {
		t.Error("read a quota for a stack that adds no VPC")
	}

	// The hardened profile's per-zone NAT gateways need two Elastic IPs; the default quota applies when the
	// account has no applied value.
	cfg := defaults(t, "hardened")
	f.eips = 4
	delete(f.quotas, QuotaEIPs)
	f.defaultQuotas[QuotaEIPs] = 5
	_, fs = one(t, f, Input{Config: cfg}, "TS815")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "Elastic IPs: 4 in use of a quota of 5", "needs 2 more")
}

func TestVCPUQuotas(t *testing.T) {
	f := cleanAccount()
	res, fs := one(t, f, Input{}, "TS816")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "need 10") {
		t.Errorf("note %q", res.Note)
	}
	// 12 running on-demand m5.xlarge (48 vCPUs) plus 5 x 2 for the group exceed 32; the group's own nodes and
	// spot instances do not count.
	for i := 0; i < 12; i++ {
		f.instances = append(f.instances, ec2types.Instance{InstanceType: "m5.xlarge"})
	}
	f.instances = append(f.instances,
		ec2types.Instance{InstanceType: "m5.xlarge", Tags: []ec2types.Tag{{Key: aws.String("eks:nodegroup-name"), Value: aws.String("node-group-od-v1-dev")}}},
		ec2types.Instance{InstanceType: "m5.xlarge", InstanceLifecycle: ec2types.InstanceLifecycleTypeSpot})
	res, fs = one(t, f, Input{}, "TS816")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "nodeGroups.onDemand.maxSize", "48 in use", "need 10", "L-1216C47A")
	res, fs = one(t, f, Input{}, "TS817")
	wantClean(t, res, fs)
	if !strings.Contains(res.Note, "4 vCPUs in use") || !strings.Contains(res.Note, "need 20") {
		t.Errorf("spot note %q", res.Note)
	}

	// An unknown instance type is a finding, not a failure.
	cfg := defaults(t, "default")
	cfg.NodeGroups.Spot.InstanceTypes = []string{"t3.medium", "t9.huge"}
	_, fs = one(t, f, Input{Config: cfg}, "TS817")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "t9.huge")
}

func TestStandardFamily(t *testing.T) {
	for typ, want := range map[string]bool{"t3.medium": true, "m7i-flex.large": true, "c7gn.xlarge": true, "r7iz.large": true,
		"im4gn.large": true, "p5.48xlarge": false, "g6.xlarge": false, "inf2.xlarge": false, "dl1.24xlarge": false,
		"x2idn.16xlarge": false, "u7in-32tb.224xlarge": false, "trn1.2xlarge": false, "vt1.3xlarge": false, "mac1.metal": false} {
		if got := StandardFamily(typ); got != want {
			t.Errorf("StandardFamily(%s) = %v, want %v", typ, got, want)
		}
	}
}

func TestAccessDeniedIsAWarningNamingTheAction(t *testing.T) {
	f := cleanAccount()
	f.errs = map[string]error{"iam:GetRole": accessDenied, "s3:HeadBucket": apiErr("Forbidden", "")}
	r := runChecks(t, f, Input{})
	for id, action := range map[string]string{"TS802": "iam:GetRole", "TS812": "s3:ListBucket"} {
		res := result(t, r, id)
		if res.Status != StatusNotChecked || res.Action != action || !strings.Contains(res.Note, "needs "+action) {
			t.Errorf("%s: %+v", id, res)
		}
		wantFinding(t, findingsOf(r, id), rules.Warning, rules.Advice, "lack "+action, "grant")
	}
	if r.Failed() {
		t.Error("a missing permission failed the run")
	}
	if e, _, _ := rules.Count(r.Findings); e != 0 {
		t.Errorf("a missing permission is an error: %+v", r.Findings)
	}
}

func TestUnimplementedAPIIsNotChecked(t *testing.T) {
	f := cleanAccount()
	f.errs = map[string]error{
		"eks:DescribeClusterVersions":             notImplemented(404),
		"eks:DescribeAddonVersions":               apiErr("UnknownOperationException", ""),
		"servicequotas:GetAWSDefaultServiceQuota": notImplemented(500),
		"ec2:DescribeInstanceTypeOfferings":       apiErr("InvalidAction", "The action DescribeInstanceTypeOfferings is not valid for this web service."),
	}
	delete(f.quotas, QuotaOnDemandVCPUs)
	r := runChecks(t, f, Input{})
	for id, api := range map[string]string{"TS809": "eks:DescribeClusterVersions", "TS810": "eks:DescribeAddonVersions",
		"TS816": "servicequotas:GetAWSDefaultServiceQuota", "TS811": "ec2:DescribeInstanceTypeOfferings"} {
		res := result(t, r, id)
		if res.Status != StatusNotChecked || res.API != api || !strings.Contains(res.Note, "does not implement "+api) {
			t.Errorf("%s: %+v", id, res)
		}
		if fs := findingsOf(r, id); len(fs) != 0 {
			t.Errorf("%s: findings for an API the endpoint lacks: %+v", id, fs)
		}
	}
	if r.Failed() {
		t.Error("an unimplemented API failed the run")
	}
}

func TestOtherErrorsFailTheCheck(t *testing.T) {
	f := cleanAccount()
	f.errs = map[string]error{"sts:GetCallerIdentity": apiErr("InvalidClientTokenId", "The security token included in the request is invalid.")}
	r := runChecks(t, f, Input{}, "TS801")
	res := result(t, r, "TS801")
	if res.Status != StatusError || !strings.Contains(res.Note, "InvalidClientTokenId") || !r.Failed() {
		t.Errorf("%+v", res)
	}
}

func TestEachCheckHasATimeout(t *testing.T) {
	f := cleanAccount()
	f.delays = map[string]time.Duration{"ec2:DescribeAvailabilityZones": 10 * time.Second}
	start := time.Now()
	// 500ms: long enough for the other checks' instant fake calls on a loaded CI machine.
	r := Run(context.Background(), f.clients(), Input{Config: defaults(t, "default"), Date: checkDay}, Options{Timeout: 500 * time.Millisecond})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the run took %s with a 500ms timeout per check", took)
	}
	for _, id := range []string{"TS807", "TS808", "TS811"} {
		res := result(t, r, id)
		if res.Status != StatusError || !strings.Contains(res.Note, "timed out after 500ms") {
			t.Errorf("%s: %+v", id, res)
		}
		if res.Duration < 500*time.Millisecond || res.Duration > 4*time.Second {
			t.Errorf("%s: duration %s", id, res.Duration)
		}
	}
	if res := result(t, r, "TS801"); res.Status != StatusOK {
		t.Errorf("a slow zone call held up TS801: %+v", res)
	}
	if !r.Failed() {
		t.Error("timed-out checks did not fail the run")
	}
}

// A check that ignores its context is abandoned at its timeout.
func TestTimeoutAbandonsAStuckCheck(t *testing.T) {
	stuck := Check{ID: "TS899", Name: "stuck", run: func(ctx context.Context, e *env) ([]rules.Finding, string, error) {
		time.Sleep(2 * time.Second)
		return nil, "", nil
	}}
	start := time.Now()
	res, _ := runOne(context.Background(), &env{in: &Input{}}, stuck, 50*time.Millisecond)
	if time.Since(start) > time.Second || res.Status != StatusError || !strings.Contains(res.Note, "timed out") {
		t.Fatalf("%+v after %s", res, time.Since(start))
	}
}

func TestFindingsAreSortedAndMerged(t *testing.T) {
	f := cleanAccount()
	cfg := defaults(t, "default")
	f.roles = map[string]bool{cfg.NodeRoleName(): true}
	f.bucket.versioning = s3types.BucketVersioningStatusSuspended
	r := runChecks(t, f, Input{})
	if len(r.Findings) != 2 || r.Findings[0].Severity != rules.Error || r.Findings[1].Severity != rules.Warning {
		t.Fatalf("%+v", r.Findings)
	}
	merged := Merge([]rules.Finding{{Rule: "TS306", Severity: rules.Warning}, {Rule: "TS101", Severity: rules.Error}}, r.Findings)
	var ids []string
	for _, f := range merged {
		ids = append(ids, f.Rule)
	}
	if !slices.Equal(ids, []string{"TS101", "TS802", "TS306", "TS812"}) {
		t.Errorf("merged order %v", ids)
	}
}

// Every check is in the package documentation's table, with each IAM action it needs.
func TestCheckIDs(t *testing.T) {
	ids := CheckIDs()
	if len(ids) != len(Checks()) || !slices.IsSorted(ids) {
		t.Fatalf("CheckIDs() = %v for %d checks", ids, len(Checks()))
	}
	for i, c := range Checks() {
		if ids[i] != c.ID {
			t.Errorf("CheckIDs()[%d] = %s, want %s", i, ids[i], c.ID)
		}
	}
}

func TestDocTableListsEveryCheck(t *testing.T) {
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range Checks() {
		i := strings.Index(doc, "//\t"+c.ID+"  ")
		if i < 0 {
			t.Errorf("%s is not in doc.go's table", c.ID)
			continue
		}
		row := doc[i:]
		if j := strings.Index(row[1:], "//\tTS8"); j > 0 {
			row = row[:j+1]
		} else if j := strings.Index(row, "\n//\n"); j > 0 {
			row = row[:j]
		}
		for _, a := range c.Actions {
			if !strings.Contains(row, a) {
				t.Errorf("doc.go's row of %s lacks %s", c.ID, a)
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range Checks() {
		if seen[c.ID] || !strings.HasPrefix(c.ID, "TS8") {
			t.Errorf("check ID %s is duplicated or outside TS8xx", c.ID)
		}
		seen[c.ID] = true
	}
}

// EKS gives a new cluster's creator an access entry itself: the same principal among the admin principals is a
// collision (the assumed role's session counts as its role, whatever the role's path); not on a cluster that
// exists, nor with bootstrapCreatorAdmin off.
func TestCreatorIsNotAnAdminPrincipal(t *testing.T) {
	cfg := defaults(t, "default")
	f := cleanAccount()
	f.account, f.callerARN = "123456789012", "arn:aws:sts::123456789012:assumed-role/ci-deployer/session-42"
	res, fs := one(t, f, Input{Config: cfg}, "TS818")
	wantClean(t, res, fs)

	cfg.Cluster.AdminPrincipals = []string{"arn:aws:iam::123456789012:role/ops", "arn:aws:iam::123456789012:role/teams/ci-deployer"}
	_, fs = one(t, f, Input{Config: cfg}, "TS818")
	wantFinding(t, fs, rules.Error, rules.WouldFail, "cluster.adminPrincipals[1]", "ResourceInUseException", "bootstrapCreatorAdmin: false")

	off := *cfg
	off.Cluster.BootstrapCreatorAdmin = false
	res, fs = one(t, f, Input{Config: &off}, "TS818")
	wantClean(t, res, fs)

	f.clusters = map[string]*ekstypes.Cluster{cfg.ClusterName(): {Name: aws.String(cfg.ClusterName()), Arn: aws.String("arn:aws:eks:us-east-1:123456789012:cluster/" + cfg.ClusterName())}}
	res, fs = one(t, f, Input{Config: cfg}, "TS818")
	wantClean(t, res, fs)
}

// Done hears of each check as it finishes: the fast ones before a slow one ends, every check once.
func TestDoneAsEachCheckFinishes(t *testing.T) {
	f := cleanAccount()
	f.delays = map[string]time.Duration{"ec2:DescribeAvailabilityZones": 300 * time.Millisecond}
	var order []string
	r := Run(context.Background(), f.clients(), Input{Config: defaults(t, "default"), Date: checkDay},
		Options{Timeout: 5 * time.Second, Done: func(res Result) { order = append(order, res.ID) }})
	if len(order) != len(r.Results) {
		t.Fatalf("Done heard %d of %d checks: %v", len(order), len(r.Results), order)
	}
	// TS807, TS808 and TS811 wait on the slow zone call; every other check finishes before them.
	last := slices.Sorted(slices.Values(order[len(order)-3:]))
	if !slices.Equal(last, []string{"TS807", "TS808", "TS811"}) {
		t.Errorf("order %v: the checks waiting on the slow call did not finish last", order)
	}
}
