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
func trustPolicy(service string, actions ...string) string {
	action := `"sts:AssumeRole"`
	if len(actions) > 0 {
		action = `["sts:AssumeRole"`
		for _, a := range actions {
			action += `,"` + a + `"`
		}
		action += `]`
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service +
		`"},"Action":` + action + `}]}`
}

const awsPolicy = "arn:aws:iam::aws:policy/"

type attachment struct{ addr, policy string }

func buildIAM(d *tfdoc.Document, cfg *config.Config, keepNodeCNI bool) iam {
	auto := cfg.Cluster.Compute == config.ComputeAuto
	var out iam
	var clusterTrust string
	if auto {
		clusterTrust = trustPolicy("eks.amazonaws.com", "sts:TagSession") // Auto Mode tags its sessions
	} else {
		clusterTrust = trustPolicy("eks.amazonaws.com")
	}
	out.clusterRole = d.Resource("aws_iam_role", "eks_cluster_role", setTags(tfdoc.Body{
		"name":               cfg.ClusterRoleName(),
		"assume_role_policy": clusterTrust,
	}, tags(cfg, "")))
	clusterPolicies := []attachment{
		{"eks_cluster_policy", "AmazonEKSClusterPolicy"},
		{"eks_vpc_resource_controller", "AmazonEKSVPCResourceController"},
	}
	if auto {
		clusterPolicies = append(clusterPolicies,
			attachment{"eks_compute_policy", "AmazonEKSComputePolicy"},
			attachment{"eks_block_storage_policy", "AmazonEKSBlockStoragePolicy"},
			attachment{"eks_load_balancing_policy", "AmazonEKSLoadBalancingPolicy"},
			attachment{"eks_networking_policy", "AmazonEKSNetworkingPolicy"})
	}
	out.clusterAttachments = attach(d, out.clusterRole, clusterPolicies)

	out.nodeRole = d.Resource("aws_iam_role", "eks_node_role", setTags(tfdoc.Body{
		"name":               cfg.NodeRoleName(),
		"assume_role_policy": trustPolicy("ec2.amazonaws.com"),
	}, tags(cfg, "")))
	var nodePolicies []attachment
	switch {
	case auto:
		nodePolicies = []attachment{
			{"eks_worker_node_minimal_policy", "AmazonEKSWorkerNodeMinimalPolicy"},
			{"eks_container_registry_pull_only", "AmazonEC2ContainerRegistryPullOnly"},
		}
	default:
		nodePolicies = []attachment{{"eks_worker_node_policy", "AmazonEKSWorkerNodePolicy"}}
		if !cfg.Addons.VPCCNI.IRSA || keepNodeCNI { // with IRSA the CNI's own role holds it, not every node
			nodePolicies = append(nodePolicies, attachment{"eks_cni_policy", "AmazonEKS_CNI_Policy"})
		}
		nodePolicies = append(nodePolicies, attachment{"eks_container_registry_policy", "AmazonEC2ContainerRegistryReadOnly"})
	}
	out.nodeAttachments = attach(d, out.nodeRole, nodePolicies)
	return out
}

func attach(d *tfdoc.Document, role *tfdoc.Resource, as []attachment) []*tfdoc.Resource {
	var out []*tfdoc.Resource
	for _, a := range as {
		out = append(out, d.Resource("aws_iam_role_policy_attachment", a.addr, tfdoc.Body{
			"role":       role.Ref("name"),
			"policy_arn": awsPolicy + a.policy,
		}))
	}
	return out
}

// buildVPCCNIRole is the vpc-cni add-on's own role (IRSA), trusted by the cluster's OIDC provider for
// kube-system:aws-node only; it returns the role and its policy's attachment, which the add-on waits for (its pods,
// and the nodes that wait for it, need the policy, not only the role).
func buildVPCCNIRole(d *tfdoc.Document, cfg *config.Config, cl cluster) (*tfdoc.Resource, []*tfdoc.Resource) {
	// The provider's url is the issuer without https://. Taken from the provider, not the cluster, so that a
	// cluster update (a version step) does not defer this document to apply time and show the role as changing.
	issuer := cl.oidc.Ref("url")
	trust := policyDocument(d, "vpc_cni_assume_role_policy", statement("VPCCNIServiceAccount",
		[]string{"sts:AssumeRoleWithWebIdentity"}, nil, "Federated", []string{cl.oidc.Ref("arn")},
		condition("StringEquals", issuer+":sub", "system:serviceaccount:kube-system:aws-node"),
		condition("StringEquals", issuer+":aud", "sts.amazonaws.com")))
	role := d.Resource("aws_iam_role", "vpc_cni_role", setTags(tfdoc.Body{
		"name":               cfg.VPCCNIRoleName(),
		"assume_role_policy": trust.Ref("json"),
	}, tags(cfg, "")))
	return role, attach(d, role, []attachment{{"vpc_cni_irsa_policy", "AmazonEKS_CNI_Policy"}})
}
