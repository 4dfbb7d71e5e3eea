package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

// engineFlags are the flags of the commands that drive the engine (plan, deploy, destroy, outputs).
type engineFlags struct {
	lockTimeout time.Duration
}

func addEngineFlags(fs *pflag.FlagSet) *engineFlags {
	ef := &engineFlags{}
	fs.DurationVar(&ef.lockTimeout, "lock-timeout", 0,
		"how long to wait for the state lock, and for another tapstack command on this working copy (0s: fail at once)")
	return ef
}

// outputFlags say where and how the outputs file is written.
type outputFlags struct {
	file string
	flat bool
}

func addOutputFlags(fs *pflag.FlagSet) *outputFlags {
	of := &outputFlags{}
	fs.StringVar(&of.file, "outputs-file", outputs.DefaultPath, "outputs file to write")
	fs.BoolVar(&of.flat, "flat", false, `write a flat {name: value} map instead of {"TapStack<suffix>": {...}}`)
	return of
}

// commandContext is cancelled on SIGINT or SIGTERM; the engine then gets an interrupt and stops cleanly,
// releasing the state lock. Until stop is called, later signals are caught and dropped: a second Ctrl-C must not
// end tapstack while the engine stops, since on Linux the engine is killed when tapstack exits (Pdeathsig).
func commandContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// stepError prefixes err with the step that failed ("plan: ..."), keeping an exit code it carries; an
// interrupt's error says what the environment was left in (engine.Interrupted).
func stepError(step string, err error) error {
	if err == nil {
		return nil
	}
	var ie *engine.InterruptedError
	if errors.As(engine.Interrupted(step, err), &ie) {
		return ie
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg == "" {
			return ee
		}
		return &exitError{code: ee.code, msg: step + ": " + ee.msg}
	}
	return fmt.Errorf("%s: %w", step, err)
}

// session is one engine command's hold on a stack: its configuration, the locked directory and the initialized
// engine.
type session struct {
	name string // the command
	p    *prepared
	dir  string
	lock *engine.DirLock
	eng  *engine.Engine
	// refused are the finding kinds this command refuses, on the first document and on each one built around
	// the state.
	refused []rules.Kind
}

// openSession resolves the configuration and refuses the findings of the refused kinds (step check), locks the
// stack directory (lock), writes the document (synth), finds the engine (engine) and runs init (init). Terraform's
// output streams to progress. Close the session when done.
func openSession(ctx context.Context, name string, sf *stackFlags, ef *engineFlags, s stdio, progress io.Writer,
	refused ...rules.Kind) (*session, error) {
	p, err := sf.prepare(s)
	if err != nil {
		return nil, stepError("check", err)
	}
	if err := refuse(s, p.findings, refused...); err != nil {
		return nil, stepError("check", err)
	}
	kindName, err := sf.engineName()
	if err != nil {
		return nil, err
	}
	kind, err := engine.ParseKind(kindName)
	if err != nil {
		return nil, fail(exitInvalid, "%v", err)
	}
	ss := &session{name: name, p: p, dir: p.dir(sf.out), refused: refused}
	ss.lock, err = engine.LockDir(ctx, ss.dir, ef.lockTimeout, "tapstack "+name)
	if err != nil {
		return nil, stepError("lock", err)
	}
	if _, err := synthesize(p, sf.out, s); err != nil {
		ss.close()
		return nil, stepError("synth", err)
	}
	ss.eng, err = engine.New(ctx, engine.Options{Kind: kind, Dir: ss.dir, Progress: progress, LockTimeout: ef.lockTimeout})
	if err != nil {
		ss.close()
		return nil, stepError("engine", err)
	}
	if err := ss.eng.Init(ctx); err != nil {
		ss.close()
		return nil, stepError("init", err)
	}
	if err := ss.followState(ctx, sf.out, s); err != nil {
		ss.close()
		return nil, err
	}
	return ss, nil
}

// followState reads what the environment already runs and, when there is something, builds the stack again
// around it (stack.Existing), runs the rules on that document and rewrites it, so that a plan never asks EKS for a
// step it refuses. What it reads is the state refreshed from the account (a refresh-only plan's prior state): EKS
// upgrades clusters by itself at the end of support, and a stale state would turn that into a downgrade. What
// the stack kept of the account instead of the configuration is printed as a note. The document built around the
// state is the one planned, so the command's refused kinds are refused on it as on the first (step check); the
// other errors are step state.
func (ss *session) followState(ctx context.Context, out string, s stdio) error {
	st, err := ss.eng.State(ctx)
	if err != nil {
		return stepError("state", err)
	}
	if stack.ExistingFrom(st) == nil {
		return nil
	}
	file := filepath.Join(ss.eng.Dir(), engine.RefreshPlanFile)
	defer os.Remove(file)
	if _, err := ss.eng.Plan(ctx, file, engine.PlanOptions{RefreshOnly: true}); err != nil {
		return stepError("state", fmt.Errorf("refresh: %w", err))
	}
	p, _, err := ss.eng.ShowPlan(ctx, file)
	if err != nil {
		return stepError("state", fmt.Errorf("refresh: %w", err))
	}
	if p != nil && p.PriorState != nil && p.PriorState.Values != nil {
		st = p.PriorState
	}
	ex := stack.ExistingFrom(st)
	if ex == nil {
		return nil
	}
	ss.p.opts.Existing = ex
	ss.p.stack = stack.Build(ss.p.cfg, ss.p.opts)
	for _, n := range ss.p.stack.Notes {
		// upgrade moves the version itself and prints its steps instead.
		if ss.name == "upgrade" && strings.HasPrefix(n, "kept Kubernetes") {
			continue
		}
		fmt.Fprintf(s.err, "note: %s\n", n)
	}
	if n := controlPlaneCost(ss.p.cfg, ss.p.stack.KubernetesVersion, ss.p.date); n != "" && ss.name != "upgrade" {
		fmt.Fprintf(s.err, "note: %s\n", n)
	}
	ss.p.findings = runRules(rules.Input{Config: ss.p.cfg, Doc: ss.p.stack.Doc, Date: ss.p.date})
	if n := writeRefused(s, ss.p.findings, ss.refused...); n > 0 {
		return stepError("check", fail(exitInvalid, "%d error(s) in the document built around the state, which was "+
			"neither written, planned nor applied", n))
	}
	if _, err = writeDocument(ss.p, out); err != nil {
		return stepError("state", err)
	}
	return nil
}

func (ss *session) close() {
	if ss.lock != nil {
		_ = ss.lock.Unlock()
	}
}

// stackName is TapStack<suffix>.
func (ss *session) stackName() string { return ss.p.cfg.StackName() }

// writeOutputs reads the state's outputs and writes the outputs file atomically.
func (ss *session) writeOutputs(ctx context.Context, of *outputFlags) (outputs.Values, error) {
	raw, err := ss.eng.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	v, err := outputs.FromTerraform(raw)
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("the state of %s holds no outputs: deploy it first", ss.stackName())
	}
	if err := outputs.Write(of.file, ss.stackName(), v, of.flat); err != nil {
		return nil, err
	}
	return v, nil
}

// planFile is the saved plan's path in the stack directory.
func (ss *session) planFile() string {
	return filepath.Join(ss.eng.Dir(), engine.PlanFile)
}

// controlPlaneCost prices the control plane at the version an existing cluster keeps, when that differs from the
// configured one: a kept version past standard support is billed at the extended rate until upgrade moves it.
func controlPlaneCost(cfg *config.Config, kept string, day versions.Date) string {
	if kept == cfg.Cluster.KubernetesVersion {
		return ""
	}
	running := *cfg
	running.Cluster.KubernetesVersion = kept
	cost := rules.Estimate(&running, versions.Get(), day)
	if len(cost.Items) == 0 || !cost.Items[0].Priced {
		return ""
	}
	cp := cost.Items[0]
	return fmt.Sprintf("estimate: %s on Kubernetes %s, $%g/h, $%.2f a month (%s, source %s)",
		cp.Item, kept, cp.HourlyPrice, cp.MonthlyHigh, cp.PriceDate, cp.Source)
}
