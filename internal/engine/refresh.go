package engine

import (
	"context"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// RefreshState records in the state what the provider reads back from the account, and changes nothing else
// (apply -refresh-only). After a failed update the provider may have saved the values it asked for instead of
// the ones the account kept.
func (e *Engine) RefreshState(ctx context.Context) error {
	return e.run("apply -refresh-only", true, func() error {
		return e.tf.Apply(ctx, tfexec.RefreshOnly(true), tfexec.LockTimeout(e.lockTimeoutArg()))
	})
}
