package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

// listFlag is a repeatable, comma-separable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// Type names the flag's value in the usage (--allow ID).
func (l *listFlag) Type() string { return "ID" }

// defaultOut is the root of the synthesized output.
const defaultOut = "cdktf.out"

// stackFlags are the flags of the commands that load the configuration and build the stack. A command takes only
// those it uses (stackFlagSet); one it does not take keeps its default.
type stackFlags struct {
	fs         *pflag.FlagSet
	configFile string
	values     map[string]*string
	allow      listFlag
	date       string // "": today (UTC)
	out        string
	adopt      bool
	engine     string // "": TAPSTACK_ENGINE, then terraform
}

// stackFlagSet says which stack flags a command takes: always --config, the settings flags (config.Settings)
// that settings selects, and each other flag set true here.
type stackFlagSet struct {
	settings                        func(config.Setting) bool
	allow, date, out, adopt, engine bool
}

// buildFlags are the flags of the commands whose result is the stack, planned or applied (synth, plan, deploy,
// upgrade): every one changes the document, its findings or where it is written.
var buildFlags = stackFlagSet{settings: everySetting, allow: true, date: true, out: true, adopt: true, engine: true}

func everySetting(config.Setting) bool { return true }

// locatesEnvironment selects the settings that say which environment a command acts on and where its state is
// (profile, suffix, region, state bucket and its region), as against what the environment should contain
// (Kubernetes version, zones, vpc-cni build). destroy and outputs need only these: what they do follows from the
// state, whatever the configuration asks the environment to contain.
func locatesEnvironment(s config.Setting) bool {
	switch s.Path {
	case "profile", "environmentSuffix", "region":
		return true
	}
	return strings.HasPrefix(s.Path, "state.")
}

func addStackFlags(fs *pflag.FlagSet, set stackFlagSet) *stackFlags {
	sf := &stackFlags{fs: fs, values: map[string]*string{}, out: defaultOut}
	fs.StringVar(&sf.configFile, "config", "", "YAML configuration file")
	for _, s := range config.Settings {
		if s.Flag != "" && set.settings(s) {
			sf.values[s.Flag] = fs.String(s.Flag, "", s.Usage+" (env "+envOrNone(s.Env)+")")
		}
	}
	if set.allow {
		fs.Var(&sf.allow, "allow", "rule ID of a would-fail finding to overrule knowingly (repeatable, comma-separated)")
	}
	if set.date {
		fs.StringVar(&sf.date, "date", "", "day the date-based rules are checked on, YYYY-MM-DD (default today, UTC)")
	}
	if set.out {
		fs.StringVar(&sf.out, "out", defaultOut, "root of the synthesized output")
	}
	if set.adopt {
		fs.BoolVar(&sf.adopt, "adopt-existing", false, "adopt an existing control-plane log group with an import block")
	}
	if set.engine {
		fs.StringVar(&sf.engine, "engine", "", "terraform (default) or tofu (env TAPSTACK_ENGINE)")
	}
	return sf
}

func envOrNone(e string) string {
	if e == "" {
		return "none"
	}
	return e
}

func parseDate(s string) (versions.Date, error) {
	if s == "" {
		return versions.ParseDate(time.Now().UTC().Format(time.DateOnly))
	}
	d, err := versions.ParseDate(s)
	if err != nil {
		return d, fail(exitInvalid, "--date: %v", err)
	}
	return d, nil
}

// prepared is a loaded configuration, its stack and every finding.
type prepared struct {
	cfg      *config.Config
	stack    *stack.Stack
	findings []rules.Finding
	date     versions.Date
	// opts built the stack; the engine commands build it again with the state's Existing.
	opts stack.Options
}

// dir is the stack's output directory, as CDKTF laid it out.
func (p *prepared) dir(out string) string {
	return filepath.Join(out, "stacks", p.cfg.StackName())
}

// prepare loads the configuration, builds the stack and runs every rule.
func (sf *stackFlags) prepare(s stdio) (*prepared, error) {
	date, err := parseDate(sf.date)
	if err != nil {
		return nil, err
	}
	src := config.Sources{LookupEnv: os.LookupEnv, File: sf.configFile, Flags: map[string]string{}}
	sf.fs.Visit(func(f *pflag.Flag) {
		if v, ok := sf.values[f.Name]; ok {
			src.Flags[f.Name] = *v
		}
	})
	cfg, notices, err := config.Load(src)
	for _, n := range notices {
		fmt.Fprintf(s.err, "notice: %s\n", n)
	}
	if err != nil {
		return nil, fail(exitInvalid, "%v", err)
	}
	cfg.Allow = append(cfg.Allow, sf.allow...)
	engine, err := sf.engineName()
	if err != nil {
		return nil, err
	}
	opts := stack.Options{ImportLogGroup: sf.adopt, Engine: engine, Date: date}
	st := stack.Build(cfg, opts)
	fs := runRules(rules.Input{Config: cfg, Doc: st.Doc, Date: date, LiveCheckIDs: live.CheckIDs()})
	return &prepared{cfg: cfg, stack: st, findings: fs, date: date, opts: opts}, nil
}

// runRules runs every rule on a document; tests replace it to add a finding of their own.
var runRules = rules.Run

// refuse prints the findings and returns exit 2 when any has one of the refused kinds at error severity.
func refuse(s stdio, fs []rules.Finding, kinds ...rules.Kind) error {
	if n := writeRefused(s, fs, kinds...); n > 0 {
		return fail(exitInvalid, "%d error(s); nothing was written or changed", n)
	}
	return nil
}

// writeRefused prints the findings of the refused kinds at error severity and returns how many there are.
func writeRefused(s stdio, fs []rules.Finding, kinds ...rules.Kind) int {
	var bad []rules.Finding
	for _, f := range rules.Only(fs, kinds...) {
		if f.Severity == rules.Error {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return 0
	}
	var b strings.Builder
	rules.WriteFindings(&b, bad)
	fmt.Fprint(s.err, b.String())
	return len(bad)
}

// engineName resolves --engine, then TAPSTACK_ENGINE, then terraform.
func (sf *stackFlags) engineName() (string, error) {
	e := sf.engine
	if e == "" {
		e = os.Getenv("TAPSTACK_ENGINE")
	}
	switch e {
	case "", "terraform":
		return "terraform", nil
	case "tofu", "opentofu":
		return "tofu", nil
	}
	return "", fail(exitInvalid, "--engine: %q is not terraform or tofu", e)
}

// reportFlags are --format and --timeout of the commands that print a report of AWS calls (check, verify).
type reportFlags struct {
	format  *string
	timeout *time.Duration
}

func addReportFlags(fs *pflag.FlagSet, timeoutUsage string) reportFlags {
	return reportFlags{
		format:  fs.String("format", "text", "report format: text or json"),
		timeout: fs.Duration("timeout", live.DefaultTimeout, timeoutUsage),
	}
}

func (r reportFlags) validate() error {
	if *r.format != "text" && *r.format != "json" {
		return fail(exitInvalid, "--format: %q is not text or json", *r.format)
	}
	if *r.timeout <= 0 {
		return fail(exitInvalid, "--timeout: %s is not a positive duration", *r.timeout)
	}
	return nil
}
