package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"
)

// WorkloadIdentity gives the pods of one Kubernetes service account an IAM role of their own through EKS Pod
// Identity: the role trusts pods.eks.amazonaws.com for this cluster, namespace and service account only, holds
// the managed policies and the inline policy listed, and one Pod Identity association binds it.
type WorkloadIdentity struct {
	// Name names the role and the Terraform addresses; empty derives it from the namespace and service account.
	Name           string `yaml:"name" json:"name"`
	Namespace      string `yaml:"namespace" json:"namespace"`
	ServiceAccount string `yaml:"serviceAccount" json:"serviceAccount"`
	// ManagedPolicyARNs are attached to the role.
	ManagedPolicyARNs []string `yaml:"managedPolicyArns" json:"managedPolicyArns"`
	// InlinePolicy is embedded in the role.
	InlinePolicy PolicyDocument `yaml:"inlinePolicy" json:"inlinePolicy"`
}

// ResolvedName is Name, or <namespace>-<serviceAccount> with dots as hyphens when Name is empty.
func (w WorkloadIdentity) ResolvedName() string {
	if w.Name != "" {
		return w.Name
	}
	return strings.ReplaceAll(w.Namespace+"-"+w.ServiceAccount, ".", "-")
}

// WorkloadIdentityRoleName is eks-workload-<name>-v1-<suffix>, the role of the workload identity named name.
func (c *Config) WorkloadIdentityRoleName(name string) string { return c.name("eks-workload-" + name) }

// WorkloadIdentityAddress is the Terraform name of the workload identity's role, policies and association. A
// valid name (a DNS-1123 label) maps to a distinct address; anything else still gives a Terraform identifier.
func WorkloadIdentityAddress(name string) string {
	return "workload_identity_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
}

// NamePath is the configuration field a derived name comes from besides the environment suffix (the resource as
// in Names), or "" when the suffix alone makes it.
func (c *Config) NamePath(resource string) string {
	for i, w := range c.WorkloadIdentities {
		if resource == "aws_iam_role."+WorkloadIdentityAddress(w.ResolvedName()) {
			if w.Name == "" {
				return fmt.Sprintf("workloadIdentities[%d]", i)
			}
			return fmt.Sprintf("workloadIdentities[%d].name", i)
		}
	}
	return ""
}

// PolicyDocument is an IAM policy document as JSON. The file gives it as a YAML mapping, or as a string holding
// JSON; either way it holds the JSON text, and the rules, not loading, say whether it is a policy.
type PolicyDocument string

// UnmarshalYAML takes a string as the JSON text and turns any other node into JSON, keeping every scalar's YAML
// type (a plain 2012-10-17 stays the string IAM wants, never a date).
func (p *PolicyDocument) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		*p = PolicyDocument(n.Value)
		return nil
	}
	v, err := yamlValue(n)
	if err == nil {
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			*p = PolicyDocument(b)
			return nil
		}
	}
	// A TypeError lets decoding go on, so every problem of the file is reported at once.
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: inlinePolicy: %v", n.Line, err)}}
}

// yamlValue is a YAML node as the value encoding/json writes.
func yamlValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return yamlValue(n.Content[0])
		}
		return nil, nil
	case yaml.AliasNode:
		return yamlValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a policy's keys are strings", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: key %q appears twice", k.Line, k.Value)
			}
			v, err := yamlValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return n.Value, nil
		}
		return v, nil
	}
	return n.Value, nil // strings, and timestamps as written
}
