package config

import (
	"strconv"

	"github.com/tapstack/tapstack/pkg/versions"
)

// DefaultKubernetesVersion comes from the dated version data, never from the clock.
func DefaultKubernetesVersion() string { return versions.Get().DefaultKubernetesVersion }

// StackName is TapStack<suffix>, the original's stack name.
func (c *Config) StackName() string { return "TapStack" + c.EnvironmentSuffix }

// StateKey is the backend key.
func (c *Config) StateKey() string {
	if c.State.Key != "" {
		return c.State.Key
	}
	return c.StackName() + "/" + c.EnvironmentSuffix + "/terraform.tfstate"
}

func (c *Config) name(kind string) string { return kind + "-v1-" + c.EnvironmentSuffix }

func (c *Config) ClusterName() string        { return c.name("eks-cluster") }
func (c *Config) ClusterRoleName() string    { return c.name("eks-cluster-role") }
func (c *Config) NodeRoleName() string       { return c.name("eks-node-role") }
func (c *Config) OnDemandGroupName() string  { return c.name("node-group-od") }
func (c *Config) SpotGroupName() string      { return c.name("node-group-spot") }
func (c *Config) VPCName() string            { return c.name("eks-vpc") }
func (c *Config) IGWName() string            { return c.name("eks-igw") }
func (c *Config) RouteTableName() string     { return c.name("eks-public-rt") }
func (c *Config) SubnetName(i int) string    { return c.name("eks-public-subnet-" + strconv.Itoa(i)) }
func (c *Config) LogGroupName() string       { return "/aws/eks/" + c.ClusterName() + "/cluster" }
func (c *Config) LegacyLogGroupName() string { return "/aws/eks/" + c.ClusterName() }

// AlternateSuffix ends the name of a node group's second generation. EKS names a node group once (the name is
// ForceNew) and one cluster cannot hold two of one name, so the replacement `tapstack roll` runs beside a group takes
// the other name: node-group-od-v1-<suffix>-b, then back to the plain name on the next roll.
const AlternateSuffix = "-b"

// AlternateGroupName is the name of a node group's second generation.
func AlternateGroupName(name string) string { return name + AlternateSuffix }

// NameKind is a kind of AWS name with its own limits.
type NameKind string

const (
	KindCluster   NameKind = "EKS cluster"
	KindNodeGroup NameKind = "EKS node group"
	KindIAMRole   NameKind = "IAM role"
	KindLogGroup  NameKind = "CloudWatch log group"
	KindTag       NameKind = "tag value"
)

// Name is one derived name, with the resource it names.
type Name struct {
	Kind     NameKind
	Resource string
	Value    string
}

// Names lists every name derived from the configuration that AWS limits.
func (c *Config) Names() []Name {
	ns := []Name{
		{KindCluster, "aws_eks_cluster.eks_cluster", c.ClusterName()},
		{KindIAMRole, "aws_iam_role.eks_cluster_role", c.ClusterRoleName()},
		{KindIAMRole, "aws_iam_role.eks_node_role", c.NodeRoleName()},
		{KindNodeGroup, "aws_eks_node_group.on_demand_node_group", c.OnDemandGroupName()},
		{KindNodeGroup, "aws_eks_node_group.spot_node_group", c.SpotGroupName()},
		{KindLogGroup, "aws_cloudwatch_log_group.eks_cluster_log_group", c.LogGroupName()},
		{KindTag, "aws_vpc.vpc (tag Name)", c.VPCName()},
		{KindTag, "aws_subnet.public_subnet_1 (tag Name)", c.SubnetName(1)},
		{KindNodeGroup, "aws_eks_node_group.on_demand_node_group_b (tapstack roll)", AlternateGroupName(c.OnDemandGroupName())},
		{KindNodeGroup, "aws_eks_node_group.spot_node_group_b (tapstack roll)", AlternateGroupName(c.SpotGroupName())},
	}
	if c.Addons.VPCCNI.IRSA {
		ns = append(ns, Name{KindIAMRole, "aws_iam_role.vpc_cni_role", c.VPCCNIRoleName()})
	}
	if c.Addons.EBSCSIDriver {
		ns = append(ns, Name{KindIAMRole, "aws_iam_role.ebs_csi_role", c.EBSCSIRoleName()})
	}
	if c.Addons.CloudWatchObservability {
		ns = append(ns, Name{KindIAMRole, "aws_iam_role.cloudwatch_observability_role", c.CloudWatchRoleName()})
		for _, g := range c.ContainerInsightsLogGroups() {
			ns = append(ns, Name{KindLogGroup, "aws_cloudwatch_log_group.container_insights_" + g.Kind, g.Name})
		}
	}
	if c.Network.FlowLogs {
		ns = append(ns, Name{KindIAMRole, "aws_iam_role.vpc_flow_log_role", c.FlowLogRoleName()},
			Name{KindLogGroup, "aws_cloudwatch_log_group.vpc_flow_log_group", c.FlowLogGroupName()})
	}
	if c.RunsClusterAutoscaler() {
		ns = append(ns, Name{KindIAMRole, "aws_iam_role.cluster_autoscaler_role", c.ClusterAutoscalerRoleName()})
	}
	for _, w := range c.WorkloadIdentities {
		name := w.ResolvedName()
		ns = append(ns, Name{KindIAMRole, "aws_iam_role." + WorkloadIdentityAddress(name), c.WorkloadIdentityRoleName(name)})
	}
	if c.Compat.LegacyLogGroup {
		ns[5] = Name{KindLogGroup, "aws_cloudwatch_log_group.eks_log_group", c.LegacyLogGroupName()}
	}
	return ns
}

func (c *Config) VPCCNIRoleName() string   { return c.name("eks-vpc-cni-role") }
func (c *Config) FlowLogRoleName() string  { return c.name("eks-flow-log-role") }
func (c *Config) FlowLogGroupName() string { return "/aws/vpc-flow-log/" + c.VPCName() }
func (c *Config) EBSCSIRoleName() string   { return c.name("eks-ebs-csi-role") }
func (c *Config) ClusterAutoscalerRoleName() string {
	return c.name("eks-cluster-autoscaler-role")
}
func (c *Config) CloudWatchRoleName() string {
	return c.name("eks-cloudwatch-role")
}

// LogGroup is a log group the stack creates for a writer that would otherwise create it itself.
type LogGroup struct{ Kind, Name string }

// ContainerInsightsLogGroups are the groups the CloudWatch observability add-on writes to,
// /aws/containerinsights/<cluster>/<kind> (CloudWatch user guide, Container-Insights-setup-logs-FluentBit and
// Container-Insights-reference): performance events, and application, dataplane and host logs.
func (c *Config) ContainerInsightsLogGroups() []LogGroup {
	var out []LogGroup
	for _, k := range []string{"application", "dataplane", "host", "performance"} {
		out = append(out, LogGroup{k, "/aws/containerinsights/" + c.ClusterName() + "/" + k})
	}
	return out
}

func (c *Config) PrivateSubnetName(i int) string {
	return c.name("eks-private-subnet-" + strconv.Itoa(i))
}

// LaunchTemplateName is lt-<node group name>, the launch template of the node group named group (say
// OnDemandGroupName()); the group name already ends in the suffix. Environments created before this carry
// lt-<group>-v1-<suffix>-v1-<suffix>: stack.Build keeps the name their state records, since renaming a launch
// template replaces it and its node group.
func (c *Config) LaunchTemplateName(group string) string { return "lt-" + group }

// KMSAliasName is alias/<cluster>, the alias of the key that encrypts secrets and logs.
func (c *Config) KMSAliasName() string { return "alias/" + c.ClusterName() }

// EnvName is <kind>-v1-<suffix>, for names of resources the original did not have.
func (c *Config) EnvName(kind string) string { return c.name(kind) }
