// Package drain_test runs internal/drain against a real kube-apiserver (test/kubeapi): the eviction API and its
// PodDisruptionBudget checks are the API server's own. No controller, scheduler or kubelet runs there, so each test
// plays them on the objects it made, and says what it plays:
//
//   - the service account controller: the namespace's default ServiceAccount;
//   - the kubelet: nodes are Node objects the test creates and marks Ready (status subresource); pods are bound to
//     a node at creation and marked Ready the same way; every pod has terminationGracePeriodSeconds 0, so an
//     evicted pod is deleted at once, as a kubelet confirms a terminated pod (Kubernetes docs, "Termination of
//     Pods": with a grace period of 0 the API server deletes the object immediately);
//   - the ReplicaSet controller and the scheduler: for each of the ReplicaSet's pods gone, a replacement with the
//     same controller reference on a schedulable node of the new group, made Ready after a pause;
//   - the disruption controller: the budget's status (observedGeneration, currentHealthy, desiredHealthy,
//     disruptionsAllowed, expectedPods) computed from the ready pods it selects, written through the status
//     subresource (Kubernetes docs, "Specifying a Disruption Budget": the eviction API admits an eviction while
//     disruptionsAllowed is positive and answers 429 otherwise).
package drain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/drain"
	"github.com/tapstack/tapstack/test/kubeapi"
)

const ns = "shop"

var (
	isController = true
	zero         = int64(0)
	rsRef        = metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "0b7c1d2e-0000-4000-8000-000000000001", Controller: &isController}
	dsRef        = metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "aws-node", UID: "0b7c1d2e-0000-4000-8000-000000000002", Controller: &isController}
)

// cluster is the API server with what the test plays on it.
type cluster struct {
	t *testing.T
	c kubernetes.Interface
	// playing turns the ReplicaSet controller off (false) and on.
	mu      sync.Mutex
	playing bool
	made    int
}

func start(t *testing.T) *cluster {
	t.Helper()
	srv := kubeapi.Start(t, kubeapi.Options{})
	c, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	k := &cluster{t: t, c: c, playing: true}
	ctx := context.Background()
	// The API server makes its namespaces just after /readyz: wait for default to exist before creating more.
	deadline := time.Now().Add(time.Minute) // clock: a polling deadline
	for {
		if _, err := c.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err == nil || time.Now().After(deadline) { // clock: a polling deadline
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The service account controller's part: the namespace's default ServiceAccount, which admission requires of
	// every pod.
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
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
	return k
}

// pod creates a pod bound to node and, when ready, marks it Ready as its kubelet would.
func (k *cluster) pod(name, node string, owner metav1.OwnerReference, ready bool) {
	k.t.Helper()
	ctx := context.Background()
	p, err := k.c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": owner.Name}, OwnerReferences: []metav1.OwnerReference{owner}},
		Spec: corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "app", Image: "public.ecr.aws/docker/library/nginx:1.27"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		k.t.Error(err)
		return
	}
	if !ready {
		return
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	if _, err := k.c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		k.t.Error(err)
	}
}

// budget creates a PodDisruptionBudget keeping minAvailable of the ReplicaSet's pods.
func (k *cluster) budget(minAvailable int) {
	k.t.Helper()
	m := intstr.FromInt32(int32(minAvailable))
	if _, err := k.c.PolicyV1().PodDisruptionBudgets(ns).Create(context.Background(), &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &m,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": rsRef.Name}}},
	}, metav1.CreateOptions{}); err != nil {
		k.t.Fatal(err)
	}
}

// play runs the ReplicaSet controller (keeping replicas of its pods), the scheduler and kubelet (replacements
// on new-1 and new-2, Ready after readyAfter) and the disruption controller until ctx ends.
func (k *cluster) play(ctx context.Context, replicas int, readyAfter time.Duration) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		k.mu.Lock()
		playing := k.playing
		k.mu.Unlock()
		pods, err := k.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + rsRef.Name})
		if err != nil {
			continue
		}
		if playing && len(pods.Items) < replicas {
			k.mu.Lock()
			k.made++
			name, node := fmt.Sprintf("web-r%d", k.made), []string{"new-1", "new-2"}[k.made%2]
			k.mu.Unlock()
			go func() {
				k.pod(name, node, rsRef, false)
				time.Sleep(readyAfter)
				k.markReady(ctx, name)
			}()
		}
		k.computeBudget(ctx)
	}
}

func (k *cluster) markReady(ctx context.Context, name string) {
	p, err := k.c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	_, _ = k.c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
}

// computeBudget writes the budget's status as the disruption controller would. The budget is read before the pods,
// and written with its resourceVersion: an eviction in between changes it, and the write is refused and redone.
func (k *cluster) computeBudget(ctx context.Context) {
	pdb, err := k.c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		return
	}
	pods, err := k.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + rsRef.Name})
	if err != nil {
		return
	}
	// A pod the eviction API recorded in disruptedPods is about to go: not healthy, and kept in the map while it
	// exists, as the disruption controller does.
	healthy, disrupted := int32(0), map[string]metav1.Time{}
	for _, p := range pods.Items {
		if at, ok := pdb.Status.DisruptedPods[p.Name]; ok {
			disrupted[p.Name] = at
			continue
		}
		if p.DeletionTimestamp == nil && drain.PodReady(&p) {
			healthy++
		}
	}
	desired := pdb.Spec.MinAvailable.IntVal
	pdb.Status.ObservedGeneration = pdb.Generation
	pdb.Status.CurrentHealthy, pdb.Status.DesiredHealthy = healthy, desired
	pdb.Status.ExpectedPods = int32(len(pods.Items))
	pdb.Status.DisruptionsAllowed = max(0, healthy-desired)
	pdb.Status.DisruptedPods = disrupted
	_, _ = k.c.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
}

// readyOn lists the ready pods of the ReplicaSet by node.
func (k *cluster) readyOn(ctx context.Context) map[string][]string {
	pods, err := k.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + rsRef.Name})
	if err != nil {
		k.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && drain.PodReady(&p) {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p.Name)
		}
	}
	return out
}

// A drain of a group whose pods a budget protects (three replicas, two on the old group, minAvailable 2): the API
// server admits the first eviction, refuses the second (429) until the first pod's replacement is ready, the drain
// retries it, and ends with every replica ready off the old group, its nodes cordoned and the DaemonSet's pod left
// where it was.
func TestKubeDrainHonoursADisruptionBudget(t *testing.T) {
	t.Parallel()
	k := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k.pod("web-1", "old-1", rsRef, true)
	k.pod("web-2", "old-2", rsRef, true)
	k.pod("web-3", "new-1", rsRef, true)
	k.pod("aws-node-old-1", "old-1", dsRef, true)
	k.budget(2)
	play, stop := context.WithCancel(ctx)
	defer stop()
	go k.play(play, 3, time.Second)
	k.waitBudget(ctx, 1)

	var log strings.Builder
	r, err := drain.Drain(ctx, k.c, "ng-a", drain.Options{Timeout: 2 * time.Minute, Poll: 200 * time.Millisecond, Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("drain log:\n%s", log.String())
	if got := fmt.Sprint(r.Evicted); got != "[shop/web-1 shop/web-2]" {
		t.Errorf("evicted %s", got)
	}
	// One disruption allowed: web-1 goes at once, web-2 waits for web-1's replacement.
	if strings.Count(log.String(), "waiting to evict shop/web-2") != 1 || strings.Count(log.String(), "waiting to evict") != 1 ||
		!strings.Contains(log.String(), "disruption budget") {
		t.Errorf("the budget did not hold the evictions back:\n%s", log.String())
	}
	ready := k.readyOn(ctx)
	if len(ready["old-1"])+len(ready["old-2"]) != 0 || len(ready["new-1"])+len(ready["new-2"]) != 3 {
		t.Errorf("ready pods by node %v: want the 3 replicas on the new nodes, none on the old", ready)
	}
	for _, n := range []string{"old-1", "old-2"} {
		if node, err := k.c.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{}); err != nil || !node.Spec.Unschedulable {
			t.Errorf("%s not cordoned: %v", n, err)
		}
	}
	if _, err := k.c.CoreV1().Pods(ns).Get(ctx, "aws-node-old-1", metav1.GetOptions{}); err != nil || len(r.Skipped) != 1 {
		t.Errorf("the DaemonSet's pod: %v, skipped %+v", err, r.Skipped)
	}
}

// waitBudget waits until the budget's status is computed with the given disruptions allowed.
func (k *cluster) waitBudget(ctx context.Context, allowed int32) {
	k.t.Helper()
	for {
		pdb, err := k.c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.DisruptionsAllowed == allowed && pdb.Status.ExpectedPods > 0 {
			return
		}
		select {
		case <-ctx.Done():
			k.t.Fatalf("the budget's status never showed %d disruptions allowed: %+v, %v", allowed, pdb, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// When nothing replaces the evicted pods, the budget refuses every eviction: the drain stops at its timeout, names
// the pods it could not evict with the API server's refusal, and leaves them running.
func TestKubeDrainReportsWhatTheBudgetKept(t *testing.T) {
	t.Parallel()
	k := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k.pod("web-1", "old-1", rsRef, true)
	k.pod("web-2", "old-2", rsRef, true)
	k.budget(2)
	k.playing = false
	play, stop := context.WithCancel(ctx)
	defer stop()
	go k.play(play, 2, 0)
	k.waitBudget(ctx, 0)

	r, err := drain.Drain(ctx, k.c, "ng-a", drain.Options{Timeout: 3 * time.Second, Poll: 200 * time.Millisecond})
	var de *drain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v, want *drain.Error", err)
	}
	if len(r.NotEvicted) != 2 || len(r.Evicted) != 0 {
		t.Fatalf("report %+v", r)
	}
	for _, p := range r.NotEvicted {
		if !strings.Contains(p.Reason, "would violate the pod's disruption budget") {
			t.Errorf("%s: %s", p.What, p.Reason)
		}
	}
	if ready := k.readyOn(ctx); len(ready["old-1"]) != 1 || len(ready["old-2"]) != 1 {
		t.Errorf("the kept pods moved: %v", ready)
	}
}
