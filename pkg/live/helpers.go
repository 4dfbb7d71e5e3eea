package live

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
)

// owned reports whether the stack's state manages the object identified by any of names.
func (e *env) owned(names ...string) bool {
	for _, n := range names {
		if e.in.InState.Has(n) {
			return true
		}
	}
	return false
}

// collision is the finding for an object that exists outside the stack's state: an error, or a warning when
// the state could not be read (tapstack cannot then tell the stack's own objects from others).
func (e *env) collision(path, msg, fix string) rules.Finding {
	f := rules.Finding{Kind: rules.WouldFail, Severity: rules.Error, Path: path, Message: msg, Fix: fix}
	if e.in.StateUnknown != "" {
		f.Kind, f.Severity = rules.Advice, rules.Warning
		f.Message += "; " + e.in.StateUnknown + ", so it may be this stack's own"
	}
	return f
}

// stateWord says where the stack's objects are looked for, for messages.
func (e *env) stateWord() string {
	if e.in.InState == nil && e.in.StateUnknown == "" {
		return "this stack has no state yet"
	}
	return "it is not in this stack's state"
}

// nodeGroup is one managed node group the stack declares.
type nodeGroup struct {
	Address, Name, Capacity, Path string
	Group                         config.NodeGroup
}

// nodeGroups lists the stack's managed node groups; none with EKS Auto Mode.
func nodeGroups(cfg *config.Config) []nodeGroup {
	if cfg.Cluster.Compute == config.ComputeAuto {
		return nil
	}
	return []nodeGroup{
		{"aws_eks_node_group.on_demand_node_group", cfg.OnDemandGroupName(), "ON_DEMAND", "nodeGroups.onDemand", cfg.NodeGroups.OnDemand},
		{"aws_eks_node_group.spot_node_group", cfg.SpotGroupName(), "SPOT", "nodeGroups.spot", cfg.NodeGroups.Spot},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func list(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}
