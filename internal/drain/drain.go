// Package drain moves the pods off a managed node group's nodes the way `kubectl drain` does, through the
// Kubernetes API: cordon the nodes, evict their pods through the eviction API (policy/v1 Eviction, so
// PodDisruptionBudgets are honoured), wait for the evicted pods to go and for their controllers' replacements to be
// ready elsewhere, and report what could not be moved. It also waits for a node group's nodes to be Ready.
package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// NodeGroupLabel is the label EKS puts on every node of a managed node group, naming the group (EKS user guide,
// managed-node-groups: "eks.amazonaws.com/nodegroup").
const NodeGroupLabel = "eks.amazonaws.com/nodegroup"

// mirrorAnnotation marks a mirror pod: the API's copy of a static pod the kubelet runs from a manifest; evicting
// it does nothing (kubectl drain skips them too).
const mirrorAnnotation = "kubernetes.io/config.mirror"

const (
	// DefaultTimeout bounds a drain: how long evictions are retried and replacements waited for.
	DefaultTimeout = 15 * time.Minute
	// DefaultPoll is the pause between rounds; kubectl drain retries a refused eviction every 5 seconds.
	DefaultPoll = 5 * time.Second
	// finalCheck bounds the last look at the pods after the deadline, for the report.
	finalCheck = 15 * time.Second
)

// Options tune a drain or a wait.
type Options struct {
	// Timeout bounds the whole drain (or wait); DefaultTimeout when zero.
	Timeout time.Duration
	// Poll is the pause between rounds; DefaultPoll when zero.
	Poll time.Duration
	// Log receives a line per thing done; nil discards.
	Log io.Writer
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Pod names a pod.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (p Pod) String() string { return p.Namespace + "/" + p.Name }

// Problem is a pod or workload with what kept it.
type Problem struct {
	What   string `json:"what"`
	Reason string `json:"reason"`
}

// Report is what a drain did.
type Report struct {
	Group string   `json:"nodeGroup"`
	Nodes []string `json:"nodes"`
	// Evicted are the pods evicted (or found gone).
	Evicted []Pod `json:"evicted"`
	// Skipped are the pods left on purpose: DaemonSet and mirror pods.
	Skipped []Problem `json:"skipped,omitempty"`
	// Unowned are evicted pods no controller recreates.
	Unowned []Pod `json:"unowned,omitempty"`
	// NotEvicted are the pods still on the nodes at the timeout (a disruption budget refused them throughout,
	// the eviction failed, or the pod did not terminate), with why.
	NotEvicted []Problem `json:"notEvicted,omitempty"`
	// NotReplaced are the workloads whose pods were not ready elsewhere again by the timeout.
	NotReplaced []Problem `json:"notReplaced,omitempty"`
}

// OK reports whether every pod moved and every workload is ready again.
func (r *Report) OK() bool { return len(r.NotEvicted) == 0 && len(r.NotReplaced) == 0 }

// Write lists the report, a line per fact.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "node group %s: %d node(s) cordoned, %d pod(s) evicted, %d skipped\n", r.Group, len(r.Nodes), len(r.Evicted), len(r.Skipped))
	for _, p := range r.Skipped {
		fmt.Fprintf(w, "  skipped %s: %s\n", p.What, p.Reason)
	}
	for _, p := range r.Unowned {
		fmt.Fprintf(w, "  evicted %s, which no controller recreates\n", p)
	}
	for _, p := range r.NotEvicted {
		fmt.Fprintf(w, "  NOT EVICTED %s: %s\n", p.What, p.Reason)
	}
	for _, p := range r.NotReplaced {
		fmt.Fprintf(w, "  NOT READY AGAIN %s: %s\n", p.What, p.Reason)
	}
}

// Error is a drain that did not move everything; Report says what.
type Error struct{ Report *Report }

func (e *Error) Error() string {
	var parts []string
	if n := len(e.Report.NotEvicted); n > 0 {
		parts = append(parts, fmt.Sprintf("%d pod(s) could not be evicted (%s)", n, problems(e.Report.NotEvicted)))
	}
	if n := len(e.Report.NotReplaced); n > 0 {
		parts = append(parts, fmt.Sprintf("%d workload(s) were not ready again elsewhere (%s)", n, problems(e.Report.NotReplaced)))
	}
	return fmt.Sprintf("draining node group %s: %s", e.Report.Group, strings.Join(parts, "; "))
}

func problems(ps []Problem) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.What + ": " + p.Reason
	}
	return strings.Join(s, "; ")
}

// Nodes lists the nodes of a managed node group, by name.
func Nodes(ctx context.Context, c kubernetes.Interface, group string) ([]corev1.Node, error) {
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: NodeGroupLabel + "=" + group})
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of node group %s: %w", group, err)
	}
	nodes := list.Items
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

// NodeReady reports whether a node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// PodReady reports whether a pod's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// WaitReady waits until at least want nodes of the group are Ready and schedulable; it fails at the timeout,
// naming the nodes that are not.
func WaitReady(ctx context.Context, c kubernetes.Interface, group string, want int, o Options) error {
	o = o.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	for {
		nodes, err := Nodes(ctx, c, group)
		var ready, not []string
		if err == nil {
			for i := range nodes {
				n := &nodes[i]
				if NodeReady(n) && !n.Spec.Unschedulable {
					ready = append(ready, n.Name)
				} else {
					not = append(not, n.Name)
				}
			}
			if len(ready) >= want {
				fmt.Fprintf(o.Log, "node group %s: %d node(s) Ready (%s)\n", group, len(ready), strings.Join(ready, ", "))
				return nil
			}
		}
		if !sleep(ctx, o.Poll) {
			if err != nil {
				return err
			}
			msg := fmt.Sprintf("node group %s: %d of %d node(s) Ready after %s", group, len(ready), want, o.Timeout)
			if len(not) > 0 {
				msg += "; not Ready or cordoned: " + strings.Join(not, ", ")
			}
			return errors.New(msg)
		}
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// owner is a workload whose pods a drain evicts: its controller, and how many of its pods were ready before.
type owner struct {
	uid                   types.UID
	namespace, kind, name string
	want                  int
}

func (o *owner) String() string { return o.kind + " " + o.namespace + "/" + o.name }

// Drain cordons the node group's nodes and evicts their pods through the eviction API, retrying an eviction a
// disruption budget refuses (429) until the timeout; DaemonSet and mirror pods stay. It then waits for the evicted
// pods to be gone and for each workload they belonged to to have as many ready pods off these nodes as it had
// ready before. It returns the report, and an *Error with it when something did not move; a failure to reach the
// API returns the report so far and that error.
func Drain(ctx context.Context, c kubernetes.Interface, group string, o Options) (*Report, error) {
	o = o.withDefaults()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	r := &Report{Group: group, Evicted: []Pod{}, Nodes: []string{}}
	nodes, err := Nodes(ctx, c, group)
	if err != nil {
		return r, err
	}
	onNodes := map[string]bool{}
	for _, n := range nodes {
		r.Nodes = append(r.Nodes, n.Name)
		onNodes[n.Name] = true
		if n.Spec.Unschedulable {
			continue
		}
		if _, err := c.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{}); err != nil {
			return r, fmt.Errorf("cordoning node %s: %w", n.Name, err)
		}
		fmt.Fprintf(o.Log, "cordoned node %s\n", n.Name)
	}

	var pending []corev1.Pod
	for _, n := range nodes {
		pods, err := podsOn(ctx, c, n.Name)
		if err != nil {
			return r, err
		}
		for _, p := range pods {
			ref := controllerOf(&p)
			switch {
			case p.Annotations[mirrorAnnotation] != "":
				r.Skipped = append(r.Skipped, Problem{Pod{p.Namespace, p.Name}.String(), "mirror pod of a static manifest on " + n.Name})
			case ref != nil && ref.Kind == "DaemonSet":
				r.Skipped = append(r.Skipped, Problem{Pod{p.Namespace, p.Name}.String(), "DaemonSet " + ref.Name + " runs a pod on every node"})
			default:
				pending = append(pending, p)
			}
		}
	}
	owners, err := ownersOf(ctx, c, pending)
	if err != nil {
		return r, err
	}

	// Evict, round after round: a disruption budget admits an eviction only once enough of the workload's pods
	// are ready elsewhere again, so a refusal now may pass later.
	evicted := map[types.UID]corev1.Pod{}
	refused := map[types.UID]string{}
	told := map[types.UID]bool{}
	for len(pending) > 0 {
		var next []corev1.Pod
		for _, p := range pending {
			pod := Pod{p.Namespace, p.Name}
			if p.DeletionTimestamp != nil { // already going: wait for it like an evicted one
				evicted[p.UID] = p
				continue
			}
			err := c.PolicyV1().Evictions(p.Namespace).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}})
			switch {
			case err == nil, apierrors.IsNotFound(err):
				evicted[p.UID] = p
				fmt.Fprintf(o.Log, "evicted %s from %s\n", pod, p.Spec.NodeName)
			case apierrors.IsTooManyRequests(err):
				// 429: the eviction would violate a PodDisruptionBudget (or the API server is busy); retry.
				if !told[p.UID] {
					fmt.Fprintf(o.Log, "waiting to evict %s: %v\n", pod, err)
					told[p.UID] = true
				}
				refused[p.UID] = err.Error()
				next = append(next, p)
			case !isAPIStatus(err) || retryable(err):
				// The client's own failure (network, rate limiter, deadline) or one of the moment: retry. The
				// reason kept is the API server's last answer, when it gave one.
				if refused[p.UID] == "" || isAPIStatus(err) {
					refused[p.UID] = err.Error()
				}
				next = append(next, p)
			default:
				// Forbidden, or a pod covered by more than one budget (500: the API server cannot decide):
				// retrying will not help.
				r.NotEvicted = append(r.NotEvicted, Problem{pod.String(), err.Error()})
			}
		}
		pending = next
		if len(pending) > 0 && !sleep(ctx, o.Poll) {
			break
		}
	}
	for _, p := range pending {
		why := refused[p.UID]
		if why == "" {
			why = "timed out"
		}
		r.NotEvicted = append(r.NotEvicted, Problem{Pod{p.Namespace, p.Name}.String(), fmt.Sprintf("still refused after %s: %s", o.Timeout, why)})
	}

	// The evicted pods go once their containers stop (their grace period), then their replacements come up. Each
	// check runs once more after the deadline, on a short context of its own, so that what is reported is what the
	// API server says then, not the expired deadline's error.
	check := func() (context.Context, context.CancelFunc) {
		if ctx.Err() != nil && parent.Err() == nil {
			return context.WithTimeout(parent, finalCheck)
		}
		return ctx, func() {}
	}
	for len(evicted) > 0 {
		cctx, cancel := check()
		for uid, p := range evicted {
			cur, err := c.CoreV1().Pods(p.Namespace).Get(cctx, p.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && cur.UID != uid) {
				delete(evicted, uid)
				r.Evicted = append(r.Evicted, Pod{p.Namespace, p.Name})
				if controllerOf(&p) == nil {
					r.Unowned = append(r.Unowned, Pod{p.Namespace, p.Name})
				}
			}
		}
		cancel()
		if len(evicted) == 0 || !sleep(ctx, o.Poll) {
			break
		}
	}
	for _, p := range evicted {
		r.NotEvicted = append(r.NotEvicted, Problem{Pod{p.Namespace, p.Name}.String(),
			fmt.Sprintf("evicted, but still terminating on %s after %s", p.Spec.NodeName, o.Timeout)})
	}
	short := map[types.UID]int{}
	for {
		clear(short)
		cctx, cancel := check()
		for _, ow := range owners {
			ready, err := readyElsewhere(cctx, c, ow, onNodes)
			if err != nil && cctx.Err() == nil {
				cancel()
				return r, err
			}
			if ready < ow.want {
				short[ow.uid] = ready
			}
		}
		cancel()
		if len(short) == 0 || !sleep(ctx, o.Poll) {
			break
		}
	}
	for _, ow := range owners {
		if ready, ok := short[ow.uid]; ok {
			r.NotReplaced = append(r.NotReplaced, Problem{ow.String(), fmt.Sprintf("%d of %d pod(s) ready off node group %s after %s", ready, ow.want, group, o.Timeout)})
		}
	}
	sortReport(r)
	if err := parent.Err(); err != nil {
		return r, err // interrupted, not timed out: what is left is not the budgets' doing
	}
	if !r.OK() {
		return r, &Error{Report: r}
	}
	return r, nil
}

// isAPIStatus: the API server answered (a status error), as against a failure on the client's side.
func isAPIStatus(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st)
}

// retryable: a failure of the moment (a timeout, the server unavailable, a conflict), not a refusal.
func retryable(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsConflict(err) || apierrors.IsUnexpectedServerError(err)
}

// podsOn lists the pods bound to a node. The field selector does the work on a real API server; the check after it
// keeps the answer right where selectors are not applied.
func podsOn(ctx context.Context, c kubernetes.Interface, node string) ([]corev1.Pod, error) {
	list, err := c.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil {
		return nil, fmt.Errorf("listing the pods on node %s: %w", node, err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out, nil
}

func controllerOf(p *corev1.Pod) *metav1.OwnerReference { return metav1.GetControllerOf(p) }

// ownersOf finds the workloads of the pods to evict and how many of their pods are ready now, anywhere.
func ownersOf(ctx context.Context, c kubernetes.Interface, pods []corev1.Pod) ([]*owner, error) {
	byUID := map[types.UID]*owner{}
	var out []*owner
	for _, p := range pods {
		ref := controllerOf(&p)
		if ref == nil || byUID[ref.UID] != nil {
			continue
		}
		ow := &owner{uid: ref.UID, namespace: p.Namespace, kind: ref.Kind, name: ref.Name}
		all, err := c.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the pods of %s: %w", ow, err)
		}
		for _, q := range all.Items {
			if r := controllerOf(&q); r != nil && r.UID == ow.uid && q.DeletionTimestamp == nil && PodReady(&q) {
				ow.want++
			}
		}
		byUID[ref.UID] = ow
		out = append(out, ow)
	}
	return out, nil
}

// readyElsewhere counts a workload's ready pods that are not terminating and not on the drained nodes.
func readyElsewhere(ctx context.Context, c kubernetes.Interface, ow *owner, drained map[string]bool) (int, error) {
	all, err := c.CoreV1().Pods(ow.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("listing the pods of %s: %w", ow, err)
	}
	n := 0
	for _, q := range all.Items {
		if r := controllerOf(&q); r != nil && r.UID == ow.uid && q.DeletionTimestamp == nil && PodReady(&q) && !drained[q.Spec.NodeName] {
			n++
		}
	}
	return n, nil
}

func sortReport(r *Report) {
	byPod := func(a, b Pod) int { return strings.Compare(a.String(), b.String()) }
	byWhat := func(a, b Problem) int { return strings.Compare(a.What, b.What) }
	slices.SortFunc(r.Evicted, byPod)
	slices.SortFunc(r.Unowned, byPod)
	slices.SortFunc(r.Skipped, byWhat)
	slices.SortFunc(r.NotEvicted, byWhat)
	slices.SortFunc(r.NotReplaced, byWhat)
}
