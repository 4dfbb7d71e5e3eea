// Package tfdoc models a Terraform JSON configuration document (the *.tf.json syntax): resources, data sources,
// outputs, the backend, providers, and moved, import and removed blocks. References render as "${...}".
// Encoding is deterministic: the same document always gives the same bytes.
package tfdoc

import (
	"fmt"
	"sort"
)

// Body is the attribute object of a block. Nested blocks are Body values (one block) or []Body (several).
type Body = map[string]any

// Resource is a managed resource or a data source.
type Resource struct {
	Mode      string // "managed" or "data"
	Type      string
	Name      string
	Body      Body
	DependsOn []string
	Lifecycle Body
}

// Address is the resource's Terraform address: "aws_vpc.vpc" or "data.aws_availability_zones.available_azs".
func (r *Resource) Address() string {
	if r.Mode == "data" {
		return "data." + r.Type + "." + r.Name
	}
	return r.Type + "." + r.Name
}

// Ref is an interpolation of one of the resource's attributes: Ref("id") -> "${aws_vpc.vpc.id}".
func (r *Resource) Ref(attr string) string { return "${" + r.Address() + "." + attr + "}" }

// DependOn adds explicit dependencies on other resources.
func (r *Resource) DependOn(rs ...*Resource) *Resource {
	for _, o := range rs {
		r.DependsOn = append(r.DependsOn, o.Address())
	}
	return r
}

// Output is a root module output.
type Output struct {
	Description string `json:"description,omitempty"`
	Value       any    `json:"value"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// Moved records that a resource's address changed.
type Moved struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Import brings an existing object under a resource address.
type Import struct {
	To string `json:"to"`
	ID string `json:"id"`
}

// Removed takes a resource out of the state; Destroy=false keeps the real object.
type Removed struct {
	From    string
	Destroy bool
}

// Backend is the terraform.backend block.
type Backend struct {
	Type   string
	Config Body
}

// ProviderRequirement is one entry of terraform.required_providers.
type ProviderRequirement struct {
	Source  string `json:"source"`
	Version string `json:"version"`
}

// Document is a whole root module.
type Document struct {
	RequiredVersion   string
	RequiredProviders map[string]ProviderRequirement
	Backend           *Backend
	Providers         map[string][]Body
	Outputs           map[string]Output
	Moved             []Moved
	Imports           []Import
	Removed           []Removed
	// Meta is rendered under the top-level "//" key (comments Terraform ignores).
	Meta Body

	resources map[string]*Resource // by address
	errs      []error
}

// New returns an empty document.
func New() *Document {
	return &Document{
		RequiredProviders: map[string]ProviderRequirement{},
		Providers:         map[string][]Body{},
		Outputs:           map[string]Output{},
		resources:         map[string]*Resource{},
	}
}

// Resource adds a managed resource. Adding an address twice is recorded and reported by Err and Marshal.
func (d *Document) Resource(typ, name string, body Body) *Resource {
	return d.add(&Resource{Mode: "managed", Type: typ, Name: name, Body: body})
}

// Data adds a data source.
func (d *Document) Data(typ, name string, body Body) *Resource {
	return d.add(&Resource{Mode: "data", Type: typ, Name: name, Body: body})
}

func (d *Document) add(r *Resource) *Resource {
	if r.Body == nil {
		r.Body = Body{}
	}
	if _, dup := d.resources[r.Address()]; dup {
		d.errs = append(d.errs, fmt.Errorf("tfdoc: %s is declared twice", r.Address()))
		return r
	}
	d.resources[r.Address()] = r
	return r
}

// Remove deletes a resource from the document (not from any state).
func (d *Document) Remove(address string) { delete(d.resources, address) }

// Output sets a root module output.
func (d *Document) Output(name, description string, value any) {
	d.Outputs[name] = Output{Description: description, Value: value}
}

// Lookup finds a resource or data source by address.
func (d *Document) Lookup(address string) (*Resource, bool) {
	r, ok := d.resources[address]
	return r, ok
}

// Resources returns every resource and data source, sorted by address.
func (d *Document) Resources() []*Resource {
	out := make([]*Resource, 0, len(d.resources))
	for _, r := range d.resources {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address() < out[j].Address() })
	return out
}

// OfType returns the managed resources of one type, sorted by name.
func (d *Document) OfType(typ string) []*Resource {
	var out []*Resource
	for _, r := range d.Resources() {
		if r.Mode == "managed" && r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Err reports construction errors, such as an address declared twice.
func (d *Document) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return d.errs[0]
}
