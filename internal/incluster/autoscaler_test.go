package incluster

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tapstack/tapstack/pkg/config"
)

func autoscalerFor(t *testing.T, version string, mutate ...func(*config.Config)) Autoscaler {
	t.Helper()
	c, _ := config.Defaults("default")
	c.EnvironmentSuffix, c.Region = "pr42", "eu-west-1"
	for _, m := range mutate {
		m(&c)
	}
	a, err := NewAutoscaler(&c, version)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The image is the release of the cluster's minor; a minor the data has no release for is an error, never another
// minor's image.
func TestAutoscalerImagePerMinor(t *testing.T) {
	for version, want := range map[string]string{
		"1.35": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2",
		"1.36": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1",
	} {
		if a := autoscalerFor(t, version); a.Image != want || a.KubernetesVersion != version {
			t.Errorf("%s: %+v, want image %s", version, a, want)
		}
	}
	c, _ := config.Defaults("default")
	if a, err := NewAutoscaler(&c, "1.99"); err == nil || !strings.Contains(err.Error(), `"1.99"`) {
		t.Errorf("1.99: %+v, %v", a, err)
	}
}

// The command line finds this cluster's groups by both tag keys and carries the flags the issue and upstream ask for.
func TestAutoscalerCommand(t *testing.T) {
	cmd := autoscalerFor(t, "1.36").Command()
	for _, want := range []string{
		"--cloud-provider=aws",
		"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/eks-cluster-v1-pr42",
		"--expander=priority",
		"--balance-similar-node-groups",
		"--skip-nodes-with-system-pods=false",
	} {
		if !slices.Contains(cmd, want) {
			t.Errorf("command lacks %s: %v", want, cmd)
		}
	}
	if cmd[0] != "./cluster-autoscaler" {
		t.Errorf("command %v", cmd)
	}
}

// The spot group's Auto Scaling group has the higher priority; each pattern matches its own group's name as EKS
// gives it, and not the other group's, another cluster's, or a prefix of it.
func TestAutoscalerPriorities(t *testing.T) {
	a := autoscalerFor(t, "1.36")
	want := "10:\n  - ^eks-node-group-od-v1-pr42-.*\n50:\n  - ^eks-node-group-spot-v1-pr42-.*\n"
	if got := a.Priorities(); got != want {
		t.Fatalf("priorities\n%s\nwant\n%s", got, want)
	}
	od := regexp.MustCompile(`^eks-node-group-od-v1-pr42-.*`)
	spot := regexp.MustCompile(`^eks-node-group-spot-v1-pr42-.*`)
	if !spot.MatchString("eks-node-group-spot-v1-pr42-9ac2b3f4-1f0e-4c1b-8a53-0d2f1c9e7b6a") || spot.MatchString("eks-node-group-od-v1-pr42-9ac2") ||
		!od.MatchString("eks-node-group-od-v1-pr42-9ac2") || od.MatchString("eks-node-group-od-v1-pr4-9ac2") {
		t.Error("the patterns match the wrong groups")
	}
}

// The Deployment runs as the service account the stack's association names, in the region of the stack, at
// system-cluster-critical, preferring on-demand nodes, and its pod is not evicted by the autoscaler itself.
func TestAutoscalerDeploymentSpec(t *testing.T) {
	a := autoscalerFor(t, "1.36")
	d := a.deployment()
	if *d.Name != "cluster-autoscaler" || *d.Namespace != "kube-system" || *d.Spec.Replicas != 1 {
		t.Errorf("deployment %s/%s replicas %d", *d.Namespace, *d.Name, *d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if *pod.ServiceAccountName != "cluster-autoscaler" || *pod.PriorityClassName != "system-cluster-critical" {
		t.Errorf("service account %s, priority class %s", *pod.ServiceAccountName, *pod.PriorityClassName)
	}
	c := pod.Containers[0]
	if *c.Image != a.Image || !slices.Equal(c.Command, a.Command()) || *c.Env[0].Name != "AWS_REGION" || *c.Env[0].Value != "eu-west-1" {
		t.Errorf("container %s %v %s=%s", *c.Image, c.Command, *c.Env[0].Name, *c.Env[0].Value)
	}
	pref := pod.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Preference.MatchExpressions[0]
	if *pref.Key != "eks.amazonaws.com/capacityType" || !slices.Equal(pref.Values, []string{"ON_DEMAND"}) {
		t.Errorf("affinity %s %v", *pref.Key, pref.Values)
	}
	if d.Spec.Template.Annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] != "false" {
		t.Error("the pod is safe to evict for the autoscaler")
	}
	if !autoscalerMapsContain(d.Spec.Template.Labels, d.Spec.Selector.MatchLabels) {
		t.Errorf("selector %v does not select the pods %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	pdb := autoscalerPDB()
	if pdb.Spec.MaxUnavailable.IntValue() != 1 || !autoscalerMapsContain(d.Spec.Template.Labels, pdb.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget %v", pdb.Spec)
	}
}

func autoscalerMapsContain(m, sub map[string]string) bool {
	for k, v := range sub {
		if m[k] != v {
			return false
		}
	}
	return len(sub) > 0
}

// allows says whether rules grant verb on resource in group, by name when name is not "".
func rbacAllows(rules []rbacv1.PolicyRule, group, resource, verb, name string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) &&
			(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name)) {
			return true
		}
	}
	return false
}

// Applied to a fake clientset (which applies server-side with field management), the objects bind the roles to
// the Deployment's service account, the Role lets it read the expander's ConfigMap, and the ClusterRole its lease,
// nodes and evictions; a second apply changes nothing.
func TestApplyAutoscalerObjects(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	a := autoscalerFor(t, "1.36")
	res, err := ApplyAutoscaler(ctx, client, a)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range res.Changes {
		if c.Action != AutoscalerCreated {
			t.Errorf("first apply: %s", c)
		}
		kinds = append(kinds, c.Kind)
	}
	if want := []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "PodDisruptionBudget", "Deployment"}; !slices.Equal(kinds, want) {
		t.Errorf("applied %v, want %v (the Deployment last)", kinds, want)
	}
	d, err := client.AppsV1().Deployments("kube-system").Get(ctx, "cluster-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa := d.Spec.Template.Spec.ServiceAccountName
	crb, _ := client.RbacV1().ClusterRoleBindings().Get(ctx, "cluster-autoscaler", metav1.GetOptions{})
	rb, _ := client.RbacV1().RoleBindings("kube-system").Get(ctx, "cluster-autoscaler", metav1.GetOptions{})
	for _, b := range []struct {
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
	}{{crb.RoleRef, crb.Subjects}, {rb.RoleRef, rb.Subjects}} {
		if len(b.subjects) != 1 || b.subjects[0].Name != sa || b.subjects[0].Namespace != "kube-system" || b.ref.Name != "cluster-autoscaler" {
			t.Errorf("binding %+v does not bind the Deployment's service account %s", b, sa)
		}
	}
	role, _ := client.RbacV1().Roles("kube-system").Get(ctx, rb.RoleRef.Name, metav1.GetOptions{})
	if !rbacAllows(role.Rules, "", "configmaps", "get", AutoscalerPriorityConfigMap) || !rbacAllows(role.Rules, "", "configmaps", "watch", AutoscalerPriorityConfigMap) {
		t.Errorf("the Role does not let it read %s: %+v", AutoscalerPriorityConfigMap, role.Rules)
	}
	cr, _ := client.RbacV1().ClusterRoles().Get(ctx, crb.RoleRef.Name, metav1.GetOptions{})
	for _, p := range [][4]string{{"coordination.k8s.io", "leases", "update", "cluster-autoscaler"}, {"", "nodes", "update", ""},
		{"", "pods/eviction", "create", ""}, {"policy", "poddisruptionbudgets", "list", ""}, {"", "pods", "watch", ""}} {
		if !rbacAllows(cr.Rules, p[0], p[1], p[2], p[3]) {
			t.Errorf("the ClusterRole does not allow %v", p)
		}
	}
	if cm, _ := client.CoreV1().ConfigMaps("kube-system").Get(ctx, AutoscalerPriorityConfigMap, metav1.GetOptions{}); cm.Data["priorities"] != a.Priorities() {
		t.Errorf("ConfigMap %v", cm.Data)
	}
	// The fake keeps no resourceVersion, so whether an apply changed an object is test/autoscaler's (a real API
	// server); here a second apply finds every object.
	res, err = ApplyAutoscaler(ctx, client, a)
	if err != nil || len(res.Changes) != 8 || slices.ContainsFunc(res.Changes, func(c AutoscalerChange) bool { return c.Action == AutoscalerCreated }) {
		t.Errorf("second apply: %v %v", err, res.Changes)
	}
}

// verify's check: a missing autoscaler, one not available yet, and one on another image or region are problems,
// each with its fix; an available one as applied is none, and every fact compared is reported.
func TestCheckAutoscaler(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	a := autoscalerFor(t, "1.36")
	check := func(a Autoscaler) ([]AutoscalerFact, []AutoscalerFact) {
		t.Helper()
		facts, err := CheckAutoscaler(ctx, client, a)
		if err != nil {
			t.Fatal(err)
		}
		return facts, AutoscalerProblems(facts)
	}
	_, problems := check(a)
	if len(problems) != 3 {
		t.Fatalf("nothing applied: %v", problems)
	}
	for _, p := range problems {
		if p.Problem != "missing" || p.Fix == "" {
			t.Errorf("problem %s", p)
		}
	}
	if _, err := ApplyAutoscaler(ctx, client, a); err != nil {
		t.Fatal(err)
	}
	_, problems = check(a)
	if len(problems) != 1 || problems[0].Field != "available" || !strings.Contains(problems[0].Problem, "rolling out") {
		t.Errorf("applied, no pod yet: %v", problems)
	}
	markAutoscalerAvailable(t, ctx, client)
	facts, problems := check(a)
	if len(problems) != 0 {
		t.Errorf("available: %v", problems)
	}
	var fields []string
	for _, f := range facts {
		fields = append(fields, f.Object+" "+f.Field)
	}
	want := []string{"ServiceAccount/cluster-autoscaler exists", "ConfigMap/cluster-autoscaler-priority-expander exists",
		"ConfigMap/cluster-autoscaler-priority-expander data.priorities", "Deployment/cluster-autoscaler exists",
		"Deployment/cluster-autoscaler image", "Deployment/cluster-autoscaler command", "Deployment/cluster-autoscaler env AWS_REGION",
		"Deployment/cluster-autoscaler serviceAccountName", "Deployment/cluster-autoscaler available"}
	if !slices.Equal(fields, want) {
		t.Errorf("facts %v, want %v", fields, want)
	}
	_, problems = check(autoscalerFor(t, "1.35"))
	if len(problems) != 1 || !strings.Contains(problems[0].Problem, "runs registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1, want registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2") {
		t.Errorf("another image: %v", problems)
	}
	_, problems = check(autoscalerFor(t, "1.36", func(c *config.Config) { c.Region = "us-east-2" }))
	if len(problems) != 1 || problems[0].Problem != `env AWS_REGION is "eu-west-1", want "us-east-2"` || problems[0].Fix == "" {
		t.Errorf("another region: %v", problems)
	}
}

// markAvailable writes what the Deployment controller would once its pod is ready.
func markAutoscalerAvailable(t *testing.T, ctx context.Context, client *fake.Clientset) {
	t.Helper()
	d, err := client.AppsV1().Deployments("kube-system").Get(ctx, "cluster-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}}
	if _, err := client.AppsV1().Deployments("kube-system").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// unavailable names each reason a Deployment is not available.
func TestUnavailable(t *testing.T) {
	one := int32(1)
	base := func() *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: &one},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1, AvailableReplicas: 1,
				Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}}}
	}
	if got := deploymentUnavailable(base()); got != "" {
		t.Errorf("available: %q", got)
	}
	for want, edit := range map[string]func(*appsv1.Deployment){
		"not seen its latest spec":  func(d *appsv1.Deployment) { d.Status.ObservedGeneration = 1 },
		"0 of 1 replicas updated":   func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 0 },
		"0 of 1 replicas available": func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 0 },
		"MinimumReplicasUnavailable": func(d *appsv1.Deployment) {
			d.Status.Conditions[0].Status, d.Status.Conditions[0].Reason = corev1.ConditionFalse, "MinimumReplicasUnavailable"
		},
		"no Available condition": func(d *appsv1.Deployment) { d.Status.Conditions = nil },
	} {
		d := base()
		edit(d)
		if got := deploymentUnavailable(d); !strings.Contains(got, want) {
			t.Errorf("%s: %q", want, got)
		}
	}
}

// Removing deletes what tapstack applied and leaves an object of the same name someone else made.
func TestRemoveAutoscaler(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "cluster-autoscaler", Namespace: "kube-system"}})
	a := autoscalerFor(t, "1.36")
	if _, err := ApplyAutoscaler(ctx, client, a); err != nil {
		t.Fatal(err)
	}
	// The pre-existing ServiceAccount now carries tapstack's label too (apply took it over): take it back off.
	sa, _ := client.CoreV1().ServiceAccounts("kube-system").Get(ctx, "cluster-autoscaler", metav1.GetOptions{})
	delete(sa.Labels, ManagedByLabel)
	if _, err := client.CoreV1().ServiceAccounts("kube-system").Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := RemoveAutoscaler(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 7 || res.Changes[0].Kind != "Deployment" {
		t.Errorf("removed %v, want the 7 objects but the ServiceAccount, Deployment first", res.Changes)
	}
	if _, err := client.CoreV1().ServiceAccounts("kube-system").Get(ctx, "cluster-autoscaler", metav1.GetOptions{}); err != nil {
		t.Errorf("the ServiceAccount not labelled tapstack's was deleted: %v", err)
	}
	if _, err := client.AppsV1().Deployments("kube-system").Get(ctx, "cluster-autoscaler", metav1.GetOptions{}); err == nil {
		t.Error("the Deployment is still there")
	}
	if res, err := RemoveAutoscaler(ctx, client); err != nil || len(res.Changes) != 0 {
		t.Errorf("second removal: %v %v", err, res.Changes)
	}
}
