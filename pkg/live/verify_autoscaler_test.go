package live

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/config"
)

// runningAutoscaler is a cluster where the autoscaler of cfg for Kubernetes version was applied and its pod is
// available.
func runningAutoscaler(t *testing.T, cfg *config.Config, version string) func(context.Context) (kubernetes.Interface, error) {
	t.Helper()
	ctx := context.Background()
	c := k8sfake.NewClientset()
	a, err := incluster.NewAutoscaler(cfg, version)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incluster.ApplyAutoscaler(ctx, c, a); err != nil {
		t.Fatal(err)
	}
	d, err := c.AppsV1().Deployments("kube-system").Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, UpdatedReplicas: 1, AvailableReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}}
	if _, err := c.AppsV1().Deployments("kube-system").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return func(context.Context) (kubernetes.Interface, error) { return c, nil }
}

func autoscalerItems(r *VerifyReport) []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Part == "autoscaler" {
			out = append(out, it)
		}
	}
	return out
}

// verify reports each fact of the Cluster Autoscaler: all match when it runs the configured version's release;
// another minor's image is a mismatch whose note is the fix; --skip-in-cluster says it was skipped; profile original,
// which runs none, has no such part.
func TestVerifyAutoscaler(t *testing.T) {
	cfg := defaults(t, "default")
	cfg.Addons.EBSCSIDriver = false // the StorageClass's part is TestVerifyStorageClass's
	_, out := deployed(t, cfg)

	// (The fake cluster has no node or coredns: the other inside checks' mismatches are theirs.)
	r := verifyKube(t, cfg, out, runningAutoscaler(t, cfg, "1.36"))
	items := autoscalerItems(r)
	if len(items) != 9 || slices.ContainsFunc(items, func(it Item) bool { return it.Status != Match }) {
		t.Fatalf("a running autoscaler as applied does not verify (%d items):\n%s", len(items), text(r))
	}
	for _, it := range items {
		if it.Resource == "Deployment/cluster-autoscaler" && it.Field == "image" && it.Actual != "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1" {
			t.Errorf("image item %+v", it)
		}
	}

	r = verifyKube(t, cfg, out, runningAutoscaler(t, cfg, "1.35"))
	wantMismatch(t, r, "Deployment/cluster-autoscaler", "image", "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1",
		"registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2")
	if !strings.Contains(text(r), "tapstack deploy applies it again") {
		t.Errorf("no fix in the report:\n%s", text(r))
	}

	r = verifyKube(t, cfg, out, nil)
	if len(autoscalerItems(r)) != 0 || !strings.Contains(text(r), "SKIPPED  Cluster Autoscaler: not verified (--skip-in-cluster)") {
		t.Errorf("skipped:\n%s", text(r))
	}

	orig := defaults(t, "original")
	_, oout := deployed(t, orig)
	if r := verifyKube(t, orig, oout, runningAutoscaler(t, cfg, "1.36")); len(autoscalerItems(r)) != 0 || strings.Contains(text(r), "Cluster Autoscaler") {
		t.Errorf("profile original verifies an autoscaler:\n%s", text(r))
	}
}
