package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/stack"
)

// deployed returns an account holding the stack of cfg exactly as configured, and its outputs.
func deployed(t *testing.T, cfg *config.Config) (*fakeAWS, outputs.Values) {
	t.Helper()
	f := cleanAccount()
	cl := cfg.ClusterName()
	c := clusterNamed(cl, issuer)
	c.Version = aws.String(cfg.Cluster.KubernetesVersion)
	c.ResourcesVpcConfig = &ekstypes.VpcConfigResponse{EndpointPrivateAccess: true, EndpointPublicAccess: true}
	var types []ekstypes.LogType
	for _, l := range cfg.Cluster.LogTypes {
		types = append(types, ekstypes.LogType(l))
	}
	c.Logging = &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Enabled: aws.Bool(true), Types: types}}}
	f.clusters = map[string]*ekstypes.Cluster{cl: c}
	role := "arn:aws:iam::123456789012:role/" + cfg.NodeRoleName()
	f.nodegroups = map[string]*ekstypes.Nodegroup{}
	for _, ng := range nodeGroups(cfg) {
		f.nodegroups[cl+"/"+ng.Name] = &ekstypes.Nodegroup{NodegroupName: aws.String(ng.Name), Status: ekstypes.NodegroupStatusActive,
			CapacityType: ekstypes.CapacityTypes(ng.Capacity), InstanceTypes: ng.Group.InstanceTypes, NodeRole: aws.String(role),
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(int32(ng.Group.MinSize)),
				DesiredSize: aws.Int32(int32(ng.Group.DesiredSize)), MaxSize: aws.Int32(int32(ng.Group.MaxSize))}}
	}
	version := "v1.20.4-eksbuild.2"
	if cfg.Addons.VPCCNI.Version != "" {
		version = cfg.Addons.VPCCNI.Version
	}
	f.addons = map[string]*ekstypes.Addon{cl + "/vpc-cni": {AddonName: aws.String("vpc-cni"), Status: ekstypes.AddonStatusActive,
		AddonVersion:        aws.String(version),
		ConfigurationValues: aws.String(`{"env": {"WARM_PREFIX_TARGET": "1", "ENABLE_PREFIX_DELEGATION": "true"}}`)}}
	f.associations = map[string]*ekstypes.PodIdentityAssociation{}
	for i, p := range stack.PlatformAddons(cfg) {
		a := &ekstypes.Addon{AddonName: aws.String(p.Name), Status: ekstypes.AddonStatusActive, AddonVersion: aws.String("v1.0.0-eksbuild.1"),
			AddonArn: aws.String("arn:aws:eks:us-east-1:123456789012:addon/" + cl + "/" + p.Name + "/1")}
		if p.RoleName != "" {
			id := fmt.Sprintf("a-%d", i)
			a.PodIdentityAssociations = []string{"arn:aws:eks:us-east-1:123456789012:podidentityassociation/" + cl + "/" + id}
			f.associations[cl+"/"+id] = &ekstypes.PodIdentityAssociation{AssociationId: aws.String(id), OwnerArn: a.AddonArn,
				Namespace: aws.String(p.Namespace), ServiceAccount: aws.String(p.ServiceAccount),
				RoleArn: aws.String("arn:aws:iam::123456789012:role/" + p.RoleName)}
		}
		f.addons[cl+"/"+p.Name] = a
	}
	f.oidc = map[string]*iam.GetOpenIDConnectProviderOutput{oidcARN: {Url: aws.String(strings.TrimPrefix(issuer, "https://")),
		ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{"9E99A48A9960B14926BB7F3B02E22DA2B0AB7280"}}}
	f.logGroups = map[string]*int32{cfg.LogGroupName(): aws.Int32(int32(cfg.Cluster.LogRetentionDays)),
		cfg.LegacyLogGroupName(): aws.Int32(int32(cfg.Cluster.LogRetentionDays))}
	var ids []any
	for i, cidr := range cfg.Network.PublicSubnetCIDRs {
		id := "subnet-" + string(rune('a'+i))
		ids = append(ids, id)
		f.subnets = append(f.subnets, ec2types.Subnet{SubnetId: aws.String(id), CidrBlock: aws.String(cidr),
			VpcId: aws.String("vpc-1"), MapPublicIpOnLaunch: aws.Bool(true)})
	}
	logGroup := cfg.LogGroupName()
	if cfg.Compat.LegacyLogGroup {
		logGroup = cfg.LegacyLogGroupName()
	}
	out := outputs.Values{
		"cluster_name": cl, "cluster_endpoint": aws.ToString(c.Endpoint), "oidc_provider_arn": oidcARN, "oidc_issuer_url": issuer,
		"on_demand_node_group_name": cfg.OnDemandGroupName(), "spot_node_group_name": cfg.SpotGroupName(),
		"vpc_id": "vpc-1", "public_subnet_ids": ids, "cluster_log_group_name": logGroup, "node_role_arn": role,
	}
	return f, out
}

func verify(t *testing.T, f *fakeAWS, cfg *config.Config, out outputs.Values) *VerifyReport {
	t.Helper()
	st := stack.Build(cfg, stack.Options{})
	return Verify(context.Background(), f.clients(), VerifyInput{Config: cfg, Doc: st.Doc, Outputs: out}, Options{Timeout: 5 * time.Second})
}

func wantMismatch(t *testing.T, r *VerifyReport, resource, field, expected, actual string) {
	t.Helper()
	for _, it := range r.Mismatches() {
		if it.Resource == resource && it.Field == field && it.Expected == expected && it.Actual == actual {
			return
		}
	}
	t.Errorf("no mismatch %s %s: expected %q, actual %q among %+v", resource, field, expected, actual, r.Mismatches())
}

func TestVerifyMatchingStack(t *testing.T) {
	for _, profile := range []string{"default", "original"} {
		cfg := defaults(t, profile)
		f, out := deployed(t, cfg)
		r := verify(t, f, cfg, out)
		if !r.OK() {
			var b bytes.Buffer
			_ = r.WriteText(&b)
			t.Fatalf("%s: a stack deployed as configured does not verify:\n%s", profile, b.String())
		}
		if r.Summary.Matched < 25 {
			t.Errorf("%s: only %d facts verified", profile, r.Summary.Matched)
		}
		if want := 7 + len(stack.PlatformAddons(cfg)); len(r.Parts) != want {
			t.Errorf("%s: %d parts, want %d", profile, len(r.Parts), want)
		}
	}
}

func TestVerifyNamesEachMismatch(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	cl := cfg.ClusterName()
	ng := f.nodegroups[cl+"/"+cfg.SpotGroupName()]
	ng.ScalingConfig.MaxSize = aws.Int32(4)
	ng.InstanceTypes = []string{"t3.large"}
	f.clusters[cl].Version = aws.String("1.35")
	f.clusters[cl].Status = ekstypes.ClusterStatusUpdating
	f.addons[cl+"/vpc-cni"].ConfigurationValues = aws.String(`{"env":{"ENABLE_PREFIX_DELEGATION":"false"}}`)
	f.logGroups[cfg.LogGroupName()] = nil
	f.subnets[1].MapPublicIpOnLaunch = aws.Bool(false)
	out["cluster_endpoint"] = "https://stale.example"

	r := verify(t, f, cfg, out)
	if r.OK() {
		t.Fatal("verify passed a changed stack")
	}
	wantMismatch(t, r, "node-group-spot-v1-dev", "scalingConfig.maxSize", "10", "4")
	wantMismatch(t, r, "node-group-spot-v1-dev", "instanceTypes", "t2.medium,t3.medium,t3a.medium", "t3.large")
	wantMismatch(t, r, cl, "version", "1.36", "1.35")
	wantMismatch(t, r, cl, "status", "ACTIVE", "UPDATING")
	wantMismatch(t, r, cl, "endpoint (output cluster_endpoint)", "https://stale.example", "https://ABC.gr7.us-east-1.eks.amazonaws.com")
	wantMismatch(t, r, "vpc-cni on "+cl, "configurationValues", `{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}`,
		`{"env":{"ENABLE_PREFIX_DELEGATION":"false"}}`)
	wantMismatch(t, r, cfg.LogGroupName(), "retentionInDays", "30", "never expires")
	wantMismatch(t, r, "subnet-b", "mapPublicIpOnLaunch", "true", "false")
	if r.Summary.Mismatched != 8 {
		t.Errorf("%d mismatches, want 8: %+v", r.Summary.Mismatched, r.Mismatches())
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `MISMATCH node-group-spot-v1-dev scalingConfig.maxSize: expected "10", actual "4"`) {
		t.Errorf("text report:\n%s", b.String())
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Items   []Item                   `json:"items"`
		Summary struct{ Mismatched int } `json:"summary"`
		Parts   []struct {
			ID         string  `json:"id"`
			DurationMS float64 `json:"durationMs"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil || j.Summary.Mismatched != 8 || len(j.Parts) != 7+len(stack.PlatformAddons(cfg)) {
		t.Errorf("JSON report: %v %+v", err, j.Summary)
	}
}

func TestVerifyMissingResourcesAndOutputs(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	delete(f.nodegroups, cfg.ClusterName()+"/"+cfg.OnDemandGroupName())
	delete(f.oidc, oidcARN)
	delete(out, "public_subnet_ids")
	delete(out, "cluster_endpoint")
	r := verify(t, f, cfg, out)
	wantMismatch(t, r, "node-group-od-v1-dev", "exists", "yes", "no such node group in eks-cluster-v1-dev")
	wantMismatch(t, r, oidcARN, "exists", "yes", "no such provider")
	wantMismatch(t, r, "public subnets", "output public_subnet_ids", "set", "missing from the outputs file")
	wantMismatch(t, r, cfg.ClusterName(), "output cluster_endpoint", "set", "missing from the outputs file")
}

// Profile original writes only the original's seven outputs: verify finds the subnets through the cluster.
func TestVerifyOriginalOutputsReadSubnetsFromTheCluster(t *testing.T) {
	cfg := defaults(t, "original")
	f, out := deployed(t, cfg)
	var ids []string
	for _, s := range f.subnets {
		ids = append(ids, aws.ToString(s.SubnetId))
	}
	f.clusters[cfg.ClusterName()].ResourcesVpcConfig.SubnetIds = ids
	delete(out, "public_subnet_ids")
	delete(out, "vpc_id")
	if r := verify(t, f, cfg, out); !r.OK() {
		t.Errorf("profile original's outputs do not verify: %+v", r.Mismatches())
	}
	f.subnets[0].MapPublicIpOnLaunch = aws.Bool(false)
	wantMismatch(t, verify(t, f, cfg, out), aws.ToString(f.subnets[0].SubnetId), "mapPublicIpOnLaunch", "true", "false")
}

func TestVerifyAccessDeniedAndTimeoutAreNotMatches(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	f.errs = map[string]error{"eks:DescribeAddon": accessDenied, "ec2:DescribeSubnets": notImplemented(501)}
	f.delays = map[string]time.Duration{"logs:DescribeLogGroups": 5 * time.Second}
	st := stack.Build(cfg, stack.Options{})
	r := Verify(context.Background(), f.clients(), VerifyInput{Config: cfg, Doc: st.Doc, Outputs: out}, Options{Timeout: 100 * time.Millisecond})
	// vpc-cni, each platform add-on and the subnets are not checked; the log group timed out.
	if r.OK() || r.Summary.Mismatched != 0 || r.Summary.NotChecked != 2+len(stack.PlatformAddons(cfg)) || r.Summary.Errors != 1 {
		t.Fatalf("summary %+v: %+v", r.Summary, r.Items)
	}
	var b bytes.Buffer
	_ = r.WriteText(&b)
	for _, want := range []string{"access denied: needs eks:DescribeAddon", "does not implement ec2:DescribeSubnets", "timed out"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestVerifyPinnedAddonVersion(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	cfg.Addons.VPCCNI.Version = "v1.19.6-eksbuild.1"
	r := verify(t, f, cfg, out)
	wantMismatch(t, r, "vpc-cni on "+cfg.ClusterName(), "addonVersion", "v1.19.6-eksbuild.1", "v1.20.4-eksbuild.2")
}

// Each platform add-on is verified with its association: a missing add-on, one DEGRADED, a pinned build it does not
// run, an association of another service account or role, one not owned by the add-on, and a role where none
// belongs are each a mismatch.
func TestVerifyPlatformAddons(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	if r := verify(t, f, cfg, out); !r.OK() || r.Summary.Matched < 25+4*3+2*4 {
		t.Fatalf("the platform add-ons as deployed do not verify: %+v", r.Summary)
	}
	cl := cfg.ClusterName()
	delete(f.addons, cl+"/metrics-server")
	f.addons[cl+"/aws-ebs-csi-driver"].Status = ekstypes.AddonStatusDegraded
	var cw *ekstypes.PodIdentityAssociation
	for _, a := range f.associations {
		if aws.ToString(a.Namespace) == "amazon-cloudwatch" {
			cw = a
		}
	}
	cw.ServiceAccount, cw.RoleArn = aws.String("default"), aws.String("arn:aws:iam::123456789012:role/other")
	cw.OwnerArn = aws.String("arn:aws:eks:us-east-1:123456789012:podidentityassociation/standalone")
	f.addons[cl+"/eks-node-monitoring-agent"].PodIdentityAssociations = []string{"arn:aws:eks:us-east-1:123456789012:podidentityassociation/" + cl + "/x"}
	r := verify(t, f, cfg, out)
	wantMismatch(t, r, "metrics-server on "+cl, "exists", "yes", "no such add-on")
	wantMismatch(t, r, "aws-ebs-csi-driver on "+cl, "status", "ACTIVE", "DEGRADED")
	cwRes := "amazon-cloudwatch-observability on " + cl
	wantMismatch(t, r, cwRes, "association service account", "cloudwatch-agent", "default")
	wantMismatch(t, r, cwRes, "association role name", cfg.CloudWatchRoleName(), "other")
	wantMismatch(t, r, cwRes, "association owner (the add-on)", "arn:aws:eks:us-east-1:123456789012:addon/"+cl+"/amazon-cloudwatch-observability/1",
		"arn:aws:eks:us-east-1:123456789012:podidentityassociation/standalone")
	wantMismatch(t, r, "eks-node-monitoring-agent on "+cl, "Pod Identity associations", "0", "1")

	// A pin the document carries (upgrade's) must be what runs.
	st := stack.Build(cfg, stack.Options{AddonVersions: map[string]string{"aws-ebs-csi-driver": "v1.50.0-eksbuild.1"}})
	r = Verify(context.Background(), f.clients(), VerifyInput{Config: cfg, Doc: st.Doc, Outputs: out}, Options{Timeout: 5 * time.Second})
	wantMismatch(t, r, "aws-ebs-csi-driver on "+cl, "addonVersion", "v1.50.0-eksbuild.1", "v1.0.0-eksbuild.1")
}
