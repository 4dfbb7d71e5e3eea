package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/jsonout"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// ItemStatus is the outcome of one verified fact.
type ItemStatus string

const (
	Match      ItemStatus = "match"
	Mismatch   ItemStatus = "mismatch"
	NotChecked ItemStatus = "not-checked" // a permission is missing or the endpoint lacks the API
	Failed     ItemStatus = "error"       // the fact could not be read (network, timeout, a server error)
)

// Item is one fact verify compares: a field of a live resource against what the configuration and the outputs
// say it should be.
type Item struct {
	Part     string     `json:"part"`
	Resource string     `json:"resource"`
	Field    string     `json:"field"`
	Expected string     `json:"expected"`
	Actual   string     `json:"actual"`
	Status   ItemStatus `json:"status"`
	Note     string     `json:"note,omitempty"`
}

// VerifyInput is what the live stack is verified against.
type VerifyInput struct {
	Config *config.Config
	// Doc is the synthesized stack; when set, the add-on's expected version and configuration come from it.
	Doc *tfdoc.Document
	// Outputs are the pipeline's outputs (cfn-outputs/flat-outputs.json).
	Outputs outputs.Values
	// Kube connects to the cluster's Kubernetes API for the checks inside the cluster (nodes, add-on workloads,
	// the default StorageClass when the EBS CSI driver runs, the Cluster Autoscaler when it is on); nil leaves them
	// out, and KubeSkipped says why in
	// the report.
	Kube        func(ctx context.Context) (kubernetes.Interface, error)
	KubeSkipped string
}

// VerifyReport is the outcome of verify.
type VerifyReport struct {
	Stack   string   `json:"stack"`
	Items   []Item   `json:"items"`
	Parts   []Result `json:"parts"`
	Summary struct {
		Matched    int `json:"matched"`
		Mismatched int `json:"mismatched"`
		NotChecked int `json:"notChecked"`
		Errors     int `json:"errors"`
	} `json:"summary"`
	// Skipped are the parts not verified, and why.
	Skipped    []string      `json:"skipped,omitempty"`
	Duration   time.Duration `json:"-"`
	DurationMS float64       `json:"durationMs"`
}

// OK reports whether every fact was read and matched.
func (r *VerifyReport) OK() bool {
	return r.Summary.Mismatched == 0 && r.Summary.NotChecked == 0 && r.Summary.Errors == 0
}

// Mismatches returns the items that do not match.
func (r *VerifyReport) Mismatches() []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Status == Mismatch {
			out = append(out, it)
		}
	}
	return out
}

type verifyPart struct {
	id, name string
	run      func(ctx context.Context, v *verifier) []Item
}

type verifier struct {
	c    *Clients
	cfg  *config.Config
	doc  *tfdoc.Document
	out  outputs.Values
	kube func(ctx context.Context) (kubernetes.Interface, error)
}

// Verify checks the live stack against the configuration and the outputs, part by part and concurrently, each
// part under opts.Timeout: the cluster, the OIDC provider, each node group, the vpc-cni add-on, each platform
// add-on with its Pod Identity association, the control-plane log group, the public subnets, and inside the
// cluster the default StorageClass when the EBS CSI driver runs and the Cluster Autoscaler when it is on.
func Verify(ctx context.Context, c *Clients, in VerifyInput, opts Options) *VerifyReport {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	v := &verifier{c: c, cfg: in.Config, doc: in.Doc, out: in.Outputs, kube: in.Kube}
	if v.out == nil {
		v.out = outputs.Values{}
	}
	parts := []verifyPart{
		{"cluster", "EKS cluster", verifyCluster},
		{"oidc", "IAM OIDC provider", verifyOIDC},
		{"addon", "vpc-cni add-on", verifyAddon},
		{"log-group", "control-plane log group", verifyLogGroup},
		{"subnets", "public subnets", verifySubnets},
	}
	for _, pa := range stack.PlatformAddons(in.Config) {
		parts = append(parts, verifyPart{"addon:" + pa.Name, pa.Name + " add-on",
			func(ctx context.Context, v *verifier) []Item { return verifyPlatformAddon(ctx, v, pa) }})
	}
	for _, ng := range nodeGroups(in.Config) {
		parts = append(parts, verifyPart{"node-group:" + ng.Capacity, "node group " + ng.Name,
			func(ctx context.Context, v *verifier) []Item { return verifyNodeGroup(ctx, v, ng) }})
	}
	var skipped []string
	why := in.KubeSkipped
	if why == "" {
		why = "not verified (no connection to the cluster's Kubernetes API was given)"
	}
	if in.Kube != nil {
		parts = append(parts, verifyPart{"nodes", "Kubernetes nodes", verifyNodes},
			verifyPart{"workloads", "add-on workloads", verifyWorkloads})
	} else {
		for _, c := range InsideChecks {
			skipped = append(skipped, c+": "+why)
		}
	}
	if stack.OwnsDefaultStorageClass(in.Config) {
		if in.Kube != nil {
			parts = append(parts, verifyPart{"storage-class", "default StorageClass", verifyStorageClass})
		} else {
			skipped = append(skipped, "default StorageClass: "+why)
		}
	}
	if in.Config.RunsClusterAutoscaler() {
		if in.Kube != nil {
			parts = append(parts, verifyPart{"autoscaler", "Cluster Autoscaler", verifyAutoscaler})
		} else {
			skipped = append(skipped, "Cluster Autoscaler: "+why)
		}
	}
	start := time.Now()
	items := make([][]Item, len(parts))
	results := make([]Result, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
			t0 := time.Now()
			done := make(chan []Item, 1)
			go func() { done <- p.run(pctx, v) }()
			var its []Item
			select {
			case its = <-done:
			case <-pctx.Done():
				its = []Item{{Part: p.id, Resource: p.name, Field: "-", Status: Failed,
					Note: fmt.Sprintf("timed out after %s", opts.Timeout)}}
			}
			res := Result{ID: p.id, Name: p.name, Duration: time.Since(t0), Status: StatusOK}
			res.DurationMS = ms(res.Duration)
			for j := range its {
				its[j].Part = p.id
				switch its[j].Status {
				case Mismatch:
					if res.Status != StatusError {
						res.Status = StatusMismatch
					}
				case NotChecked:
					if res.Status == StatusOK {
						res.Status = StatusNotChecked
					}
				case Failed:
					res.Status = StatusError
				}
			}
			items[i], results[i] = its, res
		}()
	}
	wg.Wait()
	r := &VerifyReport{Stack: in.Config.StackName(), Parts: results, Skipped: skipped, Duration: time.Since(start)}
	r.DurationMS = ms(r.Duration)
	for _, its := range items {
		for _, it := range its {
			r.Items = append(r.Items, it)
			switch it.Status {
			case Match:
				r.Summary.Matched++
			case Mismatch:
				r.Summary.Mismatched++
			case NotChecked:
				r.Summary.NotChecked++
			default:
				r.Summary.Errors++
			}
		}
	}
	if r.Items == nil {
		r.Items = []Item{}
	}
	return r
}

// compare is an item that matches when expected equals actual.
func compare(resource, field, expected, actual string) Item {
	it := Item{Resource: resource, Field: field, Expected: expected, Actual: actual, Status: Match}
	if expected != actual {
		it.Status = Mismatch
	}
	return it
}

// failure turns an error into an item: not checked (permission, missing API) or an error.
func failure(ctx context.Context, resource, field string, err error) Item {
	api, action := apiOf(err)
	it := Item{Resource: resource, Field: field, Status: Failed, Note: short(err)}
	switch classify(ctx, err) {
	case classDenied:
		it.Status, it.Note = NotChecked, "access denied: needs "+action
	case classNotImplemented:
		it.Status, it.Note = NotChecked, "the endpoint does not implement "+api
	case classTimeout:
		it.Note = "timed out"
	}
	return it
}

// output returns a string output, and an item reporting it missing when it is.
func (v *verifier) output(name, resource string) (string, *Item) {
	if s := v.out.String(name); s != "" {
		return s, nil
	}
	return "", &Item{Resource: resource, Field: "output " + name, Expected: "set", Actual: "missing from the outputs file", Status: Mismatch}
}

func (v *verifier) clusterName() string {
	if n := v.out.String("cluster_name"); n != "" {
		return n
	}
	return v.cfg.ClusterName()
}

func verifyCluster(ctx context.Context, v *verifier) []Item {
	want := v.cfg.ClusterName()
	items := []Item{compare(want, "output cluster_name", want, v.out.String("cluster_name"))}
	name := v.clusterName()
	cl, err := describeCluster(ctx, v.c.EKS, name)
	if err != nil {
		return append(items, failure(ctx, name, "cluster", err))
	}
	if cl == nil {
		return append(items, Item{Resource: name, Field: "exists", Expected: "yes", Actual: "no such cluster", Status: Mismatch})
	}
	items = append(items,
		compare(name, "status", "ACTIVE", string(cl.Status)),
		compare(name, "version", v.cfg.Cluster.KubernetesVersion, aws.ToString(cl.Version)))
	if ep, miss := v.output("cluster_endpoint", name); miss != nil {
		items = append(items, *miss)
	} else {
		items = append(items, compare(name, "endpoint (output cluster_endpoint)", ep, aws.ToString(cl.Endpoint)))
	}
	if vpc := cl.ResourcesVpcConfig; vpc != nil {
		items = append(items,
			compare(name, "endpointPrivateAccess", strconv.FormatBool(v.cfg.Cluster.EndpointPrivateAccess), strconv.FormatBool(vpc.EndpointPrivateAccess)),
			compare(name, "endpointPublicAccess", strconv.FormatBool(v.cfg.Cluster.EndpointPublicAccess), strconv.FormatBool(vpc.EndpointPublicAccess)))
	}
	items = append(items, compare(name, "enabled log types", setString(v.cfg.Cluster.LogTypes), setString(enabledLogTypes(cl))))
	return items
}

func enabledLogTypes(cl *ekstypes.Cluster) []string {
	var out []string
	if cl.Logging == nil {
		return nil
	}
	for _, s := range cl.Logging.ClusterLogging {
		if aws.ToBool(s.Enabled) {
			for _, t := range s.Types {
				out = append(out, string(t))
			}
		}
	}
	return out
}

// setString renders a list as a sorted, comma-separated set.
func setString(xs []string) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	s = slices.Compact(s)
	return strings.Join(s, ",")
}

func verifyOIDC(ctx context.Context, v *verifier) []Item {
	const res = "OIDC provider"
	arn, miss := v.output("oidc_provider_arn", res)
	if miss != nil {
		return []Item{*miss}
	}
	var items []Item
	cl, err := describeCluster(ctx, v.c.EKS, v.clusterName())
	if err != nil {
		return []Item{failure(ctx, arn, "issuer", err)}
	}
	issuer := ""
	if cl != nil && cl.Identity != nil && cl.Identity.Oidc != nil {
		issuer = aws.ToString(cl.Identity.Oidc.Issuer)
	}
	if out := v.out.String("oidc_issuer_url"); out != "" || issuer != "" {
		items = append(items, compare(arn, "output oidc_issuer_url", issuer, out))
	}
	p, err := v.c.IAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if hasCode(err, "NoSuchEntity", "NoSuchEntityException") {
		return append(items, Item{Resource: arn, Field: "exists", Expected: "yes", Actual: "no such provider", Status: Mismatch})
	}
	if err != nil {
		return append(items, failure(ctx, arn, "provider", wrap("iam:GetOpenIDConnectProvider", err)))
	}
	items = append(items, compare(arn, "url (the cluster's issuer)", issuerPath(issuer), issuerPath(aws.ToString(p.Url))))
	items = append(items, compare(arn, "client IDs include sts.amazonaws.com", "true",
		strconv.FormatBool(slices.Contains(p.ClientIDList, "sts.amazonaws.com"))))
	if len(v.cfg.Cluster.OIDCThumbprints) > 0 {
		items = append(items, compare(arn, "thumbprints", setString(lower(v.cfg.Cluster.OIDCThumbprints)), setString(lower(p.ThumbprintList))))
	}
	return items
}

func lower(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(x)
	}
	return out
}

func verifyNodeGroup(ctx context.Context, v *verifier, ng nodeGroup) []Item {
	outName := "on_demand_node_group_name"
	if ng.Capacity == "SPOT" {
		outName = "spot_node_group_name"
	}
	// The output names the generation in use: the group's name, or its alternate after a roll.
	name, want := ng.Name, ng.Name
	if n := v.out.String(outName); n != "" {
		name = n
		if n == config.AlternateGroupName(ng.Name) {
			want = n
		}
	}
	items := []Item{compare(ng.Name, "output "+outName, want, v.out.String(outName))}
	cluster := v.clusterName()
	out, err := v.c.EKS.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
	if hasCode(err, "ResourceNotFoundException") {
		return append(items, Item{Resource: name, Field: "exists", Expected: "yes", Actual: "no such node group in " + cluster, Status: Mismatch})
	}
	if err != nil {
		return append(items, failure(ctx, name, "node group", wrap("eks:DescribeNodegroup", err)))
	}
	g := out.Nodegroup
	items = append(items,
		compare(name, "status", "ACTIVE", string(g.Status)),
		compare(name, "capacityType", ng.Capacity, string(g.CapacityType)),
		compare(name, "instanceTypes", setString(ng.Group.InstanceTypes), setString(g.InstanceTypes)))
	sc := g.ScalingConfig
	if sc == nil {
		sc = &ekstypes.NodegroupScalingConfig{}
	}
	itoa := func(p *int32) string {
		if p == nil {
			return "unset"
		}
		return strconv.Itoa(int(*p))
	}
	desired := compare(name, "scalingConfig.desiredSize", strconv.Itoa(ng.Group.DesiredSize), itoa(sc.DesiredSize))
	if v.cfg.RunsClusterAutoscaler() {
		// The autoscaler moves the desired size between min and max, and the stack leaves it to it.
		desired = Item{Resource: name, Field: "scalingConfig.desiredSize (set by the Cluster Autoscaler)",
			Expected: fmt.Sprintf("%d to %d", ng.Group.MinSize, ng.Group.MaxSize), Actual: itoa(sc.DesiredSize), Status: Match}
		if d := sc.DesiredSize; d == nil || int(*d) < ng.Group.MinSize || int(*d) > ng.Group.MaxSize {
			desired.Status = Mismatch
		}
	}
	items = append(items,
		compare(name, "scalingConfig.minSize", strconv.Itoa(ng.Group.MinSize), itoa(sc.MinSize)),
		desired,
		compare(name, "scalingConfig.maxSize", strconv.Itoa(ng.Group.MaxSize), itoa(sc.MaxSize)))
	if role := v.out.String("node_role_arn"); role != "" {
		items = append(items, compare(name, "nodeRole (output node_role_arn)", role, aws.ToString(g.NodeRole)))
	}
	return items
}

// expectedCNI returns the add-on's expected version ("" when EKS chooses) and configuration values.
func (v *verifier) expectedCNI() (version, configuration string) {
	version = v.cfg.Addons.VPCCNI.Version
	configuration = stack.VPCCNIConfiguration(v.cfg.Addons.VPCCNI)
	if s := docAttr(v.doc, AddonAddress, "addon_version"); s != "" {
		version = s
	}
	if s := docAttr(v.doc, AddonAddress, "configuration_values"); s != "" {
		configuration = s
	}
	return version, configuration
}

func verifyAddon(ctx context.Context, v *verifier) []Item {
	cluster := v.clusterName()
	res := "vpc-cni on " + cluster
	out, err := v.c.EKS.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(cluster), AddonName: aws.String("vpc-cni")})
	if hasCode(err, "ResourceNotFoundException") {
		return []Item{{Resource: res, Field: "exists", Expected: "yes", Actual: "no such add-on", Status: Mismatch}}
	}
	if err != nil {
		return []Item{failure(ctx, res, "add-on", wrap("eks:DescribeAddon", err))}
	}
	a := out.Addon
	version, configuration := v.expectedCNI()
	items := []Item{compare(res, "status", "ACTIVE", string(a.Status))}
	if version != "" {
		items = append(items, compare(res, "addonVersion", version, aws.ToString(a.AddonVersion)))
	} else {
		items = append(items, Item{Resource: res, Field: "addonVersion", Expected: "EKS's default", Actual: aws.ToString(a.AddonVersion),
			Status: Match, Note: "unpinned: any version EKS installed matches"})
	}
	got := aws.ToString(a.ConfigurationValues)
	it := compare(res, "configurationValues", configuration, got)
	if sameJSON(configuration, got) {
		it.Status = Match
	}
	return append(items, it)
}

// sameJSON reports whether two JSON (or YAML-as-JSON) texts hold the same value.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return reflect.DeepEqual(x, y)
}

func verifyLogGroup(ctx context.Context, v *verifier) []Item {
	want := v.cfg.LogGroupName()
	if v.cfg.Compat.LegacyLogGroup {
		want = v.cfg.LegacyLogGroupName()
	}
	var items []Item
	name := want
	if out := v.out.String("cluster_log_group_name"); out != "" {
		items = append(items, compare(want, "output cluster_log_group_name", want, out))
		name = out
	}
	lg, err := findLogGroup(ctx, v.c.Logs, name)
	if err != nil {
		return append(items, failure(ctx, name, "log group", err))
	}
	if lg == nil {
		return append(items, Item{Resource: name, Field: "exists", Expected: "yes", Actual: "no such log group", Status: Mismatch})
	}
	got := "never expires"
	if lg.RetentionInDays != nil {
		got = strconv.Itoa(int(*lg.RetentionInDays))
	}
	return append(items, compare(name, "retentionInDays", strconv.Itoa(v.cfg.Cluster.LogRetentionDays), got))
}

func verifySubnets(ctx context.Context, v *verifier) []Item {
	ids, vpc := v.out.Strings("public_subnet_ids"), v.out.String("vpc_id")
	if len(ids) == 0 && v.cfg.Compat.OriginalOutputs && v.cfg.Network.Topology != config.TopologyPrivate {
		// The original's seven outputs name no subnets; in its public topology the cluster's subnets are the
		// public ones.
		c, err := v.c.EKS.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(v.cfg.ClusterName())})
		if err != nil {
			return []Item{failure(ctx, v.cfg.ClusterName(), "subnets", wrap("eks:DescribeCluster", err))}
		}
		if vc := c.Cluster.ResourcesVpcConfig; vc != nil {
			ids, vpc = vc.SubnetIds, aws.ToString(vc.VpcId)
		}
	}
	if len(ids) == 0 {
		return []Item{{Resource: "public subnets", Field: "output public_subnet_ids", Expected: "set", Actual: "missing from the outputs file", Status: Mismatch}}
	}
	out, err := v.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids})
	if err != nil {
		return []Item{failure(ctx, strings.Join(ids, ","), "subnets", wrap("ec2:DescribeSubnets", err))}
	}
	items := []Item{compare("public subnets", "count", strconv.Itoa(len(v.cfg.Network.PublicSubnetCIDRs)), strconv.Itoa(len(out.Subnets)))}
	var cidrs []string
	for _, s := range out.Subnets {
		id := aws.ToString(s.SubnetId)
		cidrs = append(cidrs, aws.ToString(s.CidrBlock))
		items = append(items, compare(id, "mapPublicIpOnLaunch", "true", strconv.FormatBool(aws.ToBool(s.MapPublicIpOnLaunch))))
		if vpc != "" {
			items = append(items, compare(id, "vpcId", vpc, aws.ToString(s.VpcId)))
		}
	}
	items = append(items, compare("public subnets", "CIDR blocks", setString(v.cfg.Network.PublicSubnetCIDRs), setString(cidrs)))
	return items
}

// WriteText writes the verify report: one line per part, then every mismatch and unverified fact with expected
// and actual values.
func (r *VerifyReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tapstack verify: %s\n", r.Stack)
	for _, p := range r.Parts {
		fmt.Fprintf(&b, "  %-11s %8s  %s\n", p.Status, round(p.Duration), p.Name)
	}
	for _, it := range r.Items {
		switch it.Status {
		case Mismatch:
			fmt.Fprintf(&b, "MISMATCH %s %s: expected %q, actual %q", it.Resource, it.Field, it.Expected, it.Actual)
			if it.Note != "" {
				fmt.Fprintf(&b, "; %s", it.Note)
			}
			b.WriteString("\n")
		case NotChecked, Failed:
			fmt.Fprintf(&b, "%-8s %s %s: %s\n", strings.ToUpper(string(it.Status)), it.Resource, it.Field, it.Note)
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "SKIPPED  %s\n", s)
	}
	fmt.Fprintf(&b, "%d matched, %d mismatched, %d not checked, %d error(s) in %s\n", r.Summary.Matched,
		r.Summary.Mismatched, r.Summary.NotChecked, r.Summary.Errors, round(r.Duration))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the verify report as JSON.
func (r *VerifyReport) WriteJSON(w io.Writer) error {
	return jsonout.Write(w, r)
}
