package lifecycle

import (
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
)

// An add-on keeps its running build only when it is not older than EKS's default: two builds of one version
// differ (v1.19.0-eksbuild.1 is older than v1.19.0-eksbuild.3), and build numbers compare as numbers.
func TestUpgradeChoosesTheNewerBuildOfOneVersion(t *testing.T) {
	cfg, _ := config.Defaults("default")
	for _, tc := range []struct {
		running, offered, def, want string
	}{
		{"v1.19.0-eksbuild.1", "v1.19.0-eksbuild.3,v1.19.0-eksbuild.1", "v1.19.0-eksbuild.3", "v1.19.0-eksbuild.3"},
		{"v1.19.0-eksbuild.9", "v1.19.0-eksbuild.10,v1.19.0-eksbuild.9", "v1.19.0-eksbuild.10", "v1.19.0-eksbuild.10"},
		{"v1.19.0-eksbuild.4", "v1.19.0-eksbuild.4,v1.19.0-eksbuild.3", "v1.19.0-eksbuild.3", "v1.19.0-eksbuild.4"},
		{"v1.19.0-eksbuild.3", "v1.19.0-eksbuild.3", "v1.19.0-eksbuild.3", "v1.19.0-eksbuild.3"},
		{"v1.18.9-eksbuild.12", "v1.19.0-eksbuild.1,v1.18.9-eksbuild.12", "v1.19.0-eksbuild.1", "v1.19.0-eksbuild.1"},
		{"v1.20.0-eksbuild.1", "v1.20.0-eksbuild.1,v1.19.0-eksbuild.5", "v1.19.0-eksbuild.5", "v1.20.0-eksbuild.1"},
	} {
		c := cfg
		st := &upgradeStep{to: "1.33", cfg: &c, resolved: map[string]live.AddonVersions{
			"coredns": {Name: "coredns", Kubernetes: "1.33", Offered: strings.Split(tc.offered, ","), Default: tc.def}}}
		current := map[string]string{"coredns": tc.running}
		st.chooseAddons([]string{"coredns"}, current)
		if len(st.addons) != 1 || st.addons[0].to != tc.want || current["coredns"] != tc.want {
			t.Errorf("running %s, default %s: chose %+v, want %s", tc.running, tc.def, st.addons, tc.want)
		}
	}
}
