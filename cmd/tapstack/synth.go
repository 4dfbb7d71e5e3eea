package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/pkg/rules"
)

func init() {
	register(&command{name: "synth", summary: "write the Terraform JSON of the environment", run: runSynth})
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

func runSynth(args []string, s stdio) error {
	fs := newFlagSet("synth", s)
	sf := addStackFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
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
