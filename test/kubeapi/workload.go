package kubeapi

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// Workload plays, for one ReplicaSet's pods on an API server where no controller, scheduler or kubelet runs, what
// those would do, so that a test can drain nodes under a PodDisruptionBudget:
//
//   - the service account controller: the namespace's default ServiceAccount, which admission requires of a pod;
//   - the ReplicaSet controller: a new pod, with the ReplicaSet as controller, for each one short of Replicas;
//   - the scheduler: the new pod bound at creation to the Ready, schedulable node holding fewest of its pods;
//   - the kubelet: the pod marked Ready (status subresource) ReadyAfter later. Every pod has
//     terminationGracePeriodSeconds 0, so an evicted pod is deleted at once, as once a kubelet confirms it stopped
//     (Kubernetes docs, "Termination of Pods": a grace period of 0 deletes the object immediately);
//   - the disruption controller: the budget's status (observedGeneration, currentHealthy, desiredHealthy,
//     expectedPods, disruptionsAllowed) from the ready pods, counting those the eviction API recorded in
//     disruptedPods as gone while they exist (pkg/controller/disruption), so the API server's eviction check
//     (429 while disruptionsAllowed is 0) works as in a cluster.
type Workload struct {
	Client     kubernetes.Interface
	Namespace  string
	Name       string // the ReplicaSet's name; its pods carry the label app=Name
	Replicas   int
	ReadyAfter time.Duration

	mu     sync.Mutex
	paused bool
	made   int
}

// Owner is the controller reference of the workload's pods.
func (w *Workload) Owner() metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: w.Name,
		UID: "0b7c1d2e-0000-4000-8000-00000000000a", Controller: &yes}
}

// Setup creates the namespace (if need be) and its default ServiceAccount.
func (w *Workload) Setup(ctx context.Context) error {
	_, err := w.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.Namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, err = w.Client.CoreV1().ServiceAccounts(w.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// Pod creates one of the workload's pods on node, Ready at once when ready.
func (w *Workload) Pod(ctx context.Context, name, node string, ready bool) error {
	zero := int64(0)
	_, err := w.Client.CoreV1().Pods(w.Namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": w.Name}, OwnerReferences: []metav1.OwnerReference{w.Owner()}},
		Spec: corev1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{Name: "app", Image: "public.ecr.aws/docker/library/nginx:1.27"}}},
	}, metav1.CreateOptions{})
	if err != nil || !ready {
		return err
	}
	return w.markReady(ctx, name)
}

func (w *Workload) markReady(ctx context.Context, name string) error {
	p, err := w.Client.CoreV1().Pods(w.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	_, err = w.Client.CoreV1().Pods(w.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// Budget creates a PodDisruptionBudget keeping minAvailable of the workload's pods.
func (w *Workload) Budget(ctx context.Context, minAvailable int) error {
	m := intstr.FromInt32(int32(minAvailable))
	_, err := w.Client.PolicyV1().PodDisruptionBudgets(w.Namespace).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &m,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.Name}}},
	}, metav1.CreateOptions{})
	return err
}

// Pause stops (true) or resumes the ReplicaSet controller's part: no replacement is made while paused.
func (w *Workload) Pause(paused bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = paused
}

// Run plays the controllers, scheduler and kubelet until ctx ends.
func (w *Workload) Run(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w.replace(ctx)
		w.computeBudget(ctx)
	}
}

func (w *Workload) pods(ctx context.Context) ([]corev1.Pod, error) {
	l, err := w.Client.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + w.Name})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

func (w *Workload) replace(ctx context.Context) {
	w.mu.Lock()
	paused := w.paused
	w.mu.Unlock()
	if paused {
		return
	}
	pods, err := w.pods(ctx)
	if err != nil || len(pods) >= w.Replicas {
		return
	}
	node, err := w.schedule(ctx, pods)
	if err != nil || node == "" {
		return // nowhere to go yet: the pod would stay Pending
	}
	w.mu.Lock()
	w.made++
	name := fmt.Sprintf("%s-r%d", w.Name, w.made)
	w.mu.Unlock()
	if err := w.Pod(ctx, name, node, false); err != nil {
		return
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(w.ReadyAfter):
			_ = w.markReady(ctx, name)
		}
	}()
}

// schedule picks the Ready, schedulable node with the fewest of the workload's pods.
func (w *Workload) schedule(ctx context.Context, pods []corev1.Pod) (string, error) {
	nodes, err := w.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	count := map[string]int{}
	for _, p := range pods {
		count[p.Spec.NodeName]++
	}
	var best []string
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable || !nodeReady(&n) {
			continue
		}
		best = append(best, n.Name)
	}
	if len(best) == 0 {
		return "", nil
	}
	slices.SortStableFunc(best, func(a, b string) int { return count[a] - count[b] })
	return best[0], nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// computeBudget writes the budget's status. The budget is read before the pods and written with its
// resourceVersion: an eviction in between changes it, and the write is refused and redone next time.
func (w *Workload) computeBudget(ctx context.Context) {
	pdb, err := w.Client.PolicyV1().PodDisruptionBudgets(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	if err != nil {
		return
	}
	pods, err := w.pods(ctx)
	if err != nil {
		return
	}
	healthy, disrupted := int32(0), map[string]metav1.Time{}
	for _, p := range pods {
		if at, ok := pdb.Status.DisruptedPods[p.Name]; ok {
			disrupted[p.Name] = at
			continue
		}
		if p.DeletionTimestamp == nil && podReady(&p) {
			healthy++
		}
	}
	desired := pdb.Spec.MinAvailable.IntVal
	pdb.Status.ObservedGeneration = pdb.Generation
	pdb.Status.CurrentHealthy, pdb.Status.DesiredHealthy = healthy, desired
	pdb.Status.ExpectedPods = int32(len(pods))
	pdb.Status.DisruptionsAllowed = max(0, healthy-desired)
	pdb.Status.DisruptedPods = disrupted
	_, _ = w.Client.PolicyV1().PodDisruptionBudgets(w.Namespace).UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
}

// WaitBudget waits until the budget's status is computed with allowed disruptions.
func (w *Workload) WaitBudget(ctx context.Context, allowed int32) error {
	for {
		pdb, err := w.Client.PolicyV1().PodDisruptionBudgets(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.DisruptionsAllowed == allowed && pdb.Status.ExpectedPods > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("budget %s/%s never showed %d disruptions allowed (last: %v, %v)", w.Namespace, w.Name, allowed, pdb, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ReadyOn lists the workload's ready pods (not terminating) by node.
func (w *Workload) ReadyOn(ctx context.Context) (map[string][]string, error) {
	pods, err := w.pods(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil && podReady(&p) {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p.Name)
		}
	}
	return out, nil
}
