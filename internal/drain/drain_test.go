package drain

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func node(name, group string, ready bool) *corev1.Node {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{NodeGroupLabel: group}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}}}
}

var isController = true

// pod is a ready pod on a node; kind and owner name its controller ("" for none).
func pod(ns, name, nodeName, kind, owner string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name)},
		Spec:   corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	if kind != "" {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: owner, UID: types.UID(kind + "/" + owner), Controller: &isController}}
	}
	return p
}

// cluster is a fake API server whose evictions a test decides: refuse returns the error for an eviction (nil
// admits it); an admitted eviction deletes the pod and, for a ReplicaSet's pod, replace makes its replacement (the
// ReplicaSet controller, scheduler and kubelet played at once).
type cluster struct {
	*fake.Clientset
	mu       sync.Mutex
	attempts map[string]int
	refuse   func(name string, attempt int) error
	replace  bool
}

func newCluster(t *testing.T, objs ...runtime.Object) *cluster {
	t.Helper()
	c := &cluster{Clientset: fake.NewClientset(objs...), attempts: map[string]int{}, replace: true}
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		ev := a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
		c.mu.Lock()
		c.attempts[ev.Name]++
		n := c.attempts[ev.Name]
		c.mu.Unlock()
		if c.refuse != nil {
			if err := c.refuse(ev.Name, n); err != nil {
				return true, nil, err
			}
		}
		gvr := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
		obj, err := c.Tracker().Get(gvr, ev.Namespace, ev.Name)
		if err != nil {
			return true, nil, err
		}
		p := obj.(*corev1.Pod)
		if err := c.Tracker().Delete(gvr, ev.Namespace, ev.Name); err != nil {
			return true, nil, err
		}
		if ref := metav1.GetControllerOf(p); c.replace && ref != nil && ref.Kind == "ReplicaSet" {
			r := pod(p.Namespace, p.Name+"-new", "new-1", ref.Kind, ref.Name)
			if err := c.Tracker().Create(gvr, r, r.Namespace); err != nil {
				return true, nil, err
			}
		}
		return true, nil, nil
	})
	return c
}

func tooMany() error {
	return apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
}

var quick = Options{Timeout: 2 * time.Second, Poll: 10 * time.Millisecond}

// A drain cordons the group's nodes only, evicts every pod but DaemonSet and mirror pods, retries an eviction a
// budget refuses until it passes, and waits for each workload's pods to be ready off the group again.
func TestDrainMovesEverythingButDaemonSetsAndMirrorPods(t *testing.T) {
	mirror := pod("kube-system", "static-old-1", "old-1", "Node", "old-1")
	mirror.Annotations = map[string]string{mirrorAnnotation: "hash"}
	c := newCluster(t,
		node("old-1", "ng-a", true), node("old-2", "ng-a", true), node("new-1", "ng-b", true),
		pod("shop", "web-1", "old-1", "ReplicaSet", "web"), pod("shop", "web-2", "old-2", "ReplicaSet", "web"),
		pod("shop", "web-3", "new-1", "ReplicaSet", "web"), // already elsewhere: counted, not evicted
		pod("kube-system", "aws-node-1", "old-1", "DaemonSet", "aws-node"), mirror,
		pod("shop", "debug", "old-2", "", ""))
	// The budget admits web-2 only at the third try, as it would once web-1's replacement is ready.
	c.refuse = func(name string, n int) error {
		if name == "web-2" && n < 3 {
			return tooMany()
		}
		return nil
	}
	var log strings.Builder
	o := quick
	o.Log = &log
	r, err := Drain(context.Background(), c, "ng-a", o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, n := range []string{"old-1", "old-2"} {
		got, _ := c.CoreV1().Nodes().Get(context.Background(), n, metav1.GetOptions{})
		if !got.Spec.Unschedulable {
			t.Errorf("node %s not cordoned", n)
		}
	}
	if got, _ := c.CoreV1().Nodes().Get(context.Background(), "new-1", metav1.GetOptions{}); got.Spec.Unschedulable {
		t.Error("a node of another group was cordoned")
	}
	if got := pods(r.Evicted); got != "shop/debug shop/web-1 shop/web-2" {
		t.Errorf("evicted %s", got)
	}
	if c.attempts["web-2"] != 3 || c.attempts["aws-node-1"] != 0 || c.attempts["static-old-1"] != 0 {
		t.Errorf("eviction attempts %v: want web-2 three times, none of the DaemonSet's or the mirror pod", c.attempts)
	}
	if len(r.Skipped) != 2 || !strings.Contains(r.Skipped[0].Reason, "DaemonSet aws-node") || !strings.Contains(r.Skipped[1].Reason, "mirror pod") {
		t.Errorf("skipped %+v", r.Skipped)
	}
	if pods(r.Unowned) != "shop/debug" || !r.OK() {
		t.Errorf("report %+v", r)
	}
	if !strings.Contains(log.String(), "waiting to evict shop/web-2") || strings.Count(log.String(), "waiting to evict") != 1 {
		t.Errorf("the refusal is not told once:\n%s", log.String())
	}
}

func pods(ps []Pod) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// A budget that never admits the eviction: the drain stops at its timeout, names the pod and the refusal, and
// leaves it where it was.
func TestDrainReportsWhatABudgetKept(t *testing.T) {
	c := newCluster(t, node("old-1", "ng-a", true), pod("shop", "db-0", "old-1", "StatefulSet", "db"),
		pod("shop", "web-1", "old-1", "ReplicaSet", "web"))
	c.refuse = func(name string, _ int) error {
		if name == "db-0" {
			return tooMany()
		}
		return nil
	}
	o := quick
	o.Timeout = 300 * time.Millisecond
	r, err := Drain(context.Background(), c, "ng-a", o)
	var de *Error
	if !errors.As(err, &de) || de.Report != r {
		t.Fatalf("error %v (%T), want *Error", err, err)
	}
	if len(r.NotEvicted) != 1 || r.NotEvicted[0].What != "shop/db-0" || !strings.Contains(r.NotEvicted[0].Reason, "disruption budget") {
		t.Errorf("not evicted %+v", r.NotEvicted)
	}
	if pods(r.Evicted) != "shop/web-1" {
		t.Errorf("evicted %s", pods(r.Evicted))
	}
	if _, err := c.CoreV1().Pods("shop").Get(context.Background(), "db-0", metav1.GetOptions{}); err != nil {
		t.Errorf("the refused pod is gone: %v", err)
	}
	if !strings.Contains(err.Error(), "1 pod(s) could not be evicted (shop/db-0: still refused after 300ms") {
		t.Errorf("error %q", err)
	}
}

// A refusal followed by failures on the client's side (a rate limiter at the deadline): the report keeps the API
// server's refusal as the reason, not the client's error.
func TestDrainKeepsTheServersReason(t *testing.T) {
	c := newCluster(t, node("old-1", "ng-a", true), pod("shop", "db-0", "old-1", "StatefulSet", "db"))
	c.refuse = func(_ string, n int) error {
		if n == 1 {
			return tooMany()
		}
		return errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline")
	}
	o := quick
	o.Timeout = 200 * time.Millisecond
	r, _ := Drain(context.Background(), c, "ng-a", o)
	if len(r.NotEvicted) != 1 || !strings.Contains(r.NotEvicted[0].Reason, "disruption budget") || c.attempts["db-0"] < 2 {
		t.Errorf("not evicted %+v after %d attempts", r.NotEvicted, c.attempts["db-0"])
	}
}

// Evicted pods whose workload does not come back ready elsewhere: the drain says which workload, and how many of
// its pods are ready.
func TestDrainReportsWorkloadsNotReadyAgain(t *testing.T) {
	c := newCluster(t, node("old-1", "ng-a", true), pod("shop", "web-1", "old-1", "ReplicaSet", "web"),
		pod("shop", "web-2", "old-1", "ReplicaSet", "web"))
	c.replace = false
	o := quick
	o.Timeout = 300 * time.Millisecond
	r, err := Drain(context.Background(), c, "ng-a", o)
	if err == nil || len(r.NotReplaced) != 1 || r.NotReplaced[0].What != "ReplicaSet shop/web" ||
		!strings.HasPrefix(r.NotReplaced[0].Reason, "0 of 2 pod(s) ready off node group ng-a") {
		t.Errorf("%v: %+v", err, r.NotReplaced)
	}
}

// An eviction refused for good (Forbidden) is reported at once, not retried until the timeout.
func TestDrainDoesNotRetryARefusal(t *testing.T) {
	c := newCluster(t, node("old-1", "ng-a", true), pod("shop", "web-1", "old-1", "", ""))
	c.refuse = func(string, int) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web-1", errors.New("no"))
	}
	start := time.Now()
	r, err := Drain(context.Background(), c, "ng-a", Options{Timeout: time.Minute, Poll: 10 * time.Millisecond})
	if err == nil || len(r.NotEvicted) != 1 || c.attempts["web-1"] != 1 || time.Since(start) > 10*time.Second {
		t.Errorf("%v, %+v, %d attempts", err, r.NotEvicted, c.attempts["web-1"])
	}
}

// WaitReady waits for the group's nodes to be Ready, and fails at its timeout naming those that are not.
func TestWaitReady(t *testing.T) {
	c := fake.NewClientset(node("new-1", "ng-b", true), node("new-2", "ng-b", false), node("old-1", "ng-a", true))
	err := WaitReady(context.Background(), c, "ng-b", 2, Options{Timeout: 200 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "1 of 2 node(s) Ready") || !strings.Contains(err.Error(), "new-2") {
		t.Errorf("one node not ready: %v", err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = c.CoreV1().Nodes().UpdateStatus(context.Background(), node("new-2", "ng-b", true), metav1.UpdateOptions{})
	}()
	if err := WaitReady(context.Background(), c, "ng-b", 2, Options{Timeout: 5 * time.Second, Poll: 10 * time.Millisecond}); err != nil {
		t.Errorf("once ready: %v", err)
	}
}
