package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"golang.org/x/sync/errgroup"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/tfstate"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

// DefaultReads is how many state objects the fleet commands read at once.
const DefaultReads = 16

// The state and lock objects of the S3 backend: a state's lock (use_lockfile) is <key>.tflock.
const (
	stateSuffix = ".tfstate"
	lockSuffix  = ".tflock"
)

// FleetOptions say which bucket the fleet workflows read and when "now" is.
type FleetOptions struct {
	Bucket, BucketRegion string
	// S3 reaches the bucket; nil: the standard chain in BucketRegion.
	S3 live.StateBucketAPI
	// Now is the moment expiries and locks are judged against (the caller's clock or --now).
	Now time.Time
	// Reads is how many state objects are read at once; 0: DefaultReads.
	Reads int
}

func (o *FleetOptions) client(ctx context.Context) error {
	if o.S3 != nil {
		return nil
	}
	c, err := live.NewStateBucketClient(ctx, o.BucketRegion)
	if err != nil {
		return err
	}
	o.S3 = c
	return nil
}

// EnvClass says what tapstack may do with a state.
type EnvClass string

const (
	// Ours: the state has the stack's cluster (stack.ClusterAddress) tagged ManagedBy = tapstack.
	Ours EnvClass = "ours"
	// Foreign: anything else (another project's state, the original CDKTF stack's, an empty state): listed, never
	// touched.
	Foreign EnvClass = "foreign"
	// Copy: one of ours whose resource IDs another state of the bucket also holds; acting on it would act on the
	// other's resources, so it is only listed.
	Copy EnvClass = "copy"
	// Unreadable: the object could not be read or decoded; listed with why.
	Unreadable EnvClass = "unreadable"
)

// Env is one state object of the bucket, as far as the state and the listing tell, with no engine run.
type Env struct {
	Key   string   `json:"key"`
	Class EnvClass `json:"class"`
	// Why says why the state is not ours (foreign, copy, unreadable).
	Why               string         `json:"why,omitempty"`
	Suffix            string         `json:"suffix"`
	Stack             string         `json:"stack"`
	Region            string         `json:"region"`
	LastModified      time.Time      `json:"lastModified"`
	Resources         int            `json:"resources"`
	KubernetesVersion string         `json:"kubernetesVersion"`
	NodeGroups        []EnvNodeGroup `json:"nodeGroups"`
	Profile           string         `json:"profile"`
	PRNumber          string         `json:"prNumber"`
	ManagedBy         string         `json:"managedBy"`
	// ExpiresAt is the recorded expiry tag as it is; Expired compares it with now.
	ExpiresAt string `json:"expiresAt"`
	Expired   bool   `json:"expired"`
	// Ephemeral: the environment has an expiry or the ephemeral tag (what gc --older-than may reap).
	Ephemeral bool     `json:"ephemeral"`
	Protected bool     `json:"protected"`
	Lock      *EnvLock `json:"lock"`
	Monthly   EnvCost  `json:"monthly"`
	// Duplicates are the keys of the other states that hold some of this state's resource IDs.
	Duplicates []string `json:"duplicates"`

	state *tfjson.State
	// ids are the managed resources' type/id pairs, for finding copies.
	ids []string
}

// EnvNodeGroup is a managed node group as the state records it.
type EnvNodeGroup struct {
	Address       string   `json:"address"`
	Name          string   `json:"name"`
	CapacityType  string   `json:"capacityType"`
	InstanceTypes []string `json:"instanceTypes"`
	MinSize       int      `json:"minSize"`
	DesiredSize   int      `json:"desiredSize"`
	MaxSize       int      `json:"maxSize"`
}

// EnvLock is a held state lock: the <key>.tflock object and how long it has been there.
type EnvLock struct {
	Since      time.Time `json:"since"`
	AgeSeconds int64     `json:"ageSeconds"`
}

// EnvCost is the monthly estimate of what the state holds (rules.EstimateHolding).
type EnvCost struct {
	Currency string   `json:"currency"`
	Low      float64  `json:"low"`
	High     float64  `json:"high"`
	Unpriced []string `json:"unpriced"`
}

// Acting reports whether tapstack may act on the environment (drift, gc): ours, and no copy.
func (e *Env) Acting() bool { return e.Class == Ours }

// Fleet is every state object of a bucket.
type Fleet struct {
	Bucket       string    `json:"bucket"`
	BucketRegion string    `json:"bucketRegion"`
	Now          time.Time `json:"now"`
	Envs         []*Env    `json:"environments"`
}

// Count is how many environments are of a class.
func (f *Fleet) Count(c EnvClass) int {
	return countWhere(f.Envs, func(e *Env) bool { return e.Class == c })
}

// countWhere is how many of xs keep holds for.
func countWhere[T any](xs []T, keep func(T) bool) int {
	n := 0
	for _, x := range xs {
		if keep(x) {
			n++
		}
	}
	return n
}

// Envs lists every state object of the bucket (every key ending in .tfstate, page by page) and reads them, a
// bounded number at a time, into what each environment is: from the state objects alone, no engine run and no
// provider load. A state that cannot be read is listed as unreadable; only a failed listing is an error.
func Envs(ctx context.Context, o FleetOptions) (*Fleet, error) {
	if err := o.client(ctx); err != nil {
		return nil, err
	}
	objs, err := live.ListBucket(ctx, o.S3, o.Bucket, "")
	if err != nil {
		return nil, err
	}
	f := &Fleet{Bucket: o.Bucket, BucketRegion: o.BucketRegion, Now: o.Now.UTC()}
	locks := map[string]time.Time{}
	for _, obj := range objs {
		if k, ok := strings.CutSuffix(obj.Key, lockSuffix); ok {
			locks[k] = obj.LastModified
		}
	}
	for _, obj := range objs {
		if strings.HasSuffix(obj.Key, stateSuffix) {
			e := &Env{Key: obj.Key, LastModified: obj.LastModified}
			if since, ok := locks[obj.Key]; ok {
				e.Lock = &EnvLock{Since: since, AgeSeconds: max(0, int64(f.Now.Sub(since)/time.Second))}
			}
			f.Envs = append(f.Envs, e)
		}
	}
	reads := o.Reads
	if reads <= 0 {
		reads = DefaultReads
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(reads)
	day, _ := versions.ParseDate(f.Now.Format(time.DateOnly))
	for _, e := range f.Envs {
		g.Go(func() error {
			raw, err := live.ReadBucketObject(gctx, o.S3, o.Bucket, e.Key)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				e.Class, e.Why = Unreadable, err.Error()
				return nil
			}
			e.read(raw, f.Now, day)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	markCopies(f.Envs)
	for _, e := range f.Envs {
		// Lists are [] rather than null in JSON, so that a consumer can iterate without a check.
		e.NodeGroups = nonNil(e.NodeGroups)
		e.Duplicates = nonNil(e.Duplicates)
		e.Monthly.Unpriced = nonNil(e.Monthly.Unpriced)
	}
	return f, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// keyLayout is the original's state key, TapStack<suffix>/<suffix>/terraform.tfstate.
var keyLayout = regexp.MustCompile(`^TapStack([^/]+)/([^/]+)/terraform\.tfstate$`)

// read fills what the state records. raw nil is a key that went away after the listing.
func (e *Env) read(raw []byte, now time.Time, day versions.Date) {
	if raw == nil {
		e.Class, e.Why = Unreadable, "the object went away after the listing"
		return
	}
	st, err := tfstate.Decode(raw)
	if err != nil {
		e.Class, e.Why = Unreadable, "not a state tapstack can read: "+err.Error()
		return
	}
	e.state = st
	rs := engine.Resources(st)
	e.Resources = len(rs)
	cluster := clusterOf(rs)
	tags := map[string]string{}
	if cluster != nil {
		tags = stringMap(cluster.AttributeValues["tags_all"])
		for k, v := range stringMap(cluster.AttributeValues["tags"]) {
			if tags[k] == "" {
				tags[k] = v
			}
		}
		e.KubernetesVersion, _ = cluster.AttributeValues["version"].(string)
	}
	e.ManagedBy, e.Profile, e.PRNumber = tags[stack.TagManagedBy], tags[stack.TagProfile], tags[stack.TagPRNumber]
	e.ExpiresAt = tags[stack.TagExpiresAt]
	e.Protected = stack.ParseTagBool(tags[stack.TagProtect])
	e.Ephemeral = e.ExpiresAt != "" || stack.ParseTagBool(tags[stack.TagEphemeral])
	if t, err := time.Parse(time.RFC3339, e.ExpiresAt); err == nil {
		e.Expired = !now.Before(t)
	}
	if m := keyLayout.FindStringSubmatch(e.Key); m != nil && m[1] == m[2] {
		e.Suffix = m[1]
	} else if cluster != nil {
		e.Suffix = tags[stack.TagEnvironment]
	}
	if e.Suffix != "" {
		e.Stack = "TapStack" + e.Suffix
	}
	e.Region = regionOf(rs)
	h := rules.Holding{Region: e.Region}
	for _, r := range rs {
		if r.DeposedKey != "" {
			continue
		}
		if id, _ := r.AttributeValues["id"].(string); id != "" {
			e.ids = append(e.ids, r.Type+"/"+id)
		}
		switch r.Type {
		case "aws_eks_node_group":
			ng := nodeGroupOf(r)
			e.NodeGroups = append(e.NodeGroups, ng)
			h.NodeGroups = append(h.NodeGroups, rules.HeldNodeGroup{Name: ng.Name, InstanceTypes: ng.InstanceTypes,
				DesiredSize: ng.DesiredSize, Spot: ng.CapacityType == "SPOT"})
		case "aws_nat_gateway":
			h.NATGateways++
		case "aws_kms_key":
			h.KMSKeys++
		case "aws_eks_addon":
			if r.AttributeValues["addon_name"] == "amazon-cloudwatch-observability" {
				h.CloudWatchObservability = true
			}
		}
	}
	if cluster != nil {
		h.Cluster, h.KubernetesVersion = true, e.KubernetesVersion
		if cc, ok := cluster.AttributeValues["compute_config"].([]any); ok && len(cc) > 0 {
			m, _ := cc[0].(map[string]any)
			h.AutoMode = m["enabled"] == true
		}
	}
	cost := rules.EstimateHolding(h, versions.Get(), day)
	e.Monthly = EnvCost{Currency: cost.Currency, Low: round2(cost.MonthlyLow), High: round2(cost.MonthlyHigh), Unpriced: cost.Unpriced}

	switch {
	case e.Resources == 0:
		e.Class, e.Why = Foreign, "the state holds no resources"
	case cluster == nil || cluster.Address != stack.ClusterAddress:
		e.Class, e.Why = Foreign, "no "+stack.ClusterAddress
	case e.ManagedBy != stack.ManagedByTapstack:
		e.Class, e.Why = Foreign, fmt.Sprintf("the cluster's %s tag is %q, not %q", stack.TagManagedBy, e.ManagedBy, stack.ManagedByTapstack)
	case e.Suffix == "":
		e.Class, e.Why = Foreign, "no environment suffix: the key is not TapStack<suffix>/<suffix>/terraform.tfstate and the cluster has no "+stack.TagEnvironment+" tag"
	default:
		e.Class = Ours
	}
}

// clusterOf is the stack's cluster, or else the first EKS cluster of the state (a foreign stack's).
func clusterOf(rs []*tfjson.StateResource) *tfjson.StateResource {
	var first *tfjson.StateResource
	for _, r := range rs {
		if r.Type != "aws_eks_cluster" || r.DeposedKey != "" {
			continue
		}
		if r.Address == stack.ClusterAddress {
			return r
		}
		if first == nil {
			first = r
		}
	}
	return first
}

// regionOf is the region most of the state's ARNs name (IAM's name none); ties go to the first in order.
func regionOf(rs []*tfjson.StateResource) string {
	count := map[string]int{}
	for _, r := range rs {
		arn, _ := r.AttributeValues["arn"].(string)
		parts := strings.SplitN(arn, ":", 5)
		if len(parts) == 5 && parts[0] == "arn" && parts[3] != "" {
			count[parts[3]]++
		}
	}
	best := ""
	for region, n := range count {
		if n > count[best] || n == count[best] && region < best {
			best = region
		}
	}
	return best
}

func nodeGroupOf(r *tfjson.StateResource) EnvNodeGroup {
	a := r.AttributeValues
	ng := EnvNodeGroup{Address: r.Address}
	ng.Name, _ = a["node_group_name"].(string)
	ng.CapacityType, _ = a["capacity_type"].(string)
	if l, ok := a["instance_types"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				ng.InstanceTypes = append(ng.InstanceTypes, s)
			}
		}
	}
	if sc, ok := a["scaling_config"].([]any); ok && len(sc) > 0 {
		m, _ := sc[0].(map[string]any)
		ng.MinSize, ng.DesiredSize, ng.MaxSize = number(m["min_size"]), number(m["desired_size"]), number(m["max_size"])
	}
	return ng
}

// number reads a whole number of a decoded state (json.Number) or of show -json (float64).
func number(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := strconv.Atoi(n.String())
		return i
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			if s, ok := x.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// markCopies finds states that hold the same resource (type and ID) as another state of the bucket: each such
// state of ours becomes a Copy, naming the others. Foreign states stay foreign but are named too.
func markCopies(envs []*Env) {
	owners := map[string][]int{}
	for i, e := range envs {
		seen := map[string]bool{}
		for _, id := range e.ids {
			if !seen[id] {
				seen[id] = true
				owners[id] = append(owners[id], i)
			}
		}
	}
	shared := make([]map[int]bool, len(envs))
	for _, idx := range owners {
		for _, i := range idx {
			for _, j := range idx {
				if i != j {
					if shared[i] == nil {
						shared[i] = map[int]bool{}
					}
					shared[i][j] = true
				}
			}
		}
	}
	for i, e := range envs {
		if len(shared[i]) == 0 {
			continue
		}
		for j := range shared[i] {
			e.Duplicates = append(e.Duplicates, envs[j].Key)
		}
		sort.Strings(e.Duplicates)
		if e.Class == Ours {
			e.Class = Copy
			e.Why = fmt.Sprintf("holds resource IDs that %s also holds (a copy of a state): acting on it would act on the other's resources",
				strings.Join(e.Duplicates, ", "))
		}
	}
}
