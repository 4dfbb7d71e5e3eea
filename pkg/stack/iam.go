package stack

import (
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

type iam struct {
	clusterRole, nodeRole               *tfdoc.Resource
	clusterAttachments, nodeAttachments []*tfdoc.Resource
}

// trustPolicy is byte-identical to the original's, so taking over its roles shows no diff.
func trustPolicy(service string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service +
		`"},"Action":"sts:AssumeRole"}]}`
}

const awsPolicy = "arn:aws:iam::aws:policy/"

func buildIAM(d *tfdoc.Document, cfg *config.Config) iam {
	var out iam
	out.clusterRole = d.Resource("aws_iam_role", "eks_cluster_role", setTags(tfdoc.Body{
		"name":               cfg.ClusterRoleName(),
		"assume_role_policy": trustPolicy("eks.amazonaws.com"),
	}, tags(cfg, "")))
	for _, a := range []struct{ addr, policy string }{
		{"eks_cluster_policy", "AmazonEKSClusterPolicy"},
		{"eks_vpc_resource_controller", "AmazonEKSVPCResourceController"},
	} {
		out.clusterAttachments = append(out.clusterAttachments, d.Resource("aws_iam_role_policy_attachment", a.addr, tfdoc.Body{
			"role":       out.clusterRole.Ref("name"),
			"policy_arn": awsPolicy + a.policy,
		}))
	}

	out.nodeRole = d.Resource("aws_iam_role", "eks_node_role", setTags(tfdoc.Body{
		"name":               cfg.NodeRoleName(),
		"assume_role_policy": trustPolicy("ec2.amazonaws.com"),
	}, tags(cfg, "")))
	for _, a := range []struct{ addr, policy string }{
		{"eks_worker_node_policy", "AmazonEKSWorkerNodePolicy"},
		{"eks_cni_policy", "AmazonEKS_CNI_Policy"},
		{"eks_container_registry_policy", "AmazonEC2ContainerRegistryReadOnly"},
	} {
		out.nodeAttachments = append(out.nodeAttachments, d.Resource("aws_iam_role_policy_attachment", a.addr, tfdoc.Body{
			"role":       out.nodeRole.Ref("name"),
			"policy_arn": awsPolicy + a.policy,
		}))
	}
	return out
}
