package kubeapi

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// Scheduler plays, with kube-controller-manager running (Options.ControllerManager), the two parts of a cluster
// still missing for pods to come up: the scheduler, which binds each pending pod (pods/binding) to a Ready,
// schedulable node (the next of Place for its app label, else the one holding fewest pods), and the kubelet, which
// reports a bound pod running and Ready (status subresource) ReadyAfter later and removes a bound pod being
// deleted. While paused it does none of these, so a replacement pod stays Pending, as when no node has room for it.
type Scheduler struct {
	Client     kubernetes.Interface
	ReadyAfter time.Duration
	// Place lists, by a pod's app label, the nodes its first pods go to, in order.
	Place map[string][]string

	mu     sync.Mutex
	paused bool
	placed map[string]int // by app label: how many of Place were used
	bound  map[string]time.Time
}

// Pause stops (true) or resumes binding and readying pods.
func (s *Scheduler) Pause(paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = paused
}

// Run schedules and readies pods until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	s.mu.Lock()
	s.placed, s.bound = map[string]int{}, map[string]time.Time{}
	s.mu.Unlock()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		paused := s.paused
		s.mu.Unlock()
		if !paused {
			s.round(ctx)
		}
	}
}

func (s *Scheduler) round(ctx context.Context) {
	pods, err := s.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	nodes, err := s.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	count := map[string]int{}
	for _, p := range pods.Items {
		count[p.Spec.NodeName]++
	}
	var schedulable []string
	for _, n := range nodes.Items {
		if !n.Spec.Unschedulable && nodeReady(&n) {
			schedulable = append(schedulable, n.Name)
		}
	}
	for _, p := range pods.Items {
		key := p.Namespace + "/" + p.Name + "/" + string(p.UID)
		switch {
		case p.DeletionTimestamp != nil && p.Spec.NodeName != "":
			// The kubelet's end of a graceful deletion: once the containers have stopped it removes the pod with
			// a grace period of 0 (Kubernetes docs, "Termination of Pods"). The pause containers stop at once,
			// so it confirms without waiting out the pod's terminationGracePeriodSeconds.
			zero := int64(0)
			_ = s.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero,
				Preconditions: &metav1.Preconditions{UID: &p.UID}})
		case p.DeletionTimestamp != nil:
		case p.Spec.NodeName == "":
			node := s.choose(p.Labels["app"], schedulable, count)
			if node == "" {
				continue
			}
			if err := s.Client.CoreV1().Pods(p.Namespace).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, UID: p.UID},
				Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{}); err == nil {
				count[node]++
				s.mu.Lock()
				s.bound[key] = time.Now() // clock: when the kubelet started the pod
				s.mu.Unlock()
			}
		case !podReady(&p):
			s.mu.Lock()
			at, ok := s.bound[key]
			if !ok {
				s.bound[key] = time.Now() // clock: bound before this scheduler looked
				at = s.bound[key]
			}
			s.mu.Unlock()
			if time.Since(at) >= s.ReadyAfter { // clock: the kubelet's start-up time
				_ = markReady(ctx, s.Client, &p)
			}
		}
	}
}

// choose picks a node for a pod of app: the next of Place, else the schedulable node with the fewest pods.
func (s *Scheduler) choose(app string, schedulable []string, count map[string]int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if want := s.Place[app]; s.placed[app] < len(want) {
		node := want[s.placed[app]]
		if !slices.Contains(schedulable, node) {
			return ""
		}
		s.placed[app]++
		return node
	}
	if len(schedulable) == 0 {
		return ""
	}
	best := slices.Clone(schedulable)
	slices.SortStableFunc(best, func(a, b string) int { return count[a] - count[b] })
	return best[0]
}

func markReady(ctx context.Context, c kubernetes.Interface, p *corev1.Pod) error {
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	_, err := c.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
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

// Workload is a Deployment of Replicas pods labelled app=Name, with a PodDisruptionBudget keeping MinAvailable of
// them, for kube-controller-manager's deployment, ReplicaSet and disruption controllers to run and a Scheduler to
// place. Its pods stop at once when deleted (terminationGracePeriodSeconds 0: with a grace period of 0 the API
// server deletes the object immediately, Kubernetes docs, "Termination of Pods"), standing in for a kubelet that
// confirms the stop.
type Workload struct {
	Client       kubernetes.Interface
	Namespace    string
	Name         string
	Replicas     int32
	MinAvailable int
}

// Create makes the namespace (if need be), the Deployment and the budget.
func (w *Workload) Create(ctx context.Context) error {
	_, err := w.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.Namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	labels := map[string]string{"app": w.Name}
	zero := int64(0)
	if _, err := w.Client.AppsV1().Deployments(w.Namespace).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name},
		Spec: appsv1.DeploymentSpec{Replicas: &w.Replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &zero, Containers: PauseContainer()}}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	m := intstr.FromInt32(int32(w.MinAvailable))
	_, err = w.Client.PolicyV1().PodDisruptionBudgets(w.Namespace).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &m, Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}, metav1.CreateOptions{})
	return err
}

// Pods lists the workload's pods that are not being deleted.
func (w *Workload) Pods(ctx context.Context) ([]corev1.Pod, error) {
	l, err := w.Client.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + w.Name})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// ReadyOn lists the workload's ready pods by node.
func (w *Workload) ReadyOn(ctx context.Context) (map[string][]string, error) {
	pods, err := w.Pods(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range pods {
		if podReady(&p) {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p.Name)
		}
	}
	return out, nil
}

// WaitSettled waits until all Replicas pods are ready and the disruption controller allows the budget's
// disruptions (ready pods beyond MinAvailable).
func (w *Workload) WaitSettled(ctx context.Context) error {
	for {
		ready, err := w.ReadyOn(ctx)
		n := 0
		for _, ps := range ready {
			n += len(ps)
		}
		pdb, perr := w.Client.PolicyV1().PodDisruptionBudgets(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
		if err == nil && perr == nil && n == int(w.Replicas) && pdb.Status.ObservedGeneration == pdb.Generation &&
			pdb.Status.DisruptionsAllowed == w.Replicas-int32(w.MinAvailable) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("workload %s/%s not settled: ready %v (%v), budget %+v (%v)", w.Namespace, w.Name, ready, err, pdb, perr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// OnNode is the name of the workload's pod on node; "" when there is none.
func (w *Workload) OnNode(ctx context.Context, node string) (string, error) {
	pods, err := w.Pods(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range pods {
		if p.Spec.NodeName == node {
			return p.Name, nil
		}
	}
	return "", nil
}
