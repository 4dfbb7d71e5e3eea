package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/internal/cleanup"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/stack"
)

// A plan on an unchanged environment is one engine run after init: the state comes from the backend, what the
// environment runs from the account, and a plan without changes needs no show -json.
func TestPlanUnchangedIsOnePlan(t *testing.T) {
	h := newHarness(t, state(resource("aws_vpc.vpc", map[string]any{"id": "vpc-1"}),
		resource("aws_eks_cluster.eks_cluster", map[string]any{"version": "1.34", "name": "eks-cluster-v1-ut"})))
	h.cfg.Cluster.KubernetesVersion = "1.34"
	r, err := Plan(context.Background(), h.prepared(), h.options(), PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.runs(); got != "init plan" {
		t.Errorf("engine runs %q, want %q", got, "init plan")
	}
	if r.Changes || !slices.Equal(r.Summary.Kept, []string{"aws_eks_cluster.eks_cluster", "aws_vpc.vpc"}) {
		t.Errorf("result %+v, want no changes keeping both resources", r)
	}
	planFileGone(t, h)
	for _, want := range []string{"lock", "init", "state", "refresh", "plan"} {
		if !slices.Contains(h.pr.phases, want) {
			t.Errorf("no %s phase reported: %v", want, h.pr.phases)
		}
	}
}

// A deploy of a new environment is plan and apply: the plan's machine-readable output says it only creates, so
// the guard has nothing to look at and no show -json runs; the outputs come from the backend's state. With
// details asked for (deploy --format json), show -json runs too.
func TestDeployNewEnvironmentRuns(t *testing.T) {
	h := newHarness(t, nil)
	h.eng.plans = []fakePlan{{changes: []*tfjson.ResourceChange{change("aws_vpc.vpc", create)},
		after: state(resource("aws_vpc.vpc", map[string]any{"id": "vpc-1"}))}}
	res, err := Deploy(context.Background(), h.prepared(), h.options(), DeployOptions{SkipLive: true,
		Outputs: OutputsOptions{File: t.TempDir() + "/o.json"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.runs(); got != "init plan apply" {
		t.Errorf("engine runs %q, want %q", got, "init plan apply")
	}
	if len(res.Rounds) != 1 || !slices.Equal(res.Rounds[0].Summary.Created, []string{"aws_vpc.vpc"}) {
		t.Errorf("rounds %+v", res.Rounds)
	}
	d := newHarness(t, nil)
	d.eng.plans = h.eng.plans
	if _, err := Deploy(context.Background(), d.prepared(), d.options(), DeployOptions{SkipLive: true, Details: true,
		Outputs: OutputsOptions{File: t.TempDir() + "/o.json"}}); err != nil || d.runs() != "init plan show apply" {
		t.Errorf("with details: %v, runs %q, want init plan show apply", err, d.runs())
	}
	if res.Outputs["vpc_id"] != "vpc-1" || res.Outputs["token"] != nil {
		t.Errorf("outputs %v: want vpc_id and no sensitive token", res.Outputs)
	}
	planFileGone(t, h)
}

// The guard refuses a plan that replaces a protected resource: nothing is applied, the error is a refusal that
// names the resource and the attribute forcing it.
func TestDeployGuardRefusal(t *testing.T) {
	h := newHarness(t, state(resource("aws_vpc.vpc", map[string]any{"id": "vpc-1"})))
	h.eng.plans = []fakePlan{{changes: []*tfjson.ResourceChange{
		change("aws_vpc.vpc", replace, "cidr_block"), change("aws_route.public_route", update)}}}
	_, err := Deploy(context.Background(), h.prepared(), h.options(), DeployOptions{SkipLive: true,
		Outputs: OutputsOptions{File: t.TempDir() + "/o.json"}})
	var ge *GuardError
	if !errors.As(err, &ge) || !Refused(err) {
		t.Fatalf("error %v (%T), want a refusing *GuardError", err, err)
	}
	if len(ge.Violations) != 1 || ge.Violations[0].Address != "aws_vpc.vpc" || !slices.Equal(ge.Violations[0].ForcedBy, []string{"cidr_block"}) {
		t.Errorf("violations %+v", ge.Violations)
	}
	if !strings.HasPrefix(err.Error(), "guard: ") || slices.Contains(h.eng.runs, "apply") {
		t.Errorf("error %q, runs %q: want step guard and no apply", err, h.runs())
	}
	planFileGone(t, h)

	// Allowed, the same plan is applied and the round says what was let through.
	h2 := newHarness(t, h.eng.state)
	h2.eng.plans = h.eng.plans
	res, err := Deploy(context.Background(), h2.prepared(), h2.options(), DeployOptions{SkipLive: true, AllowDestroy: true,
		Outputs: OutputsOptions{File: t.TempDir() + "/o.json"}})
	if err != nil || !slices.Contains(h2.eng.runs, "apply") || len(res.Rounds[0].Allowed) != 1 {
		t.Errorf("allowed: %v, runs %q, rounds %+v", err, h2.runs(), res.Rounds)
	}
}

// A migration that needs two applies (the node role keeps the CNI policy until vpc-cni runs with its own role)
// runs a second round on the state the first left, and the document ends without the node policy.
func TestDeploySecondRound(t *testing.T) {
	before := state(resource("aws_eks_cluster.eks_cluster", map[string]any{"version": "1.36"}),
		resource("aws_iam_role_policy_attachment.eks_cni_policy", map[string]any{}),
		resource("aws_eks_addon.vpc_cni_addon", map[string]any{"addon_name": "vpc-cni", "service_account_role_arn": ""}))
	after := state(resource("aws_eks_cluster.eks_cluster", map[string]any{"version": "1.36"}),
		resource("aws_iam_role_policy_attachment.eks_cni_policy", map[string]any{}),
		resource("aws_eks_addon.vpc_cni_addon", map[string]any{"addon_name": "vpc-cni",
			"service_account_role_arn": "arn:aws:iam::123456789012:role/vpc-cni"}))
	h := newHarness(t, before)
	h.cfg.Cluster.KubernetesVersion = "1.36"
	h.eng.plans = []fakePlan{
		{changes: []*tfjson.ResourceChange{change("aws_eks_addon.vpc_cni_addon", update)}, after: after},
		{changes: []*tfjson.ResourceChange{change("aws_iam_role_policy_attachment.eks_cni_policy", tfjson.Actions{tfjson.ActionDelete})}},
	}
	res, err := Deploy(context.Background(), h.prepared(), h.options(), DeployOptions{SkipLive: true,
		Outputs: OutputsOptions{File: t.TempDir() + "/o.json"}})
	if err != nil {
		t.Fatal(err)
	}
	// The first round only updates (no show); the second deletes the node policy, so the guard looks at it.
	if got := h.runs(); got != "init plan apply plan show apply" {
		t.Errorf("engine runs %q, want two rounds: plan, apply; plan, show, apply", got)
	}
	if len(res.Rounds) != 2 || !strings.Contains(res.Rounds[1].Reason, "vpc-cni now runs with its own role") {
		t.Errorf("rounds %+v", res.Rounds)
	}
	doc := string(mustRead(t, h.eng.dir+"/"+DocumentName))
	if strings.Contains(doc, "eks_cni_policy") {
		t.Error("after the second round the document still gives nodes the CNI policy")
	}
	if !slices.ContainsFunc(h.pr.notes, func(n string) bool { return strings.HasPrefix(n, "kept AmazonEKS_CNI_Policy") }) {
		t.Errorf("the first round did not note that it kept the node policy: %v", h.pr.notes)
	}
}

// fakeCatalog answers DescribeAddonVersions for the upgrade: every add-on has one build per version, the default.
func fakeCatalog(_ context.Context, _ *config.Config, k8s string, names []string) (map[string]live.AddonVersions, error) {
	out := map[string]live.AddonVersions{}
	for _, n := range names {
		b := fmt.Sprintf("v%s.0-eksbuild.1", k8s)
		out[n] = live.AddonVersions{Name: n, Kubernetes: k8s, Offered: []string{b}, Default: b}
	}
	return out, nil
}

// upgradeState is a cluster and its node groups on a version, with every add-on of the default stack.
func upgradeState(k8s string) *tfjson.State {
	rs := []*tfjson.StateResource{resource("aws_eks_cluster.eks_cluster", map[string]any{"version": k8s, "name": "eks-cluster-v1-ut"}),
		resource("aws_eks_node_group.on_demand_node_group", map[string]any{"version": k8s, "node_group_name": "node-group-od-v1-ut"}),
		resource("aws_eks_node_group.spot_node_group", map[string]any{"version": k8s, "node_group_name": "node-group-spot-v1-ut"})}
	for _, a := range []string{"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"} {
		addr := "aws_eks_addon." + strings.ReplaceAll(a, "-", "_") + "_addon"
		rs = append(rs, resource(addr, map[string]any{"addon_name": a, "addon_version": "v" + k8s + ".0-eksbuild.1"}))
	}
	cfg, _ := config.Defaults("default")
	for _, p := range stack.PlatformAddons(&cfg) {
		rs = append(rs, resource(p.Address, map[string]any{"addon_name": p.Name, "addon_version": "v" + k8s + ".0-eksbuild.1"}))
	}
	return state(rs...)
}

// An upgrade whose second step fails stops saying where everything is; the same call continues from there and
// finishes with the one step left.
func TestUpgradeStopsAndResumes(t *testing.T) {
	h := newHarness(t, upgradeState("1.33"))
	h.cfg.Cluster.KubernetesVersion = "1.33"
	h.eng.plans = []fakePlan{
		{changes: []*tfjson.ResourceChange{change("aws_eks_cluster.eks_cluster", update)}, after: upgradeState("1.34")},
		{changes: []*tfjson.ResourceChange{change("aws_eks_cluster.eks_cluster", update)}, after: upgradeState("1.35")},
	}
	h.eng.applyErr = map[int]error{2: errors.New("ResourceInUseException: an update is in progress")}
	uo := UpgradeOptions{To: "1.35", SkipLive: true, ResolveAddons: fakeCatalog}
	_, err := Upgrade(context.Background(), h.prepared(), h.options(), uo)
	var se *UpgradeStoppedError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *UpgradeStoppedError", err, err)
	}
	if Refused(err) || !se.Changed || !strings.Contains(se.Step, "step 2/2: Kubernetes 1.34 -> 1.35") ||
		!strings.Contains(se.Where, "the cluster and its 2 node group(s) are on Kubernetes 1.34") || !strings.Contains(err.Error(), "apply: ResourceInUseException") {
		t.Errorf("stopped: refused %v, %+v\n%v", Refused(err), se, err)
	}
	if !strings.Contains(h.pr.out.String(), "step 1/2 done") {
		t.Errorf("step 1 not reported done:\n%s", h.pr.out.String())
	}
	// Every add-on of the document moves with the step, the platform add-ons too.
	for _, a := range []string{"aws-ebs-csi-driver", "metrics-server", "amazon-cloudwatch-observability", "eks-node-monitoring-agent", "coredns"} {
		if want := "add-on " + a + ": v1.33.0-eksbuild.1 -> v1.34.0-eksbuild.1 (EKS's default for 1.34)"; !strings.Contains(h.pr.out.String(), want) {
			t.Errorf("step 1 does not say %q:\n%s", want, h.pr.out.String())
		}
	}

	// Again, from the state the stop left: one step, 1.34 -> 1.35.
	h2 := newHarness(t, h.eng.state)
	h2.cfg.Cluster.KubernetesVersion = "1.33"
	h2.eng.plans = h.eng.plans[1:]
	res, err := Upgrade(context.Background(), h2.prepared(), h2.options(), uo)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "1.34" || res.To != "1.35" || res.Steps != 1 || h2.eng.state.Values.RootModule.Resources[0].AttributeValues["version"] != "1.35" {
		t.Errorf("resumed: %+v", res)
	}
	if !slices.ContainsFunc(h2.pr.notes, func(n string) bool { return strings.Contains(n, "the configuration says Kubernetes 1.33") }) {
		t.Errorf("no note about the configured version: %v", h2.pr.notes)
	}
}

// An upgrade refused by the checks of its first step changed nothing: a refusal, with no plan run.
func TestUpgradeRefusedBeforeAnything(t *testing.T) {
	h := newHarness(t, upgradeState("1.33"))
	h.cfg.Cluster.KubernetesVersion = "1.33"
	_, err := Upgrade(context.Background(), h.prepared(), h.options(), UpgradeOptions{To: "1.31", SkipLive: true, ResolveAddons: fakeCatalog})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != "--to" || !Refused(err) || slices.Contains(h.eng.runs, "plan") {
		t.Errorf("downgrade: %v (%T), runs %q", err, err, h.runs())
	}
}

// fakeCleaner stands in for the VPC scan: what Kubernetes left, found once; what was removed.
type fakeCleaner struct {
	left    []cleanup.Item
	removed []cleanup.Item
	found   int
	// groups are the log groups that exist again when destroy asks to delete them (nil: any asked for does).
	groups  map[string]bool
	deleted []string // every group destroy asked to delete
}

func (c *fakeCleaner) Find(context.Context, cleanup.Target) ([]cleanup.Item, error) {
	c.found++
	if len(c.removed) > 0 {
		return nil, nil
	}
	return c.left, nil
}
func (c *fakeCleaner) Remove(_ context.Context, items []cleanup.Item) error {
	c.removed = append(c.removed, items...)
	return nil
}
func (c *fakeCleaner) DeleteLogGroup(_ context.Context, name string) (bool, error) {
	c.deleted = append(c.deleted, name)
	return c.groups == nil || c.groups[name], nil
}

// The CloudWatch agent writes its groups again when Terraform deleted them before its pods were gone: destroy
// deletes those that came back, only the cluster's Container Insights groups its state held, and says so.
func TestDestroyDeletesAgentLogGroupsThatCameBack(t *testing.T) {
	const ci = "/aws/containerinsights/eks-cluster-v1-ut/"
	st := state(resource("aws_eks_cluster.eks_cluster", map[string]any{"name": "eks-cluster-v1-ut"}),
		resource("aws_cloudwatch_log_group.container_insights_application", map[string]any{"name": ci + "application"}),
		resource("aws_cloudwatch_log_group.container_insights_performance", map[string]any{"name": ci + "performance"}),
		resource("aws_cloudwatch_log_group.vpc_flow_log_group", map[string]any{"name": "/aws/vpc-flow-log/eks-vpc-v1-ut"}))
	h := newHarness(t, st)
	cl := &fakeCleaner{groups: map[string]bool{ci + "performance": true}}
	res, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Yes: true,
		Cleaner: func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return cl, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/aws/eks/eks-cluster-v1-ut/cluster", ci + "application", ci + "performance"}; !slices.Equal(cl.deleted, want) {
		t.Errorf("destroy asked to delete %v, want %v", cl.deleted, want)
	}
	if !slices.Equal(res.AgentLogGroupsDeleted, []string{ci + "performance"}) ||
		!strings.Contains(h.pr.log.String(), "deleted log group "+ci+"performance, which the CloudWatch agent had created again") {
		t.Errorf("result %+v, log:\n%s", res, h.pr.log.String())
	}
	// A state without the groups, and a configuration without the add-on: nothing of the agent's is touched.
	h = newHarness(t, state(resource("aws_eks_cluster.eks_cluster", map[string]any{"name": "eks-cluster-v1-ut"})))
	h.cfg.Addons.CloudWatchObservability = false
	cl = &fakeCleaner{}
	if _, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Yes: true,
		Cleaner: func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return cl, nil }}); err != nil ||
		!slices.Equal(cl.deleted, []string{"/aws/eks/eks-cluster-v1-ut/cluster"}) {
		t.Errorf("without the groups in state: %v, deleted %v", err, cl.deleted)
	}
}

// A destroy whose scan finds what Kubernetes left refuses without Yes (nothing destroyed) and, with Yes, removes
// it before destroying the stack and deletes the log group EKS created again.
func TestDestroyWithLeftovers(t *testing.T) {
	st := state(resource("aws_vpc.vpc", map[string]any{"id": "vpc-1"}),
		resource("aws_eks_cluster.eks_cluster", map[string]any{"name": "eks-cluster-v1-ut"}))
	lb := cleanup.Item{Kind: cleanup.LoadBalancer, ID: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/k8s/1"}
	for _, yes := range []bool{false, true} {
		h := newHarness(t, st)
		cl := &fakeCleaner{left: []cleanup.Item{lb}}
		res, err := Destroy(context.Background(), h.prepared(), h.options(), DestroyOptions{Yes: yes,
			Cleaner: func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return cl, nil }})
		if !yes {
			var le *LeftoversError
			if !errors.As(err, &le) || !Refused(err) || le.VPC != "vpc-1" || slices.Contains(h.eng.runs, "destroy") || len(cl.removed) != 0 {
				t.Errorf("without yes: %v, runs %q, removed %v", err, h.runs(), cl.removed)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(cl.removed) != 1 || !slices.Contains(h.eng.runs, "destroy") || !res.LogGroupDeleted || res.Resources != 2 {
			t.Errorf("with yes: removed %v, runs %q, result %+v", cl.removed, h.runs(), res)
		}
		// The roll record goes with the environment, after its resources.
		if i, j := slices.Index(h.eng.runs, "destroy"), slices.Index(h.eng.runs, "record:clear"); j < i {
			t.Errorf("runs %q: the roll record is not cleared after the destroy", h.runs())
		}
		if !strings.Contains(h.pr.log.String(), "Kubernetes left 1 object(s) in VPC vpc-1") {
			t.Errorf("leftovers not listed:\n%s", h.pr.log.String())
		}
	}
}
