// Package config is tapstack's configuration: the typed model, its defaults and profiles, the names derived
// from it, and loading with precedence (flags, then the file, then the environment, then defaults). It makes no
// AWS calls and holds no validation rules: those live in package rules, so one report holds every finding.
package config

// Config is everything a TapStack environment is built from. YAML keys are the json tags' camelCase names.
type Config struct {
	// Profile names the preset the defaults come from: default, original or hardened.
	Profile string `yaml:"profile" json:"profile"`
	// EnvironmentSuffix makes names unique per environment (ENVIRONMENT_SUFFIX).
	EnvironmentSuffix string `yaml:"environmentSuffix" json:"environmentSuffix"`
	// Region is the AWS region of the stack (AWS_REGION).
	Region string `yaml:"region" json:"region"`
	// TTL is how long the environment is meant to live, a Go duration (72h); empty: no expiry. The first deploy
	// records the expiry it gives as a tag, and later deploys keep that tag (ParseTTL reads it, rule TS122 checks it).
	TTL string `yaml:"ttl" json:"ttl"`
	// Protect records a tag that tapstack gc never destroys an environment under.
	Protect    bool       `yaml:"protect" json:"protect"`
	State      State      `yaml:"state" json:"state"`
	Tags       Tags       `yaml:"tags" json:"tags"`
	Network    Network    `yaml:"network" json:"network"`
	Cluster    Cluster    `yaml:"cluster" json:"cluster"`
	NodeGroups NodeGroups `yaml:"nodeGroups" json:"nodeGroups"`
	Addons     Addons     `yaml:"addons" json:"addons"`
	// WorkloadIdentities give Kubernetes service accounts IAM roles through EKS Pod Identity (file only).
	WorkloadIdentities []WorkloadIdentity `yaml:"workloadIdentities" json:"workloadIdentities"`
	// Compat reproduces choices of the original stack that tapstack otherwise corrects (profile original).
	Compat Compat `yaml:"compat" json:"compat"`
	// Allow lists the IDs of would-fail rules the user knowingly overrules; their errors become warnings.
	Allow []string `yaml:"allow" json:"allow"`
}

// State is the S3 backend.
type State struct {
	Bucket string `yaml:"bucket" json:"bucket"` // TERRAFORM_STATE_BUCKET
	Region string `yaml:"region" json:"region"` // TERRAFORM_STATE_BUCKET_REGION
	// Key defaults to TapStack<suffix>/<suffix>/terraform.tfstate, the original's layout.
	Key         string `yaml:"key" json:"key"`
	Encrypt     bool   `yaml:"encrypt" json:"encrypt"`
	UseLockfile bool   `yaml:"useLockfile" json:"useLockfile"`
}

// Tags are the provider's default tags (from the pipeline) and tags set on each resource.
type Tags struct {
	Repository   string `yaml:"repository" json:"repository"`     // REPOSITORY
	CommitAuthor string `yaml:"commitAuthor" json:"commitAuthor"` // COMMIT_AUTHOR
	PRNumber     string `yaml:"prNumber" json:"prNumber"`         // PR_NUMBER
	Team         string `yaml:"team" json:"team"`                 // TEAM
	// ManagedBy is the default tag ManagedBy; empty leaves it out.
	ManagedBy string `yaml:"managedBy" json:"managedBy"`
	// Default adds provider default tags.
	Default map[string]string `yaml:"default" json:"default"`
	// Resource tags are set on every taggable resource (the original set Environment and ManagedBy this way).
	Resource map[string]string `yaml:"resource" json:"resource"`
}

// Network is the VPC and its public subnets.
type Network struct {
	VPCCIDR           string   `yaml:"vpcCIDR" json:"vpcCIDR"`
	PublicSubnetCIDRs []string `yaml:"publicSubnetCIDRs" json:"publicSubnetCIDRs"`
	// AvailabilityZones pins the subnets' zones by name; empty picks them at plan time.
	AvailabilityZones []string `yaml:"availabilityZones" json:"availabilityZones"`
	// ExcludeAvoidedZones leaves out, when zones are picked at plan time, opt-in zones and the zone IDs where
	// EKS cannot place a control plane.
	ExcludeAvoidedZones bool `yaml:"excludeAvoidedZones" json:"excludeAvoidedZones"`
	// Topology is public (nodes in public subnets, as the original) or private (nodes in private subnets behind
	// NAT; public subnets only for load balancers).
	Topology string `yaml:"topology" json:"topology"`
	// PrivateSubnetCIDRs are the private subnets of the private topology, one per zone.
	PrivateSubnetCIDRs []string `yaml:"privateSubnetCIDRs" json:"privateSubnetCIDRs"`
	// NATGateways is single (one NAT gateway) or per-zone (one per private subnet's zone).
	NATGateways string `yaml:"natGateways" json:"natGateways"`
	// FlowLogs sends the VPC's flow logs to CloudWatch.
	FlowLogs bool `yaml:"flowLogs" json:"flowLogs"`
}

const (
	TopologyPublic  = "public"
	TopologyPrivate = "private"
	NATSingle       = "single"
	NATPerZone      = "per-zone"
	ComputeNodes    = "node-groups"
	ComputeAuto     = "auto"
)

// Cluster is the EKS control plane.
type Cluster struct {
	KubernetesVersion     string   `yaml:"kubernetesVersion" json:"kubernetesVersion"`
	EndpointPrivateAccess bool     `yaml:"endpointPrivateAccess" json:"endpointPrivateAccess"`
	EndpointPublicAccess  bool     `yaml:"endpointPublicAccess" json:"endpointPublicAccess"`
	PublicAccessCIDRs     []string `yaml:"publicAccessCIDRs" json:"publicAccessCIDRs"`
	LogTypes              []string `yaml:"logTypes" json:"logTypes"`
	LogRetentionDays      int      `yaml:"logRetentionDays" json:"logRetentionDays"`
	// OIDCThumbprints pins the OIDC provider's thumbprints; empty lets IAM fetch them itself.
	OIDCThumbprints []string `yaml:"oidcThumbprints" json:"oidcThumbprints"`
	// SecretsEncryption envelope-encrypts Kubernetes secrets with a customer-managed KMS key (rotation on).
	SecretsEncryption bool `yaml:"secretsEncryption" json:"secretsEncryption"`
	// LogEncryption encrypts the control-plane (and flow) log groups with that key.
	LogEncryption bool `yaml:"logEncryption" json:"logEncryption"`
	// AuthenticationMode is API, API_AND_CONFIG_MAP or CONFIG_MAP; empty leaves EKS's default (the original).
	AuthenticationMode string `yaml:"authenticationMode" json:"authenticationMode"`
	// BootstrapCreatorAdmin gives the identity that creates the cluster admin access. It is decided at creation:
	// changing it replaces the cluster, so tapstack never changes it on an existing cluster.
	BootstrapCreatorAdmin bool `yaml:"bootstrapCreatorAdmin" json:"bootstrapCreatorAdmin"`
	// AdminPrincipals are IAM principal ARNs given cluster-admin access entries.
	AdminPrincipals []string `yaml:"adminPrincipals" json:"adminPrincipals"`
	// UpgradeSupportType is STANDARD (EKS upgrades the cluster at the end of standard support instead of billing
	// extended support) or EXTENDED; empty leaves EKS's default (the original).
	UpgradeSupportType string `yaml:"upgradeSupportType" json:"upgradeSupportType"`
	// Compute is node-groups (managed node groups) or auto (EKS Auto Mode).
	Compute string `yaml:"compute" json:"compute"`
}

// NodeGroups are the two managed node groups the original had, and how their nodes are launched.
type NodeGroups struct {
	OnDemand NodeGroup `yaml:"onDemand" json:"onDemand"`
	Spot     NodeGroup `yaml:"spot" json:"spot"`
	// LaunchTemplate launches nodes from a template: IMDSv2 required, encrypted gp3 root volume. Adding it to an
	// existing node group replaces the group.
	LaunchTemplate bool `yaml:"launchTemplate" json:"launchTemplate"`
	RootVolumeGiB  int  `yaml:"rootVolumeGiB" json:"rootVolumeGiB"`
	// AutoRepair lets EKS replace unhealthy nodes.
	AutoRepair bool `yaml:"autoRepair" json:"autoRepair"`
	// MaxUnavailablePercentage is the rolling update budget; 0 leaves EKS's default (one node).
	MaxUnavailablePercentage int `yaml:"maxUnavailablePercentage" json:"maxUnavailablePercentage"`
}

// NodeGroup is one managed node group's size and instance types.
type NodeGroup struct {
	InstanceTypes []string `yaml:"instanceTypes" json:"instanceTypes"`
	MinSize       int      `yaml:"minSize" json:"minSize"`
	DesiredSize   int      `yaml:"desiredSize" json:"desiredSize"`
	MaxSize       int      `yaml:"maxSize" json:"maxSize"`
}

// Addons are the EKS add-ons. Managed add-ons follow the cluster's version: EKS picks each one's default build.
type Addons struct {
	VPCCNI VPCCNI `yaml:"vpcCni" json:"vpcCni"`
	// CoreDNS, KubeProxy and PodIdentityAgent manage these as EKS add-ons (EKS never upgrades self-managed ones).
	CoreDNS          bool `yaml:"coreDns" json:"coreDns"`
	KubeProxy        bool `yaml:"kubeProxy" json:"kubeProxy"`
	PodIdentityAgent bool `yaml:"podIdentityAgent" json:"podIdentityAgent"`
	// EBSCSIDriver runs aws-ebs-csi-driver with a role of its own through Pod Identity, so PersistentVolumeClaims
	// bind (EKS has no in-tree EBS provisioner any more).
	EBSCSIDriver bool `yaml:"ebsCsiDriver" json:"ebsCsiDriver"`
	// MetricsServer runs the metrics-server community add-on, which HorizontalPodAutoscalers need.
	MetricsServer bool `yaml:"metricsServer" json:"metricsServer"`
	// CloudWatchObservability runs amazon-cloudwatch-observability (Container Insights and Application Signals)
	// with a role of its own through Pod Identity, into log groups the stack creates.
	CloudWatchObservability bool `yaml:"cloudWatchObservability" json:"cloudWatchObservability"`
}

// VPCCNI is the vpc-cni add-on.
type VPCCNI struct {
	// Version pins an add-on build such as v1.18.1-eksbuild.3; empty lets EKS install its default.
	Version          string `yaml:"version" json:"version"`
	PrefixDelegation bool   `yaml:"prefixDelegation" json:"prefixDelegation"`
	WarmPrefixTarget int    `yaml:"warmPrefixTarget" json:"warmPrefixTarget"`
	ResolveOnCreate  string `yaml:"resolveConflictsOnCreate" json:"resolveConflictsOnCreate"`
	ResolveOnUpdate  string `yaml:"resolveConflictsOnUpdate" json:"resolveConflictsOnUpdate"`
	// IRSA runs the add-on with its own role, trusted by the cluster's OIDC provider for kube-system:aws-node,
	// instead of AmazonEKS_CNI_Policy on every node.
	IRSA bool `yaml:"irsa" json:"irsa"`
}

// Compat holds the original stack's choices that tapstack corrects unless asked to keep them.
type Compat struct {
	// LegacyLogGroup keeps the original's log group /aws/eks/<cluster> (which EKS never writes to) at
	// aws_cloudwatch_log_group.eks_log_group instead of the real /aws/eks/<cluster>/cluster.
	LegacyLogGroup bool `yaml:"legacyLogGroup" json:"legacyLogGroup"`
	// AddonAfterNodeGroups creates vpc-cni after the node groups, as the original did (nodes may then join
	// before the CNI is configured).
	AddonAfterNodeGroups bool `yaml:"addonAfterNodeGroups" json:"addonAfterNodeGroups"`
	// OriginalOutputs declares only the original's seven outputs, so that switching tools plans no change at
	// all; verify then reads the VPC and subnets from the cluster.
	OriginalOutputs bool `yaml:"originalOutputs" json:"originalOutputs"`
}

// withProtections turns on what a production cluster needs and the original lacked: envelope encryption of
// secrets and logs with a KMS key, access entries, no silent slide into extended support, launch-templated
// nodes with IMDSv2 and encrypted disks, node auto repair and an update budget, diversified spot capacity, the
// core add-ons managed by EKS, vpc-cni's permissions on its own role instead of every node's, and the platform
// add-ons (EBS CSI driver, metrics-server, CloudWatch observability).
func withProtections(c Config) Config {
	c.Cluster.SecretsEncryption, c.Cluster.LogEncryption = true, true
	c.Cluster.AuthenticationMode = "API_AND_CONFIG_MAP"
	c.Cluster.BootstrapCreatorAdmin = true
	c.Cluster.UpgradeSupportType = "STANDARD"
	c.NodeGroups.LaunchTemplate, c.NodeGroups.AutoRepair = true, true
	c.NodeGroups.MaxUnavailablePercentage = 33
	c.NodeGroups.Spot.InstanceTypes = []string{"t3.medium", "t3a.medium", "t2.medium"}
	c.Addons.CoreDNS, c.Addons.KubeProxy, c.Addons.PodIdentityAgent = true, true, true
	c.Addons.VPCCNI.IRSA = true
	c.Addons.EBSCSIDriver, c.Addons.MetricsServer, c.Addons.CloudWatchObservability = true, true, true
	return c
}

// Profiles lists the profile names in the order docs/profiles.md presents them.
var Profiles = []string{"original", "default", "hardened"}

// Defaults returns the configuration of a profile before any source is applied. ok is false for an unknown
// profile, in which case the default profile's values are returned.
func Defaults(profile string) (Config, bool) {
	c := Config{
		Profile:           "default",
		EnvironmentSuffix: "dev",
		Region:            "us-east-1",
		State: State{
			Bucket: "iac-rlhf-tf-states", Region: "us-east-1", Encrypt: true, UseLockfile: true,
		},
		Tags: Tags{
			Repository: "unknown", CommitAuthor: "unknown", PRNumber: "unknown", Team: "unknown",
			ManagedBy: "tapstack",
		},
		Network: Network{
			VPCCIDR:             "10.0.0.0/16",
			PublicSubnetCIDRs:   []string{"10.0.1.0/24", "10.0.2.0/24"},
			ExcludeAvoidedZones: true,
			Topology:            TopologyPublic,
			PrivateSubnetCIDRs:  []string{"10.0.16.0/20", "10.0.32.0/20"},
			NATGateways:         NATSingle,
		},
		Cluster: Cluster{
			KubernetesVersion:     DefaultKubernetesVersion(),
			EndpointPrivateAccess: true,
			EndpointPublicAccess:  true,
			PublicAccessCIDRs:     []string{"0.0.0.0/0"},
			LogTypes:              []string{"api", "audit", "authenticator", "controllerManager", "scheduler"},
			LogRetentionDays:      30,
			Compute:               ComputeNodes,
		},
		NodeGroups: NodeGroups{
			OnDemand:      NodeGroup{InstanceTypes: []string{"t3.medium"}, MinSize: 2, DesiredSize: 2, MaxSize: 5},
			Spot:          NodeGroup{InstanceTypes: []string{"t3.medium"}, MinSize: 3, DesiredSize: 3, MaxSize: 10},
			RootVolumeGiB: 20,
		},
		Addons: Addons{VPCCNI: VPCCNI{
			PrefixDelegation: true, WarmPrefixTarget: 1, ResolveOnCreate: "OVERWRITE", ResolveOnUpdate: "OVERWRITE",
		}},
	}
	switch profile {
	case "", "default":
		return withProtections(c), true
	case "hardened":
		c = withProtections(c)
		c.Profile = "hardened"
		c.Network.Topology = TopologyPrivate
		c.Network.NATGateways = NATPerZone
		c.Network.FlowLogs = true
		c.Cluster.EndpointPublicAccess = false
		c.Cluster.PublicAccessCIDRs = nil
		c.Cluster.AuthenticationMode = "API"
		c.Cluster.LogRetentionDays = 365
		return c, true
	case "original":
		c.Profile = "original"
		c.Cluster.KubernetesVersion = "1.29"
		c.Cluster.OIDCThumbprints = []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}
		c.Addons.VPCCNI.Version = "v1.18.1-eksbuild.3"
		c.Tags.ManagedBy = ""
		c.Tags.Resource = map[string]string{"Environment": "Production", "ManagedBy": "CDKTF"}
		c.Network.ExcludeAvoidedZones = false
		c.Compat = Compat{LegacyLogGroup: true, AddonAfterNodeGroups: true, OriginalOutputs: true}
		return c, true
	}
	return c, false
}
