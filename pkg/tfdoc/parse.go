package tfdoc

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Parse reads a Terraform JSON document, such as one this package wrote or one CDKTF synthesized. It keeps
// resources, data sources, outputs, the backend, providers and moved/import/removed blocks.
func Parse(b []byte) (*Document, error) {
	var raw struct {
		Meta      Body                                 `json:"//"`
		Terraform map[string]json.RawMessage           `json:"terraform"`
		Provider  map[string]json.RawMessage           `json:"provider"`
		Resource  map[string]map[string]map[string]any `json:"resource"`
		Data      map[string]map[string]map[string]any `json:"data"`
		Output    map[string]Output                    `json:"output"`
		Moved     []Moved                              `json:"moved"`
		Import    []Import                             `json:"import"`
		Removed   []struct {
			From      string `json:"from"`
			Lifecycle struct {
				Destroy bool `json:"destroy"`
			} `json:"lifecycle"`
		} `json:"removed"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("tfdoc: %w", err)
	}
	d := New()
	d.Meta = raw.Meta
	if v, ok := raw.Terraform["required_version"]; ok {
		_ = json.Unmarshal(v, &d.RequiredVersion)
	}
	if v, ok := raw.Terraform["required_providers"]; ok {
		if err := json.Unmarshal(v, &d.RequiredProviders); err != nil {
			return nil, fmt.Errorf("tfdoc: required_providers: %w", err)
		}
	}
	if v, ok := raw.Terraform["backend"]; ok {
		var bk map[string]Body
		if err := json.Unmarshal(v, &bk); err != nil {
			return nil, fmt.Errorf("tfdoc: backend: %w", err)
		}
		for typ, cfg := range bk {
			d.Backend = &Backend{Type: typ, Config: cfg}
		}
	}
	for name, v := range raw.Provider {
		var list []Body
		if err := json.Unmarshal(v, &list); err != nil {
			var one Body
			if err := json.Unmarshal(v, &one); err != nil {
				return nil, fmt.Errorf("tfdoc: provider %s: %w", name, err)
			}
			list = []Body{one}
		}
		d.Providers[name] = list
	}
	load := func(mode string, blocks map[string]map[string]map[string]any) {
		for typ, byName := range blocks {
			for name, body := range byName {
				r := &Resource{Mode: mode, Type: typ, Name: name, Body: Body{}}
				for k, v := range body {
					switch k {
					case "depends_on":
						for _, a := range v.([]any) {
							r.DependsOn = append(r.DependsOn, fmt.Sprint(a))
						}
						sort.Strings(r.DependsOn)
					case "lifecycle":
						if m, ok := v.(map[string]any); ok {
							r.Lifecycle = m
						}
					default:
						r.Body[k] = v
					}
				}
				d.add(r)
			}
		}
	}
	load("managed", raw.Resource)
	load("data", raw.Data)
	if raw.Output != nil {
		d.Outputs = raw.Output
	}
	d.Moved, d.Imports = raw.Moved, raw.Import
	for _, r := range raw.Removed {
		d.Removed = append(d.Removed, Removed{From: r.From, Destroy: r.Lifecycle.Destroy})
	}
	return d, d.Err()
}
