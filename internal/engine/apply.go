package engine

import (
	"context"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Apply applies a saved plan, and nothing else: if the state moved since the plan was made, the engine refuses
// the stale plan. When an interrupt stops it, what it was still creating is untainted (keepCutShort).
func (e *Engine) Apply(ctx context.Context, file string) error {
	err := e.run("apply", true, func() error {
		return e.tf.Apply(ctx, tfexec.DirOrPlan(file), tfexec.LockTimeout(e.lockTimeoutArg()))
	})
	e.keepCutShort(ctx, err)
	return err
}
