package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
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
		Short: "destroy the environment, what its cluster created in AWS first, and what Kubernetes left in its VPC",
		Long: `destroy reads the environment's state and asks the cluster's Kubernetes API what created AWS resources
Terraform does not manage: Ingresses, Services of type LoadBalancer, and PersistentVolumeClaims whose volumes were
provisioned dynamically with reclaim policy Delete (volumes with reclaim policy Retain are listed and left). It
also finds what Kubernetes left in the VPC (load balancers, target groups, security groups, network interfaces).
Without --yes it lists all of it and refuses when there is any (exit 2, nothing changed), and otherwise asks for
"yes" on stdin. With --yes it scales the cluster autoscaler to 0, deletes the Ingresses, then the LoadBalancer
Services, then the claims and the pods using them (while their controllers still run), waits for them and their
volumes to go and for AWS to delete their load balancers, removes what is left in the VPC, destroys every
resource of the state, then deletes the control-plane log group EKS may have created again. When the cluster's endpoint cannot be reached
(private only, the runner outside the VPC), it says so and falls back to the VPC scan alone.`,
		Example: `  tapstack destroy
  tapstack destroy --yes
  tapstack destroy --config tapstack.yaml --environment-suffix pr42 --yes`,
		RunE: func(*cobra.Command, []string) error { return runDestroy(sf, ef, yes, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, environmentFlags)
	ef = addEngineFlags(fs)
	fs.BoolVar(&yes, "yes", false,
		"do not ask for confirmation; delete the Ingresses, LoadBalancer Services and Delete-policy claims in the "+
			"cluster first, and the load balancers, target groups, security groups and network interfaces Kubernetes "+
			"left in the VPC")
	return cmd
}

func runDestroy(sf *stackFlags, ef *engineFlags, yes bool, s stdio) error {
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	res, err := lifecycle.Destroy(ctx, p, options(sf, ef, newProgress(s)), lifecycle.DestroyOptions{
		Yes: yes, Confirm: func(q string) bool { return confirm(s, q) }})
	if err != nil {
		return commandError(s, err)
	}
	if res.Resources > 0 {
		fmt.Fprintf(s.out, "destroyed %s\n", res.Stack)
	}
	if res.Drained != nil {
		for _, o := range res.Drained.Deleted {
			fmt.Fprintf(s.out, "deleted %s before the stack\n", o)
		}
		for _, p := range res.Drained.TimedOut {
			fmt.Fprintf(s.out, "did not go in time: %s\n", p)
		}
	}
	if res.Kubernetes != nil {
		for _, v := range res.Kubernetes.Retained {
			fmt.Fprintf(s.out, "left %s\n", v)
		}
	}
	if res.KubernetesSkipped != "" {
		fmt.Fprintf(s.out, "fell back to the VPC scan: %s\n", res.KubernetesSkipped)
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
