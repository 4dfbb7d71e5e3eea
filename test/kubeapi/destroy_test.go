package kubeapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/test/kubeapi"
)

// DestroyWorkload creates in namespace app what destroy must ask Kubernetes about, with the harness (Cloud)
// playing the controllers that cannot run here:
//
//   - the Cluster Autoscaler's Deployment (kube-system/cluster-autoscaler, one replica);
//   - Ingress app/web and Service app/web-lb of type LoadBalancer, which Cloud gives its finalizers;
//   - claim app/data bound to pv-data, a volume as the EBS CSI provisioner makes it (provisioned-by
//     ebs.csi.aws.com, reclaim policy Delete, volume handle vol-0data): the test plays the provisioner's create;
//   - pod app/db-0 on node-a using claim app/data, so that the claim stays until the pod goes;
//   - claim app/archive bound to pv-archive, provisioned the same way with reclaim policy Retain (vol-0archive).
//
// slowProvisioner, when set, adds claim app/slow bound to pv-slow, provisioned by a driver nothing plays, so its
// volume never goes.
func DestroyWorkload(t *testing.T, ctx context.Context, c kubernetes.Interface, slowProvisioner string) {
	t.Helper()
	const ns = "app"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	node(t, ctx, c, "node-a")
	labels := map[string]string{"app": "cluster-autoscaler"}
	must(c.AppsV1().Deployments("kube-system").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-autoscaler"},
		Spec: appsv1.DeploymentSpec{Replicas: new(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: pauseContainer()}}},
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
			ObjectMeta: metav1.ObjectMeta{Name: pv, Annotations: map[string]string{incluster.ProvisionedByAnnotation: provisioner}},
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
	volume("data", "pv-data", kubeapi.EBSProvisioner, "vol-0data", corev1.PersistentVolumeReclaimDelete)
	volume("archive", "pv-archive", kubeapi.EBSProvisioner, "vol-0archive", corev1.PersistentVolumeReclaimRetain)
	if slowProvisioner != "" {
		volume("slow", "pv-slow", slowProvisioner, "vol-0slow", corev1.PersistentVolumeReclaimDelete)
	}
	must(c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0"}, Spec: corev1.PodSpec{
		NodeName: "node-a", Containers: pauseContainer(),
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}}, metav1.CreateOptions{}))

	// The binder binds both sides, and Cloud's finalizers are on: what Drain has to wait for.
	eventually(t, time.Minute, "claims bound and finalizers on", func() (bool, string) {
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil || pvc.Status.Phase != corev1.ClaimBound {
			return false, "claim app/data: " + phaseOf(pvc, err)
		}
		svc, err := c.CoreV1().Services(ns).Get(ctx, "web-lb", metav1.GetOptions{})
		if err != nil || !slices.Contains(svc.Finalizers, kubeapi.LoadBalancerCleanupFinalizer) {
			return false, "service app/web-lb has no finalizer yet"
		}
		in, err := c.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || !slices.Contains(in.Finalizers, kubeapi.IngressFinalizer) {
			return false, "ingress app/web has no finalizer yet"
		}
		return true, ""
	})
}

func phaseOf(pvc *corev1.PersistentVolumeClaim, err error) string {
	if err != nil {
		return err.Error()
	}
	return string(pvc.Status.Phase)
}

// TestKubeDestroyDrain runs destroy's Kubernetes side against the API server and kube-controller-manager, with
// Cloud playing the load balancer controllers, the EBS CSI provisioner and the kubelet's pod termination: the
// scan finds the autoscaler, the Ingress, the LoadBalancer Service and the Delete claim, and lists the Retain
// volume; Drain scales the autoscaler to 0, deletes them (and the pod holding the claim), waits until the
// controllers released them and the volume's object went, and leaves the Retain volume. A volume whose
// provisioner never acts is reported as timed out, not waited for forever.
func TestKubeDestroyDrain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := kubeapi.Start(t, kubeapi.Options{ControllerManager: true})
	c, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	cloud := &kubeapi.Cloud{Client: c}
	cloud.Start(t)
	DestroyWorkload(t, ctx, c, "slow.csi.example.com")

	plan, err := incluster.ScanForDestroy(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	wantDeletes := []string{"Ingress app/web", "Service app/web-lb", "PersistentVolumeClaim app/data", "PersistentVolumeClaim app/slow"}
	if got := objectNames(plan.Deletes()); !slices.Equal(got, wantDeletes) {
		t.Errorf("plan deletes %v, want %v", got, wantDeletes)
	}
	if plan.Autoscaler == nil || plan.AutoscalerReplicas != 1 {
		t.Errorf("plan's autoscaler %v (%d)", plan.Autoscaler, plan.AutoscalerReplicas)
	}
	if len(plan.Retained) != 1 || plan.Retained[0].Name != "pv-archive" || plan.Retained[0].VolumeID != "vol-0archive" || plan.Retained[0].Claim != "app/archive" {
		t.Errorf("retained %+v, want pv-archive (vol-0archive, claim app/archive)", plan.Retained)
	}

	var log strings.Builder
	rep, err := incluster.Drain(ctx, c, plan, incluster.DrainOptions{Timeout: 30 * time.Second, Poll: 200 * time.Millisecond, Log: &log})
	if err != nil {
		t.Fatalf("drain: %v\n%s", err, log.String())
	}
	wantGone := []string{"Ingress app/web", "Service app/web-lb", "PersistentVolumeClaim app/data",
		"PersistentVolumeClaim app/slow", "PersistentVolume pv-data"}
	if got := objectNames(rep.Deleted); !sameSet(got, wantGone) {
		t.Errorf("gone %v, want %v\n%s\n%s", got, wantGone, log.String(), srv.Logs())
	}
	if len(rep.TimedOut) != 1 || rep.TimedOut[0].Object.String() != "PersistentVolume pv-slow" || !strings.Contains(rep.TimedOut[0].Why, "phase Released") {
		t.Errorf("timed out %v, want pv-slow, released", rep.TimedOut)
	}
	if got := objectNames(rep.Pods); !slices.Equal(got, []string{"Pod app/db-0"}) {
		t.Errorf("pods deleted %v, want app/db-0 (it held claim app/data)", got)
	}
	if rep.ScaledDown == nil {
		t.Error("the autoscaler was not reported scaled down")
	}
	dep, err := c.AppsV1().Deployments("kube-system").Get(ctx, "cluster-autoscaler", metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 0 {
		t.Errorf("autoscaler: %v, %v; want 0 replicas", dep, err)
	}
	wantCloud := []string{"load balancer of Ingress app/web", "load balancer of Service app/web-lb", "volume vol-0data"}
	if got := cloud.Deleted(); !sameSet(got, wantCloud) {
		t.Errorf("the played controllers deleted %v, want %v", got, wantCloud)
	}
	// Left: the Retain volume and its claim, the ClusterIP Service.
	if pv, err := c.CoreV1().PersistentVolumes().Get(ctx, "pv-archive", metav1.GetOptions{}); err != nil || pv.DeletionTimestamp != nil {
		t.Errorf("pv-archive: %v; want it left", err)
	}
	if _, err := c.CoreV1().PersistentVolumeClaims("app").Get(ctx, "archive", metav1.GetOptions{}); err != nil {
		t.Errorf("claim app/archive: %v; want it left", err)
	}
	if _, err := c.CoreV1().Services("app").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("ClusterIP Service app/web: %v; want it left", err)
	}
	if _, err := c.CoreV1().PersistentVolumes().Get(ctx, "pv-data", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pv-data: %v; want it gone", err)
	}
}

func objectNames(objs []incluster.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.String())
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
