package incluster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// These tests use client-go's fake clientset: its object tracker lists, gets, updates and deletes as the API
// server does, but deletes at once whatever the finalizers and runs no controller. Drain against finalizers and
// real controllers is TestKubeDestroyDrain's (test/kubeapi).

func meta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name)}
}

func newDeployment(ns, name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: meta(ns, name), Spec: appsv1.DeploymentSpec{Replicas: new(replicas)}}
}

func newIngress(ns, name string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: meta(ns, name)}
}

func newService(ns, name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{ObjectMeta: meta(ns, name), Spec: corev1.ServiceSpec{Type: typ}}
}

func newClaim(ns, name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: meta(ns, name), Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume}}
}

// newVolume is a PV bound to claim ns/name (none when claim is ""), provisioned by provisioner ("" for one made by
// hand), backed by the CSI handle or, when it starts with aws://, the in-tree EBS volume.
func newVolume(name, claim, provisioner string, policy corev1.PersistentVolumeReclaimPolicy, handle string) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:   corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: policy},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}}
	if provisioner != "" {
		pv.Annotations = map[string]string{ProvisionedByAnnotation: provisioner}
	}
	if claim != "" {
		ns, n, _ := strings.Cut(claim, "/")
		pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: n, UID: meta(ns, n).UID}
	}
	if strings.HasPrefix(handle, "aws://") {
		pv.Spec.AWSElasticBlockStore = &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: handle}
	} else {
		pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: handle}
	}
	return pv
}

// world is a cluster as destroy finds it: an autoscaler, ingresses, services of each type, and volumes of every
// kind destroy tells apart.
func world() []runtime.Object {
	const csi = "ebs.csi.aws.com"
	del, ret := corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain
	recreated := newClaim("app", "recreated", "pv-stale")
	recreated.UID = "a-new-claim" // same name as the volume's claimRef, another claim
	return []runtime.Object{
		newDeployment(AutoscalerNamespace, AutoscalerName, 1),
		newDeployment("app", AutoscalerName, 3), // not the cluster's autoscaler
		newIngress("app", "web"), newIngress("shop", "store"),
		newService("app", "web", corev1.ServiceTypeLoadBalancer),
		newService("app", "internal", corev1.ServiceTypeClusterIP),
		newService("app", "nodes", corev1.ServiceTypeNodePort),
		newService("shop", "nlb", corev1.ServiceTypeLoadBalancer),
		// Dynamically provisioned, Delete, bound: the claim goes, the volume with it.
		newClaim("app", "data", "pv-data"), newVolume("pv-data", "app/data", csi, del, "vol-0aaa"),
		// Dynamically provisioned, Retain: left, listed; its claim too is left.
		newClaim("app", "keep", "pv-keep"), newVolume("pv-keep", "app/keep", csi, ret, "vol-0bbb"),
		// Retain, in-tree, made by hand: left, with the volume ID out of aws://ZONE/ID.
		newVolume("pv-legacy", "", "", ret, "aws://us-east-1a/vol-0ccc"),
		// Delete but made by hand: not the cluster's to delete.
		newClaim("app", "static", "pv-static"), newVolume("pv-static", "app/static", "", del, "vol-0ddd"),
		// Released: its claim is gone and the provisioner deletes it; waited for, nothing to delete.
		newVolume("pv-released", "app/gone", csi, del, "vol-0eee"),
		// The claimRef names a claim since recreated under the same name: not bound to it, so that claim stays.
		recreated, newVolume("pv-stale", "app/recreated", csi, del, "vol-0fff"),
		// A claim not bound to anything.
		newClaim("app", "pending", ""),
	}
}

func names(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.String())
	}
	return out
}

func TestScanForDestroy(t *testing.T) {
	p, err := ScanForDestroy(context.Background(), fake.NewClientset(world()...))
	if err != nil {
		t.Fatal(err)
	}
	if p.Autoscaler == nil || *p.Autoscaler != (Object{"Deployment", "kube-system", "cluster-autoscaler"}) || p.AutoscalerReplicas != 1 {
		t.Errorf("autoscaler %v (%d replicas), want kube-system/cluster-autoscaler with 1", p.Autoscaler, p.AutoscalerReplicas)
	}
	if got, want := names(p.Ingresses), []string{"Ingress app/web", "Ingress shop/store"}; !slices.Equal(got, want) {
		t.Errorf("ingresses %v, want %v", got, want)
	}
	if got, want := names(p.LoadBalancers), []string{"Service app/web", "Service shop/nlb"}; !slices.Equal(got, want) {
		t.Errorf("load balancer services %v, want %v", got, want)
	}
	if got, want := names(p.Claims), []string{"PersistentVolumeClaim app/data"}; !slices.Equal(got, want) {
		t.Errorf("claims %v, want %v", got, want)
	}
	wantVolumes := []Volume{
		{Name: "pv-data", Claim: "app/data", VolumeID: "vol-0aaa", Provisioner: "ebs.csi.aws.com", Policy: corev1.PersistentVolumeReclaimDelete},
		{Name: "pv-released", VolumeID: "vol-0eee", Provisioner: "ebs.csi.aws.com", Policy: corev1.PersistentVolumeReclaimDelete},
		{Name: "pv-stale", VolumeID: "vol-0fff", Provisioner: "ebs.csi.aws.com", Policy: corev1.PersistentVolumeReclaimDelete},
	}
	if !slices.Equal(p.Volumes, wantVolumes) {
		t.Errorf("volumes to wait for\n%+v\nwant\n%+v", p.Volumes, wantVolumes)
	}
	wantRetained := []Volume{
		{Name: "pv-keep", Claim: "app/keep", VolumeID: "vol-0bbb", Provisioner: "ebs.csi.aws.com", Policy: corev1.PersistentVolumeReclaimRetain},
		{Name: "pv-legacy", VolumeID: "vol-0ccc", Policy: corev1.PersistentVolumeReclaimRetain},
	}
	if !slices.Equal(p.Retained, wantRetained) {
		t.Errorf("retained\n%+v\nwant\n%+v", p.Retained, wantRetained)
	}
	want := []string{"Ingress app/web", "Ingress shop/store", "Service app/web", "Service shop/nlb", "PersistentVolumeClaim app/data"}
	if got := names(p.Deletes()); !slices.Equal(got, want) {
		t.Errorf("deletes %v, want %v (ingresses, then services, then claims)", got, want)
	}
	var b strings.Builder
	p.Write(&b, true)
	for _, line := range []string{
		"would scale Deployment kube-system/cluster-autoscaler (1 replicas) to 0",
		"would delete Ingress app/web",
		"would delete PersistentVolumeClaim app/data",
		"would wait for its provisioner to delete PersistentVolume pv-data (EBS volume vol-0aaa, claim app/data, reclaim policy Delete)",
		"would leave PersistentVolume pv-keep (EBS volume vol-0bbb, claim app/keep, reclaim policy Retain)",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("listing lacks %q:\n%s", line, b.String())
		}
	}
}

// An autoscaler already at zero, or none, is nothing to scale; an empty cluster is an empty plan.
func TestScanForDestroyEmpty(t *testing.T) {
	p, err := ScanForDestroy(context.Background(), fake.NewClientset(newDeployment(AutoscalerNamespace, AutoscalerName, 0)))
	if err != nil || p.Autoscaler != nil || !p.Empty() {
		t.Errorf("autoscaler at 0: %+v, %v; want an empty plan", p, err)
	}
	p, err = ScanForDestroy(context.Background(), fake.NewClientset())
	if err != nil || !p.Empty() {
		t.Errorf("empty cluster: %+v, %v", p, err)
	}
}

// A refused list is an error, not an empty plan: destroy must not take "forbidden" for "nothing there".
func TestScanForDestroyError(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errForbidden
	})
	if _, err := ScanForDestroy(context.Background(), c); err == nil || !strings.Contains(err.Error(), "list services") {
		t.Errorf("forbidden list: %v", err)
	}
}

var errForbidden = &forbidden{}

type forbidden struct{}

func (*forbidden) Error() string { return "services is forbidden" }

// withPods adds pods using claim app/data: one scheduled (Drain deletes it), one unscheduled and one in another
// namespace (neither counts as a user of the claim).
func withPods(objs []runtime.Object) []runtime.Object {
	pod := func(ns, name, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: meta(ns, name), Spec: corev1.PodSpec{NodeName: node,
			Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}}
	}
	return append(objs, pod("app", "db-0", "node-a"), pod("app", "db-1", ""), pod("shop", "other", "node-a"))
}

// Drain scales the autoscaler to zero, deletes in order (ingresses, services, claims, then the claims' pods) and
// reports each object gone; the volumes go when the provisioner, played here by a reactor, deletes them.
func TestDrain(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset(withPods(world())...)
	p, err := ScanForDestroy(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// The provisioner: a deleted claim's volume goes; so does the one already released, and the stale one.
	c.PrependReactor("delete", "persistentvolumeclaims", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.DeleteAction).GetName() == "data" {
			for _, pv := range []string{"pv-data", "pv-released", "pv-stale"} {
				if err := c.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumes"), "", pv); err != nil {
					t.Error(err)
				}
			}
		}
		return false, nil, nil
	})
	c.ClearActions()
	var log strings.Builder
	rep, err := Drain(ctx, c, p, DrainOptions{Timeout: time.Second, Poll: 10 * time.Millisecond, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := c.AppsV1().Deployments(AutoscalerNamespace).Get(ctx, AutoscalerName, metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 0 || rep.ScaledDown == nil {
		t.Errorf("autoscaler: %v replicas, %v; reported %v", dep.Spec.Replicas, err, rep.ScaledDown)
	}
	if other, _ := c.AppsV1().Deployments("app").Get(ctx, AutoscalerName, metav1.GetOptions{}); *other.Spec.Replicas != 3 {
		t.Errorf("app/cluster-autoscaler scaled to %d: not the cluster's", *other.Spec.Replicas)
	}
	var deletes []string
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok {
			deletes = append(deletes, d.GetResource().Resource+" "+d.GetNamespace()+"/"+d.GetName())
		}
	}
	wantDeletes := []string{"ingresses app/web", "ingresses shop/store", "services app/web", "services shop/nlb",
		"persistentvolumeclaims app/data", "pods app/db-0"}
	if !slices.Equal(deletes, wantDeletes) {
		t.Errorf("deletes in order %v, want %v", deletes, wantDeletes)
	}
	if got, want := names(rep.Pods), []string{"Pod app/db-0"}; !slices.Equal(got, want) {
		t.Errorf("pods %v, want %v", got, want)
	}
	wantGone := []string{"Ingress app/web", "Ingress shop/store", "Service app/web", "Service shop/nlb",
		"PersistentVolumeClaim app/data", "PersistentVolume pv-data", "PersistentVolume pv-released", "PersistentVolume pv-stale"}
	if got := names(rep.Deleted); !slices.Equal(got, wantGone) || len(rep.TimedOut) != 0 {
		t.Errorf("gone %v, timed out %v; want %v and nothing timed out", got, rep.TimedOut, wantGone)
	}
	for _, kept := range []string{"pv-keep", "pv-legacy", "pv-static"} {
		if _, err := c.CoreV1().PersistentVolumes().Get(ctx, kept, metav1.GetOptions{}); err != nil {
			t.Errorf("%s: %v; want it left", kept, err)
		}
	}
	if !strings.Contains(log.String(), "deleted Pod app/db-0, which used a deleted claim") {
		t.Errorf("log:\n%s", log.String())
	}
}

// With no provisioner to delete the volume, the wait ends at the timeout and reports what still holds it.
func TestDrainTimesOut(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset(world()...)
	p, err := ScanForDestroy(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Drain(ctx, c, p, DrainOptions{Timeout: 50 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pe := range rep.TimedOut {
		got = append(got, pe.String())
	}
	want := []string{"PersistentVolume pv-data: phase Bound", "PersistentVolume pv-released: phase Bound", "PersistentVolume pv-stale: phase Bound"}
	if !slices.Equal(got, want) {
		t.Errorf("timed out %v, want %v", got, want)
	}
	if slices.Contains(names(rep.Deleted), "PersistentVolume pv-data") || !slices.Contains(names(rep.Deleted), "PersistentVolumeClaim app/data") {
		t.Errorf("deleted %v", names(rep.Deleted))
	}
}
