package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/pkg/rules"
)

func init() { register(newOutputsCommand) }

// environmentFlags are the stack flags of destroy and outputs. What they do follows from the environment's state:
// they take the settings that find it (locatesEnvironment), where the stack directory is (--out) and the engine,
// but none that only shape what the environment should contain, nor --date, --allow or --adopt-existing.
var environmentFlags = stackFlagSet{settings: locatesEnvironment, out: true, engine: true}

func newOutputsCommand(s stdio) *cobra.Command {
	var (
		sf *stackFlags
		ef *engineFlags
		of *outputFlags
	)
	cmd := &cobra.Command{
		Use:   "outputs",
		Short: "write the deployed stack's outputs to cfn-outputs/flat-outputs.json",
		Long: `outputs reads the outputs of the deployed stack's state and writes the pipeline's outputs file atomically:
nested {"TapStack<suffix>": {...}} by default, a flat {name: value} map with --flat. Sensitive outputs are left
out. It prints the file's path on stdout and changes nothing in the account or the state.`,
		Example: `  tapstack outputs
  tapstack outputs --flat --outputs-file outputs.json
  tapstack outputs --environment-suffix pr42 --state-bucket my-tf-states`,
		RunE: func(*cobra.Command, []string) error { return runOutputs(sf, ef, of, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, environmentFlags)
	ef = addEngineFlags(fs)
	of = addOutputFlags(fs)
	return cmd
}

func runOutputs(sf *stackFlags, ef *engineFlags, of *outputFlags, s stdio) error {
	ctx, stop := commandContext()
	defer stop()
	ss, err := openSession(ctx, "outputs", sf, ef, s, s.err, rules.Invalid)
	if err != nil {
		return err
	}
	defer ss.close()
	v, err := ss.writeOutputs(ctx, of)
	if err != nil {
		return stepError("outputs", err)
	}
	fmt.Fprintf(s.err, "wrote %d outputs of %s\n", len(v), ss.stackName())
	fmt.Fprintln(s.out, of.file)
	return nil
}
