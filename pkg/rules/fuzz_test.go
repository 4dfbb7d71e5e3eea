package rules_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

var (
	okName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
)

// FuzzLoadAndCheck feeds arbitrary YAML through loading, building and checking. Nothing may panic, and whatever
// passes every rule without an error must satisfy the invariants AWS enforces: garbage never passes.
func FuzzLoadAndCheck(f *testing.F) {
	for _, seed := range []string{
		"", "environmentSuffix: pr1\n", "network:\n  vpcCIDR: 10.0.0.0/16\n  publicSubnetCIDRs: [10.0.1.0/24, 10.0.2.0/24]\n",
		"nodeGroups:\n  spot: {minSize: 5, desiredSize: 1, maxSize: 0}\n", "cluster: {kubernetesVersion: '1.29'}\n",
		"profile: original\nallow: [TS202]\n", "region: x\nstate: {bucket: A}\n", "{{{", "cluster: [1, 2]\n",
		"network: {availabilityZones: [us-east-1a, us-east-1a]}\n", "addons: {vpcCni: {version: v1.18.1-eksbuild.3}}\n",
		"workloadIdentities: [{namespace: a, serviceAccount: b, managedPolicyArns: [arn:aws:iam::aws:policy/P]}, {namespace: a, serviceAccount: b}]\n",
		"workloadIdentities: [{name: x, namespace: a, serviceAccount: b.c, inlinePolicy: {Version: 2012-10-17, Statement: {Effect: Allow, Action: '*', Resource: '*'}}}]\n",
	} {
		f.Add([]byte(seed))
	}
	day, _ := versions.ParseDate("2026-11-25")
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, _, err := config.Load(config.Sources{LookupEnv: func(string) (string, bool) { return "", false }, File: path})
		if err != nil {
			return // rejected at load: fine
		}
		st := stack.Build(c, stack.Options{})
		fs := rules.Run(rules.Input{Config: c, Doc: st.Doc, Date: day})
		if _, err := st.Doc.Marshal(); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if errs, _, _ := rules.Count(fs); errs > 0 {
			return // rejected by the rules: fine
		}
		// It passed: it must be sound.
		if !okName.MatchString(c.ClusterName()) || len(c.ClusterName()) > 100 || len(c.NodeRoleName()) > 64 || len(c.SpotGroupName()) > 63 {
			t.Fatalf("bad names passed: %q", c.EnvironmentSuffix)
		}
		vpc, err := netip.ParsePrefix(c.Network.VPCCIDR)
		if err != nil {
			t.Fatalf("bad VPC CIDR passed: %q", c.Network.VPCCIDR)
		}
		if len(c.Network.PublicSubnetCIDRs) < 2 {
			t.Fatal("fewer than two subnets passed")
		}
		for _, s := range c.Network.PublicSubnetCIDRs {
			p, err := netip.ParsePrefix(s)
			if err != nil || !vpc.Contains(p.Addr()) {
				t.Fatalf("bad subnet passed: %q in %q", s, c.Network.VPCCIDR)
			}
		}
		for _, g := range []config.NodeGroup{c.NodeGroups.OnDemand, c.NodeGroups.Spot} {
			if g.MinSize < 0 || g.MinSize > g.DesiredSize || g.DesiredSize > g.MaxSize || g.MaxSize < 1 || len(g.InstanceTypes) == 0 {
				t.Fatalf("bad node group passed: %+v", g)
			}
		}
		allowed := map[string]bool{}
		for _, id := range c.Allow {
			allowed[id] = true
		}
		st2 := versions.Get().StatusOn(c.Cluster.KubernetesVersion, day)
		if st2 != versions.StatusStandard && st2 != versions.StatusExtended && !allowed["TS201"] && !allowed["TS202"] && !allowed["TS203"] {
			t.Fatalf("version %q (%s) passed", c.Cluster.KubernetesVersion, st2)
		}
		if (!c.State.Encrypt && !allowed["TS207"]) || (!c.State.UseLockfile && !allowed["TS208"]) {
			t.Fatal("an unsafe backend passed")
		}
		seen := map[string]bool{}
		for _, w := range c.WorkloadIdentities {
			var doc map[string]any
			if !okName.MatchString(w.Namespace) || w.ServiceAccount == "" || seen[w.Namespace+"/"+w.ServiceAccount] ||
				(w.InlinePolicy != "" && json.Unmarshal([]byte(w.InlinePolicy), &doc) != nil) || (w.InlinePolicy == "" && len(w.ManagedPolicyARNs) == 0) {
				t.Fatalf("a bad workload identity passed: %+v", w)
			}
			seen[w.Namespace+"/"+w.ServiceAccount] = true
		}
	})
}
