package engine

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Outputs returns the root module's outputs as `output -json` prints them: name -> {"value", "type",
// "sensitive"}, the shape outputs.FromTerraform reads.
func (e *Engine) Outputs(ctx context.Context) (map[string]json.RawMessage, error) {
	var meta map[string]tfexec.OutputMeta
	err := e.run("output", false, func() error {
		var oerr error
		meta, oerr = e.tf.Output(ctx)
		return oerr
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(meta))
	for name, m := range meta {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}
