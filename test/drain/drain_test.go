// Package drain_test runs internal/drain against a real kube-apiserver with kube-controller-manager (test/kubeapi):
// the eviction API and its PodDisruptionBudget checks are the API server's, the pods come from a Deployment's
// ReplicaSet and the budget's status from the disruption controller. No kubelet or scheduler runs: the tests
// create the nodes (Node objects marked Ready through the status subresource, as a kubelet registers them) and
// kubeapi.Scheduler binds pending pods and marks them Ready (its doc comment says what it plays).
package drain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tapstack/tapstack/internal/drain"
	"github.com/tapstack/tapstack/test/kubeapi"
)

const ns = "shop"

// cluster is an API server with kube-controller-manager, the nodes of node groups ng-a (old-1, old-2) and ng-b
// (new-1, new-2), and the Deployment web (three replicas: on old-1, old-2 and new-1) under a budget of
// minAvailable 2, settled.
type cluster struct {
	c     kubernetes.Interface // the drain's client
	w     *kubeapi.Workload
	sched *kubeapi.Scheduler
}

func start(t *testing.T, ctx context.Context) *cluster {
	t.Helper()
	srv := kubeapi.Start(t, kubeapi.Options{ControllerManager: true})
	c, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	// The players get a client of their own, so that their calls do not eat into the drain's rate limit.
	cfg := rest.CopyConfig(srv.Admin)
	cfg.QPS, cfg.Burst = 100, 200
	players, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct{ name, group string }{{"old-1", "ng-a"}, {"old-2", "ng-a"}, {"new-1", "ng-b"}, {"new-2", "ng-b"}} {
		node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name,
			Labels: map[string]string{drain.NodeGroupLabel: n.group}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
		if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	k := &cluster{c: c,
		w:     &kubeapi.Workload{Client: players, Namespace: ns, Name: "web", Replicas: 3, MinAvailable: 2},
		sched: &kubeapi.Scheduler{Client: players, ReadyAfter: time.Second, Place: map[string][]string{"web": {"old-1", "old-2", "new-1"}}}}
	play, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go k.sched.Run(play)
	if err := k.w.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := k.w.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *cluster) onNode(t *testing.T, ctx context.Context, node string) string {
	t.Helper()
	name, err := k.w.OnNode(ctx, node)
	if err != nil || name == "" {
		t.Fatalf("no pod of web on %s: %v", node, err)
	}
	return name
}

// A drain of a group whose pods a budget protects (two of three replicas on the old group, minAvailable 2): the
// API server admits the first eviction, refuses the second (429) until the first pod's replacement is ready, the
// drain retries it, and ends with every replica ready off the old group, its nodes cordoned and a DaemonSet's pod
// left where it was.
func TestKubeDrainHonoursADisruptionBudget(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k := start(t, ctx)
	first, second := k.onNode(t, ctx, "old-1"), k.onNode(t, ctx, "old-2")
	// A DaemonSet's pod on old-1 (no DaemonSet controller runs: the test makes the pod, owned by the DaemonSet).
	ds, err := k.c.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec: corev1.PodSpec{Containers: kubeapi.PauseContainer()}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := k.c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "agent-old-1", Labels: map[string]string{"app": "agent"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID, Controller: &yes}}},
		Spec: corev1.PodSpec{NodeName: "old-1", Containers: kubeapi.PauseContainer()}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var log strings.Builder
	r, err := drain.Drain(ctx, k.c, "ng-a", drain.Options{Timeout: 2 * time.Minute, Poll: 200 * time.Millisecond, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("drain log:\n%s", log.String())
	if got, want := fmt.Sprint(r.Evicted), fmt.Sprint([]drain.Pod{{Namespace: ns, Name: min(first, second)}, {Namespace: ns, Name: max(first, second)}}); got != want {
		t.Errorf("evicted %s, want %s", got, want)
	}
	// One disruption allowed: the first goes at once, the second waits for the first's replacement.
	if strings.Count(log.String(), "waiting to evict shop/"+second) != 1 || strings.Count(log.String(), "waiting to evict") != 1 ||
		!strings.Contains(log.String(), "disruption budget") {
		t.Errorf("the budget did not hold the evictions back:\n%s", log.String())
	}
	ready, err := k.w.ReadyOn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ready["old-1"])+len(ready["old-2"]) != 0 || len(ready["new-1"])+len(ready["new-2"]) != 3 {
		t.Errorf("ready pods by node %v: want the 3 replicas on the new nodes, none on the old", ready)
	}
	for _, n := range []string{"old-1", "old-2"} {
		if node, err := k.c.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{}); err != nil || !node.Spec.Unschedulable {
			t.Errorf("%s not cordoned: %v", n, err)
		}
	}
	if _, err := k.c.CoreV1().Pods(ns).Get(ctx, "agent-old-1", metav1.GetOptions{}); err != nil || len(r.Skipped) != 1 {
		t.Errorf("the DaemonSet's pod: %v, skipped %+v", err, r.Skipped)
	}
}

// When no replacement can come up (the scheduler finds no room), the budget admits one eviction and refuses the
// next throughout: the drain stops at its timeout and reports what the API server says then: the first pod
// evicted, the second refused with the API server's reason and still running, the workload one pod short.
func TestKubeDrainReportsWhatTheBudgetKept(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k := start(t, ctx)
	first, second := k.onNode(t, ctx, "old-1"), k.onNode(t, ctx, "old-2")
	k.sched.Pause(true)

	r, err := drain.Drain(ctx, k.c, "ng-a", drain.Options{Timeout: 3 * time.Second, Poll: 200 * time.Millisecond})
	var de *drain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v, want *drain.Error", err)
	}
	if fmt.Sprint(r.Evicted) != "[shop/"+first+"]" || len(r.NotEvicted) != 1 || r.NotEvicted[0].What != "shop/"+second ||
		!strings.Contains(r.NotEvicted[0].Reason, "would violate the pod's disruption budget") {
		t.Errorf("evicted %v, not evicted %+v", r.Evicted, r.NotEvicted)
	}
	if len(r.NotReplaced) != 1 || !strings.HasPrefix(r.NotReplaced[0].Reason, "1 of 3 pod(s) ready off node group ng-a") {
		t.Errorf("not replaced %+v", r.NotReplaced)
	}
	if ready, err := k.w.ReadyOn(ctx); err != nil || len(ready["old-2"]) != 1 || len(ready["old-1"]) != 0 {
		t.Errorf("ready by node %v, %v: want the second pod still on old-2", ready, err)
	}
}
