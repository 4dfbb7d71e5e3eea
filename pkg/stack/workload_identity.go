package stack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// WorkloadIdentityOutput is the output mapping each workload identity's name to its role's ARN.
const WorkloadIdentityOutput = "workload_identity_role_arns"

// PodIdentityAgentAddress is the Pod Identity agent add-on's address (buildAddons).
const PodIdentityAgentAddress = "aws_eks_addon.pod_identity_agent_addon"

// buildWorkloadIdentities gives each configured service account a role of its own through EKS Pod Identity: the
// role, its managed and inline policies, and one association, created after the Pod Identity agent. Entries the
// rules refuse (a name or service account twice) are rendered once, so the document stays whole.
func buildWorkloadIdentities(d *tfdoc.Document, cfg *config.Config, r iam, cl cluster) {
	if len(cfg.WorkloadIdentities) == 0 {
		return
	}
	account, clusterARN := clusterARNOf(cfg, r)
	agent, hasAgent := d.Lookup(PodIdentityAgentAddress)
	arns := map[string]string{}
	for _, w := range cfg.WorkloadIdentities {
		name := w.ResolvedName()
		addr := config.WorkloadIdentityAddress(name)
		if _, taken := d.Lookup("aws_iam_role." + addr); taken {
			continue
		}
		trust := podIdentityTrust(d, addr+"_trust", account, clusterARN, literal(w.Namespace), literal(w.ServiceAccount))
		role := d.Resource("aws_iam_role", addr, setTags(tfdoc.Body{
			"name":               cfg.WorkloadIdentityRoleName(name),
			"assume_role_policy": trust.Ref("json"),
		}, tags(cfg, "")))
		// The association waits for the role's permissions, so a pod that gets credentials gets all of them.
		var perms []*tfdoc.Resource
		seen := map[string]bool{}
		for _, arn := range w.ManagedPolicyARNs {
			key := policyKey(arn)
			if seen[key] {
				continue
			}
			seen[key] = true
			perms = append(perms, d.Resource("aws_iam_role_policy_attachment", addr+"_"+key, tfdoc.Body{
				"role":       role.Ref("name"),
				"policy_arn": literal(arn),
			}))
		}
		if doc := strings.TrimSpace(string(w.InlinePolicy)); doc != "" {
			perms = append(perms, d.Resource("aws_iam_role_policy", addr, tfdoc.Body{
				"name":   "workload-identity",
				"role":   role.Ref("id"),
				"policy": literal(compactJSON(doc)),
			}))
		}
		assoc := d.Resource("aws_eks_pod_identity_association", addr, setTags(tfdoc.Body{
			"cluster_name":    cl.eks.Ref("name"),
			"namespace":       literal(w.Namespace),
			"service_account": literal(w.ServiceAccount),
			"role_arn":        role.Ref("arn"),
		}, tags(cfg, "")))
		assoc.DependOn(perms...)
		if hasAgent { // Auto Mode runs the agent itself
			assoc.DependOn(agent)
		}
		arns[name] = role.Ref("arn")
	}
	if !cfg.Compat.OriginalOutputs {
		d.Output(WorkloadIdentityOutput, "IAM role of each workload identity, by name", arns)
	}
}

// policyKey names a policy attachment after the policy (AmazonS3ReadOnlyAccess -> amazons3readonlyaccess) and a
// digest of its ARN, so reordering the list moves no attachment and two policies of one name stay apart.
func policyKey(arn string) string {
	name := strings.ToLower(arn[strings.LastIndex(arn, "/")+1:])
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	sum := sha256.Sum256([]byte(arn))
	return name + "_" + hex.EncodeToString(sum[:3])
}

// literal keeps Terraform from reading ${ and %{ in a user's string as a template: IAM policy variables such as
// ${aws:PrincipalTag/kubernetes-namespace} must reach IAM as written.
func literal(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
}

// compactJSON drops the white space of a JSON document, so reformatting the configuration changes nothing;
// anything else (which the rules refuse) is kept as it is.
func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

// podIdentityTrust is the trust policy of every role tapstack gives a service account through EKS Pod Identity (the
// platform add-ons' and the workload identities'): pods.eks.amazonaws.com may AssumeRole and TagSession (EKS user
// guide, pod-id-role), only from this account (aws:SourceAccount, against the confused deputy: EKS user guide,
// cross-service-confused-deputy-prevention) and only with the session tags EKS sets for this cluster, namespace and
// service account (pod-id-role "Setting Conditions", pod-id-abac). No aws:SourceArn: EKS documents no value of it
// for Pod Identity, and the one public report of a guessed value (podidentityassociation/<cluster>/*) is of it
// denying credentials (awslabs/mountpoint-s3-csi-driver #781); the eks-cluster-arn tag already pins the cluster.
func podIdentityTrust(d *tfdoc.Document, name, account, clusterARN, namespace, serviceAccount string) *tfdoc.Resource {
	return policyDocument(d, name, statement("EKSPodIdentity",
		[]string{"sts:AssumeRole", "sts:TagSession"}, nil, "Service", []string{"pods.eks.amazonaws.com"},
		condition("StringEquals", "aws:SourceAccount", account),
		condition("StringEquals", "aws:RequestTag/eks-cluster-arn", clusterARN),
		condition("StringEquals", "aws:RequestTag/kubernetes-namespace", namespace),
		condition("StringEquals", "aws:RequestTag/kubernetes-service-account", serviceAccount)))
}

// clusterARNOf is the cluster's ARN from its known parts rather than the cluster's arn attribute, so that roles
// naming it do not wait for the cluster, nor change in a plan that updates it.
func clusterARNOf(cfg *config.Config, r iam) (account, arn string) {
	partition, account := arnPart(r.clusterRole, "1"), arnPart(r.clusterRole, "4")
	return account, "arn:" + partition + ":eks:" + cfg.Region + ":" + account + ":cluster/" + cfg.ClusterName()
}
