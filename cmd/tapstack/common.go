package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tapstack/tapstack/internal/lifecycle"
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
	date       string // "": the day of --now, else today (UTC)
	now        string // "": the clock
	out        string
	adopt      bool
	engine     string // "": TAPSTACK_ENGINE, then terraform
}

// stackFlagSet says which stack flags a command takes: always --config, the settings flags (config.Settings)
// that settings selects, and each other flag set true here.
type stackFlagSet struct {
	settings                             func(config.Setting) bool
	allow, date, now, out, adopt, engine bool
}

// buildFlags are the flags of the commands whose result is the stack, planned or applied (synth, plan, deploy,
// upgrade): every one changes the document, its findings or where it is written.
var buildFlags = stackFlagSet{settings: everySetting, allow: true, date: true, now: true, out: true, adopt: true, engine: true}

func everySetting(config.Setting) bool { return true }

// shapesEnvironment selects every setting but ttl and protect, which only tag the environment for the fleet
// commands: verify compares what runs with the configuration and reads no tags.
func shapesEnvironment(s config.Setting) bool { return s.Path != "ttl" && s.Path != "protect" }

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
			if s.IsBool() {
				fs.Lookup(s.Flag).NoOptDefVal = "true" // --protect alone means --protect=true
			}
		}
	}
	if set.allow {
		fs.Var(&sf.allow, "allow", "rule ID of a would-fail finding to overrule knowingly (repeatable, comma-separated)")
	}
	if set.date {
		fs.StringVar(&sf.date, "date", "", "day the date-based rules are checked on, YYYY-MM-DD (default the day of --now, else today, UTC)")
	}
	if set.now {
		addNowFlag(fs, &sf.now, "the moment a ttl counts from at the first deploy")
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

// addNowFlag adds --now, the moment a command takes as now, for tests and reruns to pin it.
func addNowFlag(fs *pflag.FlagSet, p *string, what string) {
	fs.StringVar(p, "now", "", what+", RFC 3339 (2026-12-01T09:00:00Z; default the clock)")
}

// parseNow reads --now: RFC 3339, in UTC; empty is the clock.
func parseNow(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fail(exitInvalid, "--now: %q is not an RFC 3339 time; give one such as 2026-12-01T09:00:00Z", s)
	}
	return t.UTC(), nil
}

// prepare loads the configuration, builds the stack and runs every rule.
func (sf *stackFlags) prepare(s stdio) (*lifecycle.Prepared, error) {
	now, nowErr := parseNow(sf.now)
	day := sf.date
	if day == "" && sf.now != "" && nowErr == nil {
		day = now.Format(time.DateOnly)
	}
	date, dateErr := parseDate(day)
	if err := joinInvalid(nowErr, dateErr); err != nil {
		return nil, err
	}
	cfg, err := sf.load(s)
	if err != nil {
		return nil, err
	}
	cfg.Allow = append(cfg.Allow, sf.allow...)
	engine, err := sf.engineName()
	if err != nil {
		return nil, err
	}
	return lifecycle.Prepare(cfg, stack.Options{ImportLogGroup: sf.adopt, Engine: engine, Date: date, Now: now}, runRules), nil
}

// load resolves the configuration from --config, the flags the command took and the environment; notices go to
// stderr.
func (sf *stackFlags) load(s stdio) (*config.Config, error) {
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
	return cfg, nil
}

// runRules runs every rule on a document; tests replace it to add a finding of their own.
var runRules lifecycle.RulesFunc = func(in rules.Input) []rules.Finding { return rules.Run(in) }

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

// joinInvalid joins the bad-input errors of several flags into one, so that every problem is told at once.
func joinInvalid(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fail(exitInvalid, "%s", strings.Join(msgs, "\n"))
}
