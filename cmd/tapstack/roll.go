package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
)

func init() { register(newRollCommand) }

func newRollCommand(s stdio) *cobra.Command {
	var (
		sf      *stackFlags
		ef      *engineFlags
		of      *outputFlags
		group   string
		timeout time.Duration
		yes     bool
	)
	cmd := &cobra.Command{
		Use:   "roll",
		Short: "replace a node group without dropping its pods: new group beside it, drain, remove",
		Long: `roll replaces a managed node group, say onto a setting that forces its replacement (instance types, a launch
template), without taking its pods down with it. Node group names are fixed, so the replacement takes the other
name of the group: node-group-od-v1-<suffix>-b, and the plain name again on the next roll; the outputs keep their
keys and name the group in use.

It records the roll beside the state in S3 (<state key without .tfstate>.roll.json), then:
  1. applies the stack with the new group beside the old one, which is held as it runs;
  2. waits for the new group ACTIVE and its nodes Ready in Kubernetes;
  3. cordons the old group's nodes and evicts their pods through the eviction API, honouring
     PodDisruptionBudgets (a refused eviction is retried until --timeout; DaemonSet and mirror pods stay), waits
     until their workloads are ready elsewhere, and reports what could not be evicted;
  4. applies the stack without the old group;
  5. clears the record and writes the outputs file.
A roll that stops resumes at its recorded phase when run again. It needs the cluster's Kubernetes API (from inside
the VPC when the endpoint is private). deploy and upgrade refuse while a roll is under way.

Exit 0 rolled; 2 refused (nothing changed); 1 any other failure, the roll kept for a rerun.`,
		Example: `  tapstack roll --node-group node-group-od-v1-dev
  tapstack roll --node-group node-group-spot-v1-pr42 --timeout 30m --yes`,
		RunE: func(*cobra.Command, []string) error { return runRoll(sf, ef, of, group, timeout, yes, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, buildFlags)
	ef = addEngineFlags(fs)
	of = addOutputFlags(fs)
	fs.StringVar(&group, "node-group", "", "the node group to replace, by either of its names")
	fs.DurationVar(&timeout, "timeout", lifecycle.DefaultRollTimeout, "how long to wait for the new group's nodes, and for the drain")
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}

func runRoll(sf *stackFlags, ef *engineFlags, of *outputFlags, group string, timeout time.Duration, yes bool, s stdio) error {
	if group == "" {
		return fail(exitInvalid, "--node-group: name the node group to roll (node-group-od-v1-<suffix> or node-group-spot-v1-<suffix>)")
	}
	if timeout <= 0 {
		return fail(exitInvalid, "--timeout: %s is not a positive duration", timeout)
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	res, err := lifecycle.Roll(ctx, p, options(sf, ef, newProgress(s)), lifecycle.RollOptions{
		NodeGroup: group, Timeout: timeout, Yes: yes, Outputs: of.options(),
		Confirm: func(q string) bool { return confirm(s, q) }})
	if err != nil {
		return commandError(s, err)
	}
	fmt.Fprintf(s.err, "rolled %s onto %s; wrote %d outputs\n", res.Record.Old, res.Record.New, len(res.Outputs))
	fmt.Fprintln(s.out, of.file)
	return nil
}
