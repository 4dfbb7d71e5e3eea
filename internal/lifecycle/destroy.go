package lifecycle

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	tfjson "github.com/hashicorp/terraform-json"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/cleanup"
	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

// Cleaner finds and removes what Kubernetes left in a VPC outside Terraform; *cleanup.Cleaner is one.
type Cleaner interface {
	Find(ctx context.Context, t cleanup.Target) ([]cleanup.Item, error)
	Remove(ctx context.Context, items []cleanup.Item) error
	DeleteLogGroup(ctx context.Context, name string) (deleted bool, err error)
}

// DestroyOptions are Destroy's own options.
type DestroyOptions struct {
	// Yes destroys without asking, and removes what Kubernetes left in the VPC.
	Yes bool
	// Confirm asks a person; only true confirms. Nil never confirms.
	Confirm func(question string) bool
	// Cleaner finds and removes leftovers; nil: the account's, in the environment's region.
	Cleaner func(ctx context.Context, cfg *config.Config, log io.Writer) (Cleaner, error)
	// Drain bounds the wait for what destroy deletes in the cluster first (its Log is the workflow's).
	Drain incluster.DrainOptions
	// ReleaseTimeout bounds the wait for AWS to delete the load balancers of the deleted Ingresses and Services
	// (0: 5 minutes); ReleasePoll is how often the VPC scan looks (0: 10 seconds). What is left then is removed as
	// any leftover.
	ReleaseTimeout, ReleasePoll time.Duration
}

// DestroyResult is what a destroy did.
type DestroyResult struct {
	Stack     string
	Resources int
	Leftovers []cleanup.Item
	// LogGroupDeleted: EKS had created the control-plane log group again, and destroy deleted it.
	LogGroupDeleted bool
	// AgentLogGroupsDeleted are the Container Insights log groups the CloudWatch agent had created again after
	// Terraform deleted them, which destroy then deleted.
	AgentLogGroupsDeleted []string
	// Kubernetes is what destroy found in the cluster to delete before the stack, and the volumes it leaves; nil
	// when it did not ask (no cluster in the state, or KubernetesSkipped).
	Kubernetes *incluster.Plan
	// Drained is what it deleted there; nil when it deleted nothing.
	Drained *incluster.DrainReport
	// KubernetesSkipped says why destroy could not ask the cluster and fell back to the VPC scan alone.
	KubernetesSkipped string
}

// InClusterError: the cluster runs objects whose AWS resources Terraform does not manage (load balancers,
// volumes), and the caller did not ask to delete them; nothing changed.
type InClusterError struct {
	Cluster string
	Plan    incluster.Plan
}

func (e *InClusterError) Error() string {
	return fmt.Sprintf("cluster %s runs %d Kubernetes object(s) whose load balancers or volumes Terraform does not "+
		"manage; run again with --yes to delete them before the stack, or delete them yourself; nothing was changed",
		e.Cluster, len(e.Plan.Deletes()))
}

func (e *InClusterError) Refused() bool { return true }

// LeftoversError: Kubernetes left objects in the VPC that would stop it from being deleted, and the caller did
// not ask to remove them; nothing changed.
type LeftoversError struct {
	VPC   string
	Items []cleanup.Item
}

func (e *LeftoversError) Error() string {
	return fmt.Sprintf("%d object(s) that Terraform does not manage would stop VPC %s from being deleted; delete them, "+
		"or run again with --yes to delete them with the stack; nothing was changed", len(e.Items), e.VPC)
}

func (e *LeftoversError) Refused() bool { return true }

// NotConfirmedError: a person did not confirm; nothing changed.
type NotConfirmedError struct{}

func (NotConfirmedError) Error() string { return "not confirmed; nothing was changed" }
func (NotConfirmedError) Refused() bool { return true }

func accountCleaner(ctx context.Context, cfg *config.Config, log io.Writer) (Cleaner, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		return nil, err
	}
	cl := cleanup.New(cleanup.NewClients(awsCfg))
	cl.Log = log
	return cl, nil
}

// Destroy reads the environment's state and asks the cluster, when it has one and its endpoint answers, what to
// delete before the stack (incluster.ScanForDestroy); it finds what Kubernetes left in its VPC outside Terraform.
// Without Yes, objects to delete in the cluster or leftovers in the VPC refuse it; otherwise, once confirmed (or
// with Yes), it drains the cluster (incluster.Drain), waits for AWS to delete the load balancers the deleted
// objects had, removes what is left in the VPC, destroys every resource of the state, then deletes the
// control-plane log group EKS may have created again and the Container Insights groups the CloudWatch agent may
// have. A cluster it cannot reach leaves the VPC scan alone, and it says so.
func Destroy(ctx context.Context, p *Prepared, o Options, do DestroyOptions) (*DestroyResult, error) {
	ss, err := open(ctx, "destroy", p, o, rules.Invalid)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	res := &DestroyResult{Stack: ss.stackName()}
	log := ss.pr.Log()

	st, err := ss.state(ctx)
	if err != nil {
		return nil, step("state", err)
	}
	env := environmentOf(st, ss.p.Config.ClusterName())
	newCleaner := do.Cleaner
	if newCleaner == nil {
		newCleaner = accountCleaner
	}
	cl, err := newCleaner(ctx, ss.p.Config, log)
	if err != nil {
		return nil, step("cleanup", err)
	}

	res.Resources = len(engine.Resources(st))
	if res.Resources == 0 {
		fmt.Fprintf(log, "the state of %s holds no resources: nothing to destroy\n", ss.stackName())
		if do.Yes {
			if res.LogGroupDeleted, err = removeLogGroup(ctx, cl, env.cluster, log); err == nil {
				res.AgentLogGroupsDeleted, err = removeAgentLogGroups(ctx, cl, agentLogGroups(st, ss.p.Config, env.cluster), log)
			}
		}
		return res, err
	}
	agentGroups := agentLogGroups(st, ss.p.Config, env.cluster)
	fmt.Fprintf(log, "%s holds %d resources: cluster %s, VPC %s\n", ss.stackName(), res.Resources, env.cluster, orUnknown(env.vpc))

	var kube kubernetes.Interface
	if hasCluster(st) {
		kube = ss.askKubernetes(ctx, env.cluster, do.Yes, res)
	}

	target := cleanup.Target{VPCID: env.vpc, Cluster: env.cluster}
	if env.clusterSG != "" {
		target.Keep = []string{env.clusterSG}
	}
	find := func() error {
		if env.vpc == "" {
			return nil
		}
		if err := timed(ss.pr, "cleanup", func() (err error) {
			res.Leftovers, err = cl.Find(ctx, target)
			return err
		}); err != nil {
			return step("cleanup", err)
		}
		listLeftovers(log, env.vpc, res.Leftovers)
		return nil
	}
	if err := find(); err != nil {
		return res, err
	}

	if !do.Yes {
		if res.Kubernetes != nil && len(res.Kubernetes.Deletes()) > 0 {
			return res, step("kubernetes", &InClusterError{Cluster: env.cluster, Plan: *res.Kubernetes})
		}
		if len(res.Leftovers) > 0 {
			return res, step("cleanup", &LeftoversError{VPC: env.vpc, Items: res.Leftovers})
		}
		q := fmt.Sprintf("Destroy every resource of %s (%d resources, cluster %s)?", ss.stackName(), res.Resources, env.cluster)
		if do.Confirm == nil || !do.Confirm(q) {
			return res, NotConfirmedError{}
		}
	}
	if kube != nil && !res.Kubernetes.Empty() {
		released, err := ss.drain(ctx, kube, do, res)
		if err != nil {
			return res, err
		}
		if released && env.vpc != "" {
			// The controllers delete the load balancers after the objects' finalizers allow it; what the scan
			// finds after that is what they left.
			ss.waitReleased(ctx, cl, target, do)
			if err := find(); err != nil {
				return res, err
			}
		}
	}
	if len(res.Leftovers) > 0 {
		if err := cl.Remove(ctx, res.Leftovers); err != nil {
			return res, step("cleanup", err)
		}
	}
	err = timed(ss.pr, "destroy", func() error { return ss.eng.Destroy(ctx) })
	if err != nil && do.Yes && env.vpc != "" {
		// The cluster may have created more before it went away; remove that and try once more.
		if more, ferr := cl.Find(ctx, target); ferr == nil && len(more) > 0 {
			listLeftovers(log, env.vpc, more)
			res.Leftovers = append(res.Leftovers, more...)
			if rerr := cl.Remove(ctx, more); rerr != nil {
				return res, step("cleanup", rerr)
			}
			err = timed(ss.pr, "destroy", func() error { return ss.eng.Destroy(ctx) })
		}
	}
	if err != nil {
		return res, step("destroy", err)
	}
	// A roll record outlives the groups it names: a later environment of the same name must not resume it. It is
	// kept beside the state, so it goes where the state is read from S3 (a caller reading the state its own way,
	// such as gc, removes it itself) or where a store is given.
	if ss.o.Rolls != nil || ss.o.State == nil {
		store, err := ss.rollStore(ctx)
		if err == nil {
			err = store.Clear(ctx, ss.p.Config)
		}
		if err != nil {
			ss.pr.Note(fmt.Sprintf("could not remove the roll record beside the state, if any: %v", err))
		}
	}
	if res.LogGroupDeleted, err = removeLogGroup(ctx, cl, env.cluster, log); err != nil {
		return res, err
	}
	res.AgentLogGroupsDeleted, err = removeAgentLogGroups(ctx, cl, agentGroups, log)
	return res, err
}

// hasCluster says whether the state holds the EKS cluster.
func hasCluster(st *tfjson.State) bool {
	return slices.ContainsFunc(engine.Resources(st), func(r *tfjson.StateResource) bool { return r.Address == stack.ClusterAddress })
}

// askKubernetes connects to the cluster and scans it for destroy, listing what it found; it returns nil, with
// res.KubernetesSkipped saying why, when the cluster cannot be asked.
func (ss *session) askKubernetes(ctx context.Context, cluster string, yes bool, res *DestroyResult) kubernetes.Interface {
	log := ss.pr.Log()
	var plan incluster.Plan
	client, err := ss.o.kube()(ctx, ss.p.Config)
	if err == nil {
		err = timed(ss.pr, "kubernetes", func() (err error) {
			plan, err = incluster.ScanForDestroy(ctx, client)
			return err
		})
	}
	if err != nil {
		res.KubernetesSkipped = fmt.Sprintf("could not ask cluster %s's Kubernetes API (%v)", cluster, err)
		msg := res.KubernetesSkipped + "; destroy fell back to the VPC scan alone: the volumes of PersistentVolumeClaims " +
			"are not deleted, and a LoadBalancer Service or Ingress still running may create its load balancer again"
		ss.pr.Note(msg)
		return nil
	}
	res.Kubernetes = &plan
	if plan.Empty() && len(plan.Retained) == 0 {
		fmt.Fprintf(log, "cluster %s runs nothing destroy must delete first\n", cluster)
		return client
	}
	fmt.Fprintf(log, "cluster %s, before the stack:\n", cluster)
	plan.Write(log, !yes)
	return client
}

// drain deletes what the scan found and reports it; released says whether load balancer controllers had objects
// to delete, whose load balancers AWS then removes.
func (ss *session) drain(ctx context.Context, client kubernetes.Interface, do DestroyOptions, res *DestroyResult) (released bool, err error) {
	opts := do.Drain
	opts.Log = ss.pr.Log()
	var rep incluster.DrainReport
	err = timed(ss.pr, "kubernetes", func() (err error) {
		rep, err = incluster.Drain(ctx, client, *res.Kubernetes, opts)
		return err
	})
	res.Drained = &rep
	if err != nil {
		return false, step("kubernetes", err)
	}
	for _, p := range rep.TimedOut {
		ss.pr.Note(fmt.Sprintf("%s did not go in time: %s; what it holds in AWS may be left behind (the VPC scan "+
			"removes load balancers and interfaces, not volumes)", p.Object, p.Why))
	}
	return len(res.Kubernetes.Ingresses)+len(res.Kubernetes.LoadBalancers) > 0, nil
}

// waitReleased waits, up to do.ReleaseTimeout, until the VPC scan finds no load balancer or target group: the
// controllers delete them, and their interfaces, after their objects go.
func (ss *session) waitReleased(ctx context.Context, cl Cleaner, target cleanup.Target, do DestroyOptions) {
	limit, poll := do.ReleaseTimeout, do.ReleasePoll
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	if poll <= 0 {
		poll = 10 * time.Second
	}
	_ = timed(ss.pr, "release", func() error {
		deadline := time.Now().Add(limit) // clock: a polling deadline
		for {
			items, err := cl.Find(ctx, target)
			if err != nil || !slices.ContainsFunc(items, balancing) || !time.Now().Add(poll).Before(deadline) { // clock: a polling deadline
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(poll): // clock: a polling interval
			}
		}
	})
}

// balancing: a load balancer or target group, which their controllers delete.
func balancing(it cleanup.Item) bool {
	return it.Kind == cleanup.LoadBalancer || it.Kind == cleanup.ClassicLoadBalancer || it.Kind == cleanup.TargetGroup
}

// environment is what destroy needs to know of a deployed stack, read from its state.
type environment struct {
	cluster, vpc, clusterSG string
}

// environmentOf reads the cluster's name, the VPC and the cluster security group from the state's outputs, or
// from the resources when the outputs are missing.
func environmentOf(st *tfjson.State, defaultCluster string) environment {
	out := func(name string) string {
		if st == nil || st.Values == nil || st.Values.Outputs[name] == nil {
			return ""
		}
		s, _ := st.Values.Outputs[name].Value.(string)
		return s
	}
	attr := func(addr, name string) string {
		s, _ := engine.Attribute(st, addr, name).(string)
		return s
	}
	e := environment{cluster: out("cluster_name"), vpc: out("vpc_id"), clusterSG: out("cluster_security_group_id")}
	if e.cluster == "" {
		e.cluster = attr(stack.ClusterAddress, "name")
	}
	if e.cluster == "" {
		e.cluster = defaultCluster
	}
	if e.vpc == "" {
		e.vpc = attr(stack.VPCAddress, "id")
	}
	if e.clusterSG == "" {
		if vc, ok := engine.Attribute(st, stack.ClusterAddress, "vpc_config").([]any); ok && len(vc) > 0 {
			if m, ok := vc[0].(map[string]any); ok {
				e.clusterSG, _ = m["cluster_security_group_id"].(string)
			}
		}
	}
	return e
}

func listLeftovers(w io.Writer, vpc string, items []cleanup.Item) {
	if len(items) == 0 {
		fmt.Fprintf(w, "nothing outside Terraform found in VPC %s\n", vpc)
		return
	}
	fmt.Fprintf(w, "Kubernetes left %d object(s) in VPC %s that Terraform does not manage:\n", len(items), vpc)
	for _, it := range items {
		fmt.Fprintf(w, "  %s\n", it)
	}
}

// removeLogGroup deletes the control-plane log group, which EKS may create again while it deletes the cluster.
func removeLogGroup(ctx context.Context, cl Cleaner, cluster string, log io.Writer) (bool, error) {
	name := cleanup.LogGroupName(cluster)
	deleted, err := cl.DeleteLogGroup(ctx, name)
	if err != nil {
		return false, step("log group", err)
	}
	if deleted {
		fmt.Fprintf(log, "deleted log group %s, which EKS had created again\n", name)
	}
	return deleted, nil
}

// agentLogGroups are the Container Insights groups of the cluster the state holds: the CloudWatch agent (Fluent Bit
// and the agent create a missing group when they next write, CloudWatch user guide,
// Container-Insights-setup-logs-FluentBit) may write one again after Terraform deleted it and before the add-on's
// pods are gone. An empty state names them from the configuration when the add-on is on in it.
func agentLogGroups(st *tfjson.State, cfg *config.Config, cluster string) []string {
	prefix := "/aws/containerinsights/" + cluster + "/"
	var out []string
	for _, r := range engine.Resources(st) {
		if r.Type != "aws_cloudwatch_log_group" {
			continue
		}
		if name, _ := r.AttributeValues["name"].(string); strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	if len(engine.Resources(st)) == 0 && cfg.Addons.CloudWatchObservability && cfg.ClusterName() == cluster {
		for _, g := range cfg.ContainerInsightsLogGroups() {
			out = append(out, g.Name)
		}
	}
	sort.Strings(out)
	return out
}

// removeAgentLogGroups deletes those of the named groups that exist again.
func removeAgentLogGroups(ctx context.Context, cl Cleaner, names []string, log io.Writer) ([]string, error) {
	var deleted []string
	for _, name := range names {
		ok, err := cl.DeleteLogGroup(ctx, name)
		if err != nil {
			return deleted, step("log group", err)
		}
		if ok {
			deleted = append(deleted, name)
			fmt.Fprintf(log, "deleted log group %s, which the CloudWatch agent had created again\n", name)
		}
	}
	return deleted, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
