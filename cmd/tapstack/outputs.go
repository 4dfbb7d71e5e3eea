package main

import (
	"fmt"

	"github.com/tapstack/tapstack/pkg/rules"
)

func init() {
	register(&command{name: "outputs", summary: "write the deployed stack's outputs to cfn-outputs/flat-outputs.json", run: runOutputs})
}

func runOutputs(args []string, s stdio) error {
	fs := newFlagSet("outputs", s)
	sf := addStackFlags(fs)
	ef := addEngineFlags(fs)
	of := addOutputFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
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
