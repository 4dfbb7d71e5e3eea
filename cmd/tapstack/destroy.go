package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/cleanup"
	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/rules"
)

func init() { register(newDestroyCommand) }

func newDestroyCommand(s stdio) *cobra.Command {
	var (
		sf  *stackFlags
		ef  *engineFlags
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "destroy the environment, and what Kubernetes left in its VPC",
		Long: `destroy reads the environment's state, finds what Kubernetes left in its VPC that Terraform does not manage
(load balancers, target groups, security groups, network interfaces) and lists it. Without --yes it refuses when
there is any (exit 2, nothing changed) and otherwise asks for "yes" on stdin. With --yes it removes those objects,
destroys every resource of the state, then deletes the control-plane log group EKS may have created again.`,
		Example: `  tapstack destroy
  tapstack destroy --yes
  tapstack destroy --config tapstack.yaml --environment-suffix pr42 --yes`,
		RunE: func(*cobra.Command, []string) error { return runDestroy(sf, ef, yes, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, environmentFlags)
	ef = addEngineFlags(fs)
	fs.BoolVar(&yes, "yes", false,
		"do not ask for confirmation, and delete the load balancers, target groups, security groups and network "+
			"interfaces Kubernetes left in the VPC")
	return cmd
}

func runDestroy(sf *stackFlags, ef *engineFlags, yes bool, s stdio) error {
	ctx, stop := commandContext()
	defer stop()
	ss, err := openSession(ctx, "destroy", sf, ef, s, s.err, rules.Invalid)
	if err != nil {
		return err
	}
	defer ss.close()

	st, err := ss.eng.State(ctx)
	if err != nil {
		return stepError("state", err)
	}
	env := environmentOf(st, ss.p.cfg.ClusterName())
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(ss.p.cfg.Region))
	if err != nil {
		return stepError("cleanup", err)
	}
	cl := cleanup.New(cleanup.NewClients(awsCfg))
	cl.Log = s.err

	n := len(engine.Resources(st))
	if n == 0 {
		fmt.Fprintf(s.err, "the state of %s holds no resources: nothing to destroy\n", ss.stackName())
		if yes {
			return removeLogGroup(ctx, cl, env.cluster, s)
		}
		return nil
	}
	fmt.Fprintf(s.err, "%s holds %d resources: cluster %s, VPC %s\n", ss.stackName(), n, env.cluster, orUnknown(env.vpc))

	target := cleanup.Target{VPCID: env.vpc, Cluster: env.cluster}
	if env.clusterSG != "" {
		target.Keep = []string{env.clusterSG}
	}
	var leftovers []cleanup.Item
	if env.vpc != "" {
		if leftovers, err = cl.Find(ctx, target); err != nil {
			return stepError("cleanup", err)
		}
		listLeftovers(s.err, env.vpc, leftovers)
	}

	if !yes {
		if len(leftovers) > 0 {
			return stepError("cleanup", fail(exitInvalid, "%d object(s) that Terraform does not manage would stop VPC %s "+
				"from being deleted; delete them, or run again with --yes to delete them with the stack; nothing was changed",
				len(leftovers), env.vpc))
		}
		if !confirm(s, fmt.Sprintf("Destroy every resource of %s (%d resources, cluster %s)?", ss.stackName(), n, env.cluster)) {
			return fail(exitInvalid, "not confirmed; nothing was changed")
		}
	}
	if len(leftovers) > 0 {
		if err := cl.Remove(ctx, leftovers); err != nil {
			return stepError("cleanup", err)
		}
	}
	err = ss.eng.Destroy(ctx)
	if err != nil && yes && env.vpc != "" {
		// The cluster may have created more before it went away; remove that and try once more.
		if more, ferr := cl.Find(ctx, target); ferr == nil && len(more) > 0 {
			listLeftovers(s.err, env.vpc, more)
			if rerr := cl.Remove(ctx, more); rerr != nil {
				return stepError("cleanup", rerr)
			}
			err = ss.eng.Destroy(ctx)
		}
	}
	if err != nil {
		return stepError("destroy", err)
	}
	if err := removeLogGroup(ctx, cl, env.cluster, s); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "destroyed %s\n", ss.stackName())
	return nil
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
		e.cluster = attr("aws_eks_cluster.eks_cluster", "name")
	}
	if e.cluster == "" {
		e.cluster = defaultCluster
	}
	if e.vpc == "" {
		e.vpc = attr("aws_vpc.vpc", "id")
	}
	if e.clusterSG == "" {
		if vc, ok := engine.Attribute(st, "aws_eks_cluster.eks_cluster", "vpc_config").([]any); ok && len(vc) > 0 {
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
func removeLogGroup(ctx context.Context, cl *cleanup.Cleaner, cluster string, s stdio) error {
	name := cleanup.LogGroupName(cluster)
	deleted, err := cl.DeleteLogGroup(ctx, name)
	if err != nil {
		return stepError("log group", err)
	}
	if deleted {
		fmt.Fprintf(s.err, "deleted log group %s, which EKS had created again\n", name)
	}
	return nil
}

// confirm asks on stderr and reads the answer from stdin; only "yes" confirms.
func confirm(s stdio, question string) bool {
	fmt.Fprintf(s.err, "%s Only 'yes' will be accepted: ", question)
	if s.in == nil {
		fmt.Fprintln(s.err)
		return false
	}
	line, err := bufio.NewReader(s.in).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(s.err)
		return false
	}
	return strings.TrimSpace(line) == "yes"
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
