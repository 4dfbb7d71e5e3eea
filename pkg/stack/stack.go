// Package stack builds the TapStack Terraform document from a configuration. It is pure: no I/O, no AWS calls,
// no clock. Every resource the original CDKTF stack had keeps the original's Terraform address, so state that the
// original wrote carries over; one file per concern (network, iam, cluster, nodegroups, addons, outputs).
package stack

import (
	"strings"
	"time"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

const (
	// RequiredVersion is the oldest Terraform with S3-native state locking (use_lockfile).
	RequiredVersion = ">= 1.11"
	// RequiredVersionTofu is the same for OpenTofu, which checks required_version against its own version.
	RequiredVersionTofu = ">= 1.10"
	// ProviderVersion pins the tested provider line, so an online init cannot pull an untested major version.
	ProviderVersion = "~> 5.100"
)

// ProtectedTypes are the resource types an environment cannot lose: deleting or replacing one takes the cluster
// down, moves it to new subnets, breaks IRSA, drains every node or loses the control-plane logs. Deploy refuses a
// plan that would (engine.Guard) unless told it is intended.
var ProtectedTypes = []string{
	"aws_eks_cluster",
	"aws_vpc",
	"aws_subnet",
	"aws_iam_openid_connect_provider",
	"aws_eks_node_group",
	"aws_cloudwatch_log_group",
}

// Options change how a configuration is rendered for a particular run, not what the environment is.
type Options struct {
	// ImportLogGroup adds an import block that adopts an existing control-plane log group (--adopt-existing).
	ImportLogGroup bool
	// Engine is "terraform" (default) or "tofu"; it decides required_version.
	Engine string
	// AddonVersions pins add-on builds resolved live for the cluster's version (add-on name -> version); a
	// configured vpc-cni pin wins. Without one, EKS installs its default build at creation.
	AddonVersions map[string]string
	// Existing is what the environment's state already runs; nil for a new environment.
	Existing *Existing
	// UpgradeStep renders one step of `tapstack upgrade`: an existing cluster moves to the configured version
	// when that is exactly one minor version ahead of the one it runs (never more: EKS refuses), and the node
	// groups move with it in every profile.
	UpgradeStep bool
	// Date is the day support-based decisions are made on (the upgrade policy an existing cluster can take);
	// zero makes none.
	Date versions.Date
	// Roll renders a step of `tapstack roll`: the node group it names in its new generation and, while it keeps
	// the old one, that one as it runs.
	Roll *NodeGroupRoll
	// Now is the moment a ttl counts from when the state records no expiry yet (the first deploy); zero records
	// none. The caller reads the clock: Build never does.
	Now time.Time
}

// Stack is a built document with the handles other packages need.
type Stack struct {
	Config *config.Config
	Doc    *tfdoc.Document
	// KubernetesVersion is the version rendered: the configured one, or the one an existing cluster runs.
	KubernetesVersion string
	// Notes say what Build kept of an existing environment instead of the configuration, and why.
	Notes []string
	// VersionNote says that Build kept the Kubernetes version the cluster runs instead of the configured one, and
	// why; it is also in Notes. upgrade, which moves the version itself, leaves it out.
	VersionNote string
	// FollowUp is set when this document is a safe intermediate step: once it is applied, building again from
	// the new state gives the configured environment (say, the node role's CNI policy removed only after
	// vpc-cni runs with its own role). It says why.
	FollowUp string
	// Rolling are the node groups (by their generation-A name) with both generations in state and no Roll: a roll
	// is under way, both are held as they run, and deploy and upgrade leave them to `tapstack roll`.
	Rolling []string
}

// Build renders the whole environment. It never fails on a bad configuration: the rules report those.
func Build(cfg *config.Config, opts Options) *Stack {
	d := tfdoc.New()
	s := &Stack{Config: cfg, Doc: d}
	s.KubernetesVersion, s.VersionNote = keptVersion(cfg.Cluster.KubernetesVersion, opts.Existing, opts.UpgradeStep)
	if s.VersionNote != "" {
		s.Notes = append(s.Notes, s.VersionNote)
	}
	var note string
	settings := clusterSettings{}
	settings.upgradeSupportType, note = keptUpgradePolicy(cfg.Cluster.UpgradeSupportType, s.KubernetesVersion, opts.Existing, opts.Date)
	if note != "" {
		s.Notes = append(s.Notes, note)
	}
	var followUp string
	settings.authenticationMode, note, followUp = keptAuthenticationMode(cfg.Cluster.AuthenticationMode, opts.Existing)
	if note != "" {
		s.Notes = append(s.Notes, note)
	}
	// The node role keeps AmazonEKS_CNI_Policy until vpc-cni runs with its own role, so running pods never
	// lose their permissions between two steps of one apply.
	keepNodeCNI := cfg.Addons.VPCCNI.IRSA && opts.Existing != nil && opts.Existing.NodeCNIPolicy && !opts.Existing.CNIRoleInUse
	if keepNodeCNI {
		s.Notes = append(s.Notes, "kept AmazonEKS_CNI_Policy on the node role until vpc-cni runs with its own role; deploy removes it in a second round")
		s.FollowUp = "vpc-cni now runs with its own role, so the node role's AmazonEKS_CNI_Policy can go"
	}
	if followUp != "" {
		s.FollowUp = strings.TrimPrefix(s.FollowUp+"; "+followUp, "; ")
	}
	expiresAt, note := expiry(cfg, opts)
	if note != "" {
		s.Notes = append(s.Notes, note)
	}
	d.Meta = tfdoc.Body{"metadata": tfdoc.Body{
		"backend": "s3", "generator": "tapstack", "profile": cfg.Profile, "stackName": cfg.StackName(),
	}}
	d.RequiredVersion = RequiredVersion
	if opts.Engine == "tofu" {
		d.RequiredVersion = RequiredVersionTofu
	}
	d.RequiredProviders["aws"] = tfdoc.ProviderRequirement{Source: "hashicorp/aws", Version: ProviderVersion}
	d.Backend = &tfdoc.Backend{Type: "s3", Config: tfdoc.Body{
		"bucket":       cfg.State.Bucket,
		"key":          cfg.StateKey(),
		"region":       cfg.State.Region,
		"encrypt":      cfg.State.Encrypt,
		"use_lockfile": cfg.State.UseLockfile,
	}}
	d.Providers["aws"] = []tfdoc.Body{{
		"region":       cfg.Region,
		"default_tags": []tfdoc.Body{{"tags": defaultTags(cfg, expiresAt)}},
	}}

	net := buildNetwork(d, cfg)
	iam := buildIAM(d, cfg, keepNodeCNI)
	key := buildKMS(d, cfg, iam)
	cl := buildCluster(d, cfg, s.KubernetesVersion, settings, net, iam, key, opts)
	buildFlowLogs(d, cfg, net, key)
	buildAccessEntries(d, cfg, cl)
	var ngs []*tfdoc.Resource
	if cfg.Cluster.Compute != config.ComputeAuto { // Auto Mode runs its own nodes, CNI and core add-ons
		var cniRole *tfdoc.Resource
		var cniAttached []*tfdoc.Resource
		if cfg.Addons.VPCCNI.IRSA {
			cniRole, cniAttached = buildVPCCNIRole(d, cfg, cl)
		}
		ads := buildAddons(d, cfg, cl, cniRole, opts)
		ads.vpcCNI.DependOn(cniAttached...)
		var notes []string
		ngs, s.Rolling, notes = buildNodeGroups(d, cfg, net, iam, cl, ads, nodeGroupVersion(cfg, s.KubernetesVersion, opts), opts)
		s.Notes = append(s.Notes, notes...)
		buildCoreDNS(d, cfg, cl, ngs, opts)
		buildPlatformAddons(d, cfg, iam, cl, key, ngs, opts)
		buildClusterAutoscaler(d, cfg, iam, cl, ngs)
		if cfg.Compat.AddonAfterNodeGroups {
			ads.vpcCNI.DependOn(ngs...)
		}
	}
	buildWorkloadIdentities(d, cfg, iam, cl)
	buildOutputs(d, cfg, net, iam, cl, key, ngs)
	return s
}

// nodeGroupVersion is the node groups' Kubernetes version: the cluster's, so that they move with it. Profile
// original leaves it unset, as the original did (EKS then uses the cluster's version at creation), except during
// an upgrade step, where its nodes must move too.
func nodeGroupVersion(cfg *config.Config, version string, opts Options) string {
	if cfg.Profile == "original" && !opts.UpgradeStep {
		return ""
	}
	return version
}

// tags returns the per-resource tags, with a Name tag when name is not empty; nil when there are none.
func tags(cfg *config.Config, name string, extra ...string) map[string]string {
	t := map[string]string{}
	for k, v := range cfg.Tags.Resource {
		t[k] = v
	}
	if name != "" {
		t["Name"] = name
	}
	for i := 0; i+1 < len(extra); i += 2 {
		t[extra[i]] = extra[i+1]
	}
	if len(t) == 0 {
		return nil
	}
	return t
}

// setTags sets "tags" on a body only when there are any, so untagged resources stay as the original wrote them.
func setTags(b tfdoc.Body, t map[string]string) tfdoc.Body {
	if t != nil {
		b["tags"] = t
	}
	return b
}
