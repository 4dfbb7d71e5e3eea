package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

func init() { register(newDeployCommand) }

// deployOptions are deploy's own flags.
type deployOptions struct {
	allowDestroy, skipLive bool
	liveTimeout            time.Duration
}

func newDeployCommand(s stdio) *cobra.Command {
	var (
		sf *stackFlags
		ef *engineFlags
		of *outputFlags
		do deployOptions
	)
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "check, synth, init, plan, guard, apply and write the outputs",
		Long: `deploy checks the configuration (it refuses invalid and would-fail findings; --allow ID overrules a
would-fail one knowingly), runs the live checks against the account (--skip-live-checks skips them), synthesizes
the stack, runs init, refreshes what the environment runs, plans, prints the plan's summary, refuses a plan that
deletes or replaces the cluster, the VPC, a subnet, the OIDC provider, a node group or a log group (unless
--allow-destroy), applies it (a second round when a safe migration needs one) and writes the outputs file
atomically. A failure names its step ("tapstack deploy: check: ..."). The engine's progress goes to stderr; stdout
gets the outputs file's path.

Exit 0 deployed; 2 refused (nothing planned or applied); 1 any other failure.`,
		Example: `  tapstack deploy
  tapstack deploy --config takeover.yaml --adopt-existing
  tapstack deploy --allow-destroy --lock-timeout 10m
  tapstack deploy --skip-live-checks --flat --outputs-file outputs.json`,
		RunE: func(*cobra.Command, []string) error { return runDeploy(sf, ef, of, do, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, buildFlags)
	ef = addEngineFlags(fs)
	of = addOutputFlags(fs)
	fs.BoolVar(&do.allowDestroy, "allow-destroy", false,
		"apply a plan that deletes or replaces the cluster, the VPC, a subnet, the OIDC provider, a node group or the log group")
	fs.BoolVar(&do.skipLive, "skip-live-checks", false, "do not run the live checks of tapstack check --live before planning")
	fs.DurationVar(&do.liveTimeout, "live-timeout", live.DefaultTimeout, "the time limit of each live check")
	return cmd
}

func runDeploy(sf *stackFlags, ef *engineFlags, of *outputFlags, do deployOptions, s stdio) error {
	if do.liveTimeout <= 0 {
		return fail(exitInvalid, "--live-timeout: %s is not a positive duration", do.liveTimeout)
	}
	ctx, stop := commandContext()
	defer stop()
	// Terraform's output is progress: stderr. Stdout gets the outputs file's path at the end.
	ss, err := openSession(ctx, "deploy", sf, ef, s, s.err, rules.Invalid, rules.WouldFail)
	if err != nil {
		return err
	}
	defer ss.close()

	// The account's view comes before anything is planned or created: name collisions, versions the region
	// does not offer, missing instance types, quotas.
	if !do.skipLive {
		lr, err := liveChecks(ctx, ss.p, sf.adopt, do.liveTimeout)
		if err != nil {
			return stepError("live checks", err)
		}
		var b strings.Builder
		rules.WriteFindings(&b, lr.Findings)
		writeLiveTrouble(&b, lr.Results)
		fmt.Fprint(s.err, b.String())
		if errs, _, _ := rules.Count(lr.Findings); errs > 0 {
			return stepError("live checks", fail(exitInvalid, "%d error(s) in the account; nothing was planned or changed "+
				"(--skip-live-checks skips these checks)", errs))
		}
	}

	changed, err := applyRound(ctx, ss, do.allowDestroy, "the plan", s)
	if err != nil {
		return err
	}
	// A safe migration can need two applies (see stack.Stack.FollowUp); the second builds on the state the
	// first left, so the environment ends as configured and the next plan is clean.
	if reason := ss.p.stack.FollowUp; changed && reason != "" {
		fmt.Fprintf(s.err, "second round: %s\n", reason)
		if err := ss.followState(ctx, sf.out, s); err != nil {
			return err
		}
		if _, err := applyRound(ctx, ss, do.allowDestroy, "the plan", s); err != nil {
			return err
		}
	}
	v, err := ss.writeOutputs(ctx, of)
	if err != nil {
		return stepError("outputs", err)
	}
	fmt.Fprintf(s.err, "deployed %s; wrote %d outputs\n", ss.stackName(), len(v))
	fmt.Fprintln(s.out, of.file)
	return nil
}

// applyRound plans the written document, summarises the plan, refuses it when the guard does (unless
// allowDestroy) and applies it; what names the plan in a refusal. applied reports that apply ran, whether or not
// it succeeded: the account may have changed.
func applyRound(ctx context.Context, ss *session, allowDestroy bool, what string, s stdio) (applied bool, err error) {
	file := ss.planFile()
	defer os.Remove(file)
	changes, err := ss.eng.Plan(ctx, file, engine.PlanOptions{})
	if err != nil {
		return false, stepError("plan", err)
	}
	if !changes {
		fmt.Fprintf(s.err, "%s is up to date: nothing to apply\n", ss.stackName())
		return false, nil
	}
	p, _, err := ss.eng.ShowPlan(ctx, file)
	if err != nil {
		return false, stepError("guard", err)
	}
	engine.WriteSummary(s.err, engine.Summarize(p))
	if vs := engine.Guard(p, stack.ProtectedTypes); len(vs) > 0 {
		if !allowDestroy {
			fmt.Fprintf(s.err, "refused: %s would delete or replace %d protected resource(s):\n", what, len(vs))
			engine.WriteViolations(s.err, vs)
			return false, stepError("guard", fail(exitInvalid, "%s, so nothing was applied; if that is intended, run again "+
				"with --allow-destroy", guardSummary(vs)))
		}
		fmt.Fprintf(s.err, "--allow-destroy: applying a plan that deletes or replaces %d protected resource(s):\n", len(vs))
		engine.WriteViolations(s.err, vs)
	}
	if err := ss.eng.Apply(ctx, file); err != nil {
		return true, stepError("apply", err)
	}
	return true, nil
}

// writeLiveTrouble lists the live checks that failed to run or could not check, one a line, and reports whether
// there were any.
func writeLiveTrouble(w io.Writer, rs []live.Result) bool {
	found := false
	for _, r := range rs {
		if r.Status == live.StatusError || r.Status == live.StatusNotChecked {
			fmt.Fprintf(w, "live check %s %s: %s\n", r.ID, r.Status, r.Note)
			found = true
		}
	}
	return found
}

// guardSummary names the protected resources a plan would lose, in one line: the list above says why.
func guardSummary(vs []engine.Violation) string {
	addrs := make([]string, len(vs))
	for i, v := range vs {
		addrs[i] = v.Address
	}
	return fmt.Sprintf("the plan would delete or replace %d protected resource(s) (%s)", len(vs), strings.Join(addrs, ", "))
}
