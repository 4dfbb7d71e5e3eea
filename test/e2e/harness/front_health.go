package harness

import (
	"net/http"
	"strings"
)

// How an add-on fares once it is installed, worked out at each DescribeAddon from what the cluster has then, as
// EKS reports its health (EKS API reference, DescribeAddon: status and health.issues).

// deploymentAddons run as Deployments: with no node ready they have no replicas, and EKS reports them DEGRADED
// with InsufficientNumberOfReplicas (N1: terraform-aws-eks #3001, #1765, #1868, #2578). DaemonSet add-ons
// (vpc-cni, kube-proxy, eks-pod-identity-agent) have nothing to schedule and stay ACTIVE.
var deploymentAddons = map[string]bool{
	"coredns": true, "aws-ebs-csi-driver": true, "metrics-server": true, "amazon-cloudwatch-observability": true,
}

// addonIssues returns the health issues of an installed add-on (none: ACTIVE; any: DEGRADED).
func (f *Front) addonIssues(r *http.Request, region, cluster string, a *addon) ([]map[string]any, error) {
	if deploymentAddons[a.name] {
		ready, err := f.nodesReady(r, region, cluster)
		if err != nil {
			return nil, err
		}
		if !ready {
			return []map[string]any{{"code": "InsufficientNumberOfReplicas",
				"message": "The add-on is unhealthy because it doesn't have the desired number of replicas.", "resourceIds": []string{}}}, nil
		}
	}
	// N2: vpc-cni with a role of its own runs aws-node with that role's permissions; a role it cannot assume, or
	// one without AmazonEKS_CNI_Policy, leaves aws-node never ready and the add-on DEGRADED (EKS user guide,
	// cni-iam-role). Controllers such as the EBS CSI driver stay ACTIVE and fail only when they call AWS
	// (aws-ebs-csi-driver #763), so only vpc-cni is checked here.
	if a.name == "vpc-cni" && (a.roleARN != "" || len(a.podIdentity) > 0) {
		ok, why, err := f.cniRoleWorks(r, region, cluster, a)
		if err != nil {
			return nil, err
		}
		if !ok {
			// The code is one of EKS's AddonIssueCode values; the message is invented.
			return []map[string]any{{"code": "AccessDenied", "message": "aws-node is not ready: " + why,
				"resourceIds": []string{"kube-system/aws-node"}}}, nil
		}
	}
	return nil, nil
}

// cniRoleUsable reports whether the cluster's vpc-cni add-on runs with a role that gives aws-node the CNI's
// permissions (false when there is no such add-on or role).
func (f *Front) cniRoleUsable(r *http.Request, region, cluster string) (bool, error) {
	f.mu.Lock()
	var a *addon
	if ca := f.addons[clusterKey(region, cluster)]; ca != nil {
		a = ca.addons["vpc-cni"]
	}
	f.mu.Unlock()
	if a == nil || (a.roleARN == "" && len(a.podIdentity) == 0) {
		return false, nil
	}
	ok, _, err := f.cniRoleWorks(r, region, cluster, a)
	return ok, err
}

// cniRoleWorks checks the role vpc-cni runs with: through IRSA, the role must trust the cluster's OIDC provider
// (which must exist) for kube-system/aws-node; through Pod Identity, trust pods.eks.amazonaws.com; either way
// hold AmazonEKS_CNI_Policy. why says what is wrong.
func (f *Front) cniRoleWorks(r *http.Request, region, cluster string, a *addon) (bool, string, error) {
	roleARN, podIdentity := a.roleARN, false
	for _, p := range a.podIdentity {
		if p.serviceAccount == "aws-node" {
			roleARN, podIdentity = p.roleARN, true
		}
	}
	ri, err := f.role(r, roleARN)
	if err != nil {
		return false, "", err
	}
	if !ri.exists {
		return false, "the role " + roleARN + " does not exist", nil
	}
	if !ri.hasPolicy("AmazonEKS_CNI_Policy") {
		return false, "the role " + roleARN + " lacks AmazonEKS_CNI_Policy", nil
	}
	if podIdentity {
		if !ri.trustsService("pods.eks.amazonaws.com", "sts:AssumeRole", "sts:TagSession") {
			return false, "the role " + roleARN + " does not trust pods.eks.amazonaws.com", nil
		}
		return true, "", nil
	}
	cur, status, err := f.currentCluster(r, region, cluster)
	if err != nil || status != http.StatusOK {
		return false, "", err
	}
	id, _ := cur["identity"].(map[string]any)
	oidc, _ := id["oidc"].(map[string]any)
	issuer := str(oidc["issuer"])
	account := strings.Split(str(cur["arn"]), ":")
	if len(account) < 5 || issuer == "" {
		return false, "the cluster has no OIDC issuer", nil
	}
	provider := "arn:" + account[1] + ":iam::" + account[4] + ":oidc-provider/" + strings.TrimPrefix(issuer, "https://")
	exists, err := f.oidcProviderExists(r, provider)
	if err != nil {
		return false, "", err
	}
	if !exists {
		return false, "IAM has no OIDC provider for the cluster's issuer " + issuer, nil
	}
	if !ri.trustsServiceAccount(provider, issuer, "kube-system", "aws-node") {
		return false, "the role " + roleARN + " does not trust " + provider + " for system:serviceaccount:kube-system:aws-node", nil
	}
	return true, "", nil
}
