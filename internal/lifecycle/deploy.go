package lifecycle

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

// DeployOptions are Deploy's own options.
type DeployOptions struct {
	// AllowDestroy applies a plan that deletes or replaces protected resources.
	AllowDestroy bool
	// SkipLive skips the live checks before planning.
	SkipLive bool
	// LiveTimeout bounds each live check.
	LiveTimeout time.Duration
	// Live runs the live checks; nil: LiveChecks against the account.
	Live func(ctx context.Context, p *Prepared, timeout time.Duration) (*live.Report, error)
	// Outputs say where the outputs file goes.
	Outputs OutputsOptions
	// Details asks for each round's summary with the attributes that change or force a replacement, which costs
	// a show -json per round; without it a round shows its plan only when it deletes or replaces something.
	Details bool
	// SkipInCluster leaves out what tapstack applies through the cluster's Kubernetes API (the default
	// StorageClass), for a runner that cannot reach the endpoint; the result says what was not done.
	SkipInCluster bool
}

// OutputsOptions say where and how the outputs file is written.
type OutputsOptions struct {
	File string
	// Flat writes {name: value} instead of {"TapStack<suffix>": {...}}.
	Flat bool
}

// Round is one plan and apply of a deploy.
type Round struct {
	Changes bool           `json:"changes"`
	Summary engine.Summary `json:"summary"`
	// Allowed are the protected resources applied with AllowDestroy.
	Allowed []engine.Violation `json:"allowedDestruction,omitempty"`
	// Reason says why a second round ran.
	Reason string `json:"reason,omitempty"`
}

// DeployResult is what a deploy did.
type DeployResult struct {
	Stack       string         `json:"stack"`
	Rounds      []Round        `json:"rounds"`
	OutputsFile string         `json:"outputsFile"`
	Outputs     outputs.Values `json:"-"`
	// Live is the live checks' report; nil when skipped.
	Live *live.Report `json:"-"`
	// InCluster is what was applied inside the cluster after the apply; nil when the configuration has nothing
	// for it (no EBS CSI driver).
	InCluster *InClusterResult `json:"inCluster,omitempty"`
}

// Deploy checks (refusing invalid and would-fail findings), runs the live checks unless skipped, plans, refuses
// a plan that loses a protected resource unless allowed, applies, runs a second round when a safe migration needs
// one, writes the outputs file, and then applies what tapstack owns inside the cluster (the default StorageClass)
// through its Kubernetes API, on every deploy, so that a deploy repairs it.
func Deploy(ctx context.Context, p *Prepared, o Options, do DeployOptions) (*DeployResult, error) {
	if do.LiveTimeout <= 0 {
		do.LiveTimeout = live.DefaultTimeout
	}
	ss, err := open(ctx, "deploy", p, o, rules.Invalid, rules.WouldFail)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	if err := ss.refuseRolling(); err != nil {
		return nil, err
	}
	res := &DeployResult{Stack: ss.stackName(), OutputsFile: do.Outputs.File}

	// The account's view comes before anything is planned or created: name collisions, versions the region
	// does not offer, missing instance types, quotas.
	if !do.SkipLive {
		run := do.Live
		if run == nil {
			run = func(ctx context.Context, p *Prepared, timeout time.Duration) (*live.Report, error) {
				return liveChecks(ctx, p, timeout, func(r live.Result) {
					ss.pr.Phase(fmt.Sprintf("live check %s %s: %s", r.ID, r.Name, r.Status), r.Duration)
				})
			}
		}
		var lr *live.Report
		if err := timed(ss.pr, "live checks", func() (err error) {
			lr, err = run(ctx, ss.p, do.LiveTimeout)
			return err
		}); err != nil {
			return nil, step("live checks", err)
		}
		res.Live = lr
		ss.pr.Findings(lr.Findings)
		liveTrouble(ss.pr, lr.Results)
		var bad []rules.Finding
		for _, f := range lr.Findings {
			if f.Severity == rules.Error {
				bad = append(bad, f)
			}
		}
		if len(bad) > 0 {
			// Already reported above with the other findings.
			return res, step("live checks", &RefusedError{Findings: bad, Reported: true,
				What: " in the account; nothing was planned or changed (--skip-live-checks skips these checks)"})
		}
	}

	round, applied, err := ss.applyRound(ctx, do.AllowDestroy, do.Details, "the plan")
	res.Rounds = append(res.Rounds, round)
	if err != nil {
		return res, err
	}
	// A safe migration can need two applies (see stack.Stack.FollowUp); the second builds on the state the
	// first left, so the environment ends as configured and the next plan is clean.
	if reason := ss.p.Stack.FollowUp; applied && reason != "" {
		ss.pr.Note("second round: " + reason)
		if err := ss.followState(ctx); err != nil {
			return res, err
		}
		round, _, err := ss.applyRound(ctx, do.AllowDestroy, do.Details, "the plan")
		round.Reason = reason
		res.Rounds = append(res.Rounds, round)
		if err != nil {
			return res, err
		}
	}
	st, err := ss.state(ctx)
	if err != nil {
		return res, step("outputs", err)
	}
	if err := timed(ss.pr, "outputs", func() (err error) {
		res.Outputs, err = ss.writeOutputsFrom(st, do.Outputs)
		return err
	}); err != nil {
		return res, step("outputs", err)
	}
	if res.InCluster, err = ss.inCluster(ctx, st, do.SkipInCluster); err != nil {
		ss.pr.Note("the apply and the outputs file are done: only what tapstack applies inside the cluster is not")
	}
	return res, err
}

// applyRound plans the written document, refuses it when the guard does (unless allowDestroy) and applies it;
// what names the plan in a refusal. The plan's machine-readable output says what changes; show -json runs only
// when the plan deletes or replaces something (the guard names the attributes forcing it) or details are asked
// for. applied reports that apply ran, whether or not it succeeded: the account may have changed.
func (ss *session) applyRound(ctx context.Context, allowDestroy, details bool, what string) (round Round, applied bool, err error) {
	file := ss.planFile()
	defer os.Remove(file)
	var planned []engine.PlannedChange
	if err := timed(ss.pr, "plan", func() (err error) {
		round.Changes, planned, err = ss.eng.PlanChanges(ctx, file, engine.PlanOptions{})
		return err
	}); err != nil {
		return round, false, step("plan", err)
	}
	if !round.Changes {
		round.Summary.Kept = keptAddresses(ss.p.Options.Existing)
		ss.pr.Note(fmt.Sprintf("%s is up to date: nothing to apply", ss.stackName()))
		return round, false, nil
	}
	var violations []engine.Violation
	if details || slices.ContainsFunc(planned, engine.PlannedChange.Destructive) {
		var tp *tfjson.Plan
		if err := timed(ss.pr, "show", func() (err error) {
			tp, _, err = ss.eng.ShowPlan(ctx, file)
			return err
		}); err != nil {
			return round, false, step("show", err)
		}
		round.Summary = engine.Summarize(tp)
		violations = slices.DeleteFunc(engine.Guard(tp, stack.ProtectedTypes), func(v engine.Violation) bool {
			return ss.expectDeleted[v.Address] && v.Action == "delete" && v.Deposed == ""
		})
	} else {
		round.Summary = engine.SummarizeChanges(planned, keptAddresses(ss.p.Options.Existing))
	}
	engine.WriteSummary(ss.pr.Log(), round.Summary)
	if len(violations) > 0 {
		if !allowDestroy {
			return round, false, step("guard", &GuardError{Plan: what, Violations: violations, Rolls: ss.rollHints(violations)})
		}
		round.Allowed = violations
		fmt.Fprintf(ss.pr.Log(), "--allow-destroy: applying a plan that deletes or replaces %d protected resource(s):\n", len(violations))
		engine.WriteViolations(ss.pr.Log(), violations)
	}
	if err := timed(ss.pr, "apply", func() error { return ss.eng.Apply(ctx, file) }); err != nil {
		return round, true, step("apply", err)
	}
	return round, true, nil
}

// rollHints names the node groups a refused plan replaces, for the guard's message: `tapstack roll` replaces one
// without dropping its pods.
func (ss *session) rollHints(vs []engine.Violation) []string {
	var out []string
	for _, v := range vs {
		if v.Type != "aws_eks_node_group" || v.Action == "delete" {
			continue
		}
		name := ""
		if ex := ss.p.Options.Existing; ex != nil {
			name = ex.NodeGroupNames[v.Address]
		}
		if name == "" {
			if r, ok := ss.p.Stack.Doc.Lookup(v.Address); ok {
				name, _ = r.Body["node_group_name"].(string)
			}
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// liveTrouble lists the live checks that failed to run or could not check, and reports whether there were any.
func liveTrouble(pr Progress, rs []live.Result) bool {
	found := false
	for _, r := range rs {
		if r.Status == live.StatusError || r.Status == live.StatusNotChecked {
			fmt.Fprintf(pr.Log(), "live check %s %s: %s\n", r.ID, r.Status, r.Note)
			found = true
		}
	}
	return found
}

// writeOutputs reads the state's outputs (no engine run) and writes the outputs file atomically.
func (ss *session) writeOutputs(ctx context.Context, oo OutputsOptions) (outputs.Values, error) {
	st, err := ss.state(ctx)
	if err != nil {
		return nil, err
	}
	return ss.writeOutputsFrom(st, oo)
}

// writeOutputsFrom writes the outputs file from the state st.
func (ss *session) writeOutputsFrom(st *tfjson.State, oo OutputsOptions) (outputs.Values, error) {
	v, err := outputs.FromState(st)
	if err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("the state of %s holds no outputs: deploy it first", ss.stackName())
	}
	if err := outputs.Write(oo.File, ss.stackName(), v, oo.Flat); err != nil {
		return nil, err
	}
	return v, nil
}

// Outputs writes the deployed stack's outputs file from its state; it changes nothing in the account.
func Outputs(ctx context.Context, p *Prepared, o Options, oo OutputsOptions) (outputs.Values, error) {
	ss, err := open(ctx, "outputs", p, o, rules.Invalid)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	v, err := ss.writeOutputs(ctx, oo)
	return v, step("outputs", err)
}
