package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

const (
	odA = "aws_eks_node_group.on_demand_node_group"
	odB = "aws_eks_node_group.on_demand_node_group_b"
	spA = "aws_eks_node_group.spot_node_group"
)

// inState is an Existing whose state holds the addresses, with the outputs naming the node groups.
func inState(outputs map[string]string, addrs ...string) *Existing {
	e := &Existing{Addresses: map[string]bool{ClusterAddress: true}, NodeGroupOutputs: outputs}
	for _, a := range addrs {
		e.Addresses[a] = true
	}
	return e
}

func groupsIn(d *tfdoc.Document) []string {
	var out []string
	for _, r := range d.OfType("aws_eks_node_group") {
		out = append(out, r.Address())
	}
	slices.Sort(out)
	return out
}

func isFrozen(d *tfdoc.Document, addr string) bool {
	r, ok := d.Lookup(addr)
	return ok && r.Lifecycle["ignore_changes"] == "all"
}

func defaults(t *testing.T) *config.Config {
	t.Helper()
	c, ok := config.Defaults("default")
	if !ok {
		t.Fatal("no default profile")
	}
	return &c
}

// The state says which generation runs: an environment rolled to generation B keeps it, under its own address
// and name, and the outputs name it.
func TestNodeGroupGenerationFollowsTheState(t *testing.T) {
	c := defaults(t)
	for _, tc := range []struct {
		name     string
		existing *Existing
		want     []string
		outputOD string
		nameOD   string
	}{
		{"new environment", nil, []string{odA, spA}, odA, "node-group-od-v1-dev"},
		{"generation A", inState(nil, odA, spA), []string{odA, spA}, odA, "node-group-od-v1-dev"},
		{"generation B", inState(nil, odB, spA), []string{odB, spA}, odB, "node-group-od-v1-dev-b"},
	} {
		s := Build(c, Options{Existing: tc.existing})
		if got := groupsIn(s.Doc); !slices.Equal(got, tc.want) {
			t.Errorf("%s: node groups %v, want %v", tc.name, got, tc.want)
		}
		if got := s.Doc.Outputs["on_demand_node_group_name"].Value; got != "${"+tc.outputOD+".node_group_name}" {
			t.Errorf("%s: output on_demand_node_group_name = %v, want the name of %s", tc.name, got, tc.outputOD)
		}
		if got := res(t, s.Doc, tc.outputOD)["node_group_name"]; got != tc.nameOD {
			t.Errorf("%s: %s named %v, want %s", tc.name, tc.outputOD, got, tc.nameOD)
		}
		if isFrozen(s.Doc, tc.outputOD) || len(s.Rolling) != 0 {
			t.Errorf("%s: the group in use is held as it runs (rolling %v)", tc.name, s.Rolling)
		}
		// coredns waits for the groups in use.
		if d := deps(t, s.Doc, "aws_eks_addon.coredns_addon"); !contains(d, tc.outputOD) {
			t.Errorf("%s: coredns depends on %v, not on %s", tc.name, d, tc.outputOD)
		}
	}
}

// A roll renders the new generation as configured beside the old one held as it runs (ignore_changes = all: the
// setting that replaces a group must not reach the one being drained); once the old one is no longer kept, only
// the new one is left. The other group is untouched throughout.
func TestNodeGroupRollSteps(t *testing.T) {
	c := defaults(t)
	c.NodeGroups.OnDemand.InstanceTypes = []string{"m6i.large"} // the setting that replaces the group
	ex := inState(map[string]string{"on_demand_node_group_name": "node-group-od-v1-dev"}, odA, spA,
		"aws_launch_template.on_demand_launch_template")
	roll := &NodeGroupRoll{Key: "on_demand_node_group", From: GenerationA, To: GenerationB, KeepFrom: true}
	s := Build(c, Options{Existing: ex, Roll: roll})
	if got := groupsIn(s.Doc); !slices.Equal(got, []string{odA, odB, spA}) {
		t.Fatalf("while both run: node groups %v", got)
	}
	if !isFrozen(s.Doc, odA) || isFrozen(s.Doc, odB) || isFrozen(s.Doc, spA) {
		t.Errorf("only the old group is held: A %v, B %v, spot %v", isFrozen(s.Doc, odA), isFrozen(s.Doc, odB), isFrozen(s.Doc, spA))
	}
	b := res(t, s.Doc, odB)
	if b["node_group_name"] != "node-group-od-v1-dev-b" || !slices.Equal(b["instance_types"].([]string), []string{"m6i.large"}) {
		t.Errorf("new group: %v", b)
	}
	// Both generations launch from the one template, which keeps its name.
	lt := "${aws_launch_template.on_demand_launch_template.id}"
	for _, a := range []string{odA, odB} {
		if got := res(t, s.Doc, a)["launch_template"].(tfdoc.Body)["id"]; got != lt {
			t.Errorf("%s launch template %v, want %s", a, got, lt)
		}
	}
	if got := s.Doc.Outputs["on_demand_node_group_name"].Value; got != "${"+odB+".node_group_name}" {
		t.Errorf("output %v, want the new group's name", got)
	}
	if len(s.Rolling) != 0 {
		t.Errorf("a roll's own step reports a roll under way: %v", s.Rolling)
	}

	roll.KeepFrom = false
	s = Build(c, Options{Existing: inState(nil, odA, odB, spA), Roll: roll})
	if got := groupsIn(s.Doc); !slices.Equal(got, []string{odB, spA}) {
		t.Errorf("after the drain: node groups %v, want the old one gone", got)
	}
	// Back to A on the next roll.
	s = Build(c, Options{Existing: inState(nil, odB, spA), Roll: &NodeGroupRoll{Key: "on_demand_node_group", From: GenerationB, To: GenerationA, KeepFrom: true}})
	if got := groupsIn(s.Doc); !slices.Equal(got, []string{odA, odB, spA}) || !isFrozen(s.Doc, odB) || isFrozen(s.Doc, odA) ||
		res(t, s.Doc, odA)["node_group_name"] != "node-group-od-v1-dev" {
		t.Errorf("rolling back to A: %v", got)
	}
}

// Both generations in state outside a roll (a roll stopped part way): both are held as they run, the outputs keep
// naming what the state's outputs name, and the stack says a roll is under way.
func TestNodeGroupRollUnderway(t *testing.T) {
	c := defaults(t)
	c.NodeGroups.LaunchTemplate = false // a configuration without the template the old group was launched from
	ex := inState(map[string]string{"on_demand_node_group_name": "node-group-od-v1-dev-b"}, odA, odB, spA,
		"aws_launch_template.on_demand_launch_template")
	s := Build(c, Options{Existing: ex})
	if !isFrozen(s.Doc, odA) || !isFrozen(s.Doc, odB) || isFrozen(s.Doc, spA) {
		t.Errorf("both generations are not held as they run")
	}
	if !slices.Equal(s.Rolling, []string{"node-group-od-v1-dev"}) ||
		!slices.ContainsFunc(s.Notes, func(n string) bool { return strings.Contains(n, "tapstack roll --node-group node-group-od-v1-dev") }) {
		t.Errorf("rolling %v, notes %v", s.Rolling, s.Notes)
	}
	if got := s.Doc.Outputs["on_demand_node_group_name"].Value; got != "${"+odB+".node_group_name}" {
		t.Errorf("output %v, want B's, which the state's output names", got)
	}
	// The held groups keep the template they were launched from, itself held; the spot group has none now.
	if !isFrozen(s.Doc, "aws_launch_template.on_demand_launch_template") {
		t.Error("the old groups' launch template is not kept as it runs")
	}
	if _, ok := s.Doc.Lookup("aws_launch_template.spot_launch_template"); ok {
		t.Error("a launch template the configuration no longer has is rendered for a group not held")
	}
}

func TestNodeGroupKindNames(t *testing.T) {
	k := NodeGroupKinds(defaults(t))[1]
	if k.Name(GenerationB) != "node-group-spot-v1-dev-b" || k.Address(GenerationB) != "aws_eks_node_group.spot_node_group_b" {
		t.Errorf("generation B of spot: %s at %s", k.Name(GenerationB), k.Address(GenerationB))
	}
	for name, want := range map[string]Generation{"node-group-spot-v1-dev": GenerationA, "node-group-spot-v1-dev-b": GenerationB} {
		if g, ok := k.GenerationOf(name); !ok || g != want {
			t.Errorf("GenerationOf(%s) = %v, %v", name, g, ok)
		}
	}
	if _, ok := k.GenerationOf("node-group-od-v1-dev"); ok {
		t.Error("the on-demand group's name is taken for the spot group's")
	}
	auto := defaults(t)
	auto.Cluster.Compute = config.ComputeAuto
	if NodeGroupKinds(auto) != nil {
		t.Error("Auto Mode has managed node groups")
	}
}
