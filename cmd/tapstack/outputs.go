package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
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
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	v, err := lifecycle.Outputs(ctx, p, options(sf, ef, newProgress(s)), of.options())
	if err != nil {
		return commandError(s, err)
	}
	fmt.Fprintf(s.err, "wrote %d outputs of %s\n", len(v), p.Config.StackName())
	fmt.Fprintln(s.out, of.file)
	return nil
}
