package incluster

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

// The Cluster Autoscaler's objects are those of kubernetes/autoscaler's
// cluster-autoscaler/cloudprovider/aws/examples/cluster-autoscaler-autodiscover.yaml (at 55c37cd5, 2026-08-22),
// made for one cluster, with a PodDisruptionBudget and the priority expander's ConfigMap. Its AWS role comes from
// the stack's Pod Identity association for the same service account (stack.AutoscalerServiceAccount), so the
// ServiceAccount carries no annotation.

const (
	// AutoscalerName (cleanup.go) names the ServiceAccount, ClusterRole, Role, bindings, PodDisruptionBudget and
	// Deployment.

	// AutoscalerPriorityConfigMap is the ConfigMap the priority expander reads, by that name, in the autoscaler's
	// namespace (cluster-autoscaler/expander/priority/readme.md).
	AutoscalerPriorityConfigMap = "cluster-autoscaler-priority-expander"

	autoscalerContainer = "cluster-autoscaler"
	autoscalerNameLabel = "app.kubernetes.io/name"
	// safeToEvict "false" keeps the autoscaler from removing the node it runs on (EKS user guide,
	// cluster-autoscaler: the deployment step that annotates its pod).
	safeToEvictAnnotation = "cluster-autoscaler.kubernetes.io/safe-to-evict"
	// The priority expander picks the highest priority among the groups that can take the pending pods: spot
	// first; on-demand, whose minSize is the floor, only when spot cannot.
	spotPriority, onDemandPriority = 50, 10
)

// Autoscaler is the Cluster Autoscaler as tapstack runs it in one cluster.
type Autoscaler struct {
	Cluster string // the EKS cluster's name
	Region  string // AWS_REGION, set explicitly rather than left to instance metadata
	// KubernetesVersion is the cluster's minor version ("1.36"); Image is the autoscaler release of that minor.
	KubernetesVersion string
	Image             string
	// OnDemandGroup and SpotGroup are the managed node groups' names, which the priority expander matches.
	OnDemandGroup, SpotGroup string
}

// NewAutoscaler is the autoscaler of cfg's environment on a cluster that runs kubernetesVersion: the cluster's
// version, which during an upgrade is not the configured one. It fails when the version data holds no release
// for that minor (rule TS221 reports it before a deploy).
func NewAutoscaler(cfg *config.Config, kubernetesVersion string) (Autoscaler, error) {
	image, _, ok := versions.Get().ClusterAutoscalerImage(kubernetesVersion)
	if !ok {
		return Autoscaler{}, fmt.Errorf("no Cluster Autoscaler release for Kubernetes %q in the version data "+
			"(pkg/versions/data/eks.json, clusterAutoscaler.releases)", kubernetesVersion)
	}
	return Autoscaler{Cluster: cfg.ClusterName(), Region: cfg.Region, KubernetesVersion: kubernetesVersion, Image: image,
		OnDemandGroup: cfg.OnDemandGroupName(), SpotGroup: cfg.SpotGroupName()}, nil
}

// Command is the container's command line. Auto-discovery finds the Auto Scaling groups that carry both tag keys,
// whatever their values (cloudprovider/aws/README.md, Auto-Discovery Setup); EKS sets both on every managed node
// group's group. --balance-similar-node-groups spreads nodes over groups of the same shape (EKS user guide,
// managed-node-groups, for groups per zone); --skip-nodes-with-system-pods=false lets it remove a node that runs
// only kube-system pods; --skip-nodes-with-local-storage=false is upstream's, so emptyDir pods do not pin nodes.
func (a Autoscaler) Command() []string {
	return []string{
		"./cluster-autoscaler",
		"--v=4",
		"--stderrthreshold=info",
		"--cloud-provider=aws",
		"--skip-nodes-with-local-storage=false",
		"--expander=priority",
		"--node-group-auto-discovery=asg:tag=" + stack.AutoscalerEnabledTag + "," + stack.AutoscalerClusterTag(a.Cluster),
		"--balance-similar-node-groups",
		"--skip-nodes-with-system-pods=false",
	}
}

// Priorities is the priority expander's configuration. The expander matches the Auto Scaling group's name, not the
// node group's (kubernetes/autoscaler #3871); EKS names a managed node group's Auto Scaling group
// eks-<node group>-<id> (terraform-aws-eks #3007). A group matching neither is picked at random, as without it.
func (a Autoscaler) Priorities() string {
	line := func(priority int, group string) string {
		return fmt.Sprintf("%d:\n  - ^eks-%s-.*\n", priority, regexp.QuoteMeta(group))
	}
	return line(onDemandPriority, a.OnDemandGroup) + line(spotPriority, a.SpotGroup)
}

func autoscalerLabels() map[string]string {
	return map[string]string{autoscalerNameLabel: AutoscalerName, ManagedByLabel: stack.ManagedByTapstack}
}

func autoscalerSelector() map[string]string {
	return map[string]string{autoscalerNameLabel: AutoscalerName}
}

func (a Autoscaler) serviceAccount() *corev1ac.ServiceAccountApplyConfiguration {
	return corev1ac.ServiceAccount(AutoscalerName, AutoscalerNamespace).WithLabels(autoscalerLabels())
}

func rbacRule(groups, resources, verbs []string, names ...string) *rbacv1ac.PolicyRuleApplyConfiguration {
	r := rbacv1ac.PolicyRule().WithAPIGroups(groups...).WithResources(resources...).WithVerbs(verbs...)
	if len(names) > 0 {
		r.WithResourceNames(names...)
	}
	return r
}

func rbacList(s ...string) []string { return s }

// clusterRole is upstream's ClusterRole, rule for rule.
func autoscalerClusterRole() *rbacv1ac.ClusterRoleApplyConfiguration {
	watch := rbacList("watch", "list", "get")
	return rbacv1ac.ClusterRole(AutoscalerName).WithLabels(autoscalerLabels()).WithRules(
		rbacRule(rbacList(""), rbacList("events", "endpoints"), rbacList("create", "patch")),
		rbacRule(rbacList(""), rbacList("pods/eviction"), rbacList("create")),
		rbacRule(rbacList(""), rbacList("pods/status"), rbacList("update")),
		rbacRule(rbacList(""), rbacList("endpoints"), rbacList("get", "update"), AutoscalerName),
		rbacRule(rbacList(""), rbacList("nodes"), rbacList("watch", "list", "get", "update")),
		rbacRule(rbacList(""), rbacList("namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"), watch),
		rbacRule(rbacList("extensions"), rbacList("replicasets", "daemonsets"), watch),
		rbacRule(rbacList("policy"), rbacList("poddisruptionbudgets"), rbacList("watch", "list")),
		rbacRule(rbacList("apps"), rbacList("statefulsets", "replicasets", "daemonsets"), watch),
		rbacRule(rbacList("resource.k8s.io"), rbacList("deviceclasses", "resourceslices", "resourceclaims"), watch),
		rbacRule(rbacList("storage.k8s.io"), rbacList("storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"), watch),
		rbacRule(rbacList("batch", "extensions"), rbacList("jobs"), rbacList("get", "list", "watch", "patch")),
		rbacRule(rbacList("coordination.k8s.io"), rbacList("leases"), rbacList("create")),
		rbacRule(rbacList("coordination.k8s.io"), rbacList("leases"), rbacList("get", "update"), AutoscalerName),
	)
}

// role is upstream's Role: the ConfigMaps the autoscaler writes (its status) and reads (the expander's).
func autoscalerRole() *rbacv1ac.RoleApplyConfiguration {
	return rbacv1ac.Role(AutoscalerName, AutoscalerNamespace).WithLabels(autoscalerLabels()).WithRules(
		rbacRule(rbacList(""), rbacList("configmaps"), rbacList("create", "list", "watch")),
		rbacRule(rbacList(""), rbacList("configmaps"), rbacList("delete", "get", "update", "watch"), "cluster-autoscaler-status", AutoscalerPriorityConfigMap),
	)
}

func autoscalerSubject() *rbacv1ac.SubjectApplyConfiguration {
	return rbacv1ac.Subject().WithKind("ServiceAccount").WithName(AutoscalerName).WithNamespace(AutoscalerNamespace)
}

func autoscalerClusterRoleBinding() *rbacv1ac.ClusterRoleBindingApplyConfiguration {
	return rbacv1ac.ClusterRoleBinding(AutoscalerName).WithLabels(autoscalerLabels()).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName(AutoscalerName)).
		WithSubjects(autoscalerSubject())
}

func autoscalerRoleBinding() *rbacv1ac.RoleBindingApplyConfiguration {
	return rbacv1ac.RoleBinding(AutoscalerName, AutoscalerNamespace).WithLabels(autoscalerLabels()).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("Role").WithName(AutoscalerName)).
		WithSubjects(autoscalerSubject())
}

func (a Autoscaler) priorityConfigMap() *corev1ac.ConfigMapApplyConfiguration {
	return corev1ac.ConfigMap(AutoscalerPriorityConfigMap, AutoscalerNamespace).WithLabels(autoscalerLabels()).
		WithData(map[string]string{"priorities": a.Priorities()})
}

// podDisruptionBudget lets a drain evict the autoscaler's one pod (a node group update or roll must never wait on
// it; the Deployment starts it again elsewhere) but never more than one at a time: the chart's default,
// maxUnavailable 1 (kubernetes/autoscaler charts/cluster-autoscaler values.yaml).
func autoscalerPDB() *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	return policyv1ac.PodDisruptionBudget(AutoscalerName, AutoscalerNamespace).WithLabels(autoscalerLabels()).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(autoscalerSelector())))
}

// deployment is upstream's Deployment for this cluster. It runs at system-cluster-critical, as upstream's does: a
// PriorityClass of tapstack's own could be at most 1,000,000,000, below the system classes (Kubernetes docs,
// pod-priority-preemption), so the autoscaler would yield to what it must make room for. It prefers on-demand
// nodes, which no spot reclaim takes away (EKS user guide, managed-node-groups: cluster management tools on
// On-Demand); preferred, so it still runs where only spot capacity is left.
func (a Autoscaler) deployment() *appsv1ac.DeploymentApplyConfiguration {
	onDemand := corev1ac.PreferredSchedulingTerm().WithWeight(100).WithPreference(corev1ac.NodeSelectorTerm().WithMatchExpressions(
		corev1ac.NodeSelectorRequirement().WithKey(stack.CapacityTypeLabel).WithOperator(corev1.NodeSelectorOpIn).WithValues("ON_DEMAND")))
	resources := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("600Mi")}
	container := corev1ac.Container().
		WithName(autoscalerContainer).
		WithImage(a.Image).
		// Release tags are never moved, so the node's copy is the release.
		WithImagePullPolicy(corev1.PullIfNotPresent).
		WithCommand(a.Command()...).
		WithEnv(corev1ac.EnvVar().WithName("AWS_REGION").WithValue(a.Region)).
		WithResources(corev1ac.ResourceRequirements().WithRequests(resources).WithLimits(resources)).
		WithVolumeMounts(corev1ac.VolumeMount().WithName("ssl-certs").WithMountPath("/etc/ssl/certs/ca-certificates.crt").WithReadOnly(true)).
		WithSecurityContext(corev1ac.SecurityContext().
			WithAllowPrivilegeEscalation(false).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
			WithReadOnlyRootFilesystem(true))
	pod := corev1ac.PodSpec().
		WithPriorityClassName("system-cluster-critical").
		WithServiceAccountName(AutoscalerName).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).WithRunAsUser(65534).WithFSGroup(65534).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithAffinity(corev1ac.Affinity().WithNodeAffinity(corev1ac.NodeAffinity().
			WithPreferredDuringSchedulingIgnoredDuringExecution(onDemand))).
		WithContainers(container).
		// The node's CA bundle, as upstream mounts it (Amazon Linux keeps it at this path).
		WithVolumes(corev1ac.Volume().WithName("ssl-certs").WithHostPath(corev1ac.HostPathVolumeSource().WithPath("/etc/ssl/certs/ca-bundle.crt")))
	return appsv1ac.Deployment(AutoscalerName, AutoscalerNamespace).WithLabels(autoscalerLabels()).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(1).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(autoscalerSelector())).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(autoscalerLabels()).
				WithAnnotations(map[string]string{safeToEvictAnnotation: "false"}).
				WithSpec(pod)))
}

// AutoscalerAction is what ApplyAutoscaler did to one object.
type AutoscalerAction string

const (
	AutoscalerCreated   AutoscalerAction = "created"
	AutoscalerUpdated   AutoscalerAction = "updated"
	AutoscalerUnchanged AutoscalerAction = "unchanged"
	AutoscalerDeleted   AutoscalerAction = "deleted"
)

// AutoscalerChange is what was done to one of the autoscaler's objects.
type AutoscalerChange struct {
	Kind   string           `json:"kind"`
	Name   string           `json:"name"`
	Action AutoscalerAction `json:"action"`
}

func (c AutoscalerChange) String() string { return c.Kind + " " + c.Name + " " + string(c.Action) }

// AutoscalerResult is what ApplyAutoscaler or RemoveAutoscaler did, object by object, in order.
type AutoscalerResult struct {
	Changes []AutoscalerChange
}

// Changed says whether anything in the cluster changed.
func (r AutoscalerResult) Changed() bool {
	return slices.ContainsFunc(r.Changes, func(c AutoscalerChange) bool { return c.Action != AutoscalerUnchanged })
}

// autoscalerApplier is a typed client of one kind, namespaced or not.
type autoscalerApplier[T metav1.Object, AC any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Apply(ctx context.Context, ac AC, opts metav1.ApplyOptions) (T, error)
}

// applyAutoscalerObject applies ac and says whether that created, changed or left the object: an apply that changes nothing
// keeps its resourceVersion.
func applyAutoscalerObject[T metav1.Object, AC any](ctx context.Context, api autoscalerApplier[T, AC], kind, name string, ac AC) (AutoscalerChange, error) {
	change := AutoscalerChange{Kind: kind, Name: name, Action: AutoscalerCreated}
	existed, before := false, ""
	old, err := api.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return change, fmt.Errorf("read %s %s: %w", kind, name, err)
	default:
		existed, before = true, old.GetResourceVersion()
	}
	got, err := api.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return change, fmt.Errorf("apply %s %s: %w", kind, name, err)
	}
	switch {
	case !existed:
	case got.GetResourceVersion() == before:
		change.Action = AutoscalerUnchanged
	default:
		change.Action = AutoscalerUpdated
	}
	return change, nil
}

// ApplyAutoscaler applies the autoscaler's objects server-side (field manager FieldManager, taking over fields
// another manager holds), the Deployment last, so that its pod starts with its permissions and the expander's
// ConfigMap in place. It stops at the first error; the result says what was done until then.
func ApplyAutoscaler(ctx context.Context, client kubernetes.Interface, a Autoscaler) (AutoscalerResult, error) {
	ns := AutoscalerNamespace
	core, rbac := client.CoreV1(), client.RbacV1()
	steps := []func() (AutoscalerChange, error){
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*corev1.ServiceAccount](ctx, core.ServiceAccounts(ns), "ServiceAccount", AutoscalerName, a.serviceAccount())
		},
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*rbacv1.ClusterRole](ctx, rbac.ClusterRoles(), "ClusterRole", AutoscalerName, autoscalerClusterRole())
		},
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*rbacv1.ClusterRoleBinding](ctx, rbac.ClusterRoleBindings(), "ClusterRoleBinding", AutoscalerName, autoscalerClusterRoleBinding())
		},
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*rbacv1.Role](ctx, rbac.Roles(ns), "Role", AutoscalerName, autoscalerRole())
		},
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*rbacv1.RoleBinding](ctx, rbac.RoleBindings(ns), "RoleBinding", AutoscalerName, autoscalerRoleBinding())
		},
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*corev1.ConfigMap](ctx, core.ConfigMaps(ns), "ConfigMap", AutoscalerPriorityConfigMap, a.priorityConfigMap())
		},
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*policyv1.PodDisruptionBudget](ctx, client.PolicyV1().PodDisruptionBudgets(ns), "PodDisruptionBudget", AutoscalerName, autoscalerPDB())
		},
		func() (AutoscalerChange, error) {
			return applyAutoscalerObject[*appsv1.Deployment](ctx, client.AppsV1().Deployments(ns), "Deployment", AutoscalerName, a.deployment())
		},
	}
	var res AutoscalerResult
	for _, step := range steps {
		c, err := step()
		if err != nil {
			return res, err
		}
		res.Changes = append(res.Changes, c)
	}
	return res, nil
}

// AutoscalerFact is one fact CheckAutoscaler compared: what the running autoscaler has against what tapstack
// applies, and when they differ, what is wrong and the fix.
type AutoscalerFact struct {
	Object     string // Kind/name
	Field      string
	Want, Have string
	Problem    string // "" when the fact is as wanted
	Fix        string
}

// OK says whether the fact is as wanted.
func (f AutoscalerFact) OK() bool { return f.Problem == "" }

func (f AutoscalerFact) String() string {
	if f.OK() {
		return f.Object + ": " + f.Field + " is " + f.Have
	}
	return f.Object + ": " + f.Problem + "; " + f.Fix
}

// AutoscalerProblems are the facts that are not as wanted.
func AutoscalerProblems(facts []AutoscalerFact) []AutoscalerFact {
	var out []AutoscalerFact
	for _, f := range facts {
		if !f.OK() {
			out = append(out, f)
		}
	}
	return out
}

const (
	autoscalerFixDeploy = "tapstack deploy applies it again"
	autoscalerFixWait   = "wait for the rollout, or see kubectl -n kube-system describe deployment cluster-autoscaler"
)

// CheckAutoscaler compares the running autoscaler with a (for verify) and returns every fact it compared: its
// ServiceAccount exists; the expander's ConfigMap holds a's priorities; its Deployment runs a's image, command,
// service account and region, and is available (the controller has seen its latest spec, every replica updated,
// the Available condition true). It returns an error only when the objects could not be read.
func CheckAutoscaler(ctx context.Context, client kubernetes.Interface, a Autoscaler) ([]AutoscalerFact, error) {
	ns := AutoscalerNamespace
	var facts []AutoscalerFact
	fact := func(object, field, want, have, problem, fix string) {
		if want == have && problem == "" {
			fix = ""
		} else if problem == "" {
			problem = fmt.Sprintf("%s is %q, want %q", field, have, want)
		}
		facts = append(facts, AutoscalerFact{Object: object, Field: field, Want: want, Have: have, Problem: problem, Fix: fix})
	}
	exists := func(object string, err error) (bool, error) {
		switch {
		case apierrors.IsNotFound(err):
			fact(object, "exists", "yes", "no", "missing", autoscalerFixDeploy)
			return false, nil
		case err != nil:
			return false, fmt.Errorf("read %s: %w", object, err)
		}
		fact(object, "exists", "yes", "yes", "", "")
		return true, nil
	}
	_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, AutoscalerName, metav1.GetOptions{})
	if _, err := exists("ServiceAccount/"+AutoscalerName, err); err != nil {
		return nil, err
	}
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, AutoscalerPriorityConfigMap, metav1.GetOptions{})
	if ok, err := exists("ConfigMap/"+AutoscalerPriorityConfigMap, err); err != nil {
		return nil, err
	} else if ok {
		fact("ConfigMap/"+AutoscalerPriorityConfigMap, "data.priorities", a.Priorities(), cm.Data["priorities"], "", autoscalerFixDeploy)
	}
	object := "Deployment/" + AutoscalerName
	d, err := client.AppsV1().Deployments(ns).Get(ctx, AutoscalerName, metav1.GetOptions{})
	if ok, err := exists(object, err); err != nil || !ok {
		return facts, err
	}
	var c corev1.Container
	if i := slices.IndexFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == autoscalerContainer }); i >= 0 {
		c = d.Spec.Template.Spec.Containers[i]
	}
	image := fmt.Sprintf("runs %s, want %s (the release for Kubernetes %s)", c.Image, a.Image, a.KubernetesVersion)
	if c.Image == a.Image {
		image = ""
	}
	fact(object, "image", a.Image, c.Image, image, autoscalerFixDeploy)
	fact(object, "command", strings.Join(a.Command(), " "), strings.Join(c.Command, " "), "", autoscalerFixDeploy)
	region := ""
	for _, e := range c.Env {
		if e.Name == "AWS_REGION" {
			region = e.Value
		}
	}
	fact(object, "env AWS_REGION", a.Region, region, "", autoscalerFixDeploy)
	sa := d.Spec.Template.Spec.ServiceAccountName
	saProblem := fmt.Sprintf("runs as service account %q, want %q (the one its Pod Identity association names)", sa, AutoscalerName)
	if sa == AutoscalerName {
		saProblem = ""
	}
	fact(object, "serviceAccountName", AutoscalerName, sa, saProblem, autoscalerFixDeploy)
	available, why := "yes", deploymentUnavailable(d)
	if why != "" {
		available = "no"
	}
	fact(object, "available", "yes", available, why, autoscalerFixWait)
	return facts, nil
}

// unavailable says why a Deployment is not available, or "" when it is: the controller has seen its latest spec,
// every replica runs it, at least one is available, and the Available condition is true.
func deploymentUnavailable(d *appsv1.Deployment) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return fmt.Sprintf("the controller has not seen its latest spec yet (generation %d, observed %d)", d.Generation, s.ObservedGeneration)
	case s.UpdatedReplicas < want:
		return fmt.Sprintf("rolling out: %d of %d replicas updated", s.UpdatedReplicas, want)
	case s.AvailableReplicas < 1:
		return fmt.Sprintf("not available: %d of %d replicas available", s.AvailableReplicas, want)
	}
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			if c.Status != corev1.ConditionTrue {
				return fmt.Sprintf("not available: %s: %s", c.Reason, c.Message)
			}
			return ""
		}
	}
	return "not available: no Available condition"
}

// RemoveAutoscaler deletes the autoscaler's objects that tapstack applied (labelled managed by it), the Deployment
// first, so it stops before its permissions go: for an environment whose autoscaling was turned off, whose role
// the stack has already removed. Objects that are absent, or not tapstack's, are left.
func RemoveAutoscaler(ctx context.Context, client kubernetes.Interface) (AutoscalerResult, error) {
	ns := AutoscalerNamespace
	core, rbac := client.CoreV1(), client.RbacV1()
	type deleter struct {
		kind, name string
		get        func() (metav1.Object, error)
		del        func(metav1.DeleteOptions) error
	}
	obj := func(o metav1.Object, err error) (metav1.Object, error) { return o, err }
	n := AutoscalerName
	ds := []deleter{
		{"Deployment", n, func() (metav1.Object, error) {
			return obj(client.AppsV1().Deployments(ns).Get(ctx, n, metav1.GetOptions{}))
		},
			func(o metav1.DeleteOptions) error { return client.AppsV1().Deployments(ns).Delete(ctx, n, o) }},
		{"PodDisruptionBudget", n, func() (metav1.Object, error) {
			return obj(client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, n, metav1.GetOptions{}))
		},
			func(o metav1.DeleteOptions) error {
				return client.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, n, o)
			}},
		{"ConfigMap", AutoscalerPriorityConfigMap, func() (metav1.Object, error) {
			return obj(core.ConfigMaps(ns).Get(ctx, AutoscalerPriorityConfigMap, metav1.GetOptions{}))
		}, func(o metav1.DeleteOptions) error {
			return core.ConfigMaps(ns).Delete(ctx, AutoscalerPriorityConfigMap, o)
		}},
		{"RoleBinding", n, func() (metav1.Object, error) { return obj(rbac.RoleBindings(ns).Get(ctx, n, metav1.GetOptions{})) },
			func(o metav1.DeleteOptions) error { return rbac.RoleBindings(ns).Delete(ctx, n, o) }},
		{"Role", n, func() (metav1.Object, error) { return obj(rbac.Roles(ns).Get(ctx, n, metav1.GetOptions{})) },
			func(o metav1.DeleteOptions) error { return rbac.Roles(ns).Delete(ctx, n, o) }},
		{"ClusterRoleBinding", n, func() (metav1.Object, error) { return obj(rbac.ClusterRoleBindings().Get(ctx, n, metav1.GetOptions{})) },
			func(o metav1.DeleteOptions) error { return rbac.ClusterRoleBindings().Delete(ctx, n, o) }},
		{"ClusterRole", n, func() (metav1.Object, error) { return obj(rbac.ClusterRoles().Get(ctx, n, metav1.GetOptions{})) },
			func(o metav1.DeleteOptions) error { return rbac.ClusterRoles().Delete(ctx, n, o) }},
		{"ServiceAccount", n, func() (metav1.Object, error) { return obj(core.ServiceAccounts(ns).Get(ctx, n, metav1.GetOptions{})) },
			func(o metav1.DeleteOptions) error { return core.ServiceAccounts(ns).Delete(ctx, n, o) }},
	}
	var res AutoscalerResult
	for _, d := range ds {
		o, err := d.get()
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("read %s %s: %w", d.kind, d.name, err)
		}
		if o.GetLabels()[ManagedByLabel] != stack.ManagedByTapstack {
			continue
		}
		uid := o.GetUID()
		if err := d.del(metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
			return res, fmt.Errorf("delete %s %s: %w", d.kind, d.name, err)
		}
		res.Changes = append(res.Changes, AutoscalerChange{Kind: d.kind, Name: d.name, Action: AutoscalerDeleted})
	}
	return res, nil
}
