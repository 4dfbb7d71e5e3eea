package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/pkg/stack"
)

func loadPlan(t *testing.T, name string) *tfjson.Plan {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var p tfjson.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &p
}

func TestGuardNoChanges(t *testing.T) {
	if vs := Guard(loadPlan(t, "plan-noop.json"), stack.ProtectedTypes); len(vs) != 0 {
		t.Fatalf("violations on a no-op plan: %v", vs)
	}
}

// The default stack's removed block (destroy = false) forgets the original's log group: Terraform reports the
// action "forget" with the reason delete_because_no_resource_config. That is not a deletion.
func TestGuardIgnoresForget(t *testing.T) {
	p := loadPlan(t, "plan-forget-removed-log-group.json")
	var forgotten bool
	for _, rc := range p.ResourceChanges {
		if rc.Address == "aws_cloudwatch_log_group.eks_log_group" {
			forgotten = rc.Change.Actions.Forget() && rc.ActionReason == tfjson.ActionReasonDeleteBecauseNoResourceConfig
		}
	}
	if !forgotten {
		t.Fatal("fixture: aws_cloudwatch_log_group.eks_log_group is not forgotten")
	}
	if vs := Guard(p, stack.ProtectedTypes); len(vs) != 0 {
		t.Fatalf("the guard fires on a forgotten resource: %v", vs)
	}
}

func TestGuardReplaceVPC(t *testing.T) {
	vs := Guard(loadPlan(t, "plan-replace-vpc.json"), stack.ProtectedTypes)
	got := map[string]Violation{}
	var addrs []string
	for _, v := range vs {
		got[v.Address] = v
		addrs = append(addrs, v.Address)
	}
	want := []string{"aws_eks_node_group.on_demand_node_group", "aws_eks_node_group.spot_node_group",
		"aws_subnet.public_subnet_1", "aws_subnet.public_subnet_2", "aws_vpc.vpc"}
	if !slices.Equal(addrs, want) {
		t.Fatalf("violations %v, want %v (the route table is not protected; the cluster is updated in place; the "+
			"old log group is forgotten)", addrs, want)
	}
	vpc := got["aws_vpc.vpc"]
	if vpc.Action != "replace (delete, then create)" || !slices.Equal(vpc.ForcedBy, []string{"cidr_block"}) || vpc.Type != "aws_vpc" {
		t.Errorf("aws_vpc.vpc: %+v", vpc)
	}
	if s := got["aws_subnet.public_subnet_1"]; !slices.Equal(s.ForcedBy, []string{"vpc_id", "cidr_block"}) {
		t.Errorf("subnet forced by %v", s.ForcedBy)
	}
	if s := vpc.String(); s != "aws_vpc.vpc: replace (delete, then create), because a change to cidr_block forces replacement" {
		t.Errorf("String() = %q", s)
	}
	if s := got["aws_subnet.public_subnet_2"].String(); !strings.Contains(s, "changes to vpc_id, cidr_block force replacement") {
		t.Errorf("String() = %q", s)
	}
	var b strings.Builder
	WriteViolations(&b, vs)
	if n := strings.Count(b.String(), "\n"); n != 5 {
		t.Errorf("WriteViolations wrote %d lines:\n%s", n, b.String())
	}

	// Only the types asked for.
	if vs := Guard(loadPlan(t, "plan-replace-vpc.json"), []string{"aws_vpc"}); len(vs) != 1 || vs[0].Address != "aws_vpc.vpc" {
		t.Errorf("Guard(aws_vpc) = %v", vs)
	}
	if vs := Guard(loadPlan(t, "plan-replace-vpc.json"), nil); len(vs) != 0 {
		t.Errorf("Guard with nothing protected = %v", vs)
	}
}

func TestGuardDelete(t *testing.T) {
	vs := Guard(loadPlan(t, "plan-delete-node-group.json"), stack.ProtectedTypes)
	if len(vs) != 1 {
		t.Fatalf("violations %v", vs)
	}
	v := vs[0]
	if v.Address != "aws_eks_node_group.spot_node_group" || v.Action != "delete" ||
		v.Reason != "the resource is no longer in the configuration" || len(v.ForcedBy) != 0 {
		t.Errorf("%+v", v)
	}
	if s := v.String(); s != "aws_eks_node_group.spot_node_group: delete, because the resource is no longer in the configuration" {
		t.Errorf("String() = %q", s)
	}
}

func TestGuardActions(t *testing.T) {
	rc := func(addr, typ string, mode tfjson.ResourceMode, reason tfjson.ActionReason, deposed string, a ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: addr, Type: typ, Mode: mode, ActionReason: reason, DeposedKey: deposed,
			Change: &tfjson.Change{Actions: a}}
	}
	p := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		rc("aws_eks_cluster.a", "aws_eks_cluster", tfjson.ManagedResourceMode, tfjson.ActionReasonReplaceBecauseTainted, "",
			tfjson.ActionCreate, tfjson.ActionDelete),
		rc("aws_eks_cluster.b", "aws_eks_cluster", tfjson.ManagedResourceMode, "", "", tfjson.ActionUpdate),
		rc("aws_eks_cluster.c", "aws_eks_cluster", tfjson.ManagedResourceMode, "", "", tfjson.ActionCreate),
		rc("aws_eks_cluster.d", "aws_eks_cluster", tfjson.ManagedResourceMode, "", "", tfjson.ActionForget),
		rc("aws_eks_cluster.e", "aws_eks_cluster", tfjson.ManagedResourceMode, "", "0a1b2c3d", tfjson.ActionDelete),
		rc("data.aws_vpc.f", "aws_vpc", tfjson.DataResourceMode, "", "", tfjson.ActionRead),
		rc("aws_iam_role.g", "aws_iam_role", tfjson.ManagedResourceMode, "", "", tfjson.ActionDelete),
		rc("aws_iam_openid_connect_provider.h", "aws_iam_openid_connect_provider", tfjson.ManagedResourceMode,
			tfjson.ActionReasonReplaceByRequest, "", tfjson.ActionDelete, tfjson.ActionCreate),
		{Address: "aws_vpc.nil_change", Type: "aws_vpc", Mode: tfjson.ManagedResourceMode},
		nil,
	}}
	vs := Guard(p, []string{"aws_eks_cluster", "aws_vpc", "aws_iam_openid_connect_provider"})
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	want := []string{
		"aws_eks_cluster.a: replace (create, then delete), because the object is tainted",
		"aws_eks_cluster.e (deposed object 0a1b2c3d): delete",
		"aws_iam_openid_connect_provider.h: replace (delete, then create), because replacement was requested (-replace)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if Guard(nil, stack.ProtectedTypes) != nil {
		t.Error("Guard(nil)")
	}
}

func TestFormatPath(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{[]any{"cidr_block"}, "cidr_block"},
		{[]any{"vpc_config", float64(0), "subnet_ids"}, "vpc_config[0].subnet_ids"},
		{[]any{"tags", "Name"}, "tags.Name"},
		{[]any{"list", json.Number("2")}, "list[2]"},
		{"odd", "odd"},
	} {
		if got := FormatPath(c.in); got != c.want {
			t.Errorf("FormatPath(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
