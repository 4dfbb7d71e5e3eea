package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/pkg/rules"
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

// synthesize writes cdk.tf.json after refusing invalid findings; would-fail findings are printed as warnings.
func synthesize(p *prepared, out string, s stdio) (string, error) {
	if err := refuse(s, p.findings, rules.Invalid); err != nil {
		return "", err
	}
	var warn []rules.Finding
	for _, f := range p.findings {
		if f.Kind == rules.WouldFail && f.Severity == rules.Error {
			f.Severity = rules.Warning
			warn = append(warn, f)
		}
	}
	if len(warn) > 0 {
		var b strings.Builder
		rules.WriteFindings(&b, warn)
		fmt.Fprint(s.err, b.String())
	}
	return writeDocument(p, out)
}

// writeDocument writes the stack's cdk.tf.json atomically and returns its path.
func writeDocument(p *prepared, out string) (string, error) {
	data, err := p.stack.Doc.Marshal()
	if err != nil {
		return "", err
	}
	path := filepath.Join(p.dir(out), "cdk.tf.json")
	if err := fsutil.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

func runSynth(sf *stackFlags, s stdio) error {
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	path, err := synthesize(p, sf.out, s)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.out, path)
	return nil
}
