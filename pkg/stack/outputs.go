package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

func buildOutputs(d *tfdoc.Document, cfg *config.Config, n network, r iam, cl cluster, key *tfdoc.Resource, ngs []*tfdoc.Resource) {
	d.Output("cluster_endpoint", "EKS Cluster endpoint", cl.eks.Ref("endpoint"))
	d.Output("cluster_name", "EKS Cluster name", cl.eks.Ref("name"))
	d.Output("oidc_provider_arn", "OIDC provider ARN for IRSA", cl.oidc.Ref("arn"))
	d.Output("oidc_issuer_url", "OIDC issuer URL", cl.eks.Ref("identity[0].oidc[0].issuer"))
	d.Output("kubectl_config_command", "Command to configure kubectl",
		"aws eks update-kubeconfig --region "+cfg.Region+" --name "+cl.eks.Ref("name"))
	if len(ngs) == 2 {
		d.Output("on_demand_node_group_name", "On-Demand node group name", ngs[0].Ref("node_group_name"))
		d.Output("spot_node_group_name", "Spot node group name", ngs[1].Ref("node_group_name"))
	}
	if cfg.Compat.OriginalOutputs {
		return
	}
	d.Output("vpc_id", "VPC ID", n.vpc.Ref("id"))
	d.Output("public_subnet_ids", "Public subnet IDs", ids(n.public))
	if len(n.private) > 0 {
		d.Output("private_subnet_ids", "Private subnet IDs", ids(n.private))
	}
	d.Output("cluster_security_group_id", "Security group EKS created for the cluster",
		cl.eks.Ref("vpc_config[0].cluster_security_group_id"))
	d.Output("cluster_certificate_authority_data", "Cluster CA certificate (base64)",
		cl.eks.Ref("certificate_authority[0].data"))
	d.Output("cluster_log_group_name", "Control-plane log group", cl.logGroup.Ref("name"))
	d.Output("node_role_arn", "IAM role of the nodes", r.nodeRole.Ref("arn"))
	if key != nil {
		d.Output("kms_key_arn", "KMS key of secrets and log encryption", key.Ref("arn"))
	}
}
