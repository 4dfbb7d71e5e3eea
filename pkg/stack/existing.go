package stack

import (
	"encoding/json"
	"fmt"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/pkg/versions"
)

// Existing is what an environment's state says already runs. Build keeps what EKS would refuse to change or
// what would break running workloads, and says so in Stack.Notes.
type Existing struct {
	// KubernetesVersion is the cluster's version in state; empty when there is no cluster yet.
	KubernetesVersion string
	// NodeCNIPolicy: the node role still holds AmazonEKS_CNI_Policy (aws_iam_role_policy_attachment.eks_cni_policy).
	NodeCNIPolicy bool
	// CNIRoleInUse: the vpc-cni add-on already runs with a service account role.
	CNIRoleInUse bool
	// NodeGroupVersions are the Kubernetes versions of the managed node groups in state, by address.
	NodeGroupVersions map[string]string
	// AddonVersions are the builds of the EKS add-ons in state, by add-on name (vpc-cni).
	AddonVersions map[string]string
	// LaunchTemplateNames are the names of the launch templates in state, by address. The name is ForceNew:
	// Build keeps it, so that a change in how names are derived never replaces a template and its node group.
	LaunchTemplateNames map[string]string
	// Addresses are every managed resource address in state.
	Addresses map[string]bool
}

// ExistingFromState reads Existing from `terraform show -json` of a state (not a plan). An empty state gives nil.
func ExistingFromState(showJSON []byte) (*Existing, error) {
	var st tfjson.State
	if err := json.Unmarshal(showJSON, &st); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return ExistingFrom(&st), nil
}

// ExistingFrom reads Existing from a decoded state; a nil or empty state gives nil.
func ExistingFrom(st *tfjson.State) *Existing {
	if st == nil || st.Values == nil || st.Values.RootModule == nil || len(st.Values.RootModule.Resources) == 0 {
		return nil
	}
	e := &Existing{Addresses: map[string]bool{}, NodeGroupVersions: map[string]string{}, AddonVersions: map[string]string{},
		LaunchTemplateNames: map[string]string{}}
	for _, r := range st.Values.RootModule.Resources {
		if r.Mode != tfjson.ManagedResourceMode {
			continue
		}
		e.Addresses[r.Address] = true
		switch r.Type {
		case "aws_eks_node_group":
			e.NodeGroupVersions[r.Address], _ = r.AttributeValues["version"].(string)
		case "aws_launch_template":
			if name, _ := r.AttributeValues["name"].(string); name != "" {
				e.LaunchTemplateNames[r.Address] = name
			}
		case "aws_eks_addon":
			name, _ := r.AttributeValues["addon_name"].(string)
			if name != "" {
				e.AddonVersions[name], _ = r.AttributeValues["addon_version"].(string)
			}
		}
		switch r.Address {
		case ClusterAddress:
			e.KubernetesVersion, _ = r.AttributeValues["version"].(string)
		case "aws_iam_role_policy_attachment.eks_cni_policy":
			e.NodeCNIPolicy = true
		case "aws_eks_addon.vpc_cni_addon":
			arn, _ := r.AttributeValues["service_account_role_arn"].(string)
			e.CNIRoleInUse = arn != ""
		}
	}
	return e
}

// launchTemplateName is the name to render for the launch template at address: the one the state records when
// the environment has that template (a rename replaces the template and the node group launched from it), else
// the derived one. The note, when not empty, says a recorded name was kept instead of the derived one.
func launchTemplateName(derived, address string, e *Existing) (string, string) {
	if e == nil {
		return derived, ""
	}
	recorded := e.LaunchTemplateNames[address]
	if recorded == "" || recorded == derived {
		return derived, ""
	}
	return recorded, fmt.Sprintf("kept launch template name %s at %s, which the state records (new environments get %s): renaming a launch template replaces it and its node group",
		recorded, address, derived)
}

// keptVersion decides the cluster version to render: an existing cluster keeps the version it runs until
// `tapstack upgrade` moves it, since EKS only upgrades one minor version at a time and never downgrades. An
// upgrade step (step) renders the configured version when it is exactly the next minor version.
func keptVersion(configured string, e *Existing, step bool) (string, string) {
	if e == nil || e.KubernetesVersion == "" || e.KubernetesVersion == configured {
		return configured, ""
	}
	running := e.KubernetesVersion
	if step && versions.CompareMinor(configured, versions.NextMinor(running)) == 0 {
		if _, _, ok := versions.ParseMinor(configured); ok {
			return configured, ""
		}
	}
	switch c := versions.CompareMinor(configured, running); {
	case c > 0:
		return running, fmt.Sprintf("kept Kubernetes %s, which the cluster runs: the configured %s is ahead and EKS upgrades one minor version at a time; run `tapstack upgrade --to %s`",
			running, configured, configured)
	default:
		return running, fmt.Sprintf("kept Kubernetes %s, which the cluster runs: the configured %s is behind it (EKS upgrades clusters itself at the end of support) and EKS never downgrades; set cluster.kubernetesVersion to %s",
			running, configured, running)
	}
}
