package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
)

func init() { register(newSynthCommand) }

func newSynthCommand(s stdio) *cobra.Command {
	var sf *stackFlags
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "write the Terraform JSON of the environment",
		Long: `synth writes the environment's Terraform JSON to OUT/stacks/TapStack<suffix>/cdk.tf.json (OUT is --out,
default cdktf.out) and prints its path. It refuses an invalid configuration (exit 2, nothing written) and prints
would-fail findings as warnings; --allow ID overrules one knowingly. It makes no AWS call and reads no state.`,
		Example: `  tapstack synth
  tapstack synth --profile hardened --out build
  tapstack synth --config tapstack.yaml --environment-suffix pr42 --availability-zones us-east-1a,us-east-1b`,
		RunE: func(*cobra.Command, []string) error { return runSynth(sf, s) },
	}
	sf = addStackFlags(cmd.Flags(), buildFlags)
	return cmd
}

func runSynth(sf *stackFlags, s stdio) error {
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	path, err := lifecycle.Synth(p, sf.out, newProgress(s))
	if err != nil {
		return commandError(s, err)
	}
	fmt.Fprintln(s.out, path)
	return nil
}
