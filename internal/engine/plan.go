package engine

import (
	"bytes"
	"context"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// PlanFile is the saved plan's name in the stack directory.
const PlanFile = "tapstack.tfplan"

// RefreshPlanFile is the saved refresh-only plan's name in the stack directory.
const RefreshPlanFile = "tapstack-refresh.tfplan"

// PlanOptions change a plan.
type PlanOptions struct {
	// Destroy plans the destruction of every resource.
	Destroy bool
	// RefreshOnly plans only to record what the account holds now (its prior_state is the refreshed state).
	RefreshOnly bool
}

// Plan writes a saved plan to file (relative to the stack directory, or absolute) and reports whether it holds
// changes (resources or outputs).
func (e *Engine) Plan(ctx context.Context, file string, po PlanOptions) (changes bool, err error) {
	opts := []tfexec.PlanOption{tfexec.Out(file), tfexec.LockTimeout(e.lockTimeoutArg())}
	if po.Destroy {
		opts = append(opts, tfexec.Destroy(true))
	}
	if po.RefreshOnly {
		opts = append(opts, tfexec.RefreshOnly(true))
	}
	err = e.run("plan", true, func() error {
		var perr error
		changes, perr = e.tf.Plan(ctx, opts...)
		return perr
	})
	return changes, err
}

// ShowPlan reads a saved plan as JSON (`show -json FILE`). It returns the parsed plan and the JSON exactly as the
// engine printed it, for policy tools.
func (e *Engine) ShowPlan(ctx context.Context, file string) (*tfjson.Plan, []byte, error) {
	var raw bytes.Buffer
	var plan *tfjson.Plan
	err := e.run("show", false, func() error {
		// terraform-exec copies the command's stdout to the writer set here as well as decoding it.
		e.tf.SetStdout(&raw)
		var serr error
		plan, serr = e.tf.ShowPlanFile(ctx, file)
		return serr
	})
	if err != nil {
		return nil, nil, err
	}
	return plan, bytes.TrimSpace(raw.Bytes()), nil
}
