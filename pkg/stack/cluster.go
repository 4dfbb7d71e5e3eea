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
)

type cluster struct {
	eks, oidc, logGroup *tfdoc.Resource
}

func buildCluster(d *tfdoc.Document, cfg *config.Config, n network, r iam, opts Options) cluster {
	var lg *tfdoc.Resource
	if cfg.Compat.LegacyLogGroup {
		lg = d.Resource("aws_cloudwatch_log_group", "eks_log_group", setTags(tfdoc.Body{
			"name":              cfg.LegacyLogGroupName(),
			"retention_in_days": cfg.Cluster.LogRetentionDays,
		}, tags(cfg, "")))
	} else {
		lg = d.Resource("aws_cloudwatch_log_group", "eks_cluster_log_group", setTags(tfdoc.Body{
			"name":              cfg.LogGroupName(),
			"retention_in_days": cfg.Cluster.LogRetentionDays,
		}, tags(cfg, "")))
		// An environment the original deployed holds its empty group in state: forget it, keep the object.
		d.Removed = append(d.Removed, tfdoc.Removed{From: LegacyLogGroupAddress, Destroy: false})
		if opts.ImportLogGroup {
			d.Imports = append(d.Imports, tfdoc.Import{To: LogGroupAddress, ID: cfg.LogGroupName()})
		}
	}

	eks := d.Resource("aws_eks_cluster", "eks_cluster", setTags(tfdoc.Body{
		"name":                      cfg.ClusterName(),
		"version":                   cfg.Cluster.KubernetesVersion,
		"role_arn":                  r.clusterRole.Ref("arn"),
		"enabled_cluster_log_types": cfg.Cluster.LogTypes,
		"vpc_config": tfdoc.Body{
			"subnet_ids":              subnetIDs(n),
			"endpoint_private_access": cfg.Cluster.EndpointPrivateAccess,
			"endpoint_public_access":  cfg.Cluster.EndpointPublicAccess,
			"public_access_cidrs":     cfg.Cluster.PublicAccessCIDRs,
		},
	}, tags(cfg, "")))
	// The log group first, so EKS does not create it without retention; the role's policies first, so EKS can
	// use them at creation and still has them while it deletes the cluster.
	eks.DependOn(lg)
	eks.DependOn(r.clusterAttachments...)

	oidcBody := tfdoc.Body{
		"url":            eks.Ref("identity[0].oidc[0].issuer"),
		"client_id_list": []string{"sts.amazonaws.com"},
	}
	if len(cfg.Cluster.OIDCThumbprints) > 0 {
		oidcBody["thumbprint_list"] = cfg.Cluster.OIDCThumbprints
	}
	oidc := d.Resource("aws_iam_openid_connect_provider", "eks_oidc_provider", setTags(oidcBody, tags(cfg, "")))
	return cluster{eks: eks, oidc: oidc, logGroup: lg}
}
