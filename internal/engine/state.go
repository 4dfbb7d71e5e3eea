package engine

import (
	"context"

	tfjson "github.com/hashicorp/terraform-json"
)

// State reads the current state (`show -json`). A state with no resources has a nil Values.
func (e *Engine) State(ctx context.Context) (*tfjson.State, error) {
	var st *tfjson.State
	err := e.run("show", false, func() error {
		var serr error
		st, serr = e.tf.Show(ctx)
		return serr
	})
	return st, err
}

// Resources lists the managed resources of a state, the root module's and its children's, as addresses. A
// deposed object is listed too, with the address of its instance and a DeposedKey: it is still in the account.
func Resources(st *tfjson.State) []*tfjson.StateResource {
	if st == nil || st.Values == nil {
		return nil
	}
	var out []*tfjson.StateResource
	var walk func(m *tfjson.StateModule)
	walk = func(m *tfjson.StateModule) {
		if m == nil {
			return
		}
		for _, r := range m.Resources {
			if r.Mode == tfjson.ManagedResourceMode {
				out = append(out, r)
			}
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(st.Values.RootModule)
	return out
}

// Attribute returns a top-level attribute of the managed resource at address, or nil; a deposed object at the
// same address is not it.
func Attribute(st *tfjson.State, address, name string) any {
	for _, r := range Resources(st) {
		if r.Address == address && r.DeposedKey == "" {
			return r.AttributeValues[name]
		}
	}
	return nil
}
