package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	tfjson "github.com/hashicorp/terraform-json"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tapstack/tapstack/internal/drain"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

const (
	odA = "aws_eks_node_group.on_demand_node_group"
	odB = "aws_eks_node_group.on_demand_node_group_b"
	spA = "aws_eks_node_group.spot_node_group"
)

// rollState is the environment with the node groups at the addresses, and the outputs naming od.
func rollState(od string, addrs ...string) *tfjson.State {
	rs := []*tfjson.StateResource{resource("aws_eks_cluster.eks_cluster", map[string]any{"version": "1.34", "name": "eks-cluster-v1-ut"})}
	for _, a := range addrs {
		name := map[string]string{odA: "node-group-od-v1-ut", odB: "node-group-od-v1-ut-b", spA: "node-group-spot-v1-ut"}[a]
		rs = append(rs, resource(a, map[string]any{"version": "1.34", "node_group_name": name}))
	}
	st := state(rs...)
	st.Values.Outputs["on_demand_node_group_name"] = &tfjson.StateOutput{Value: od}
	return st
}

// memStore keeps the roll record in memory and logs each change among the engine's runs, so a test sees the
// record written before the apply it announces.
type memStore struct {
	mu  sync.Mutex
	rec *RollRecord
	eng *fakeEngine
}

func (m *memStore) Read(context.Context, *config.Config) (*RollRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rec == nil {
		return nil, nil
	}
	r := *m.rec
	return &r, nil
}

func (m *memStore) Write(_ context.Context, _ *config.Config, r *RollRecord) error {
	m.mu.Lock()
	c := *r
	m.rec = &c
	m.mu.Unlock()
	m.eng.run("record:" + string(r.Phase))
	return nil
}

func (m *memStore) Clear(context.Context, *config.Config) error {
	m.mu.Lock()
	m.rec = nil
	m.mu.Unlock()
	m.eng.run("record:clear")
	return nil
}

// activeGroups is EKS with every node group ACTIVE at a desired size of 2.
type activeGroups struct{ asked []string }

func (a *activeGroups) DescribeNodegroup(_ context.Context, in *eks.DescribeNodegroupInput, _ ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error) {
	a.asked = append(a.asked, aws.ToString(in.NodegroupName))
	return &eks.DescribeNodegroupOutput{Nodegroup: &ekstypes.Nodegroup{NodegroupName: in.NodegroupName, Status: ekstypes.NodegroupStatusActive,
		ScalingConfig: &ekstypes.NodegroupScalingConfig{DesiredSize: aws.Int32(2)}}}, nil
}

var controller = true

func readyNode(name, group string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{drain.NodeGroupLabel: group}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func readyPod(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID(name),
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web", UID: "rs-web", Controller: &controller}}},
		Spec:   corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
}

// kubeCluster is the cluster's API: the old group's nodes with a ReplicaSet's pods on them, the new group's nodes
// Ready. Its eviction answers play the disruption budget (refusing each pod's first eviction with 429, as a budget
// of maxUnavailable 1 does while another pod is away), the ReplicaSet controller, scheduler and kubelet (an evicted
// pod's replacement at once ready on new-1); fail, when set, answers an eviction instead.
type kubeCluster struct {
	*fake.Clientset
	mu       sync.Mutex
	attempts map[string]int
	fail     func(pod string) error
}

func newKube() *kubeCluster {
	k := &kubeCluster{attempts: map[string]int{}, Clientset: fake.NewClientset(
		readyNode("old-1", "node-group-od-v1-ut"), readyNode("old-2", "node-group-od-v1-ut"),
		readyNode("new-1", "node-group-od-v1-ut-b"), readyNode("new-2", "node-group-od-v1-ut-b"),
		readyPod("web-1", "old-1"), readyPod("web-2", "old-2"))}
	k.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		ev := a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
		k.mu.Lock()
		k.attempts[ev.Name]++
		n, fail := k.attempts[ev.Name], k.fail
		k.mu.Unlock()
		if fail != nil {
			if err := fail(ev.Name); err != nil {
				return true, nil, err
			}
		}
		if n == 1 {
			return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
		}
		gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
		if err := k.Tracker().Delete(gvr, ev.Namespace, ev.Name); err != nil {
			return true, nil, err
		}
		return true, nil, k.Tracker().Create(gvr, readyPod(ev.Name+"-new", "new-1"), ev.Namespace)
	})
	return k
}

// rollHarness is a roll's world: the fake engine's two plans (add generation B, then remove A), the record in
// memory, EKS and the cluster's API.
func rollHarness(t *testing.T, st *tfjson.State) (*harness, *memStore, *kubeCluster, RollOptions) {
	h := newHarness(t, st)
	h.eng.plans = []fakePlan{
		{changes: []*tfjson.ResourceChange{change(odB, create)}, after: rollState("node-group-od-v1-ut-b", odA, odB, spA)},
		{changes: []*tfjson.ResourceChange{change(odA, tfjson.Actions{tfjson.ActionDelete})}, after: rollState("node-group-od-v1-ut-b", odB, spA)},
	}
	store := h.rolls
	k := newKube()
	h.kube = k.Clientset
	ro := RollOptions{NodeGroup: "node-group-od-v1-ut", Yes: true, Timeout: 5 * time.Second, Poll: 5 * time.Millisecond,
		EKS: &activeGroups{}, Outputs: OutputsOptions{File: filepath.Join(t.TempDir(), "o.json")}}
	return h, store, k, ro
}

// A roll records each phase before it acts, adds generation B beside A (A held as it runs), waits for B's nodes,
// cordons A's nodes and evicts their pods through the budget, removes A (the guard letting that deletion through)
// and clears the record; the outputs file names B.
func TestRollReplacesANodeGroup(t *testing.T) {
	h, store, k, ro := rollHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	var docs []string
	h.eng.onApply = func() { docs = append(docs, string(mustRead(t, filepath.Join(h.eng.dir, DocumentName)))) }
	res, err := Roll(context.Background(), h.prepared(), h.options(), ro)
	if err != nil {
		t.Fatalf("%v\n%s", err, h.pr.log.String())
	}
	if want := "init record:create plan apply record:drain record:remove plan show apply record:clear"; h.runs() != want {
		t.Errorf("runs %q\nwant %q", h.runs(), want)
	}
	if len(docs) != 2 {
		t.Fatalf("%d applies", len(docs))
	}
	first, err := tfdoc.Parse([]byte(docs[0]))
	if err != nil {
		t.Fatal(err)
	}
	a, okA := first.Lookup(odA)
	b, okB := first.Lookup(odB)
	// The replacement is rendered as configured: only its desired size is the Cluster Autoscaler's.
	if !okA || !okB || a.Lifecycle["ignore_changes"] != "all" || fmt.Sprint(b.Lifecycle["ignore_changes"]) != "[scaling_config[0].desired_size]" ||
		b.Body["node_group_name"] != "node-group-od-v1-ut-b" {
		t.Errorf("first apply: A %v (%v), B %v (%v)", okA, a, okB, b)
	}
	if second, _ := tfdoc.Parse([]byte(docs[1])); second != nil {
		if _, ok := second.Lookup(odA); ok {
			t.Error("the second apply still declares the old group")
		}
	}
	for _, n := range []string{"old-1", "old-2"} {
		if got, _ := k.CoreV1().Nodes().Get(context.Background(), n, metav1.GetOptions{}); !got.Spec.Unschedulable {
			t.Errorf("%s not cordoned", n)
		}
	}
	if k.attempts["web-1"] != 2 || k.attempts["web-2"] != 2 || res.Drain == nil || len(res.Drain.Evicted) != 2 {
		t.Errorf("evictions %v, drain %+v", k.attempts, res.Drain)
	}
	if store.rec != nil || res.Record.Phase != RollRemove || res.Resumed != "" {
		t.Errorf("record left %+v, result %+v", store.rec, res.Record)
	}
	if got := res.Outputs["on_demand_node_group_name"]; got != "node-group-od-v1-ut-b" {
		t.Errorf("outputs name %v", got)
	}
	if !strings.Contains(h.pr.out.String(), "rolled node group node-group-od-v1-ut onto node-group-od-v1-ut-b") {
		t.Errorf("out:\n%s", h.pr.out.String())
	}
}

// A failure injected in the middle of the drain stops the roll in phase drain, with the old group still there; the
// same roll run again resumes with the drain, never applies the new group again, and finishes.
func TestRollResumesAfterAFailedDrain(t *testing.T) {
	h, store, k, ro := rollHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	k.fail = func(pod string) error {
		if pod == "web-2" {
			return apierrors.NewInternalError(errors.New("injected: etcd leader changed"))
		}
		return nil
	}
	failing := ro
	failing.Timeout = time.Second // web-1's workload stays one pod short while web-2 stays
	_, err := Roll(context.Background(), h.prepared(), h.options(), failing)
	var se *RollStoppedError
	if !errors.As(err, &se) || se.Record.Phase != RollDrain || Refused(err) {
		t.Fatalf("error %v (%T), want a roll stopped in phase drain", err, err)
	}
	if !strings.Contains(err.Error(), "shop/web-2") || !strings.Contains(err.Error(), "run `tapstack roll --node-group node-group-od-v1-ut` again") {
		t.Errorf("error %q", err)
	}
	if store.rec == nil || store.rec.Phase != RollDrain || h.eng.applied != 1 {
		t.Fatalf("record %+v, %d applies", store.rec, h.eng.applied)
	}

	k.fail = nil
	h2 := newHarness(t, h.eng.state)
	h2.eng.plans = h.eng.plans[1:]
	store.eng = h2.eng
	h2.rolls, h2.kube = store, k.Clientset
	res, err := Roll(context.Background(), h2.prepared(), h2.options(), ro)
	if err != nil {
		t.Fatalf("%v\n%s", err, h2.pr.log.String())
	}
	if want := "init record:remove plan show apply record:clear"; h2.runs() != want {
		t.Errorf("resumed runs %q, want %q", h2.runs(), want)
	}
	if res.Resumed != RollDrain || store.rec != nil || len(res.Drain.Evicted) != 1 || res.Drain.Evicted[0].Name != "web-2" {
		t.Errorf("resumed %q, record %+v, drain %+v", res.Resumed, store.rec, res.Drain)
	}
	if !strings.Contains(h2.pr.log.String(), "resuming the roll recorded in phase drain") {
		t.Errorf("log:\n%s", h2.pr.log.String())
	}
}

// A roll whose step would also replace something else is refused by the guard like a deploy; a roll of a group
// not in the configuration, or without a reachable cluster, changes nothing.
func TestRollRefusals(t *testing.T) {
	h, store, _, ro := rollHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	h.eng.plans[0].changes = append(h.eng.plans[0].changes, change("aws_vpc.vpc", replace, "cidr_block"))
	_, err := Roll(context.Background(), h.prepared(), h.options(), ro)
	var ge *GuardError
	if !errors.As(err, &ge) || len(ge.Violations) != 1 || ge.Violations[0].Address != "aws_vpc.vpc" || h.eng.applied != 0 {
		t.Errorf("a step replacing the VPC: %v, %d applies", err, h.eng.applied)
	}
	if store.rec == nil || store.rec.Phase != RollCreate {
		t.Errorf("record %+v, want it kept in phase create", store.rec)
	}

	h, _, _, ro = rollHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	ro.NodeGroup = "node-group-gpu-v1-ut"
	_, err = Roll(context.Background(), h.prepared(), h.options(), ro)
	var ie *InputError
	if !errors.As(err, &ie) || !Refused(err) || !strings.Contains(err.Error(), "node-group-od-v1-ut or node-group-spot-v1-ut") || len(h.eng.runs) != 0 {
		t.Errorf("unknown group: %v, runs %q", err, h.runs())
	}

	h, store, _, ro = rollHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	h.kubeErr = errors.New("dial tcp 10.0.1.5:443: i/o timeout")
	_, err = Roll(context.Background(), h.prepared(), h.options(), ro)
	if err == nil || !strings.Contains(err.Error(), "cannot be reached from here") || store.rec != nil || h.eng.applied != 0 {
		t.Errorf("unreachable cluster: %v, record %+v, %d applies", err, store.rec, h.eng.applied)
	}

	h, store, _, ro = rollHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	ro.Yes = false
	if _, err := Roll(context.Background(), h.prepared(), h.options(), ro); !errors.As(err, new(NotConfirmedError)) || store.rec != nil {
		t.Errorf("unconfirmed: %v, record %+v", err, store.rec)
	}
}

// A record that does not match the state (left by an environment destroyed and deployed again) is refused: the
// roll would otherwise drain and remove the only group.
func TestRollRefusesAStaleRecord(t *testing.T) {
	h, store, _, ro := rollHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	store.rec = &RollRecord{NodeGroup: "node-group-od-v1-ut", Phase: RollDrain, Old: "node-group-od-v1-ut", OldAddress: odA,
		New: "node-group-od-v1-ut-b", NewAddress: odB}
	_, err := Roll(context.Background(), h.prepared(), h.options(), ro)
	if !Refused(err) || !strings.Contains(err.Error(), "phase drain, which needs "+odB+" in the state") || h.eng.applied != 0 {
		t.Errorf("stale record: %v, %d applies", err, h.eng.applied)
	}
	if store.rec.Phase != RollDrain {
		t.Errorf("the record was changed: %+v", store.rec)
	}
}

// The guard's refusal of a plan that replaces a node group points to roll; with both generations in state, deploy
// leaves them to the roll.
func TestDeployPointsToRoll(t *testing.T) {
	h := newHarness(t, rollState("node-group-od-v1-ut", odA, spA))
	h.eng.plans = []fakePlan{{changes: []*tfjson.ResourceChange{change(odA, replace, "instance_types")}}}
	_, err := Deploy(context.Background(), h.prepared(), h.options(), DeployOptions{SkipLive: true,
		Outputs: OutputsOptions{File: filepath.Join(t.TempDir(), "o.json")}})
	if err == nil || !strings.Contains(err.Error(), "run `tapstack roll --node-group node-group-od-v1-ut`") {
		t.Errorf("guard: %v", err)
	}

	h = newHarness(t, rollState("node-group-od-v1-ut-b", odA, odB, spA))
	_, err = Deploy(context.Background(), h.prepared(), h.options(), DeployOptions{SkipLive: true,
		Outputs: OutputsOptions{File: filepath.Join(t.TempDir(), "o.json")}})
	if !Refused(err) || !strings.Contains(err.Error(), "finish it first with `tapstack roll --node-group node-group-od-v1-ut`") ||
		slices.Contains(h.eng.runs, "plan") {
		t.Errorf("both generations: %v, runs %q", err, h.runs())
	}
}

// Both generations in state and no record (the record lost after the new group came up): the outputs name the new
// one, and the roll resumes with the drain.
func TestRollWithoutRecordFollowsTheOutputs(t *testing.T) {
	h, store, _, ro := rollHarness(t, rollState("node-group-od-v1-ut-b", odA, odB, spA))
	h.eng.plans = h.eng.plans[1:]
	res, err := Roll(context.Background(), h.prepared(), h.options(), ro)
	if err != nil {
		t.Fatalf("%v\n%s", err, h.pr.log.String())
	}
	if res.Resumed != RollDrain || res.Record.Old != "node-group-od-v1-ut" || store.rec != nil || h.runs() != "init record:remove plan show apply record:clear" {
		t.Errorf("result %+v, runs %q", res.Record, h.runs())
	}
}
