// Package autoscaler_test applies the Cluster Autoscaler's objects (internal/incluster) to a real Kubernetes API
// server (test/kubeapi): server-side apply, its field ownership and whether an apply changed anything are the API
// server's, which client-go's fake clientset does not reproduce. No controller runs: the test writes the
// Deployment's status as the Deployment controller would.
package autoscaler_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/test/kubeapi"
)

const ns = "kube-system"

// resourceVersions are the resourceVersions of the autoscaler's objects, by kind.
func resourceVersions(t *testing.T, ctx context.Context, c kubernetes.Interface) map[string]string {
	t.Helper()
	n := incluster.AutoscalerName
	out := map[string]string{}
	add := func(kind string, o metav1.Object, err error) {
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		out[kind] = o.GetResourceVersion()
	}
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, n, metav1.GetOptions{})
	add("ServiceAccount", sa, err)
	cr, err := c.RbacV1().ClusterRoles().Get(ctx, n, metav1.GetOptions{})
	add("ClusterRole", cr, err)
	crb, err := c.RbacV1().ClusterRoleBindings().Get(ctx, n, metav1.GetOptions{})
	add("ClusterRoleBinding", crb, err)
	r, err := c.RbacV1().Roles(ns).Get(ctx, n, metav1.GetOptions{})
	add("Role", r, err)
	rb, err := c.RbacV1().RoleBindings(ns).Get(ctx, n, metav1.GetOptions{})
	add("RoleBinding", rb, err)
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, incluster.AutoscalerPriorityConfigMap, metav1.GetOptions{})
	add("ConfigMap", cm, err)
	pdb, err := c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, n, metav1.GetOptions{})
	add("PodDisruptionBudget", pdb, err)
	d, err := c.AppsV1().Deployments(ns).Get(ctx, n, metav1.GetOptions{})
	add("Deployment", d, err)
	return out
}

func actions(res incluster.AutoscalerResult) map[string]incluster.AutoscalerAction {
	out := map[string]incluster.AutoscalerAction{}
	for _, c := range res.Changes {
		out[c.Kind] = c.Action
	}
	return out
}

func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "cluster-autoscaler" {
			return c
		}
	}
	t.Fatalf("no container cluster-autoscaler in %+v", d.Spec.Template.Spec.Containers)
	return corev1.Container{}
}

// markAvailable writes what the Deployment controller would once the current pod template's pod is ready.
func markAvailable(t *testing.T, ctx context.Context, c kubernetes.Interface) {
	t.Helper()
	d, err := c.AppsV1().Deployments(ns).Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1,
		AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable,
			Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	if _, err := c.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestKubeClusterAutoscaler applies the autoscaler for a cluster on Kubernetes 1.35, checks what the API server
// holds (image, flags, service account, region, bindings, the expander's ConfigMap), applies again and sees nothing
// change, then applies for 1.36, as an upgrade step does, and sees only the Deployment move to that minor's image.
// verify's check follows the Deployment's availability and image; an image changed by hand is taken back.
func TestKubeClusterAutoscaler(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: two cores shared with other tests
	defer cancel()
	srv := kubeapi.Start(t, kubeapi.Options{})
	c, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Defaults("default")
	cfg.EnvironmentSuffix, cfg.Region = "pr42", "eu-west-1"
	a135, err := incluster.NewAutoscaler(&cfg, "1.35")
	if err != nil {
		t.Fatal(err)
	}

	res, err := incluster.ApplyAutoscaler(ctx, c, a135)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 8 {
		t.Fatalf("first apply: %v", res.Changes)
	}
	for _, ch := range res.Changes {
		if ch.Action != incluster.AutoscalerCreated {
			t.Errorf("first apply: %s", ch)
		}
	}
	d, err := c.AppsV1().Deployments(ns).Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ct := container(t, d)
	if ct.Image != "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2" {
		t.Errorf("image %s, want the 1.35 release", ct.Image)
	}
	for _, flag := range []string{"--cloud-provider=aws",
		"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/eks-cluster-v1-pr42",
		"--expander=priority", "--balance-similar-node-groups", "--skip-nodes-with-system-pods=false"} {
		if !slices.Contains(ct.Command, flag) {
			t.Errorf("command lacks %s: %v", flag, ct.Command)
		}
	}
	if len(ct.Env) != 1 || ct.Env[0].Name != "AWS_REGION" || ct.Env[0].Value != "eu-west-1" {
		t.Errorf("env %+v", ct.Env)
	}
	spec := d.Spec.Template.Spec
	if spec.ServiceAccountName != "cluster-autoscaler" || spec.PriorityClassName != "system-cluster-critical" {
		t.Errorf("service account %q, priority class %q", spec.ServiceAccountName, spec.PriorityClassName)
	}
	if _, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, spec.ServiceAccountName, metav1.GetOptions{}); err != nil {
		t.Errorf("the Deployment's service account: %v", err)
	}
	crb, err := c.RbacV1().ClusterRoleBindings().Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if err != nil || len(crb.Subjects) != 1 || crb.Subjects[0].Name != spec.ServiceAccountName || crb.Subjects[0].Namespace != ns {
		t.Errorf("ClusterRoleBinding %+v: %v", crb, err)
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, incluster.AutoscalerPriorityConfigMap, metav1.GetOptions{})
	if err != nil || !strings.Contains(cm.Data["priorities"], "50:\n  - ^eks-node-group-spot-v1-pr42-.*") {
		t.Errorf("priority expander ConfigMap %v: %v", cm.Data, err)
	}
	if i := slices.IndexFunc(d.ManagedFields, func(m metav1.ManagedFieldsEntry) bool {
		return m.Manager == incluster.FieldManager && m.Operation == metav1.ManagedFieldsOperationApply
	}); i < 0 {
		t.Errorf("no server-side apply by %s in %+v", incluster.FieldManager, d.ManagedFields)
	}

	// Again: nothing changes, not even a resourceVersion.
	before := resourceVersions(t, ctx, c)
	res, err = incluster.ApplyAutoscaler(ctx, c, a135)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() {
		t.Errorf("second apply changed %v", res.Changes)
	}
	if after := resourceVersions(t, ctx, c); !maps.Equal(before, after) {
		t.Errorf("second apply: resourceVersions %v, then %v", before, after)
	}

	// verify: not available until the controller says so, then nothing to report.
	check := func(a incluster.Autoscaler) []incluster.AutoscalerFact {
		t.Helper()
		facts, err := incluster.CheckAutoscaler(ctx, c, a)
		if err != nil {
			t.Fatal(err)
		}
		return incluster.AutoscalerProblems(facts)
	}
	if problems := check(a135); len(problems) != 1 || problems[0].Object != "Deployment/cluster-autoscaler" || problems[0].Field != "available" {
		t.Errorf("before the pod is ready: %v", problems)
	}
	markAvailable(t, ctx, c)
	if problems := check(a135); len(problems) != 0 {
		t.Errorf("available: %v", problems)
	}

	// An upgrade step to 1.36: the Deployment alone moves, to the 1.36 release, and verify wants that image.
	a136, err := incluster.NewAutoscaler(&cfg, "1.36")
	if err != nil {
		t.Fatal(err)
	}
	if problems := check(a136); len(problems) != 1 || !strings.Contains(problems[0].Problem, "want registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1") {
		t.Errorf("1.35's image where 1.36's is wanted: %v", problems)
	}
	before = resourceVersions(t, ctx, c)
	res, err = incluster.ApplyAutoscaler(ctx, c, a136)
	if err != nil {
		t.Fatal(err)
	}
	after := resourceVersions(t, ctx, c)
	for kind, action := range actions(res) {
		want := incluster.AutoscalerUnchanged
		if kind == "Deployment" {
			want = incluster.AutoscalerUpdated
		}
		if action != want || (before[kind] == after[kind]) != (want == incluster.AutoscalerUnchanged) {
			t.Errorf("upgrade: %s %s (resourceVersion %s, then %s), want %s", kind, action, before[kind], after[kind], want)
		}
	}
	d, _ = c.AppsV1().Deployments(ns).Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if img := container(t, d).Image; img != "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1" {
		t.Errorf("after the upgrade: image %s", img)
	}
	if problems := check(a136); len(problems) != 1 || !strings.Contains(problems[0].Problem, "not seen its latest spec") {
		t.Errorf("the new image before its rollout: %v", problems)
	}
	markAvailable(t, ctx, c)
	if problems := check(a136); len(problems) != 0 {
		t.Errorf("rolled out: %v", problems)
	}

	// Someone sets another image by hand (kubectl set image); verify reports it and the next apply takes it back.
	d, _ = c.AppsV1().Deployments(ns).Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	d.Spec.Template.Spec.Containers[0].Image = "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.5"
	if _, err := c.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-set"}); err != nil {
		t.Fatal(err)
	}
	if problems := check(a136); len(problems) != 2 || !strings.Contains(problems[0].Problem, "runs registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.5") {
		t.Errorf("an image set by hand: %v", problems)
	}
	res, err = incluster.ApplyAutoscaler(ctx, c, a136)
	if err != nil || actions(res)["Deployment"] != incluster.AutoscalerUpdated {
		t.Errorf("apply over a hand-set image: %v %v", res.Changes, err)
	}
	d, _ = c.AppsV1().Deployments(ns).Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if img := container(t, d).Image; img != a136.Image {
		t.Errorf("after the apply: image %s", img)
	}
}
