// Package drain_test runs internal/drain against a real kube-apiserver (test/kubeapi): the eviction API and its
// PodDisruptionBudget checks are the API server's own. No controller, scheduler or kubelet runs there: the tests
// create the nodes (Node objects marked Ready through the status subresource, as a kubelet registers them) and
// kubeapi.Workload plays the ReplicaSet and disruption controllers, the scheduler and the kubelet for one
// workload's pods (its doc comment lists what it plays).
package drain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tapstack/tapstack/internal/drain"
	"github.com/tapstack/tapstack/test/kubeapi"
)

const ns = "shop"

// start runs an API server with the nodes of two node groups, ng-a (old-1, old-2) and ng-b (new-1, new-2), and the
// workload web in namespace shop; it returns the workload and the client for the drain.
func start(t *testing.T, ctx context.Context, replicas int) (*kubeapi.Workload, kubernetes.Interface) {
	t.Helper()
	srv := kubeapi.Start(t, kubeapi.Options{})
	c, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	// The API server makes its namespaces just after /readyz.
	for {
		if _, err := c.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the API server made no default namespace")
		case <-time.After(200 * time.Millisecond):
		}
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
	// The players get a client of their own, so that their calls do not eat into the drain's rate limit.
	cfg := rest.CopyConfig(srv.Admin)
	cfg.QPS, cfg.Burst = 100, 200
	players, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &kubeapi.Workload{Client: players, Namespace: ns, Name: "web", Replicas: replicas, ReadyAfter: time.Second}
	if err := w.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return w, c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A drain of a group whose pods a budget protects (three replicas, two on the old group, minAvailable 2): the API
// server admits the first eviction, refuses the second (429) until the first pod's replacement is ready, the drain
// retries it, and ends with every replica ready off the old group, its nodes cordoned and the DaemonSet's pod left
// where it was.
func TestKubeDrainHonoursADisruptionBudget(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w, c := start(t, ctx, 3)
	must(t, w.Pod(ctx, "web-1", "old-1", true))
	must(t, w.Pod(ctx, "web-2", "old-2", true))
	must(t, w.Pod(ctx, "web-3", "new-1", true))
	yes, zero := true, int64(0)
	if _, err := w.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "aws-node-old-1",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "aws-node", UID: "0b7c1d2e-0000-4000-8000-0000000000d5", Controller: &yes}}},
		Spec: corev1.PodSpec{NodeName: "old-1", TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "aws-node", Image: "public.ecr.aws/docker/library/busybox:1.36"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, w.Budget(ctx, 2))
	play, stop := context.WithCancel(ctx)
	defer stop()
	go w.Run(play)
	must(t, w.WaitBudget(ctx, 1))

	var log strings.Builder
	r, err := drain.Drain(ctx, c, "ng-a", drain.Options{Timeout: 2 * time.Minute, Poll: 200 * time.Millisecond, Log: &log})
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
	ready, err := w.ReadyOn(ctx)
	must(t, err)
	if len(ready["old-1"])+len(ready["old-2"]) != 0 || len(ready["new-1"])+len(ready["new-2"]) != 3 {
		t.Errorf("ready pods by node %v: want the 3 replicas on the new nodes, none on the old", ready)
	}
	for _, n := range []string{"old-1", "old-2"} {
		if node, err := w.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{}); err != nil || !node.Spec.Unschedulable {
			t.Errorf("%s not cordoned: %v", n, err)
		}
	}
	if _, err := w.Client.CoreV1().Pods(ns).Get(ctx, "aws-node-old-1", metav1.GetOptions{}); err != nil || len(r.Skipped) != 1 {
		t.Errorf("the DaemonSet's pod: %v, skipped %+v", err, r.Skipped)
	}
}

// When nothing replaces the evicted pods, the budget admits one eviction and refuses the next throughout: the drain
// stops at its timeout and reports what the API server says then: the first pod evicted, the second refused with
// the API server's reason and still running, the workload one pod short of ready.
func TestKubeDrainReportsWhatTheBudgetKept(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w, c := start(t, ctx, 3)
	must(t, w.Pod(ctx, "web-1", "old-1", true))
	must(t, w.Pod(ctx, "web-2", "old-2", true))
	must(t, w.Pod(ctx, "web-3", "new-1", true))
	must(t, w.Budget(ctx, 2))
	w.Pause(true)
	play, stop := context.WithCancel(ctx)
	defer stop()
	go w.Run(play)
	must(t, w.WaitBudget(ctx, 1))

	r, err := drain.Drain(ctx, c, "ng-a", drain.Options{Timeout: 3 * time.Second, Poll: 200 * time.Millisecond})
	var de *drain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v, want *drain.Error", err)
	}
	if fmt.Sprint(r.Evicted) != "[shop/web-1]" || len(r.NotEvicted) != 1 || r.NotEvicted[0].What != "shop/web-2" ||
		!strings.Contains(r.NotEvicted[0].Reason, "would violate the pod's disruption budget") {
		t.Errorf("evicted %v, not evicted %+v", r.Evicted, r.NotEvicted)
	}
	if len(r.NotReplaced) != 1 || !strings.HasPrefix(r.NotReplaced[0].Reason, "1 of 3 pod(s) ready off node group ng-a") {
		t.Errorf("not replaced %+v", r.NotReplaced)
	}
	if ready, err := w.ReadyOn(ctx); err != nil || len(ready["old-2"]) != 1 || len(ready["old-1"]) != 0 {
		t.Errorf("ready by node %v, %v: want web-2 still on old-2", ready, err)
	}
}
