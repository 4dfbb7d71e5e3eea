package stack

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
)

const (
	onDemandNG = "aws_eks_node_group.on_demand_node_group"
	spotNG     = "aws_eks_node_group.spot_node_group"
)

// runningState is an environment's state: cluster eks-x on 1.31 with extended support and API_AND_CONFIG_MAP, two
// node groups on 1.31, vpc-cni with its own role, coredns, and the node role's CNI policy.
func runningState(t *testing.T) *Existing {
	t.Helper()
	ex, err := ExistingFromState([]byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
	 {"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"name":"eks-x","version":"1.31",
	  "upgrade_policy":[{"support_type":"EXTENDED"}],"access_config":[{"authentication_mode":"API_AND_CONFIG_MAP"}]}},
	 {"address":"` + onDemandNG + `","mode":"managed","type":"aws_eks_node_group","name":"on_demand_node_group","values":{"node_group_name":"ng-od","version":"1.31"}},
	 {"address":"` + spotNG + `","mode":"managed","type":"aws_eks_node_group","name":"spot_node_group","values":{"node_group_name":"ng-spot","version":"1.31"}},
	 {"address":"aws_eks_addon.vpc_cni_addon","mode":"managed","type":"aws_eks_addon","name":"vpc_cni_addon","values":{"addon_name":"vpc-cni",
	  "addon_version":"v1.19.2-eksbuild.1","service_account_role_arn":"arn:aws:iam::1:role/cni"}},
	 {"address":"aws_eks_addon.coredns_addon","mode":"managed","type":"aws_eks_addon","name":"coredns_addon","values":{"addon_name":"coredns","addon_version":"v1.11.4-eksbuild.2"}},
	 {"address":"aws_iam_role_policy_attachment.eks_cni_policy","mode":"managed","type":"aws_iam_role_policy_attachment","name":"eks_cni_policy","values":{}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// asRecorded is what EKS reports for runningState when nothing drifted.
func asRecorded() Running {
	return Running{KubernetesVersion: "1.31", UpgradeSupportType: "EXTENDED", AuthenticationMode: "API_AND_CONFIG_MAP",
		NodeGroupVersions: map[string]string{"ng-od": "1.31", "ng-spot": "1.31"},
		Addons:            map[string]RunningAddon{"vpc-cni": {"v1.19.2-eksbuild.1", "arn:aws:iam::1:role/cni"}, "coredns": {Version: "v1.11.4-eksbuild.2"}}}
}

func TestLiveNames(t *testing.T) {
	c, ngs, addons := runningState(t).LiveNames()
	if c != "eks-x" || !slices.Equal(ngs, []string{"ng-od", "ng-spot"}) || !slices.Equal(addons, []string{"coredns", "vpc-cni"}) {
		t.Errorf("LiveNames = %q %q %q", c, ngs, addons)
	}
	var none *Existing
	if c, ngs, addons := none.LiveNames(); c != "" || ngs != nil || addons != nil {
		t.Errorf("no state: %q %q %q", c, ngs, addons)
	}
}

func TestOverlayOfAnUnchangedCluster(t *testing.T) {
	ex, want := runningState(t), runningState(t)
	if diffs := ex.Overlay(asRecorded()); len(diffs) != 0 || !reflect.DeepEqual(ex, want) {
		t.Errorf("diffs %q, existing %+v", diffs, ex)
	}
	// What EKS does not report keeps what the state says.
	if diffs := ex.Overlay(Running{}); len(diffs) != 0 || !reflect.DeepEqual(ex, want) {
		t.Errorf("empty Running: diffs %q, existing %+v", diffs, ex)
	}
	var none *Existing
	if none.Overlay(asRecorded()) != nil {
		t.Error("no state: diffs")
	}
}

// EKS upgraded the control plane at the end of support: the stack keeps what runs instead of rendering the
// configured, older version, which EKS would refuse as a downgrade.
func TestOverlayOfAnAutoUpgrade(t *testing.T) {
	ex := runningState(t)
	r := asRecorded()
	r.KubernetesVersion = "1.32"
	diffs := ex.Overlay(r)
	if ex.KubernetesVersion != "1.32" || ex.NodeGroupVersions[spotNG] != "1.31" || len(diffs) != 1 ||
		diffs[0] != "cluster eks-x runs Kubernetes 1.32, where the state records 1.31" {
		t.Errorf("existing %+v, diffs %q", ex, diffs)
	}
	c, _ := config.Defaults("default")
	c.Cluster.KubernetesVersion = "1.31"
	st := Build(&c, Options{Existing: ex})
	if v := res(t, st.Doc, ClusterAddress)["version"]; v != "1.32" {
		t.Errorf("rendered Kubernetes %v, want the running 1.32", v)
	}
	if notes := strings.Join(st.Notes, "\n"); !strings.Contains(notes, "kept Kubernetes 1.32") {
		t.Errorf("notes %q", notes)
	}

	// The node groups and an add-on moved too.
	r.NodeGroupVersions["ng-spot"] = "1.32"
	r.Addons["coredns"] = RunningAddon{Version: "v1.11.4-eksbuild.9"}
	r.UpgradeSupportType = "STANDARD"
	diffs = ex.Overlay(r)
	if ex.NodeGroupVersions[spotNG] != "1.32" || ex.NodeGroupVersions[onDemandNG] != "1.31" || ex.AddonVersions["coredns"] != "v1.11.4-eksbuild.9" ||
		ex.UpgradeSupportType != "STANDARD" || len(diffs) != 3 {
		t.Errorf("existing %+v, diffs %q", ex, diffs)
	}
}

func TestOverlayOfAMissingNodeGroup(t *testing.T) {
	ex := runningState(t)
	r := asRecorded()
	delete(r.NodeGroupVersions, "ng-spot")
	r.NodeGroupsGone = []string{"ng-spot"}
	diffs := ex.Overlay(r)
	if _, ok := ex.NodeGroupVersions[spotNG]; ok || ex.Addresses[spotNG] || !ex.Addresses[onDemandNG] || ex.NodeGroupVersions[onDemandNG] != "1.31" {
		t.Errorf("existing %+v", ex)
	}
	if !slices.Equal(diffs, []string{"EKS has no node group ng-spot, which the state records"}) {
		t.Errorf("diffs %q", diffs)
	}
	if _, ngs, _ := ex.LiveNames(); !slices.Equal(ngs, []string{"ng-od"}) {
		t.Errorf("node groups to ask for now: %q", ngs)
	}
}

// vpc-cni lost its role outside Terraform: pods run on the node role's CNI policy again, so the stack keeps that
// policy for this round instead of removing it from under them.
func TestOverlayOfAnAddonRoleRemoved(t *testing.T) {
	ex := runningState(t)
	c, _ := config.Defaults("default")
	if !c.Addons.VPCCNI.IRSA || !ex.CNIRoleInUse || !ex.NodeCNIPolicy {
		t.Fatalf("premise: IRSA %v, role in use %v, node CNI policy %v", c.Addons.VPCCNI.IRSA, ex.CNIRoleInUse, ex.NodeCNIPolicy)
	}
	if st := Build(&c, Options{Existing: ex}); strings.Contains(strings.Join(st.Notes, "\n"), "kept AmazonEKS_CNI_Policy") {
		t.Fatalf("with the role in use, the node policy is kept: %q", st.Notes)
	}
	r := asRecorded()
	r.Addons["vpc-cni"] = RunningAddon{Version: "v1.19.2-eksbuild.1"}
	diffs := ex.Overlay(r)
	if ex.CNIRoleInUse || !slices.Equal(diffs, []string{"add-on vpc-cni runs without a service account role, where the state records one"}) {
		t.Errorf("role in use %v, diffs %q", ex.CNIRoleInUse, diffs)
	}
	if st := Build(&c, Options{Existing: ex}); !strings.Contains(strings.Join(st.Notes, "\n"), "kept AmazonEKS_CNI_Policy") {
		t.Errorf("notes %q", st.Notes)
	}

	// An add-on removed altogether leaves Existing.
	ex = runningState(t)
	r = asRecorded()
	delete(r.Addons, "vpc-cni")
	r.AddonsGone = []string{"vpc-cni"}
	diffs = ex.Overlay(r)
	if ex.CNIRoleInUse || ex.Addresses["aws_eks_addon.vpc_cni_addon"] || ex.AddonVersions["vpc-cni"] != "" || len(diffs) != 1 {
		t.Errorf("existing %+v, diffs %q", ex, diffs)
	}
}

// The cluster is gone: the state is stale, and Existing keeps nothing of the cluster, its node groups or add-ons.
func TestOverlayOfAClusterGone(t *testing.T) {
	ex := runningState(t)
	diffs := ex.Overlay(Running{ClusterGone: true})
	if !slices.Equal(diffs, []string{"EKS has no cluster eks-x, which the state records: the state is stale"}) {
		t.Errorf("diffs %q", diffs)
	}
	if ex.KubernetesVersion != "" || ex.Addresses[ClusterAddress] || len(ex.NodeGroupVersions) != 0 || len(ex.AddonVersions) != 0 ||
		ex.CNIRoleInUse || ex.Addresses[spotNG] || ex.Addresses["aws_eks_addon.coredns_addon"] {
		t.Errorf("existing %+v", ex)
	}
	if c, ngs, addons := ex.LiveNames(); c != "" || ngs != nil || addons != nil {
		t.Errorf("still to ask EKS for: %q %q %q", c, ngs, addons)
	}
	if !ex.NodeCNIPolicy || !ex.Addresses["aws_iam_role_policy_attachment.eks_cni_policy"] {
		t.Error("what EKS does not manage left Existing")
	}
	c, _ := config.Defaults("default")
	if v := res(t, Build(&c, Options{Existing: ex}).Doc, ClusterAddress)["version"]; v != c.Cluster.KubernetesVersion {
		t.Errorf("rendered Kubernetes %v, want the configured %s for a new cluster", v, c.Cluster.KubernetesVersion)
	}
}
