package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// KMSKeyAddress is the stack's customer-managed key, when encryption is on.
const KMSKeyAddress = "aws_kms_key.eks_kms_key"

// buildKMS creates the customer-managed key for secrets and log encryption, when either is on.
func buildKMS(d *tfdoc.Document, cfg *config.Config, r iam) *tfdoc.Resource {
	c := cfg.Cluster
	if !c.SecretsEncryption && !c.LogEncryption {
		return nil
	}
	partition, account := arnPart(r.clusterRole, "1"), arnPart(r.clusterRole, "4")
	root := "arn:" + partition + ":iam::" + account + ":root"
	stmts := []tfdoc.Body{
		// Without an account-root statement the key could become unmanageable.
		statement("AccountAdministers", []string{"kms:*"}, []string{"*"}, "AWS", []string{root}),
	}
	if c.LogEncryption {
		logs := "arn:" + partition + ":logs:" + cfg.Region + ":" + account + ":log-group:"
		groups := []string{logs + "/aws/eks/" + cfg.ClusterName() + "/*", logs + cfg.FlowLogGroupName()}
		if p := containerInsightsLogPattern(cfg, logs); p != "" {
			groups = append(groups, p)
		}
		stmts = append(stmts, statement("CloudWatchLogsUseKey",
			[]string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"}, []string{"*"},
			"Service", []string{"logs." + cfg.Region + ".amazonaws.com"},
			condition("ArnLike", "kms:EncryptionContext:aws:logs:arn", groups...)))
	}
	policy := policyDocument(d, "eks_kms_key_policy", stmts...)
	key := d.Resource("aws_kms_key", "eks_kms_key", setTags(tfdoc.Body{
		"description":             "EKS secrets and log encryption for " + cfg.ClusterName(),
		"enable_key_rotation":     true,
		"deletion_window_in_days": 30,
		"policy":                  policy.Ref("json"),
	}, tags(cfg, "")))
	d.Resource("aws_kms_alias", "eks_kms_alias", tfdoc.Body{
		"name":          cfg.KMSAliasName(),
		"target_key_id": key.Ref("key_id"),
	})
	if c.SecretsEncryption {
		// EKS uses the key through the cluster role.
		doc := policyDocument(d, "eks_cluster_encryption_policy", statement("UseClusterKey",
			[]string{"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}, []string{key.Ref("arn")}, "", nil))
		d.Resource("aws_iam_role_policy", "eks_cluster_encryption_policy", tfdoc.Body{
			"name":   "eks-cluster-encryption",
			"role":   r.clusterRole.Ref("id"),
			"policy": doc.Ref("json"),
		})
	}
	return key
}
