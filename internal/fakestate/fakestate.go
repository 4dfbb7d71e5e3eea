// Package fakestate writes state files shaped as tapstack's (format version 4, as the S3 backend stores them) for
// tests of the fleet commands: a VPC, a log group, a role, the cluster and two node groups, each with the default
// tags, ARNs in the environment's region, a data source and an output. No resource in them exists anywhere.
package fakestate

import (
	"encoding/json"
	"fmt"

	"github.com/tapstack/tapstack/pkg/stack"
)

// Env describes one state.
type Env struct {
	Suffix string
	// Region defaults to us-east-1; ManagedBy to tapstack.
	Region, ManagedBy string
	// Tags are more default tags (stack.TagExpiresAt, stack.TagProtect, ...); they win over the usual ones.
	Tags map[string]string
	// NoCluster leaves the cluster and its node groups out (another project's state).
	NoCluster bool
	// VPC is the VPC's ID; "" derives one from the suffix (two states with one VPC are a copy).
	VPC string
	// Serial is the state's serial; 0 is 3.
	Serial int
}

// Key is the original's state key of a suffix, TapStack<suffix>/<suffix>/terraform.tfstate.
func Key(suffix string) string { return "TapStack" + suffix + "/" + suffix + "/terraform.tfstate" }

type resource struct {
	Mode      string     `json:"mode"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Provider  string     `json:"provider"`
	Instances []instance `json:"instances"`
}

type instance struct {
	SchemaVersion int            `json:"schema_version"`
	Attributes    map[string]any `json:"attributes"`
}

const provider = `provider["registry.terraform.io/hashicorp/aws"]`

// Raw renders the state file.
func (s Env) Raw() []byte {
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if s.ManagedBy == "" {
		s.ManagedBy = stack.ManagedByTapstack
	}
	if s.VPC == "" {
		s.VPC = "vpc-" + s.Suffix
	}
	if s.Serial == 0 {
		s.Serial = 3
	}
	tags := map[string]any{stack.TagEnvironment: s.Suffix, stack.TagManagedBy: s.ManagedBy, stack.TagPRNumber: "4" + s.Suffix,
		stack.TagProfile: "default"}
	for k, v := range s.Tags {
		tags[k] = v
	}
	arn := func(svc, rest string) string { return "arn:aws:" + svc + ":" + s.Region + ":123456789012:" + rest }
	cluster := "eks-cluster-v1-" + s.Suffix
	res := func(typ, name string, attrs map[string]any) resource {
		attrs["tags_all"] = tags
		return resource{Mode: "managed", Type: typ, Name: name, Provider: provider, Instances: []instance{{Attributes: attrs}}}
	}
	rs := []resource{
		{Mode: "data", Type: "aws_availability_zones", Name: "available_azs", Provider: provider,
			Instances: []instance{{Attributes: map[string]any{"id": s.Region}}}},
		res("aws_vpc", "vpc", map[string]any{"id": s.VPC, "arn": arn("ec2", "vpc/"+s.VPC)}),
		res("aws_cloudwatch_log_group", "eks_cluster_log_group", map[string]any{"id": "/aws/eks/" + cluster + "/cluster",
			"name": "/aws/eks/" + cluster + "/cluster", "arn": arn("logs", "log-group:/aws/eks/"+cluster+"/cluster"), "retention_in_days": 30}),
		// IAM's ARNs name no region.
		res("aws_iam_role", "eks_node_role", map[string]any{"id": "eks-node-role-v1-" + s.Suffix,
			"arn": "arn:aws:iam::123456789012:role/eks-node-role-v1-" + s.Suffix}),
	}
	if !s.NoCluster {
		ng := func(short, name, capacity string, desired int) resource {
			n := "node-group-" + short + "-v1-" + s.Suffix
			return res("aws_eks_node_group", name, map[string]any{"id": cluster + ":" + n, "node_group_name": n,
				"arn": arn("eks", "nodegroup/"+cluster+"/"+n+"/0"), "capacity_type": capacity, "instance_types": []any{"t3.medium"},
				"scaling_config": []any{map[string]any{"desired_size": desired, "min_size": 1, "max_size": 3}}})
		}
		rs = append(rs, res("aws_eks_cluster", "eks_cluster", map[string]any{"id": cluster, "name": cluster, "version": "1.36",
			"arn": arn("eks", "cluster/"+cluster), "tags": map[string]any{}}),
			ng("od", "on_demand_node_group", "ON_DEMAND", 2), ng("spot", "spot_node_group", "SPOT", 1))
	}
	b, err := json.MarshalIndent(map[string]any{"version": 4, "terraform_version": "1.11.4", "serial": s.Serial,
		"lineage": "lineage-" + s.Suffix, "outputs": map[string]any{"cluster_name": map[string]any{"value": cluster, "type": "string"}},
		"resources": rs, "check_results": nil}, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("fakestate: %v", err))
	}
	return b
}

// Empty is a state with nothing in it, as Terraform leaves one after a destroy.
func Empty(suffix string) []byte {
	return []byte(fmt.Sprintf(`{"version": 4, "terraform_version": "1.11.4", "serial": 9, "lineage": "lineage-%s", "outputs": {}, "resources": [], "check_results": null}`, suffix))
}
