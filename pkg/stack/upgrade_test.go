package stack

import (
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
)

var nodeGroupAddresses = []string{"aws_eks_node_group.on_demand_node_group", "aws_eks_node_group.spot_node_group"}

// An upgrade step renders the configured version only when it is the next minor version of the running one;
// further ahead, the running version is kept, as without a step.
func TestUpgradeStepMovesOneMinorVersion(t *testing.T) {
	for _, tc := range []struct {
		running, configured, want string
		step                      bool
	}{
		{"1.30", "1.31", "1.31", true},
		{"1.30", "1.31", "1.30", false}, // only `tapstack upgrade` moves a cluster
		{"1.30", "1.32", "1.30", true},  // two minor versions at once: EKS refuses
		{"1.30", "1.29", "1.30", true},  // never down
		{"1.30", "1.30", "1.30", true},
		{"1.9", "1.10", "1.10", true},
		{"", "1.31", "1.31", true}, // a new environment
	} {
		c, _ := config.Defaults("default")
		c.Cluster.KubernetesVersion = tc.configured
		var ex *Existing
		if tc.running != "" {
			ex = &Existing{KubernetesVersion: tc.running}
		}
		st := Build(&c, Options{Existing: ex, UpgradeStep: tc.step})
		if got := res(t, st.Doc, ClusterAddress)["version"]; got != tc.want || st.KubernetesVersion != tc.want {
			t.Errorf("running %s, configured %s, step %v: rendered %v (KubernetesVersion %s), want %s",
				tc.running, tc.configured, tc.step, got, st.KubernetesVersion, tc.want)
		}
		for _, a := range nodeGroupAddresses {
			if got := res(t, st.Doc, a)["version"]; got != tc.want {
				t.Errorf("running %s, configured %s, step %v: %s version %v, want the cluster's %s",
					tc.running, tc.configured, tc.step, a, got, tc.want)
			}
		}
		if tc.step && tc.want == tc.configured && len(st.Notes) != 0 {
			t.Errorf("running %s, configured %s: a step that moves the cluster needs no note: %v", tc.running, tc.configured, st.Notes)
		}
	}
}

// Node groups carry the cluster's version in every profile but original, which stays the original's output
// until an upgrade step, where its nodes must move with the control plane.
func TestNodeGroupVersionByProfile(t *testing.T) {
	for _, profile := range config.Profiles {
		c, _ := config.Defaults(profile)
		running := c.Cluster.KubernetesVersion
		for _, step := range []bool{false, true} {
			st := Build(&c, Options{UpgradeStep: step, Existing: &Existing{KubernetesVersion: running}})
			for _, a := range nodeGroupAddresses {
				got, set := res(t, st.Doc, a)["version"]
				switch {
				case profile == "original" && !step && set:
					t.Errorf("profile original, no step: %s has version %v; the original left it unset", a, got)
				case (profile != "original" || step) && got != running:
					t.Errorf("profile %s, step %v: %s version %v, want the cluster's %s", profile, step, a, got, running)
				}
			}
		}
	}
	// An original-profile environment's nodes move with its control plane during a step.
	c, _ := config.Defaults("original")
	c.Cluster.KubernetesVersion = "1.30"
	st := Build(&c, Options{UpgradeStep: true, Existing: &Existing{KubernetesVersion: "1.29"}})
	if got := res(t, st.Doc, "aws_eks_node_group.spot_node_group")["version"]; got != "1.30" {
		t.Errorf("original profile, step 1.29 -> 1.30: node group version %v", got)
	}
}

// Auto Mode has no node groups to move: EKS replaces its nodes itself.
func TestUpgradeStepAutoMode(t *testing.T) {
	c, _ := config.Defaults("default")
	c.Cluster.Compute = config.ComputeAuto
	c.Cluster.KubernetesVersion = "1.34"
	st := Build(&c, Options{UpgradeStep: true, Existing: &Existing{KubernetesVersion: "1.33"}})
	if got := res(t, st.Doc, ClusterAddress)["version"]; got != "1.34" {
		t.Errorf("Auto Mode step: cluster version %v", got)
	}
	if ngs := st.Doc.OfType("aws_eks_node_group"); len(ngs) != 0 {
		t.Errorf("Auto Mode declares %d node groups", len(ngs))
	}
}

// The add-on versions an upgrade resolves reach the document; a configured vpc-cni pin still wins (the upgrade
// command clears a pin it overrides).
func TestUpgradeStepAddonVersions(t *testing.T) {
	c, _ := config.Defaults("default")
	c.Cluster.KubernetesVersion = "1.31"
	av := map[string]string{"vpc-cni": "v1.19.6-eksbuild.1", "kube-proxy": "v1.31.0-eksbuild.1",
		"coredns": "v1.11.4-eksbuild.2", "eks-pod-identity-agent": "v1.3.8-eksbuild.2"}
	st := Build(&c, Options{UpgradeStep: true, Existing: &Existing{KubernetesVersion: "1.30"}, AddonVersions: av})
	for addr, want := range map[string]string{
		"aws_eks_addon.vpc_cni_addon": av["vpc-cni"], "aws_eks_addon.kube_proxy_addon": av["kube-proxy"],
		"aws_eks_addon.coredns_addon": av["coredns"], "aws_eks_addon.pod_identity_agent_addon": av["eks-pod-identity-agent"],
	} {
		if got := res(t, st.Doc, addr)["addon_version"]; got != want {
			t.Errorf("%s: addon_version %v, want %s", addr, got, want)
		}
	}
	o, _ := config.Defaults("original")
	o.Cluster.KubernetesVersion = "1.30"
	st = Build(&o, Options{UpgradeStep: true, Existing: &Existing{KubernetesVersion: "1.29"}, AddonVersions: av})
	if got := res(t, st.Doc, "aws_eks_addon.vpc_cni_addon")["addon_version"]; got != "v1.18.1-eksbuild.3" {
		t.Errorf("a configured pin must win over a resolved version: %v", got)
	}
}

func TestExistingReadsNodeGroupAndAddonVersions(t *testing.T) {
	show := []byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
	 {"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.31"}},
	 {"address":"aws_eks_node_group.on_demand_node_group","mode":"managed","type":"aws_eks_node_group","name":"on_demand_node_group","values":{"version":"1.31"}},
	 {"address":"aws_eks_node_group.spot_node_group","mode":"managed","type":"aws_eks_node_group","name":"spot_node_group","values":{"version":"1.30"}},
	 {"address":"aws_eks_addon.kube_proxy_addon","mode":"managed","type":"aws_eks_addon","name":"kube_proxy_addon","values":{"addon_name":"kube-proxy","addon_version":"v1.31.0-eksbuild.1"}}]}}}`)
	e, err := ExistingFromState(show)
	if err != nil {
		t.Fatal(err)
	}
	if e.NodeGroupVersions["aws_eks_node_group.on_demand_node_group"] != "1.31" || e.NodeGroupVersions["aws_eks_node_group.spot_node_group"] != "1.30" ||
		len(e.NodeGroupVersions) != 2 {
		t.Errorf("node group versions %v", e.NodeGroupVersions)
	}
	if e.AddonVersions["kube-proxy"] != "v1.31.0-eksbuild.1" || len(e.AddonVersions) != 1 {
		t.Errorf("add-on versions %v", e.AddonVersions)
	}
	// A step renders the node groups on the cluster's version even when the state has them behind it.
	c, _ := config.Defaults("default")
	c.Cluster.KubernetesVersion = "1.31"
	st := Build(&c, Options{UpgradeStep: true, Existing: e})
	if got := res(t, st.Doc, "aws_eks_node_group.spot_node_group")["version"]; got != "1.31" {
		t.Errorf("catch-up step: spot node group version %v", got)
	}
	if joined := strings.Join(st.Notes, "\n"); strings.Contains(joined, "kept Kubernetes") {
		t.Errorf("notes %q", joined)
	}
}
