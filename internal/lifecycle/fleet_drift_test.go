package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/zclconf/go-cty/cty"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/fakes3"
	"github.com/tapstack/tapstack/internal/fakestate"
)

// planAnswer is what the fake engine's refresh-only plan of one working copy answers.
type planAnswer struct {
	changes bool
	drift   []*tfjson.ResourceChange
	err     error
}

// driftEngines stands in for Terraform in each drift working copy, keyed by the copy's last directory (the
// suffix). It records what ran and how many plans ran at once.
type driftEngines struct {
	mu          sync.Mutex
	answers     map[string]planAnswer
	runs        []string
	running     int
	maxParallel int
	// together, when set, is closed once two plans run at once.
	together chan struct{}
}

func (d *driftEngines) open(_ context.Context, _ engine.Kind, dir string, _ io.Writer, lockTimeout time.Duration) (Engine, error) {
	if lockTimeout != 0 {
		return nil, errors.New("drift must never wait for a lock")
	}
	return &driftEngine{d: d, dir: dir, suffix: filepath.Base(dir)}, nil
}

type driftEngine struct {
	Engine // anything else panics: drift calls only what follows
	d      *driftEngines
	dir    string
	suffix string
}

func (e *driftEngine) record(s string) {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	e.d.runs = append(e.d.runs, e.suffix+" "+s)
}

func (e *driftEngine) Dir() string { return e.dir }
func (e *driftEngine) EnsureInit(context.Context) (bool, error) {
	e.record("init")
	return true, nil
}

func (e *driftEngine) Plan(ctx context.Context, file string, po engine.PlanOptions) (bool, error) {
	e.record("plan")
	if !po.RefreshOnly {
		return false, errors.New("drift plans must be refresh-only")
	}
	e.d.mu.Lock()
	e.d.running++
	e.d.maxParallel = max(e.d.maxParallel, e.d.running)
	if e.d.running == 2 && e.d.together != nil {
		close(e.d.together)
		e.d.together = nil
	}
	wait := e.d.together
	a := e.d.answers[e.suffix]
	e.d.mu.Unlock()
	if wait != nil { // hold the first plan until a second one runs, or long enough to say none will
		select {
		case <-wait:
		case <-time.After(5 * time.Second):
		}
	}
	e.d.mu.Lock()
	e.d.running--
	e.d.mu.Unlock()
	if a.err != nil {
		return false, a.err
	}
	return a.changes, os.WriteFile(file, []byte("plan"), 0o644)
}

func (e *driftEngine) ShowPlan(ctx context.Context, file string) (*tfjson.Plan, []byte, error) {
	e.record("show")
	if _, err := os.Stat(file); err != nil {
		return nil, nil, err
	}
	return &tfjson.Plan{ResourceDrift: e.d.answers[e.suffix].drift}, nil, nil
}

// A bucket of three environments of ours (one unchanged although the plan says it records changes, as Terraform
// 1.11's refresh-only plans do; one whose log group changed outside Terraform; one whose state is locked), plus a
// foreign state and two copies: the three are checked two at a time, each in its own working copy, and the
// report says what changed, why one failed and what was skipped.
func TestDrift(t *testing.T) {
	b := &fakes3.Bucket{Name: "states"}
	b.Put(fakestate.Key("a"), fakestate.Env{Suffix: "a", Region: "eu-west-1"}.Raw(), fleetNow)
	b.Put(fakestate.Key("b"), fakestate.Env{Suffix: "b"}.Raw(), fleetNow)
	b.Put(fakestate.Key("c"), fakestate.Env{Suffix: "c"}.Raw(), fleetNow)
	b.Put(fakestate.Key("orig"), fakestate.Env{Suffix: "orig", ManagedBy: "CDKTF"}.Raw(), fleetNow)
	b.Put(fakestate.Key("cp1"), fakestate.Env{Suffix: "cp1", VPC: "vpc-same"}.Raw(), fleetNow)
	b.Put(fakestate.Key("cp2"), fakestate.Env{Suffix: "cp2", VPC: "vpc-same"}.Raw(), fleetNow)
	logGroup := &tfjson.ResourceChange{Address: "aws_cloudwatch_log_group.eks_cluster_log_group", Mode: tfjson.ManagedResourceMode,
		Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionUpdate},
			Before:         map[string]any{"name": "/aws/eks/x/cluster", "retention_in_days": 30.0, "tags": map[string]any{"A": "1"}, "kms_key_id": "k1"},
			After:          map[string]any{"name": "/aws/eks/x/cluster", "retention_in_days": 7.0, "tags": map[string]any{"A": "2"}, "kms_key_id": "k2"},
			AfterSensitive: map[string]any{"kms_key_id": true}}}
	gone := &tfjson.ResourceChange{Address: "aws_iam_role.eks_node_role", Mode: tfjson.ManagedResourceMode,
		Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionDelete}, Before: map[string]any{"name": "r"}}}
	engines := &driftEngines{together: make(chan struct{}), answers: map[string]planAnswer{
		"a": {changes: true},
		"b": {changes: true, drift: []*tfjson.ResourceChange{logGroup, gone}},
		"c": {err: errors.New("terraform plan: the state is locked by another run")},
	}}
	cache := t.TempDir()
	pr := &recorder{}
	r, err := Drift(context.Background(), fleetOptions(b), DriftOptions{Parallel: 2, CacheDir: cache, OpenEngine: engines.open, Progress: pr})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]*DriftResult{}
	for _, e := range r.Environments {
		status[e.Suffix] = e
	}
	if len(r.Environments) != 3 || status["a"].Status != InSync || status["b"].Status != Drifted || status["c"].Status != Failed {
		t.Fatalf("results %+v", r.Environments)
	}
	if len(status["a"].Changes) != 0 || !strings.Contains(status["c"].Error, "plan: terraform plan: the state is locked") {
		t.Errorf("a %+v, c %+v", status["a"], status["c"])
	}
	want := []DriftChange{
		{Address: "aws_cloudwatch_log_group.eks_cluster_log_group", Action: "update", Attributes: []DriftAttribute{
			{Name: "kms_key_id"}, {Name: "retention_in_days", Before: 30.0, After: 7.0}, {Name: "tags"}}},
		{Address: "aws_iam_role.eks_node_role", Action: "delete", Attributes: []DriftAttribute{}},
	}
	if !reflect.DeepEqual(status["b"].Changes, want) {
		t.Errorf("b's changes %+v, want %+v (a sensitive value and a map without values)", status["b"].Changes, want)
	}
	var skipped []string
	for _, s := range r.Skipped {
		skipped = append(skipped, string(s.Class)+" "+s.Key)
	}
	if !slices.Equal(skipped, []string{"copy " + fakestate.Key("cp1"), "copy " + fakestate.Key("cp2"), "foreign " + fakestate.Key("orig")}) {
		t.Errorf("skipped %v", skipped)
	}
	if engines.maxParallel != 2 {
		t.Errorf("%d plans at once, want 2", engines.maxParallel)
	}
	if n := strings.Count(strings.Join(engines.runs, "\n"), " show"); n != 2 {
		t.Errorf("show ran %d times, want only for the two plans that recorded changes: %v", n, engines.runs)
	}
	for _, s := range []string{"a", "b", "c"} {
		dir := filepath.Join(cache, "drift", "states", s)
		if _, err := os.Stat(filepath.Join(dir, DriftLog)); err != nil {
			t.Errorf("%s: no log: %v", s, err)
		}
		if _, err := os.Stat(filepath.Join(dir, driftPlanFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the saved plan was left behind", s)
		}
	}
	if !strings.Contains(pr.log.String(), "drift b: drifted (") {
		t.Errorf("progress:\n%s", pr.log.String())
	}

	// The configuration is the state's, never the local one: backend, region from the ARNs, default tags, outputs.
	var doc struct {
		Terraform struct {
			Backend struct {
				S3 map[string]any `json:"s3"`
			} `json:"backend"`
		} `json:"terraform"`
		Provider struct {
			AWS []struct {
				Region      string `json:"region"`
				DefaultTags []struct {
					Tags map[string]string `json:"tags"`
				} `json:"default_tags"`
			} `json:"aws"`
		} `json:"provider"`
		Output map[string]struct {
			Value string `json:"value"`
		} `json:"output"`
	}
	raw, err := os.ReadFile(filepath.Join(cache, "drift", "states", "a", DriftDocument))
	if err != nil || json.Unmarshal(raw, &doc) != nil {
		t.Fatalf("working copy document: %v\n%s", err, raw)
	}
	if !reflect.DeepEqual(doc.Terraform.Backend.S3, map[string]any{"bucket": "states", "key": fakestate.Key("a"), "region": "us-east-1",
		"encrypt": true, "use_lockfile": true}) {
		t.Errorf("backend %v", doc.Terraform.Backend.S3)
	}
	if p := doc.Provider.AWS[0]; p.Region != "eu-west-1" || !reflect.DeepEqual(p.DefaultTags[0].Tags, map[string]string{"Environment": "a",
		"ManagedBy": "tapstack", "PRNumber": "4a", "tapstack:profile": "default"}) {
		t.Errorf("provider %+v", p)
	}
	if doc.Output["cluster_name"].Value != "eks-cluster-v1-a" {
		t.Errorf("outputs %+v", doc.Output)
	}
}

// A recorded output becomes a constant of the recorded type; a string's template markers are escaped.
func TestOutputExpression(t *testing.T) {
	for _, tc := range []struct {
		o    tfjson.StateOutput
		want string
	}{
		{tfjson.StateOutput{Value: "aws eks --name ${x} %{y}", Type: cty.String}, "aws eks --name $${x} %%{y}"},
		{tfjson.StateOutput{Value: []any{"a", "b"}, Type: cty.Tuple([]cty.Type{cty.String, cty.String})}, `${jsondecode("[\"a\",\"b\"]")}`},
		{tfjson.StateOutput{Value: []any{"a"}, Type: cty.List(cty.String)}, `${tolist(jsondecode("[\"a\"]"))}`},
		{tfjson.StateOutput{Value: []any{"a"}, Type: cty.Set(cty.String)}, `${toset(jsondecode("[\"a\"]"))}`},
		{tfjson.StateOutput{Value: map[string]any{"k": "${v}"}, Type: cty.Map(cty.String)}, `${tomap(jsondecode("{\"k\":\"$${v}\"}"))}`},
	} {
		got, err := outputExpression(&tc.o)
		if err != nil || got != tc.want {
			t.Errorf("%v: %q %v, want %q", tc.o.Value, got, err, tc.want)
		}
	}
}

// What a refresh-only plan of an environment fresh from its deploy lists (seen with Terraform 1.11.4 and
// hashicorp/aws 5.100.0): tags, labels and security_group_ids recorded as null and read back empty, a role's
// managed_policy_arns now holding its own attachments, a route table's route list its own aws_route. None of it
// is drift; a policy or a route added outside Terraform is.
func TestDriftIgnoresWhatIsNoChange(t *testing.T) {
	st := state(
		resource("aws_iam_role_policy_attachment.a", map[string]any{"role": "r1", "policy_arn": "arn:aws:iam::aws:policy/A"}),
		resource("aws_iam_role_policy_attachment.b", map[string]any{"role": "r1", "policy_arn": "arn:aws:iam::aws:policy/B"}),
		resource("aws_iam_role_policy_attachment.other", map[string]any{"role": "r2", "policy_arn": "arn:aws:iam::aws:policy/C"}),
		resource("aws_iam_role_policy.inline", map[string]any{"role": "r1", "name": "kms"}),
		resource("aws_route.public_route", map[string]any{"route_table_id": "rtb-1", "destination_cidr_block": "0.0.0.0/0"}),
	)
	update := func(typ string, before, after map[string]any) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: typ + ".x", Type: typ, Mode: tfjson.ManagedResourceMode,
			Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionUpdate}, Before: before, After: after}}
	}
	route := func(cidr string) map[string]any {
		return map[string]any{"cidr_block": cidr, "gateway_id": "igw-1", "ipv6_cidr_block": ""}
	}
	for _, tc := range []struct {
		rc   *tfjson.ResourceChange
		want []string
	}{
		{update("aws_eks_cluster", map[string]any{"name": "c", "tags": nil, "vpc_config": []any{map[string]any{"security_group_ids": nil, "subnet_ids": []any{"s1"}}}},
			map[string]any{"name": "c", "tags": map[string]any{}, "vpc_config": []any{map[string]any{"security_group_ids": []any{}, "subnet_ids": []any{"s1"}}}}), nil},
		{update("aws_eks_node_group", map[string]any{"labels": nil, "kms": ""}, map[string]any{"labels": map[string]any{}, "kms": nil}), nil},
		{update("aws_iam_role", map[string]any{"name": "r1", "managed_policy_arns": []any{}, "inline_policy": []any{}},
			map[string]any{"name": "r1", "managed_policy_arns": []any{"arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/A"},
				"inline_policy": []any{map[string]any{"name": "kms", "policy": "{}"}}}), nil},
		{update("aws_iam_role", map[string]any{"name": "r1", "managed_policy_arns": []any{}},
			map[string]any{"name": "r1", "managed_policy_arns": []any{"arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/Admin"}}),
			[]string{"managed_policy_arns"}},
		{update("aws_route_table", map[string]any{"id": "rtb-1", "route": []any{}}, map[string]any{"id": "rtb-1", "route": []any{route("0.0.0.0/0")}}), nil},
		{update("aws_route_table", map[string]any{"id": "rtb-1", "route": []any{}},
			map[string]any{"id": "rtb-1", "route": []any{route("0.0.0.0/0"), route("10.9.0.0/16")}}), []string{"route"}},
		{update("aws_eks_node_group", map[string]any{"labels": nil}, map[string]any{"labels": map[string]any{"team": "x"}}), []string{"labels"}},
	} {
		c := driftChange(tc.rc, st)
		var got []string
		for _, a := range c.Attributes {
			got = append(got, a.Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %v -> %v: changed %v, want %v", tc.rc.Type, tc.rc.Change.Before, tc.rc.Change.After, got, tc.want)
		}
	}
}
