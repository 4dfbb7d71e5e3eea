package engine

import (
	"context"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Destroy destroys every resource in the state, without asking: the caller asks first.
func (e *Engine) Destroy(ctx context.Context) error {
	return e.run("destroy", true, func() error {
		return e.tf.Destroy(ctx, tfexec.LockTimeout(e.lockTimeoutArg()))
	})
}
