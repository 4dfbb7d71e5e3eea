package lifecycle

import (
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/versions"
)

func TestEnvironmentOf(t *testing.T) {
	st := &tfjson.State{Values: &tfjson.StateValues{
		Outputs: map[string]*tfjson.StateOutput{"cluster_name": {Value: "c1"}},
		RootModule: &tfjson.StateModule{Resources: []*tfjson.StateResource{
			{Address: "aws_vpc.vpc", Mode: tfjson.ManagedResourceMode, AttributeValues: map[string]any{"id": "vpc-9"}},
			{Address: "aws_eks_cluster.eks_cluster", Mode: tfjson.ManagedResourceMode, AttributeValues: map[string]any{
				"name": "c1", "vpc_config": []any{map[string]any{"cluster_security_group_id": "sg-eks"}}}},
		}},
	}}
	if e := environmentOf(st, "dflt"); e != (environment{cluster: "c1", vpc: "vpc-9", clusterSG: "sg-eks"}) {
		t.Errorf("%+v", e)
	}
	if e := environmentOf(&tfjson.State{}, "dflt"); e != (environment{cluster: "dflt"}) {
		t.Errorf("empty state: %+v", e)
	}
}

// A cluster kept on a version past standard support is priced at the extended-support rate.
func TestControlPlaneCostOfAKeptVersion(t *testing.T) {
	cfg, _ := config.Defaults("default")
	day, _ := versions.ParseDate("2026-12-01")
	if n := controlPlaneCost(&cfg, cfg.Cluster.KubernetesVersion, day); n != "" {
		t.Errorf("configured version: %q, want no note", n)
	}
	n := controlPlaneCost(&cfg, "1.32", day)
	if !strings.Contains(n, "EKS control plane (extended support) on Kubernetes 1.32, $0.6/h, $438.00 a month") {
		t.Errorf("kept 1.32: %q", n)
	}
}
