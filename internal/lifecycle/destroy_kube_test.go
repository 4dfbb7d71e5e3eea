package lifecycle

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tapstack/tapstack/internal/cleanup"
	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/config"
)

// workload is a cluster destroy must ask first, in client-go's fake clientset: the autoscaler, an Ingress, a
// LoadBalancer Service, claim app/data on a dynamically provisioned Delete volume, and a Retain volume.
func workload() []runtime.Object {
	pv := func(name, claim string, policy corev1.PersistentVolumeReclaimPolicy, handle string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{incluster.ProvisionedByAnnotation: "ebs.csi.aws.com"}},
			Spec: corev1.PersistentVolumeSpec{PersistentVolumeReclaimPolicy: policy,
				ClaimRef:               &corev1.ObjectReference{Namespace: "app", Name: claim},
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: handle}}},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}}
	}
	claim := func(name, volume string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume}}
	}
	return []runtime.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "cluster-autoscaler"},
			Spec: appsv1.DeploymentSpec{Replicas: new(int32(1))}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-lb"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
		claim("data", "pv-data"), pv("pv-data", "data", corev1.PersistentVolumeReclaimDelete, "vol-0data"),
		claim("archive", "pv-archive"), pv("pv-archive", "archive", corev1.PersistentVolumeReclaimRetain, "vol-0archive"),
	}
}

// fakeCluster connects to an empty cluster of client-go's fake clientset, for workflows run without the harness.
func fakeCluster() KubeClient {
	c := fake.NewClientset()
	return func(context.Context, *config.Config) (kubernetes.Interface, error) { return c, nil }
}

// clusterState is a state with the cluster and its VPC.
func clusterState() *tfjson.State {
	return state(resource("aws_vpc.vpc", map[string]any{"id": "vpc-1"}),
		resource("aws_eks_cluster.eks_cluster", map[string]any{"name": "eks-cluster-v1-ut"}))
}

// vpcOfCluster is the VPC scan of a cluster whose Service app/web-lb has a load balancer: found while the Service
// exists (its controller deletes it once the Service goes), unless stuck, when it stays.
type vpcOfCluster struct {
	kube    kubernetes.Interface
	stuck   bool
	removed []cleanup.Item
}

var lbItem = cleanup.Item{Kind: cleanup.LoadBalancer, ID: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/k8s-app-weblb/1"}

func (v *vpcOfCluster) Find(ctx context.Context, _ cleanup.Target) ([]cleanup.Item, error) {
	if len(v.removed) > 0 {
		return nil, nil
	}
	_, err := v.kube.CoreV1().Services("app").Get(ctx, "web-lb", metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !v.stuck {
		return nil, nil
	}
	return []cleanup.Item{lbItem}, nil
}
func (v *vpcOfCluster) Remove(_ context.Context, items []cleanup.Item) error {
	v.removed = append(v.removed, items...)
	return nil
}
func (v *vpcOfCluster) DeleteLogGroup(context.Context, string) (bool, error) { return false, nil }

// destroyWorld is a harness whose cluster holds workload(), with the provisioner played by a reactor: a deleted
// claim's volume goes.
func destroyWorld(t *testing.T) (*harness, *fake.Clientset, *vpcOfCluster) {
	h := newHarness(t, clusterState())
	c := fake.NewClientset(workload()...)
	c.PrependReactor("delete", "persistentvolumeclaims", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.DeleteAction).GetName() == "data" {
			_ = c.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumes"), "", "pv-data")
		}
		return false, nil, nil
	})
	h.kube = c
	return h, c, &vpcOfCluster{kube: c}
}

func (v *vpcOfCluster) cleaner() func(context.Context, *config.Config, io.Writer) (Cleaner, error) {
	return func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return v, nil }
}

func present(t *testing.T, c kubernetes.Interface) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	if _, err := c.NetworkingV1().Ingresses("app").Get(ctx, "web", metav1.GetOptions{}); err == nil {
		out = append(out, "ingress app/web")
	}
	if _, err := c.CoreV1().Services("app").Get(ctx, "web-lb", metav1.GetOptions{}); err == nil {
		out = append(out, "service app/web-lb")
	}
	for _, name := range []string{"data", "archive"} {
		if _, err := c.CoreV1().PersistentVolumeClaims("app").Get(ctx, name, metav1.GetOptions{}); err == nil {
			out = append(out, "claim app/"+name)
		}
	}
	for _, name := range []string{"pv-data", "pv-archive"} {
		if _, err := c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			out = append(out, "volume "+name)
		}
	}
	return out
}

// Without --yes, destroy lists what it would delete in the cluster and the Retain volume it would leave, and
// refuses: nothing deleted there, no engine destroy.
func TestDestroyAsksKubernetesRefusesWithoutYes(t *testing.T) {
	h, c, vpc := destroyWorld(t)
	before := present(t, c)
	res, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Cleaner: vpc.cleaner(),
		Confirm: func(string) bool { return true }})
	var ie *InClusterError
	if !errors.As(err, &ie) || !Refused(err) || ie.Cluster != "eks-cluster-v1-ut" || len(ie.Plan.Deletes()) != 3 {
		t.Fatalf("error %v (%T), want a refusing *InClusterError naming 3 objects", err, err)
	}
	if slices.Contains(h.eng.runs, "destroy") || len(vpc.removed) != 0 || !slices.Equal(present(t, c), before) {
		t.Errorf("refused, yet: runs %q, removed %v, cluster now %v (was %v)", h.runs(), vpc.removed, present(t, c), before)
	}
	if res.Kubernetes == nil || len(res.Kubernetes.Retained) != 1 {
		t.Errorf("result's plan %+v", res.Kubernetes)
	}
	for _, line := range []string{
		"cluster eks-cluster-v1-ut, before the stack:",
		"would scale Deployment kube-system/cluster-autoscaler (1 replicas) to 0",
		"would delete Ingress app/web", "would delete Service app/web-lb", "would delete PersistentVolumeClaim app/data",
		"would leave PersistentVolume pv-archive (EBS volume vol-0archive, claim app/archive, reclaim policy Retain)",
		"Kubernetes left 1 object(s) in VPC vpc-1",
	} {
		if !strings.Contains(h.pr.log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, h.pr.log.String())
		}
	}
}

// With --yes, destroy drains the cluster before Terraform runs: the autoscaler at 0, the Ingress, the Service and
// the claim deleted and the Delete volume gone; the load balancer the Service had goes with it (its controller),
// so nothing is left for the VPC scan to remove; the Retain volume and its claim stay.
func TestDestroyAsksKubernetesFirst(t *testing.T) {
	h, c, vpc := destroyWorld(t)
	var atDestroy []string
	h.eng.onDestroy = func() { atDestroy = present(t, c) }
	res, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Yes: true, Cleaner: vpc.cleaner(),
		Drain:          incluster.DrainOptions{Timeout: time.Second, Poll: 10 * time.Millisecond},
		ReleaseTimeout: time.Second, ReleasePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"claim app/archive", "volume pv-archive"}; !slices.Equal(atDestroy, want) {
		t.Errorf("when Terraform destroyed, the cluster held %v; want only %v", atDestroy, want)
	}
	if len(vpc.removed) != 0 {
		t.Errorf("the VPC scan removed %v; the controller had released the load balancer", vpc.removed)
	}
	if res.Drained == nil || len(res.Drained.TimedOut) != 0 || res.Drained.ScaledDown == nil {
		t.Fatalf("drained %+v", res.Drained)
	}
	var gone []string
	for _, o := range res.Drained.Deleted {
		gone = append(gone, o.String())
	}
	if want := []string{"Ingress app/web", "Service app/web-lb", "PersistentVolumeClaim app/data", "PersistentVolume pv-data"}; !slices.Equal(gone, want) {
		t.Errorf("deleted %v, want %v", gone, want)
	}
	dep, _ := c.AppsV1().Deployments("kube-system").Get(context.Background(), "cluster-autoscaler", metav1.GetOptions{})
	if *dep.Spec.Replicas != 0 {
		t.Errorf("autoscaler at %d replicas", *dep.Spec.Replicas)
	}
	if res.KubernetesSkipped != "" || !slices.Contains(h.pr.phases, "kubernetes") || !slices.Contains(h.pr.phases, "release") {
		t.Errorf("skipped %q, phases %v", res.KubernetesSkipped, h.pr.phases)
	}
	for _, line := range []string{"will delete Ingress app/web", "deleted Ingress app/web", "PersistentVolume pv-data is gone",
		"will leave PersistentVolume pv-archive", "nothing outside Terraform found in VPC vpc-1"} {
		if !strings.Contains(h.pr.log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, h.pr.log.String())
		}
	}
}

// A load balancer its controller does not delete in time is removed by the VPC scan, as before.
func TestDestroyRemovesWhatTheControllerLeft(t *testing.T) {
	h, _, vpc := destroyWorld(t)
	vpc.stuck = true
	if _, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Yes: true, Cleaner: vpc.cleaner(),
		Drain:          incluster.DrainOptions{Timeout: time.Second, Poll: 10 * time.Millisecond},
		ReleaseTimeout: 50 * time.Millisecond, ReleasePoll: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(vpc.removed, []cleanup.Item{lbItem}) || !slices.Contains(h.eng.runs, "destroy") {
		t.Errorf("removed %v, runs %q; want the stuck load balancer removed, then destroy", vpc.removed, h.runs())
	}
}

// A cluster that cannot be reached leaves the VPC scan alone, and destroy says so.
func TestDestroyFallsBackToTheVPCScan(t *testing.T) {
	h := newHarness(t, clusterState())
	h.kubeErr = errors.New("Get \"https://ABC.gr7.us-east-1.eks.amazonaws.com/api\": dial tcp 10.0.1.5:443: i/o timeout")
	cl := &fakeCleaner{left: []cleanup.Item{lbItem}}
	res, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Yes: true,
		Cleaner: func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return cl, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.KubernetesSkipped, "i/o timeout") || res.Kubernetes != nil || res.Drained != nil {
		t.Errorf("skipped %q, plan %v, drained %v", res.KubernetesSkipped, res.Kubernetes, res.Drained)
	}
	if !slices.ContainsFunc(h.pr.notes, func(n string) bool { return strings.Contains(n, "destroy fell back to the VPC scan alone") }) {
		t.Errorf("no note of the fallback: %v", h.pr.notes)
	}
	if len(cl.removed) != 1 || !slices.Contains(h.eng.runs, "destroy") {
		t.Errorf("removed %v, runs %q", cl.removed, h.runs())
	}
}

// A state without the cluster (a failed first deploy) asks no Kubernetes.
func TestDestroyWithoutClusterAsksNoKubernetes(t *testing.T) {
	h := newHarness(t, state(resource("aws_vpc.vpc", map[string]any{"id": "vpc-1"})))
	res, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Yes: true,
		Cleaner: func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return &fakeCleaner{}, nil }})
	if err != nil || res.KubernetesSkipped != "" || res.Kubernetes != nil || h.kubeCalls != 0 {
		t.Errorf("%v, %+v; %d connections to a cluster the state does not hold", err, res, h.kubeCalls)
	}
}
