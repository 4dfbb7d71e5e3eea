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
	// UpgradeSupportType is the cluster's upgrade policy in state (STANDARD or EXTENDED; "" when none is recorded).
	UpgradeSupportType string
	// AuthenticationMode is the cluster's authentication mode in state ("" when none is recorded: CONFIG_MAP).
	AuthenticationMode string
	// Addresses are every managed resource address in state.
	Addresses map[string]bool
	// ClusterName is the cluster's name in state; NodeGroupNames are the EKS names of the node groups in state,
	// by address; AddonAddresses are the addresses of the EKS add-ons in state, by add-on name. They say what
	// to ask EKS for (LiveNames) and what an Overlay changes.
	ClusterName    string
	NodeGroupNames map[string]string
	AddonAddresses map[string]string
	// NodeGroupOutputs are the state's outputs that name the node groups in use (on_demand_node_group_name,
	// spot_node_group_name), for the generation the outputs keep naming while a roll is under way.
	NodeGroupOutputs map[string]string
	// ExpiresAt is the expiry tag (TagExpiresAt) the state records on the cluster, or else on any resource; Build
	// keeps it, so that the expiry is recorded once.
	ExpiresAt string
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
		LaunchTemplateNames: map[string]string{}, NodeGroupNames: map[string]string{}, AddonAddresses: map[string]string{},
		NodeGroupOutputs: map[string]string{}}
	for _, name := range []string{"on_demand_node_group_name", "spot_node_group_name"} {
		if o := st.Values.Outputs[name]; o != nil {
			if v, ok := o.Value.(string); ok {
				e.NodeGroupOutputs[name] = v
			}
		}
	}
	for _, r := range st.Values.RootModule.Resources {
		// A deposed object (a failed create_before_destroy replacement) shares its instance's address; the
		// current object is what runs.
		if r.Mode != tfjson.ManagedResourceMode || r.DeposedKey != "" {
			continue
		}
		e.Addresses[r.Address] = true
		switch r.Type {
		case "aws_eks_node_group":
			e.NodeGroupVersions[r.Address], _ = r.AttributeValues["version"].(string)
			if name, _ := r.AttributeValues["node_group_name"].(string); name != "" {
				e.NodeGroupNames[r.Address] = name
			}
		case "aws_launch_template":
			if name, _ := r.AttributeValues["name"].(string); name != "" {
				e.LaunchTemplateNames[r.Address] = name
			}
		case "aws_eks_addon":
			name, _ := r.AttributeValues["addon_name"].(string)
			if name != "" {
				e.AddonVersions[name], _ = r.AttributeValues["addon_version"].(string)
				e.AddonAddresses[name] = r.Address
			}
		}
		if v := tagOf(r, TagExpiresAt); v != "" && (e.ExpiresAt == "" || r.Address == ClusterAddress) {
			e.ExpiresAt = v
		}
		switch r.Address {
		case ClusterAddress:
			e.KubernetesVersion, _ = r.AttributeValues["version"].(string)
			e.ClusterName, _ = r.AttributeValues["name"].(string)
			e.UpgradeSupportType = firstBlockString(r.AttributeValues["upgrade_policy"], "support_type")
			e.AuthenticationMode = firstBlockString(r.AttributeValues["access_config"], "authentication_mode")
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

// firstBlockString reads attr of the first element of a nested block in state ([{attr: "..."}]).
func firstBlockString(v any, attr string) string {
	list, _ := v.([]any)
	if len(list) == 0 {
		return ""
	}
	m, _ := list[0].(map[string]any)
	s, _ := m[attr].(string)
	return s
}

// keptUpgradePolicy decides the upgrade policy to render. EKS refuses STANDARD (extended support off) on a cluster
// whose version is past its end of standard support ("You cannot disable extended support once your cluster has
// entered it", EKS user guide, disable-extended-support), so an existing cluster there keeps the policy it has
// until `tapstack upgrade` reaches a version in standard support: that step renders STANDARD, which the provider
// applies after the version. A new cluster gets the configured policy; rule TS212 refuses STANDARD on a version
// past standard support.
func keptUpgradePolicy(configured, version string, e *Existing, day versions.Date) (string, string) {
	if configured != "STANDARD" || e == nil || !e.Addresses[ClusterAddress] || day.IsZero() || e.UpgradeSupportType == "STANDARD" {
		return configured, ""
	}
	data := versions.Get()
	if data.StatusOn(version, day) == versions.StatusStandard {
		return configured, ""
	}
	next := version
	for i := 0; i < 20 && data.StatusOn(next, day) != versions.StatusStandard; i++ {
		next = versions.NextMinor(next)
	}
	kept := e.UpgradeSupportType
	shown := kept
	if shown == "" {
		shown = "EXTENDED (EKS's default)"
	}
	return kept, fmt.Sprintf("kept upgrade policy %s: Kubernetes %s is past its end of standard support on %s and EKS refuses STANDARD "+
		"on it; the control plane is billed at the extended-support rate until `tapstack upgrade --to %s` sets STANDARD at that version",
		shown, version, day, next)
}

// authModeRank orders EKS's authentication modes: EKS moves a cluster only forward, one step at a time
// (CONFIG_MAP -> API_AND_CONFIG_MAP -> API; EKS user guide, setting-up-access-entries).
var authModeRank = map[string]int{"CONFIG_MAP": 0, "API_AND_CONFIG_MAP": 1, "API": 2}

// keptAuthenticationMode decides the authentication mode to render for an existing cluster: never back (the
// running mode is kept), and forward one step per apply, the next step in a second round (followUp says why).
func keptAuthenticationMode(configured string, e *Existing) (mode, note, followUp string) {
	if configured == "" || e == nil || !e.Addresses[ClusterAddress] {
		return configured, "", ""
	}
	running := e.AuthenticationMode
	if running == "" {
		running = "CONFIG_MAP"
	}
	want, ok1 := authModeRank[configured]
	have, ok2 := authModeRank[running]
	switch {
	case !ok1 || !ok2:
		return configured, "", ""
	case want < have:
		return running, fmt.Sprintf("kept authentication mode %s, which the cluster runs: EKS never moves it back to %s; set cluster.authenticationMode to %s",
			running, configured, running), ""
	case want-have > 1:
		return "API_AND_CONFIG_MAP", fmt.Sprintf("authentication mode moves from %s to API_AND_CONFIG_MAP first: EKS takes one step at a time; deploy sets %s in a second round",
				running, configured),
			"the cluster runs API_AND_CONFIG_MAP, so the authentication mode can take its next step to " + configured
	}
	return configured, "", ""
}

// tagOf reads a tag of a resource in state: from tags_all, which holds the provider's default tags, else from
// tags.
func tagOf(r *tfjson.StateResource, key string) string {
	for _, attr := range []string{"tags_all", "tags"} {
		if m, ok := r.AttributeValues[attr].(map[string]any); ok {
			if v, ok := m[key].(string); ok && v != "" {
				return v
			}
		}
	}
	return ""
}
