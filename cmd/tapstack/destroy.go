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
