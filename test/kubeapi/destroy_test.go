package kubeapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/test/kubeapi"
)

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
	kubeapi.DestroyWorkload{DataVolume: "vol-0data", ArchiveVolume: "vol-0archive", SlowProvisioner: "slow.csi.example.com"}.Create(t, ctx, c)

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
