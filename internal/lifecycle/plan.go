package lifecycle

import (
	"context"
	"io"
	"os"
	"sort"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

// PlanOptions are Plan's own options.
type PlanOptions struct {
	// PlanOutput receives the engine's plan output; nil: the progress log.
	PlanOutput io.Writer
	// WantJSON asks for the plan as the engine prints it (show -json) even when it has no changes.
	WantJSON bool
}

// PlanResult is what a plan would do.
type PlanResult struct {
	Stack   string         `json:"stack"`
	Changes bool           `json:"changes"`
	Summary engine.Summary `json:"summary"`
	// Violations are what deploy's guard would refuse without allowing destruction.
	Violations []engine.Violation `json:"protected,omitempty"`
	// JSON is the plan as the engine printed it (show -json): set when the plan has changes or WantJSON.
	JSON []byte `json:"-"`
}

// Plan plans the environment without changing anything: one plan, and show -json only when it has changes (or
// WantJSON). It refuses invalid findings.
func Plan(ctx context.Context, p *Prepared, o Options, po PlanOptions) (*PlanResult, error) {
	ss, err := open(ctx, "plan", p, o, rules.Invalid)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	defer os.Remove(ss.planFile())
	if po.PlanOutput != nil {
		ss.eng.SetProgress(po.PlanOutput)
		defer ss.eng.SetProgress(ss.pr.Log())
	}
	r, err := ss.plan(ctx, po.WantJSON)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// plan plans the written document into the plan file, which the caller removes (removePlan) or applies.
func (ss *session) plan(ctx context.Context, wantJSON bool) (*PlanResult, error) {
	r := &PlanResult{Stack: ss.stackName()}
	file := ss.planFile()
	var err error
	if err = timed(ss.pr, "plan", func() (err error) {
		r.Changes, err = ss.eng.Plan(ctx, file, engine.PlanOptions{})
		return err
	}); err != nil {
		os.Remove(file)
		return nil, step("plan", err)
	}
	if !r.Changes && !wantJSON {
		r.Summary.Kept = keptAddresses(ss.p.Options.Existing)
		return r, nil
	}
	var tp *tfjson.Plan
	if err := timed(ss.pr, "show", func() (err error) {
		tp, r.JSON, err = ss.eng.ShowPlan(ctx, file)
		return err
	}); err != nil {
		os.Remove(file)
		return nil, step("show", err)
	}
	r.Summary = engine.Summarize(tp)
	r.Violations = engine.Guard(tp, stack.ProtectedTypes)
	return r, nil
}

// keptAddresses are the managed resources of an unchanged environment: a plan without changes keeps them all.
func keptAddresses(ex *stack.Existing) []string {
	if ex == nil {
		return nil
	}
	out := make([]string, 0, len(ex.Addresses))
	for a := range ex.Addresses {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
