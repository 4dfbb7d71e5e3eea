package incluster

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// What destroy asks Kubernetes about before Terraform removes the cluster. Kubernetes' controllers create AWS
// objects Terraform does not know: load balancers for Ingresses (the AWS Load Balancer Controller) and for Services
// of type LoadBalancer, EBS volumes for claims (the EBS CSI driver). Deleting those Kubernetes objects while the
// controllers still run makes them delete what they created; destroying the node groups first strands it.

const (
	// AutoscalerNamespace and AutoscalerName name the Cluster Autoscaler's Deployment, scaled to zero first so that
	// it adds no node while everything else goes.
	AutoscalerNamespace = "kube-system"
	AutoscalerName      = "cluster-autoscaler"

	// ProvisionedByAnnotation marks a dynamically provisioned PersistentVolume; its value is the provisioner
	// (https://kubernetes.io/docs/reference/labels-annotations-taints/#pv-kubernetes-io-provisioned-by).
	ProvisionedByAnnotation = "pv.kubernetes.io/provisioned-by"
)

// Object names a Kubernetes object.
type Object struct {
	Kind      string // Ingress, Service, PersistentVolumeClaim, PersistentVolume, Pod, Deployment
	Namespace string // "" for cluster-scoped objects
	Name      string
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Volume is a PersistentVolume and what backs it.
type Volume struct {
	Name        string
	Claim       string // namespace/name of the claim it is bound to; "" when none
	VolumeID    string // the EBS volume (vol-...), from the CSI volume handle or the in-tree volume ID; "" when neither
	Provisioner string // ProvisionedByAnnotation's value; "" for a volume made by hand
	Policy      corev1.PersistentVolumeReclaimPolicy
}

func (v Volume) String() string {
	s := "PersistentVolume " + v.Name
	var about []string
	if v.VolumeID != "" {
		about = append(about, "EBS volume "+v.VolumeID)
	}
	if v.Claim != "" {
		about = append(about, "claim "+v.Claim)
	}
	about = append(about, "reclaim policy "+string(v.Policy))
	return s + " (" + strings.Join(about, ", ") + ")"
}

// Plan is what ScanForDestroy found: what Drain deletes, in its order, and what it leaves.
type Plan struct {
	// Autoscaler is the Cluster Autoscaler's Deployment when it runs replicas; Drain scales it to zero.
	Autoscaler         *Object
	AutoscalerReplicas int32
	// Ingresses and LoadBalancers (Services of type LoadBalancer) in every namespace.
	Ingresses     []Object
	LoadBalancers []Object
	// Claims are the claims bound to dynamically provisioned volumes with reclaim policy Delete; Volumes are
	// those volumes, and the ones whose claim is already gone (their provisioner is deleting them): Drain waits
	// for all of them to go, which means their EBS volumes were deleted.
	Claims  []Object
	Volumes []Volume
	// Retained are the volumes with reclaim policy Retain: never deleted, listed so that a person knows what
	// outlives the environment.
	Retained []Volume
}

// Deletes lists what Drain deletes, in its order.
func (p *Plan) Deletes() []Object {
	return slices.Concat(p.Ingresses, p.LoadBalancers, p.Claims)
}

// Empty says whether Drain has nothing to do.
func (p *Plan) Empty() bool {
	return p.Autoscaler == nil && len(p.Deletes()) == 0 && len(p.Volumes) == 0
}

// Write lists the plan, a line per object: "would delete ..." when would (nothing will be done), else "will
// delete ...".
func (p *Plan) Write(w io.Writer, would bool) {
	verb := func(s string) string {
		if would {
			return "would " + s
		}
		return "will " + s
	}
	if p.Autoscaler != nil {
		fmt.Fprintf(w, "  %s %s (%d replicas) to 0\n", verb("scale"), p.Autoscaler, p.AutoscalerReplicas)
	}
	for _, o := range p.Deletes() {
		fmt.Fprintf(w, "  %s %s\n", verb("delete"), o)
	}
	for _, v := range p.Volumes {
		fmt.Fprintf(w, "  %s %s\n", verb("wait for its provisioner to delete"), v)
	}
	for _, v := range p.Retained {
		fmt.Fprintf(w, "  %s %s\n", verb("leave"), v)
	}
}

// ScanForDestroy lists what destroy deletes in the cluster before the stack, and the volumes it leaves.
func ScanForDestroy(ctx context.Context, client kubernetes.Interface) (Plan, error) {
	var p Plan
	dep, err := client.AppsV1().Deployments(AutoscalerNamespace).Get(ctx, AutoscalerName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return Plan{}, fmt.Errorf("get deployment %s/%s: %w", AutoscalerNamespace, AutoscalerName, err)
	case dep.Spec.Replicas == nil || *dep.Spec.Replicas > 0:
		p.Autoscaler = &Object{Kind: "Deployment", Namespace: AutoscalerNamespace, Name: AutoscalerName}
		p.AutoscalerReplicas = 1 // the API's default when unset
		if dep.Spec.Replicas != nil {
			p.AutoscalerReplicas = *dep.Spec.Replicas
		}
	}

	ings, err := client.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return Plan{}, fmt.Errorf("list ingresses: %w", err)
	}
	for _, in := range ings.Items {
		p.Ingresses = append(p.Ingresses, Object{Kind: "Ingress", Namespace: in.Namespace, Name: in.Name})
	}
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return Plan{}, fmt.Errorf("list services: %w", err)
	}
	for _, s := range svcs.Items {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			p.LoadBalancers = append(p.LoadBalancers, Object{Kind: "Service", Namespace: s.Namespace, Name: s.Name})
		}
	}

	pvs, err := client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return Plan{}, fmt.Errorf("list persistent volumes: %w", err)
	}
	pvcs, err := client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return Plan{}, fmt.Errorf("list persistent volume claims: %w", err)
	}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	for i := range pvcs.Items {
		c := &pvcs.Items[i]
		claims[c.Namespace+"/"+c.Name] = c
	}
	for _, pv := range pvs.Items {
		v := volumeOf(&pv)
		claim := boundClaim(&pv, claims)
		if claim != nil {
			v.Claim = claim.Namespace + "/" + claim.Name
		}
		switch {
		case v.Policy == corev1.PersistentVolumeReclaimRetain:
			p.Retained = append(p.Retained, v)
		case v.Policy != corev1.PersistentVolumeReclaimDelete || v.Provisioner == "":
			// A volume made by hand (no provisioner) is not the cluster's to delete, whatever its policy.
		case claim != nil:
			p.Claims = append(p.Claims, Object{Kind: "PersistentVolumeClaim", Namespace: claim.Namespace, Name: claim.Name})
			p.Volumes = append(p.Volumes, v)
		case pv.Spec.ClaimRef != nil:
			// Released: its claim is gone and the provisioner deletes it; wait for that too.
			p.Volumes = append(p.Volumes, v)
		}
	}
	return p, nil
}

// boundClaim is the claim pv is bound to, when both sides say so (the claim names the volume, the volume's
// claimRef names the claim and, when set, its UID).
func boundClaim(pv *corev1.PersistentVolume, claims map[string]*corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	ref := pv.Spec.ClaimRef
	if ref == nil {
		return nil
	}
	c := claims[ref.Namespace+"/"+ref.Name]
	if c == nil || c.Spec.VolumeName != pv.Name || (ref.UID != "" && ref.UID != c.UID) {
		return nil
	}
	return c
}

func volumeOf(pv *corev1.PersistentVolume) Volume {
	v := Volume{Name: pv.Name, Provisioner: pv.Annotations[ProvisionedByAnnotation], Policy: pv.Spec.PersistentVolumeReclaimPolicy}
	switch {
	case pv.Spec.CSI != nil:
		v.VolumeID = pv.Spec.CSI.VolumeHandle
	case pv.Spec.AWSElasticBlockStore != nil:
		// The in-tree form may be aws://ZONE/vol-...
		id := pv.Spec.AWSElasticBlockStore.VolumeID
		v.VolumeID = id[strings.LastIndex(id, "/")+1:]
	}
	return v
}

// DrainOptions bound Drain.
type DrainOptions struct {
	// Timeout bounds the wait for the deleted objects and the volumes to go; 0 means 10 minutes.
	Timeout time.Duration
	// Poll is how often it looks; 0 means 2 seconds.
	Poll time.Duration
	// Log receives a line per step; nil discards.
	Log io.Writer
}

// DrainReport is what Drain did.
type DrainReport struct {
	// ScaledDown is the autoscaler's Deployment when Drain scaled it to zero.
	ScaledDown *Object
	// Deleted are the objects Drain deleted and saw go, then the volumes that went.
	Deleted []Object
	// Pods are the pods Drain deleted because they used a deleted claim, which stays until they stop.
	Pods []Object
	// TimedOut are the objects still there when the timeout passed, each with what holds it.
	TimedOut []Pending
}

// Pending is an object that did not go in time.
type Pending struct {
	Object
	Why string // its finalizers, or the volume's phase
}

func (p Pending) String() string { return p.Object.String() + ": " + p.Why }

// Drain does what plan says: scales the autoscaler to zero; deletes the Ingresses first, while the controller
// that owns their finalizers still runs, then the LoadBalancer Services, then the claims, and the pods that use
// those claims (a claim stays while a scheduled pod uses it); then waits, up to the timeout, until every deleted
// object and every volume of plan.Volumes is gone. A volume's PersistentVolume goes once its provisioner (the EBS
// CSI driver) has deleted the EBS volume. What did not go in time is in TimedOut, not an error; an error is a
// call the API refused.
func Drain(ctx context.Context, client kubernetes.Interface, plan Plan, opts DrainOptions) (DrainReport, error) {
	timeout, poll, log := opts.Timeout, opts.Poll, opts.Log
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	if poll <= 0 {
		poll = 2 * time.Second
	}
	if log == nil {
		log = io.Discard
	}
	var rep DrainReport
	if a := plan.Autoscaler; a != nil {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			dep, err := client.AppsV1().Deployments(a.Namespace).Get(ctx, a.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			dep.Spec.Replicas = new(int32(0))
			_, err = client.AppsV1().Deployments(a.Namespace).Update(ctx, dep, metav1.UpdateOptions{})
			return err
		})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return rep, fmt.Errorf("scale %s to 0: %w", a, err)
		default:
			rep.ScaledDown = a
			fmt.Fprintf(log, "scaled %s to 0\n", a)
		}
	}

	deleted := plan.Deletes()
	for _, o := range deleted {
		if err := deleteObject(ctx, client, o); err != nil {
			return rep, fmt.Errorf("delete %s: %w", o, err)
		}
		fmt.Fprintf(log, "deleted %s\n", o)
	}
	pods, err := claimUsers(ctx, client, plan.Claims)
	if err != nil {
		return rep, err
	}
	for _, o := range pods {
		if err := deleteObject(ctx, client, o); err != nil {
			return rep, fmt.Errorf("delete %s: %w", o, err)
		}
		fmt.Fprintf(log, "deleted %s, which used a deleted claim\n", o)
	}
	rep.Pods = pods

	waitFor := slices.Clone(deleted)
	for _, v := range plan.Volumes {
		waitFor = append(waitFor, Object{Kind: "PersistentVolume", Name: v.Name})
	}
	deadline := time.Now().Add(timeout) // clock: a polling deadline
	for {
		var still []Object
		for _, o := range waitFor {
			exists, err := present(ctx, client, o)
			if err != nil {
				return rep, fmt.Errorf("get %s: %w", o, err)
			}
			if exists {
				still = append(still, o)
			} else {
				rep.Deleted = append(rep.Deleted, o)
				fmt.Fprintf(log, "%s is gone\n", o)
			}
		}
		waitFor = still
		if len(waitFor) == 0 || !time.Now().Before(deadline) { // clock: a polling deadline
			break
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(poll): // clock: a polling interval
		}
	}
	for _, o := range waitFor {
		p := Pending{Object: o, Why: holds(ctx, client, o)}
		rep.TimedOut = append(rep.TimedOut, p)
		fmt.Fprintf(log, "still there after %s: %s\n", timeout, p)
	}
	return rep, nil
}

// claimUsers are the scheduled pods, not already terminating, that mount one of claims.
func claimUsers(ctx context.Context, client kubernetes.Interface, claims []Object) ([]Object, error) {
	byNS := map[string][]string{}
	for _, c := range claims {
		byNS[c.Namespace] = append(byNS[c.Namespace], c.Name)
	}
	var out []Object
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list pods in %s: %w", ns, err)
		}
		for _, pod := range pods.Items {
			// The PVC protection controller counts only scheduled pods as users.
			if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
				continue
			}
			if slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool {
				return v.PersistentVolumeClaim != nil && slices.Contains(byNS[ns], v.PersistentVolumeClaim.ClaimName)
			}) {
				out = append(out, Object{Kind: "Pod", Namespace: ns, Name: pod.Name})
			}
		}
	}
	return out, nil
}

func deleteObject(ctx context.Context, client kubernetes.Interface, o Object) error {
	var err error
	switch o.Kind {
	case "Ingress":
		err = client.NetworkingV1().Ingresses(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{})
	case "Service":
		err = client.CoreV1().Services(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{})
	case "PersistentVolumeClaim":
		err = client.CoreV1().PersistentVolumeClaims(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{})
	case "Pod":
		err = client.CoreV1().Pods(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{})
	default:
		return fmt.Errorf("cannot delete a %s", o.Kind)
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// present says whether o still exists.
func present(ctx context.Context, client kubernetes.Interface, o Object) (bool, error) {
	_, err := get(ctx, client, o)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func get(ctx context.Context, client kubernetes.Interface, o Object) (metav1.Object, error) {
	switch o.Kind {
	case "Ingress":
		return client.NetworkingV1().Ingresses(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case "Service":
		return client.CoreV1().Services(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case "PersistentVolumeClaim":
		return client.CoreV1().PersistentVolumeClaims(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	case "PersistentVolume":
		return client.CoreV1().PersistentVolumes().Get(ctx, o.Name, metav1.GetOptions{})
	}
	return nil, fmt.Errorf("cannot get a %s", o.Kind)
}

// holds says what keeps o: its finalizers, and a volume's phase.
func holds(ctx context.Context, client kubernetes.Interface, o Object) string {
	obj, err := get(ctx, client, o)
	if err != nil {
		return err.Error()
	}
	var why []string
	if pv, ok := obj.(*corev1.PersistentVolume); ok {
		why = append(why, "phase "+string(pv.Status.Phase))
	}
	if f := obj.GetFinalizers(); len(f) > 0 {
		why = append(why, "finalizers "+strings.Join(f, ", "))
	}
	if obj.GetDeletionTimestamp() == nil && o.Kind != "PersistentVolume" {
		why = append(why, "not being deleted")
	}
	if len(why) == 0 {
		return "being deleted"
	}
	return strings.Join(why, "; ")
}
