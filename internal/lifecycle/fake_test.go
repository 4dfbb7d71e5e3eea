package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

// fakeEngine stands in for Terraform: it records each engine run, answers plans from a queue and changes its
// state on apply as the queued plan says. It runs no process and reaches no network.
type fakeEngine struct {
	mu    sync.Mutex
	dir   string
	runs  []string
	state *tfjson.State
	// plans answer Plan and ShowPlan in order; the last one repeats.
	plans []fakePlan
	next  int
	// onDestroy runs when Destroy starts, to look at the world then.
	onDestroy func()
	// applyErr fails the apply of the plan with that index (1-based; 0 never).
	applyErr map[int]error
	applied  int
	// onApply, when set, runs at each apply before the state changes (a test reads the document applied).
	onApply func()
}

// fakePlan is one plan: its resource changes and the state an apply leaves.
type fakePlan struct {
	changes []*tfjson.ResourceChange
	after   *tfjson.State
}

func (f *fakeEngine) run(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, name)
}

func (f *fakeEngine) current() fakePlan {
	if len(f.plans) == 0 {
		return fakePlan{}
	}
	if f.next >= len(f.plans) {
		return f.plans[len(f.plans)-1]
	}
	return f.plans[f.next]
}

func (f *fakeEngine) Init(context.Context) error { f.run("init"); return nil }

// EnsureInit runs init: every harness is a new working copy.
func (f *fakeEngine) EnsureInit(context.Context) (bool, error) { f.run("init"); return true, nil }

func (f *fakeEngine) Plan(ctx context.Context, file string, po engine.PlanOptions) (bool, error) {
	f.run("plan")
	if err := os.WriteFile(file, []byte("plan"), 0o644); err != nil {
		return false, err
	}
	return len(f.current().changes) > 0, nil
}

// PlanChanges announces the queued plan's changes as plan -json would: an action per resource, no attributes.
func (f *fakeEngine) PlanChanges(ctx context.Context, file string, po engine.PlanOptions) (bool, []engine.PlannedChange, error) {
	changes, err := f.Plan(ctx, file, po)
	var planned []engine.PlannedChange
	for _, rc := range f.current().changes {
		a := rc.Change.Actions
		action := "update"
		switch {
		case a.Create():
			action = "create"
		case a.Replace():
			action = "replace"
		case a.Delete():
			action = "delete"
		case a.NoOp():
			action = "noop"
		}
		planned = append(planned, engine.PlannedChange{Address: rc.Address, Type: rc.Type, Action: action})
	}
	return changes, planned, err
}

func (f *fakeEngine) ShowPlan(ctx context.Context, file string) (*tfjson.Plan, []byte, error) {
	f.run("show")
	if _, err := os.Stat(file); err != nil {
		return nil, nil, fmt.Errorf("no saved plan: %w", err)
	}
	p := &tfjson.Plan{FormatVersion: "1.2", ResourceChanges: f.current().changes}
	b, err := json.Marshal(p)
	return p, b, err
}

func (f *fakeEngine) Apply(ctx context.Context, file string) error {
	f.run("apply")
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("no saved plan: %w", err)
	}
	f.applied++
	if f.onApply != nil {
		f.onApply()
	}
	p := f.current()
	f.next++
	if err := f.applyErr[f.applied]; err != nil {
		return err
	}
	if p.after != nil {
		f.state = p.after
	}
	return nil
}

func (f *fakeEngine) Destroy(context.Context) error {
	f.run("destroy")
	if f.onDestroy != nil {
		f.onDestroy()
	}
	f.state = &tfjson.State{}
	return nil
}

func (f *fakeEngine) State(context.Context) (*tfjson.State, error) {
	f.run("show-state")
	return f.state, nil
}
func (f *fakeEngine) RefreshState(context.Context) error { f.run("refresh"); return nil }
func (f *fakeEngine) Outputs(context.Context) (map[string]json.RawMessage, error) {
	f.run("output")
	return nil, nil
}
func (f *fakeEngine) SetProgress(io.Writer) {}
func (f *fakeEngine) Dir() string           { return f.dir }

// fakeBackend reads the fake engine's state, as the S3 backend would hold it: no engine run.
type fakeBackend struct{ f *fakeEngine }

func (b fakeBackend) State(context.Context, *config.Config) (*tfjson.State, error) {
	return b.f.state, nil
}

// fakeAccount reports that the account runs what the state says.
type fakeAccount struct{ calls int }

func (a *fakeAccount) Follow(context.Context, *config.Config, *stack.Existing) ([]string, error) {
	a.calls++
	return nil, nil
}

// recorder is a Progress that keeps everything.
type recorder struct {
	mu     sync.Mutex
	phases []string
	notes  []string
	log    strings.Builder
	out    strings.Builder
}

func (r *recorder) Phase(name string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phases = append(r.phases, name)
}
func (r *recorder) Note(msg string)             { r.notes = append(r.notes, msg) }
func (r *recorder) Findings(fs []rules.Finding) { rules.WriteFindings(&r.log, fs) }
func (r *recorder) Log() io.Writer              { return &r.log }
func (r *recorder) Out() io.Writer              { return &r.out }

// harness is one workflow's world: a prepared default configuration on the pinned day, the fake engine, the
// recorder.
type harness struct {
	t   *testing.T
	eng *fakeEngine
	pr  *recorder
	out string
	cfg config.Config
	// kube is the cluster's Kubernetes API (client-go's fake); kubeCalls counts the connections to it.
	kube      *k8sfake.Clientset
	kubeCalls int
	kubeErr   error // what connecting returns, when set
	// rolls keeps the roll record in memory.
	rolls *memStore
}

func newHarness(t *testing.T, st *tfjson.State) *harness {
	t.Helper()
	cfg, ok := config.Defaults("default")
	if !ok {
		t.Fatal("no default profile")
	}
	cfg.EnvironmentSuffix = "ut"
	out := t.TempDir()
	h := &harness{t: t, pr: &recorder{}, out: out, cfg: cfg, kube: k8sfake.NewClientset()}
	h.eng = &fakeEngine{dir: filepath.Join(out, "stacks", cfg.StackName()), state: st}
	h.rolls = &memStore{eng: h.eng}
	return h
}

func (h *harness) prepared() *Prepared {
	day, err := versions.ParseDate("2026-12-01")
	if err != nil {
		h.t.Fatal(err)
	}
	c := h.cfg
	return Prepare(&c, stack.Options{Engine: "terraform", Date: day}, nil)
}

func (h *harness) options() Options {
	return Options{Out: h.out, Progress: h.pr, State: fakeBackend{h.eng}, Account: &fakeAccount{}, Rolls: h.rolls,
		OpenEngine: func(context.Context, engine.Kind, string, io.Writer, time.Duration) (Engine, error) {
			return h.eng, nil
		},
		Kube: func(context.Context, *config.Config) (kubernetes.Interface, error) {
			h.kubeCalls++
			if h.kubeErr != nil {
				return nil, h.kubeErr
			}
			return h.kube, nil
		}}
}

func (h *harness) runs() string { return strings.Join(h.eng.runs, " ") }

// resource is a state resource with its attributes.
func resource(address string, values map[string]any) *tfjson.StateResource {
	typ, name, _ := strings.Cut(address, ".")
	return &tfjson.StateResource{Address: address, Mode: tfjson.ManagedResourceMode, Type: typ, Name: name, AttributeValues: values}
}

func state(rs ...*tfjson.StateResource) *tfjson.State {
	return &tfjson.State{FormatVersion: "1.0", Values: &tfjson.StateValues{RootModule: &tfjson.StateModule{Resources: rs},
		Outputs: map[string]*tfjson.StateOutput{
			"cluster_name": {Value: "eks-cluster-v1-ut"}, "vpc_id": {Value: "vpc-1"},
			"token": {Value: "secret", Sensitive: true}}}}
}

// change is a planned change of a managed resource; replacePaths force a replacement.
func change(address string, actions tfjson.Actions, replacePaths ...string) *tfjson.ResourceChange {
	typ, name, _ := strings.Cut(address, ".")
	rc := &tfjson.ResourceChange{Address: address, Mode: tfjson.ManagedResourceMode, Type: typ, Name: name,
		Change: &tfjson.Change{Actions: actions}}
	for _, p := range replacePaths {
		rc.Change.ReplacePaths = append(rc.Change.ReplacePaths, []any{p})
	}
	return rc
}

var (
	create  = tfjson.Actions{tfjson.ActionCreate}
	update  = tfjson.Actions{tfjson.ActionUpdate}
	replace = tfjson.Actions{tfjson.ActionDelete, tfjson.ActionCreate}
)

func planFileGone(t *testing.T, h *harness) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(h.eng.dir, engine.PlanFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the saved plan was left behind: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
