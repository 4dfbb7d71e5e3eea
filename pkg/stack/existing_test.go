package stack

import (
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

func mustDate(t *testing.T, s string) versions.Date {
	t.Helper()
	d, err := versions.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// EKS refuses STANDARD on a cluster past its end of standard support: an existing cluster there keeps its policy
// (with a note naming the version where upgrade sets STANDARD), an upgrade step to a version in standard support
// renders STANDARD, and a new cluster always gets the configured policy (TS212 judges it).
func TestUpgradePolicyOfAnExistingCluster(t *testing.T) {
	day := mustDate(t, "2026-12-01") // 1.32 and 1.33 in extended support, 1.34 to 1.36 in standard
	cluster := map[string]bool{ClusterAddress: true}
	for _, tc := range []struct {
		name                string
		running, configured string
		recorded            string // the state's upgrade policy
		step                bool
		date                versions.Date
		want                any // the rendered support_type, nil for no upgrade_policy block
		note                string
	}{
		{"extended, recorded EXTENDED", "1.32", "1.36", "EXTENDED", false, day, "EXTENDED", "`tapstack upgrade --to 1.34` sets STANDARD"},
		{"extended, nothing recorded", "1.32", "1.36", "", false, day, nil, "kept upgrade policy EXTENDED (EKS's default)"},
		{"step to 1.33, still extended", "1.32", "1.33", "EXTENDED", true, day, "EXTENDED", "Kubernetes 1.33 is past its end of standard support"},
		{"step to 1.34, standard", "1.33", "1.34", "EXTENDED", true, day, "STANDARD", ""},
		{"standard already", "1.35", "1.35", "EXTENDED", false, day, "STANDARD", ""},
		{"the day 1.34 leaves standard support", "1.34", "1.34", "EXTENDED", false, mustDate(t, "2026-12-02"), "EXTENDED", "upgrade --to 1.35"},
		{"no day: no decision", "1.32", "1.36", "EXTENDED", false, versions.Date{}, "STANDARD", ""},
	} {
		c, _ := config.Defaults("default")
		c.Cluster.KubernetesVersion = tc.configured
		ex := &Existing{KubernetesVersion: tc.running, UpgradeSupportType: tc.recorded, Addresses: cluster}
		st := Build(&c, Options{Existing: ex, UpgradeStep: tc.step, Date: tc.date})
		var got any
		if up, ok := res(t, st.Doc, ClusterAddress)["upgrade_policy"].(tfdoc.Body); ok {
			got = up["support_type"]
		}
		if got != tc.want {
			t.Errorf("%s: upgrade policy %v, want %v", tc.name, got, tc.want)
		}
		notes := strings.Join(st.Notes, "\n")
		if (tc.note == "") != !strings.Contains(notes, "upgrade policy") || !strings.Contains(notes, tc.note) {
			t.Errorf("%s: notes %q, want one containing %q", tc.name, notes, tc.note)
		}
	}
	// A new cluster: the configured policy, whatever the day.
	c, _ := config.Defaults("default")
	c.Cluster.KubernetesVersion = "1.32"
	if up := res(t, Build(&c, Options{Date: day}).Doc, ClusterAddress)["upgrade_policy"].(tfdoc.Body); up["support_type"] != "STANDARD" {
		t.Errorf("new cluster: %v", up)
	}
}

// EKS moves the authentication mode only forward, one step at a time: the stack renders the running mode rather
// than a step back, and the middle mode with a second round rather than two steps at once.
func TestAuthenticationModeOfAnExistingCluster(t *testing.T) {
	for _, tc := range []struct {
		running, configured, want, note, followUp string
	}{
		{"", "API", "API_AND_CONFIG_MAP", "moves from CONFIG_MAP to API_AND_CONFIG_MAP first", "next step to API"},
		{"CONFIG_MAP", "API_AND_CONFIG_MAP", "API_AND_CONFIG_MAP", "", ""},
		{"API_AND_CONFIG_MAP", "API", "API", "", ""},
		{"API", "API_AND_CONFIG_MAP", "API", "EKS never moves it back", ""},
		{"API_AND_CONFIG_MAP", "CONFIG_MAP", "API_AND_CONFIG_MAP", "EKS never moves it back", ""},
	} {
		c, _ := config.Defaults("default")
		c.Cluster.AuthenticationMode = tc.configured
		ex := &Existing{KubernetesVersion: c.Cluster.KubernetesVersion, AuthenticationMode: tc.running, Addresses: map[string]bool{ClusterAddress: true}}
		st := Build(&c, Options{Existing: ex})
		ac := res(t, st.Doc, ClusterAddress)["access_config"].(tfdoc.Body)
		if ac["authentication_mode"] != tc.want {
			t.Errorf("%q -> %s: rendered %v, want %s", tc.running, tc.configured, ac["authentication_mode"], tc.want)
		}
		if notes := strings.Join(st.Notes, "\n"); (tc.note == "") != (notes == "") || !strings.Contains(notes, tc.note) {
			t.Errorf("%q -> %s: notes %q, want %q", tc.running, tc.configured, notes, tc.note)
		}
		if !strings.Contains(st.FollowUp, tc.followUp) || (tc.followUp == "") != (st.FollowUp == "") {
			t.Errorf("%q -> %s: follow-up %q, want %q", tc.running, tc.configured, st.FollowUp, tc.followUp)
		}
	}
}

func TestExistingReadsPolicyAndMode(t *testing.T) {
	ex, err := ExistingFromState([]byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
{"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.32",
 "upgrade_policy":[{"support_type":"EXTENDED"}],"access_config":[{"authentication_mode":"API_AND_CONFIG_MAP","bootstrap_cluster_creator_admin_permissions":true}]}}]}}}`))
	if err != nil || ex.UpgradeSupportType != "EXTENDED" || ex.AuthenticationMode != "API_AND_CONFIG_MAP" || ex.KubernetesVersion != "1.32" {
		t.Errorf("existing = %+v, %v", ex, err)
	}
}

// A deposed object (a failed create_before_destroy replacement) shares its instance's address; what runs is the
// current object, wherever show -json lists the deposed one.
func TestExistingSkipsDeposedObjects(t *testing.T) {
	ng := func(version, deposed string) string {
		return `{"address":"aws_eks_node_group.spot_node_group","mode":"managed","type":"aws_eks_node_group","name":"spot_node_group",` +
			`"deposed_key":"` + deposed + `","values":{"version":"` + version + `"}}`
	}
	for _, order := range [][2]string{{ng("1.31", ""), ng("1.30", "0a0b0c0d")}, {ng("1.30", "0a0b0c0d"), ng("1.31", "")}} {
		ex, err := ExistingFromState([]byte(`{"format_version":"1.0","values":{"root_module":{"resources":[` + order[0] + "," + order[1] + `]}}}`))
		if err != nil || ex.NodeGroupVersions["aws_eks_node_group.spot_node_group"] != "1.31" {
			t.Errorf("existing = %+v, %v; want the node group on 1.31", ex, err)
		}
	}
}
