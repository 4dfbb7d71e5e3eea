package engine

import (
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

func entry(es []SummaryEntry, addr string) (SummaryEntry, bool) {
	for _, e := range es {
		if e.Address == addr {
			return e, true
		}
	}
	return SummaryEntry{}, false
}

func TestSummarizeReplaceVPC(t *testing.T) {
	s := Summarize(loadPlan(t, "plan-replace-vpc.json"))
	vpc, ok := entry(s.Replaced, "aws_vpc.vpc")
	if !ok || !slices.Equal(vpc.Detail, []string{"forced by cidr_block"}) {
		t.Errorf("aws_vpc.vpc replaced = %v %v, want forced by cidr_block", ok, vpc)
	}
	if sub, _ := entry(s.Replaced, "aws_subnet.public_subnet_1"); !slices.Equal(sub.Detail, []string{"forced by vpc_id, cidr_block"}) {
		t.Errorf("subnet detail = %v", sub.Detail)
	}
	if _, ok := entry(s.Updated, "aws_eks_cluster.eks_cluster"); !ok {
		t.Errorf("the cluster is updated in place in this plan; summary has %+v", s.Updated)
	}
	if !slices.Equal(s.Forgotten, []string{"aws_cloudwatch_log_group.eks_log_group"}) || !slices.Equal(s.Created, []string{"aws_cloudwatch_log_group.eks_cluster_log_group"}) {
		t.Errorf("forgotten %v created %v", s.Forgotten, s.Created)
	}
	if len(s.Replaced) != 9 || len(s.Kept) != 9 || !s.Changes() {
		t.Errorf("replaced %d kept %d changes %v, want 9, 9, true", len(s.Replaced), len(s.Kept), s.Changes())
	}
	var b strings.Builder
	WriteSummary(&b, s)
	for _, want := range []string{"9 kept, 2 changed in place, 0 adopted", "  replaced:\n", "    aws_vpc.vpc (forced by cidr_block)\n",
		"  forgotten (left in the account, out of the state):\n    aws_cloudwatch_log_group.eks_log_group\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSummarizeNoopAndDelete(t *testing.T) {
	s := Summarize(loadPlan(t, "plan-noop.json"))
	if len(s.Kept) != 21 || s.Changes() {
		t.Errorf("no-op plan: %d kept, changes %v", len(s.Kept), s.Changes())
	}
	var b strings.Builder
	WriteSummary(&b, s)
	if strings.Contains(b.String(), "replaced:") || strings.Contains(b.String(), "created:") {
		t.Errorf("empty kinds are printed:\n%s", b.String())
	}
	d := Summarize(loadPlan(t, "plan-delete-node-group.json"))
	e, ok := entry(d.Deleted, "aws_eks_node_group.spot_node_group")
	if !ok || len(e.Detail) != 1 || e.Detail[0] != reasonText[tfjson.ActionReasonDeleteBecauseNoResourceConfig] {
		t.Errorf("deleted = %+v", d.Deleted)
	}
}

func TestSummarizeImportMoveUpdate(t *testing.T) {
	p := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		{Address: "aws_cloudwatch_log_group.eks_cluster_log_group", Mode: tfjson.ManagedResourceMode, Change: &tfjson.Change{
			Actions: tfjson.Actions{tfjson.ActionUpdate}, Importing: &tfjson.Importing{ID: "/aws/eks/c/cluster"},
			Before: map[string]any{"retention_in_days": float64(0)}, After: map[string]any{"retention_in_days": float64(30)}}},
		{Address: "aws_eks_cluster.eks_cluster", Mode: tfjson.ManagedResourceMode, Change: &tfjson.Change{
			Actions:      tfjson.Actions{tfjson.ActionUpdate},
			Before:       map[string]any{"id": "c", "version": "1.30", "tags": map[string]any{"a": "b"}, "gone": "x"},
			After:        map[string]any{"id": "c", "version": "1.30", "tags": map[string]any{"a": "c"}},
			AfterUnknown: map[string]any{"access_config": true}}},
		{Address: "aws_iam_role.new", PreviousAddress: "aws_iam_role.old", Mode: tfjson.ManagedResourceMode,
			Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionNoop}}},
		{Address: "data.aws_region.r", Mode: tfjson.DataResourceMode, Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionRead}}},
	}}
	s := Summarize(p)
	if a, ok := entry(s.Adopted, "aws_cloudwatch_log_group.eks_cluster_log_group"); !ok ||
		!slices.Equal(a.Detail, []string{"import /aws/eks/c/cluster", "retention_in_days"}) {
		t.Errorf("adopted = %+v", s.Adopted)
	}
	if u, _ := entry(s.Updated, "aws_eks_cluster.eks_cluster"); !slices.Equal(u.Detail, []string{"access_config", "gone", "tags"}) {
		t.Errorf("updated attributes = %v, want access_config, gone, tags", u.Detail)
	}
	if m, ok := entry(s.Moved, "aws_iam_role.new"); !ok || m.Detail[0] != "from aws_iam_role.old" {
		t.Errorf("moved = %+v", s.Moved)
	}
	if len(s.Kept) != 0 {
		t.Errorf("data sources are not resources to keep: %v", s.Kept)
	}
}

// Planned changes as Terraform 1.11 prints them with plan -json (the machine-readable UI's planned_change
// messages, one per line), sorted as show -json's summary sorts them.
func TestSummarizeChanges(t *testing.T) {
	out := []byte(`{"@level":"info","@message":"Terraform 1.11.4","type":"version","terraform":"1.11.4","ui":"1.2"}
{"@level":"info","@message":"aws_vpc.vpc: Plan to replace","type":"planned_change","change":{"resource":{"addr":"aws_vpc.vpc","module":"","resource":"aws_vpc.vpc","implied_provider":"aws","resource_type":"aws_vpc","resource_name":"vpc","resource_key":null},"action":"replace","reason":"cannot_update"}}
{"@level":"info","@message":"aws_eks_cluster.eks_cluster: Plan to update","type":"planned_change","change":{"resource":{"addr":"aws_eks_cluster.eks_cluster","resource_type":"aws_eks_cluster"},"action":"update"}}
{"@level":"info","@message":"aws_subnet.public_subnet_1: Plan to create","type":"planned_change","change":{"resource":{"addr":"aws_subnet.public_subnet_1","resource_type":"aws_subnet"},"action":"create"}}
{"@level":"info","@message":"aws_cloudwatch_log_group.eks_log_group: Plan to remove","type":"planned_change","change":{"resource":{"addr":"aws_cloudwatch_log_group.eks_log_group","resource_type":"aws_cloudwatch_log_group"},"action":"remove"}}
{"@level":"info","@message":"aws_route.r: Plan to delete","type":"planned_change","change":{"resource":{"addr":"aws_route.r","resource_type":"aws_route"},"action":"delete","reason":"delete_because_no_resource_config"}}
{"@level":"info","@message":"aws_iam_role.new: Plan to move","type":"planned_change","change":{"resource":{"addr":"aws_iam_role.new","resource_type":"aws_iam_role"},"previous_resource":{"addr":"aws_iam_role.old","resource_type":"aws_iam_role"},"action":"move"}}
{"@level":"info","@message":"aws_cloudwatch_log_group.g: Plan to import","type":"planned_change","change":{"resource":{"addr":"aws_cloudwatch_log_group.g","resource_type":"aws_cloudwatch_log_group"},"action":"noop","importing":{"id":"/aws/eks/c/cluster"}}}
{"@level":"info","@message":"Plan: 2 to add, 1 to change, 2 to destroy.","type":"change_summary","changes":{"add":2,"change":1,"import":0,"remove":2,"operation":"plan"}}`)
	planned := ParsePlannedChanges(out)
	if len(planned) != 7 || planned[0].Type != "aws_vpc" || !planned[0].Destructive() || planned[1].Destructive() {
		t.Fatalf("planned %+v", planned)
	}
	s := SummarizeChanges(planned, []string{"aws_vpc.vpc", "aws_kms_key.k", "aws_eks_cluster.eks_cluster"})
	want := Summary{
		Kept:      []string{"aws_kms_key.k"},
		Updated:   []SummaryEntry{{Address: "aws_eks_cluster.eks_cluster"}},
		Created:   []string{"aws_subnet.public_subnet_1"},
		Replaced:  []SummaryEntry{{Address: "aws_vpc.vpc", Detail: []string{"an attribute that cannot be updated in place changes"}}},
		Deleted:   []SummaryEntry{{Address: "aws_route.r", Detail: []string{"the resource is no longer in the configuration"}}},
		Forgotten: []string{"aws_cloudwatch_log_group.eks_log_group"},
		Moved:     []SummaryEntry{{Address: "aws_iam_role.new", Detail: []string{"from aws_iam_role.old"}}},
		Adopted:   []SummaryEntry{{Address: "aws_cloudwatch_log_group.g", Detail: []string{"import /aws/eks/c/cluster"}}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary\n%+v\nwant\n%+v", s, want)
	}
}

// With -json the engine's errors come as diagnostic messages on stdout; the reader keeps each error as the
// human output prints it, so CommandError finds a held state lock in it.
func TestPlanJSONDiagnostics(t *testing.T) {
	r := &uiReader{progress: io.Discard}
	_, _ = r.Write([]byte(`{"@level":"error","@message":"Error: Error acquiring the state lock","type":"diagnostic","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: operation error S3: PutObject, https response error StatusCode: 412, api error PreconditionFailed: At least one of the pre-conditions you specified did not hold\nLock Info:\n  Who:       root@vm\n"}}
{"@level":"warn","@message":"Warning: Incomplete lock file information for providers","type":"diagnostic","diagnostic":{"severity":"warning","summary":"Incomplete lock file information for providers","detail":"..."}}
`))
	r.flush()
	ce := &CommandError{Kind: Terraform, Command: "plan", Stderr: r.diags.String(), Err: errors.New("exit status 1")}
	ce.Diagnostics = diagnostics(ce.Stderr)
	if !ce.StateLocked() || !strings.Contains(ce.Error(), "who root@vm") || strings.Contains(r.diags.String(), "Incomplete lock file") {
		t.Errorf("diagnostics %q; error %v", r.diags.String(), ce)
	}
}
