package kubeapi

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Eventually polls cond every 200ms until it holds or timeout passes, then fails with what cond last said.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout) // clock: a polling deadline
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) { // clock: a polling deadline
			t.Fatalf("%s: not within %s; last: %s", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond) // clock: a polling interval
	}
}

// CreateNode creates a Node object: no kubelet backs it.
func CreateNode(t testing.TB, ctx context.Context, c kubernetes.Interface, name string) {
	t.Helper()
	if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// PauseContainer is a pod's only container: no kubelet runs it.
func PauseContainer() []corev1.Container {
	return []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10"}}
}

// DestroyWorkload is what destroy must ask Kubernetes about, created by CreateDestroyWorkload.
type DestroyWorkload struct {
	// DataVolume and ArchiveVolume are the EBS volume IDs behind pv-data and pv-archive (the e2e tests create them
	// in moto; any string otherwise).
	DataVolume, ArchiveVolume string
	// SlowProvisioner, when set, adds claim app/slow bound to pv-slow, provisioned by that driver, which nothing
	// plays: its volume never goes.
	SlowProvisioner string
}

// Create creates, with Cloud running to add its finalizers:
//
//   - the Cluster Autoscaler's Deployment (kube-system/cluster-autoscaler, one replica);
//   - Ingress app/web and Service app/web-lb of type LoadBalancer (and a ClusterIP Service app/web, which stays);
//   - claim app/data bound to pv-data, a volume as the EBS CSI provisioner makes it (provisioned-by
//     ebs.csi.aws.com, reclaim policy Delete, volume handle DataVolume): the harness plays the provisioner's
//     create;
//   - pod app/db-0 on node-a using claim app/data, so that the claim stays until the pod goes;
//   - claim app/archive bound to pv-archive, provisioned the same way with reclaim policy Retain (ArchiveVolume).
//
// It returns once kube-controller-manager's binder has bound claim app/data and Cloud's finalizers are on.
func (w DestroyWorkload) Create(t testing.TB, ctx context.Context, c kubernetes.Interface) {
	t.Helper()
	const ns = "app"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	CreateNode(t, ctx, c, "node-a")
	labels := map[string]string{"app": "cluster-autoscaler"}
	must(c.AppsV1().Deployments("kube-system").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-autoscaler"},
		Spec: appsv1.DeploymentSpec{Replicas: new(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: PauseContainer()}}},
	}, metav1.CreateOptions{}))
	pathType := networkingv1.PathTypePrefix
	must(c.NetworkingV1().Ingresses(ns).Create(ctx, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{IngressClassName: new("alb"), Rules: []networkingv1.IngressRule{{
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}, metav1.CreateOptions{}))
	for _, svc := range []struct {
		name string
		typ  corev1.ServiceType
	}{{"web-lb", corev1.ServiceTypeLoadBalancer}, {"web", corev1.ServiceTypeClusterIP}} {
		must(c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: svc.name},
			Spec: corev1.ServiceSpec{Type: svc.typ, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
	}
	volume := func(claim, pv, provisioner, handle string, policy corev1.PersistentVolumeReclaimPolicy) {
		t.Helper()
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: claim},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: new("tapstack-gp3"), VolumeName: pv,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		must(c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pv, Annotations: map[string]string{provisionedBy: provisioner}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: policy, StorageClassName: "tapstack-gp3",
				ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: claim, UID: pvc.UID},
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
					Driver: provisioner, VolumeHandle: handle, FSType: "ext4"}},
			},
		}, metav1.CreateOptions{}))
	}
	volume("data", "pv-data", EBSProvisioner, w.DataVolume, corev1.PersistentVolumeReclaimDelete)
	volume("archive", "pv-archive", EBSProvisioner, w.ArchiveVolume, corev1.PersistentVolumeReclaimRetain)
	if w.SlowProvisioner != "" {
		volume("slow", "pv-slow", w.SlowProvisioner, "vol-0slow", corev1.PersistentVolumeReclaimDelete)
	}
	must(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0"}, Spec: corev1.PodSpec{
		NodeName: "node-a", Containers: PauseContainer(),
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}}, metav1.CreateOptions{}))

	Eventually(t, time.Minute, "claims bound and finalizers on", func() (bool, string) {
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if pvc.Status.Phase != corev1.ClaimBound {
			return false, "claim app/data is " + string(pvc.Status.Phase)
		}
		svc, err := c.CoreV1().Services(ns).Get(ctx, "web-lb", metav1.GetOptions{})
		if err != nil || !slices.Contains(svc.Finalizers, LoadBalancerCleanupFinalizer) {
			return false, "service app/web-lb has no finalizer yet"
		}
		in, err := c.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || !slices.Contains(in.Finalizers, IngressFinalizer) {
			return false, "ingress app/web has no finalizer yet"
		}
		return true, ""
	})
}
