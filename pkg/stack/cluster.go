package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// LogGroupAddress is the real control-plane log group's address. The original's eks_log_group named a group EKS
// never writes to, so the real one has an address of its own.
const (
	LogGroupAddress       = "aws_cloudwatch_log_group.eks_cluster_log_group"
	LegacyLogGroupAddress = "aws_cloudwatch_log_group.eks_log_group"
	ClusterAddress        = "aws_eks_cluster.eks_cluster"
	// VPCAddress is the VPC's address (buildNetwork).
	VPCAddress = "aws_vpc.vpc"
)

// clusterSettings are the cluster's settings as rendered, where an existing cluster keeps what EKS refuses to change.
type clusterSettings struct {
	upgradeSupportType string // "" renders no upgrade_policy: the cluster keeps its own
	authenticationMode string
}

type cluster struct {
	eks, oidc, logGroup *tfdoc.Resource
}

func buildCluster(d *tfdoc.Document, cfg *config.Config, version string, set clusterSettings, n network, r iam, key *tfdoc.Resource, opts Options) cluster {
	c := cfg.Cluster
	var lg *tfdoc.Resource
	if cfg.Compat.LegacyLogGroup {
		lg = d.Resource("aws_cloudwatch_log_group", "eks_log_group", setTags(tfdoc.Body{
			"name":              cfg.LegacyLogGroupName(),
			"retention_in_days": c.LogRetentionDays,
		}, tags(cfg, "")))
	} else {
		body := tfdoc.Body{"name": cfg.LogGroupName(), "retention_in_days": c.LogRetentionDays}
		if c.LogEncryption && key != nil {
			body["kms_key_id"] = key.Ref("arn")
		}
		lg = d.Resource("aws_cloudwatch_log_group", "eks_cluster_log_group", setTags(body, tags(cfg, "")))
		// An environment the original deployed holds its empty group in state: forget it, keep the object.
		d.Removed = append(d.Removed, tfdoc.Removed{From: LegacyLogGroupAddress, Destroy: false})
		if opts.ImportLogGroup {
			d.Imports = append(d.Imports, tfdoc.Import{To: LogGroupAddress, ID: cfg.LogGroupName()})
		}
	}

	vpc := tfdoc.Body{
		"subnet_ids":              n.clusterSubnetIDs(),
		"endpoint_private_access": c.EndpointPrivateAccess,
		"endpoint_public_access":  c.EndpointPublicAccess,
	}
	if c.EndpointPublicAccess {
		vpc["public_access_cidrs"] = c.PublicAccessCIDRs
	}
	body := tfdoc.Body{
		"name":                      cfg.ClusterName(),
		"version":                   version,
		"role_arn":                  r.clusterRole.Ref("arn"),
		"enabled_cluster_log_types": c.LogTypes,
		"vpc_config":                vpc,
	}
	if c.SecretsEncryption && key != nil {
		body["encryption_config"] = tfdoc.Body{"resources": []string{"secrets"}, "provider": tfdoc.Body{"key_arn": key.Ref("arn")}}
	}
	var lifecycle tfdoc.Body
	if set.authenticationMode != "" {
		ac := tfdoc.Body{"authentication_mode": set.authenticationMode}
		// Decided at creation; changing it would replace the cluster. An existing cluster keeps what it was
		// created with: a cluster created before access entries has no such value in its state, and setting one
		// would replace it.
		if opts.Existing == nil || !opts.Existing.Addresses[ClusterAddress] {
			ac["bootstrap_cluster_creator_admin_permissions"] = c.BootstrapCreatorAdmin
		}
		body["access_config"] = ac
		lifecycle = tfdoc.Body{"ignore_changes": []string{"access_config[0].bootstrap_cluster_creator_admin_permissions"}}
	}
	if set.upgradeSupportType != "" {
		body["upgrade_policy"] = tfdoc.Body{"support_type": set.upgradeSupportType}
	}
	if c.Compute == config.ComputeAuto {
		body["bootstrap_self_managed_addons"] = false
		body["compute_config"] = tfdoc.Body{
			"enabled": true, "node_pools": []string{"general-purpose", "system"}, "node_role_arn": r.nodeRole.Ref("arn"),
		}
		body["kubernetes_network_config"] = tfdoc.Body{"elastic_load_balancing": tfdoc.Body{"enabled": true}}
		body["storage_config"] = tfdoc.Body{"block_storage": tfdoc.Body{"enabled": true}}
	}
	eks := d.Resource("aws_eks_cluster", "eks_cluster", setTags(body, tags(cfg, "")))
	eks.Lifecycle = lifecycle
	// The log group first, so EKS does not create it without retention; the role's policies first, so EKS can
	// use them at creation and still has them while it deletes the cluster.
	eks.DependOn(lg)
	eks.DependOn(r.clusterAttachments...)
	if c.Compute == config.ComputeAuto {
		eks.DependOn(r.nodeAttachments...)
	}

	oidcBody := tfdoc.Body{
		"url":            eks.Ref("identity[0].oidc[0].issuer"),
		"client_id_list": []string{"sts.amazonaws.com"},
	}
	if len(c.OIDCThumbprints) > 0 {
		oidcBody["thumbprint_list"] = c.OIDCThumbprints
	}
	oidc := d.Resource("aws_iam_openid_connect_provider", "eks_oidc_provider", setTags(oidcBody, tags(cfg, "")))
	return cluster{eks: eks, oidc: oidc, logGroup: lg}
}

// buildAccessEntries gives each admin principal cluster-admin access through an access entry.
func buildAccessEntries(d *tfdoc.Document, cfg *config.Config, cl cluster) {
	policy := "arn:" + arnPart(cl.eks, "1") + ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	for i, p := range cfg.Cluster.AdminPrincipals {
		name := "admin_" + itoa(i+1)
		entry := d.Resource("aws_eks_access_entry", name, setTags(tfdoc.Body{
			"cluster_name": cl.eks.Ref("name"), "principal_arn": p, "type": "STANDARD",
		}, tags(cfg, "")))
		d.Resource("aws_eks_access_policy_association", name, tfdoc.Body{
			"cluster_name":  cl.eks.Ref("name"),
			"principal_arn": entry.Ref("principal_arn"),
			"policy_arn":    policy,
			"access_scope":  tfdoc.Body{"type": "cluster"},
		})
	}
}
