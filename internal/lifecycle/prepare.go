package lifecycle

import (
	"path/filepath"
	"time"

	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

// DocumentName is the synthesized document's file name in the stack directory, as CDKTF named it.
const DocumentName = "cdk.tf.json"

// RulesFunc runs the rules on a document; rules.Run unless a test adds a finding of its own.
type RulesFunc func(rules.Input) []rules.Finding

// Prepared is a loaded configuration, its stack and every finding on it.
type Prepared struct {
	Config   *config.Config
	Stack    *stack.Stack
	Findings []rules.Finding
	// Options built Stack; the engine workflows build it again around the state (Options.Existing).
	Options stack.Options
	rules   RulesFunc
	// took is how long the last build and its rules took, for the checks phase.
	took time.Duration
}

// Prepare builds the stack of cfg and runs every rule on it. run nil means rules.Run.
func Prepare(cfg *config.Config, opts stack.Options, run RulesFunc) *Prepared {
	if run == nil {
		run = rules.Run
	}
	p := &Prepared{Config: cfg, Options: opts, rules: run}
	p.rebuild(opts)
	return p
}

// Date is the day the date-based rules are checked on.
func (p *Prepared) Date() versions.Date { return p.Options.Date }

// rebuild builds the stack again with opts and runs the rules on the new document: the rules always judge the
// document that is written and planned.
func (p *Prepared) rebuild(opts stack.Options) {
	start := time.Now()
	defer func() { p.took = time.Since(start) }()
	p.Options = opts
	p.Stack = stack.Build(p.Config, opts)
	p.Findings = p.rules(rules.Input{Config: p.Config, Doc: p.Stack.Doc, Date: opts.Date, LiveCheckIDs: live.CheckIDs()})
}

// Dir is the stack's directory under out, as CDKTF laid it out: out/stacks/TapStack<suffix>.
func (p *Prepared) Dir(out string) string {
	return filepath.Join(out, "stacks", p.Config.StackName())
}

// errorsOf returns the findings of the given kinds at error severity.
func errorsOf(fs []rules.Finding, kinds ...rules.Kind) []rules.Finding {
	var bad []rules.Finding
	for _, f := range rules.Only(fs, kinds...) {
		if f.Severity == rules.Error {
			bad = append(bad, f)
		}
	}
	return bad
}

// Refuse returns a *RefusedError when any finding of the kinds is an error; what says what was not done.
func Refuse(fs []rules.Finding, what string, kinds ...rules.Kind) error {
	return refuse(fs, what, kinds...)
}

// refuse returns a *RefusedError when any finding of the kinds is an error.
func refuse(fs []rules.Finding, what string, kinds ...rules.Kind) error {
	if bad := errorsOf(fs, kinds...); len(bad) > 0 {
		return &RefusedError{Findings: bad, What: what}
	}
	return nil
}

// Synth writes the stack's document atomically under out and returns its path. It refuses invalid findings and
// reports would-fail errors as warnings.
func Synth(p *Prepared, out string, pr Progress) (string, error) {
	if err := refuse(p.Findings, "; nothing was written or changed", rules.Invalid); err != nil {
		return "", err
	}
	var warn []rules.Finding
	for _, f := range p.Findings {
		if f.Kind == rules.WouldFail && f.Severity == rules.Error {
			f.Severity = rules.Warning
			warn = append(warn, f)
		}
	}
	if len(warn) > 0 {
		pr.Findings(warn)
	}
	return writeDocument(p, out)
}

// writeDocument writes the stack's document atomically and returns its path.
func writeDocument(p *Prepared, out string) (string, error) {
	data, err := p.Stack.Doc.Marshal()
	if err != nil {
		return "", err
	}
	path := filepath.Join(p.Dir(out), DocumentName)
	if err := fsutil.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	return path, nil
}
