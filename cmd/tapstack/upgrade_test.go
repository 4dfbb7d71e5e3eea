//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
)

// upgradeState writes a state whose cluster runs k8s, with both node groups on ng (none when ng is empty) and the
// add-ons at addons (name -> build), and points the fake engine's `show` at it.
func upgradeState(t *testing.T, k8s, ng string, addons map[string]string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(p, upgradeStateJSON(t, k8s, ng, addons), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_STATE_JSON", p)
}

func upgradeStateJSON(t *testing.T, k8s, ng string, addons map[string]string) []byte {
	t.Helper()
	res := []map[string]any{
		{"address": "aws_eks_cluster.eks_cluster", "mode": "managed", "type": "aws_eks_cluster", "name": "eks_cluster",
			"values": map[string]any{"version": k8s, "name": "eks-cluster-v1-ut"}},
	}
	for addr, name := range map[string]string{"on_demand_node_group": "node-group-od-v1-ut", "spot_node_group": "node-group-spot-v1-ut"} {
		if ng == "" { // no node groups (Auto Mode)
			break
		}
		res = append(res, map[string]any{"address": "aws_eks_node_group." + addr, "mode": "managed", "type": "aws_eks_node_group",
			"name": addr, "values": map[string]any{"version": ng, "node_group_name": name}})
	}
	for name, v := range addons {
		addr := strings.ReplaceAll(name, "-", "_") + "_addon"
		res = append(res, map[string]any{"address": "aws_eks_addon." + addr, "mode": "managed", "type": "aws_eks_addon",
			"name": addr, "values": map[string]any{"addon_name": name, "addon_version": v}})
	}
	b, err := json.Marshal(map[string]any{"format_version": "1.0", "values": map[string]any{"root_module": map[string]any{"resources": res}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeCatalog stands in for DescribeAddonVersions: each add-on's builds, newest first, with the versions each
// is offered for and the one it is the default of.
type fakeBuild struct {
	build      string
	min, max   int // Kubernetes 1.min to 1.max
	defaultFor []int
}

var fakeCatalog = map[string][]fakeBuild{
	"vpc-cni": {{"v1.20.4-eksbuild.2", 29, 36, []int{33, 34, 35, 36}}, {"v1.19.6-eksbuild.1", 29, 35, []int{31, 32}},
		{"v1.18.3-eksbuild.3", 29, 32, []int{29, 30}}},
	"coredns":                {{"v1.12.1-eksbuild.2", 33, 36, []int{33, 34, 35, 36}}, {"v1.11.4-eksbuild.2", 29, 32, []int{29, 30, 31, 32}}},
	"eks-pod-identity-agent": {{"v1.3.8-eksbuild.2", 29, 36, []int{29, 30, 31, 32, 33, 34, 35, 36}}},
	// The platform add-ons of the default profile, which a step creates when the state lacks them.
	"aws-ebs-csi-driver":              {{"v1.48.0-eksbuild.2", 29, 36, []int{29, 30, 31, 32, 33, 34, 35, 36}}},
	"metrics-server":                  {{"v0.8.0-eksbuild.1", 29, 36, []int{29, 30, 31, 32, 33, 34, 35, 36}}},
	"amazon-cloudwatch-observability": {{"v4.4.0-eksbuild.1", 29, 36, []int{29, 30, 31, 32, 33, 34, 35, 36}}},
	"eks-node-monitoring-agent":       {{"v1.4.0-eksbuild.2", 29, 36, []int{29, 30, 31, 32, 33, 34, 35, 36}}},
}

// stubAddons replaces resolveAddons with fakeCatalog (kube-proxy: one build per version) and records the
// versions it was asked for.
func stubAddons(t *testing.T) *[]string {
	asked := &[]string{}
	var mu sync.Mutex
	old := resolveAddons
	t.Cleanup(func() { resolveAddons = old })
	resolveAddons = func(_ context.Context, _ *config.Config, k8s string, names []string) (map[string]live.AddonVersions, error) {
		mu.Lock()
		*asked = append(*asked, k8s)
		mu.Unlock()
		var minor int
		fmt.Sscanf(k8s, "1.%d", &minor)
		out := map[string]live.AddonVersions{}
		for _, n := range names {
			av := live.AddonVersions{Name: n, Kubernetes: k8s}
			builds := fakeCatalog[n]
			if n == "kube-proxy" {
				builds = []fakeBuild{{fmt.Sprintf("v%s.0-eksbuild.1", k8s), minor, minor, []int{minor}}}
			}
			for _, b := range builds {
				if b.min <= minor && minor <= b.max {
					av.Offered = append(av.Offered, b.build)
					for _, d := range b.defaultFor {
						if d == minor {
							av.Default = b.build
						}
					}
				}
			}
			out[n] = av
		}
		return out, nil
	}
	return asked
}

var defaultAddons = map[string]string{"vpc-cni": "v1.18.3-eksbuild.3", "kube-proxy": "v1.30.0-eksbuild.1",
	"coredns": "v1.11.4-eksbuild.2", "eks-pod-identity-agent": "v1.3.8-eksbuild.2"}

// planned: a plan other than the refresh-only one every session makes to read what runs.
func (f *fakeRun) planned() bool {
	for _, l := range strings.Split(f.calls(), "\n") {
		if strings.HasPrefix(l, "plan ") && !strings.Contains(l, "-refresh-only") {
			return true
		}
	}
	return false
}

func (f *fakeRun) changedNothing() bool { return !f.planned() && !f.ran("apply") }

func TestUpgradeRefusals(t *testing.T) {
	f := newFakeRun(t)
	stubAddons(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--to is required: the Kubernetes version to move the cluster to, such as --to 1.36"},
		{[]string{"--to", "1.99"}, `--to: "1.99" is not a Kubernetes version of the EKS calendar`},
		{[]string{"--to", "latest"}, `--to: "latest" is not a Kubernetes version`},
		{[]string{"--to", "1.31", "--live-timeout", "0s"}, "--live-timeout: 0s is not a positive duration"},
	} {
		code, _, stderr := f.run(append([]string{"upgrade"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("upgrade %v: exit %d, want 2 saying %q:\n%s", tc.args, code, tc.want, stderr)
		}
		if f.calls() != "" {
			t.Errorf("upgrade %v ran the engine on bad flags:\n%s", tc.args, f.calls())
		}
	}

	// An empty state: nothing to upgrade.
	code, _, stderr := f.run("upgrade", "--to", "1.31")
	if code != 2 || !strings.Contains(stderr, "the state of TapStackut holds no cluster, so there is nothing to upgrade") ||
		!f.changedNothing() {
		t.Errorf("no cluster: exit %d: %s\n%s", code, stderr, f.calls())
	}

	upgradeState(t, "1.31", "1.31", defaultAddons)
	code, _, stderr = f.run("upgrade", "--to", "1.30")
	if code != 2 || !strings.Contains(stderr, "--to: 1.30 is below 1.31, which cluster eks-cluster-v1-ut runs: EKS never downgrades") ||
		!f.changedNothing() {
		t.Errorf("below: exit %d: %s\n%s", code, stderr, f.calls())
	}

	code, stdout, stderr := f.run("upgrade", "--to", "1.31")
	if code != 0 || !strings.Contains(stdout, "cluster eks-cluster-v1-ut already runs Kubernetes 1.31, and so do its node groups") ||
		!f.changedNothing() {
		t.Errorf("already on: exit %d: %s%s\n%s", code, stdout, stderr, f.calls())
	}
}

// The dry run reads the state and prints every step, the control plane, each add-on's build and each node group,
// and plans and applies nothing.
func TestUpgradeDryRun(t *testing.T) {
	f := newFakeRun(t)
	asked := stubAddons(t)
	upgradeState(t, "1.30", "1.30", defaultAddons)
	code, stdout, stderr := f.run("upgrade", "--to", "1.33", "--dry-run", "--date", "2026-07-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A state without the platform add-ons (an environment deployed before them) gets them at the first step.
	want := `upgrade cluster eks-cluster-v1-ut: Kubernetes 1.30 -> 1.33 in 3 step(s) (dry run: nothing is planned or applied)
step 1/3: Kubernetes 1.30 -> 1.31
  control plane: 1.30 -> 1.31
  add-on amazon-cloudwatch-observability: v4.4.0-eksbuild.1, new (EKS's default for 1.31)
  add-on coredns: v1.11.4-eksbuild.2 (kept: offered for 1.31)
  add-on aws-ebs-csi-driver: v1.48.0-eksbuild.2, new (EKS's default for 1.31)
  add-on kube-proxy: v1.30.0-eksbuild.1 -> v1.31.0-eksbuild.1 (EKS's default for 1.31)
  add-on metrics-server: v0.8.0-eksbuild.1, new (EKS's default for 1.31)
  add-on eks-node-monitoring-agent: v1.4.0-eksbuild.2, new (EKS's default for 1.31)
  add-on eks-pod-identity-agent: v1.3.8-eksbuild.2 (kept: offered for 1.31)
  add-on vpc-cni: v1.18.3-eksbuild.3 -> v1.19.6-eksbuild.1 (EKS's default for 1.31)
  node group node-group-od-v1-ut: 1.30 -> 1.31
  node group node-group-spot-v1-ut: 1.30 -> 1.31
step 2/3: Kubernetes 1.31 -> 1.32
  control plane: 1.31 -> 1.32
  add-on amazon-cloudwatch-observability: v4.4.0-eksbuild.1 (kept: offered for 1.32)
  add-on coredns: v1.11.4-eksbuild.2 (kept: offered for 1.32)
  add-on aws-ebs-csi-driver: v1.48.0-eksbuild.2 (kept: offered for 1.32)
  add-on kube-proxy: v1.31.0-eksbuild.1 -> v1.32.0-eksbuild.1 (EKS's default for 1.32)
  add-on metrics-server: v0.8.0-eksbuild.1 (kept: offered for 1.32)
  add-on eks-node-monitoring-agent: v1.4.0-eksbuild.2 (kept: offered for 1.32)
  add-on eks-pod-identity-agent: v1.3.8-eksbuild.2 (kept: offered for 1.32)
  add-on vpc-cni: v1.19.6-eksbuild.1 (kept: offered for 1.32)
  node group node-group-od-v1-ut: 1.31 -> 1.32
  node group node-group-spot-v1-ut: 1.31 -> 1.32
step 3/3: Kubernetes 1.32 -> 1.33
  control plane: 1.32 -> 1.33
  add-on amazon-cloudwatch-observability: v4.4.0-eksbuild.1 (kept: offered for 1.33)
  add-on coredns: v1.11.4-eksbuild.2 -> v1.12.1-eksbuild.2 (EKS's default for 1.33)
  add-on aws-ebs-csi-driver: v1.48.0-eksbuild.2 (kept: offered for 1.33)
  add-on kube-proxy: v1.32.0-eksbuild.1 -> v1.33.0-eksbuild.1 (EKS's default for 1.33)
  add-on metrics-server: v0.8.0-eksbuild.1 (kept: offered for 1.33)
  add-on eks-node-monitoring-agent: v1.4.0-eksbuild.2 (kept: offered for 1.33)
  add-on eks-pod-identity-agent: v1.3.8-eksbuild.2 (kept: offered for 1.33)
  add-on vpc-cni: v1.19.6-eksbuild.1 -> v1.20.4-eksbuild.2 (EKS's default for 1.33)
  node group node-group-od-v1-ut: 1.32 -> 1.33
  node group node-group-spot-v1-ut: 1.32 -> 1.33
`
	if stdout != want {
		t.Errorf("dry run printed:\n%s\nwant:\n%s", stdout, want)
	}
	if strings.Contains(stderr, "kept Kubernetes") {
		t.Errorf("upgrade repeats deploy's note telling to run upgrade:\n%s", stderr)
	}
	if strings.Join(*asked, ",") != "1.31,1.32,1.33" {
		t.Errorf("add-on builds asked for %v", *asked)
	}
	if f.planned() || f.ran("apply") || !f.ran("init") {
		t.Errorf("the dry run must read the state (init) and neither plan nor apply:\n%s", f.calls())
	}
}

// Calendar findings of an intermediate version are printed and do not block; the target's block (nothing is
// planned), unless allowed.
func TestUpgradeChecksTheTargetNotTheIntermediateCalendar(t *testing.T) {
	f := newFakeRun(t)
	stubAddons(t)
	upgradeState(t, "1.30", "1.30", defaultAddons)
	// On 2026-12-01 Kubernetes 1.31 is past its end of extended support; 1.32 is in extended support.
	code, stdout, stderr := f.run("upgrade", "--to", "1.32", "--dry-run", "--date", "2026-12-01")
	if code != 0 || !strings.Contains(stderr, "TS202") || !strings.Contains(stderr, "Kubernetes 1.31 is an intermediate version of this upgrade: not blocking") ||
		!strings.Contains(stdout, "step 2/2: Kubernetes 1.31 -> 1.32") {
		t.Errorf("intermediate 1.31: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = f.run("upgrade", "--to", "1.31", "--skip-live-checks", "--date", "2026-12-01")
	if code != 2 || !strings.Contains(stderr, "ERROR   TS202") || !strings.Contains(stderr, "tapstack upgrade: check: 1 error(s)") ||
		!strings.Contains(stderr, "nothing was planned or changed") || f.planned() {
		t.Errorf("target 1.31: exit %d, want 2 before any plan:\n%s\n%s", code, stderr, f.calls())
	}
	if code, _, stderr := f.run("upgrade", "--to", "1.31", "--dry-run", "--date", "2026-12-01", "--allow", "TS202"); code != 0 {
		t.Errorf("--allow TS202: exit %d: %s", code, stderr)
	}
}

// A vpc-cni pin EKS does not offer for a step's version is overridden with a note; node groups of profile
// original move with the control plane.
func TestUpgradeOverridesAnIncompatiblePin(t *testing.T) {
	f := newFakeRun(t)
	stubAddons(t)
	upgradeState(t, "1.31", "1.31", map[string]string{"vpc-cni": "v1.18.1-eksbuild.3"})
	code, stdout, stderr := f.run("upgrade", "--profile", "original", "--to", "1.32", "--dry-run", "--date", "2026-07-01", "--allow", "TS202")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"add-on vpc-cni: v1.18.1-eksbuild.3 -> v1.19.6-eksbuild.1 (EKS's default for 1.32)",
		"note: the configured vpc-cni pin v1.18.1-eksbuild.3 is not offered for Kubernetes 1.32, so this step installs v1.19.6-eksbuild.1",
		"node group node-group-od-v1-ut: 1.31 -> 1.32",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stderr, "TS205") {
		t.Errorf("the overridden pin must not be judged: %s", stderr)
	}
}

// Node groups behind the control plane come first: EKS refuses to move a control plane past them.
func TestUpgradeCatchesUpLaggingNodeGroups(t *testing.T) {
	f := newFakeRun(t)
	stubAddons(t)
	upgradeState(t, "1.32", "1.31", defaultAddons)
	code, stdout, stderr := f.run("upgrade", "--to", "1.33", "--dry-run", "--date", "2026-07-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"in 2 step(s)", "step 1/2: node groups to Kubernetes 1.32, which the control plane runs\n",
		"node group node-group-spot-v1-ut: 1.31 -> 1.32", "step 2/2: Kubernetes 1.32 -> 1.33"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, stdout)
		}
	}
	if code, stdout, _ := f.run("upgrade", "--to", "1.32", "--dry-run", "--date", "2026-07-01"); code != 0 || strings.Contains(stdout, "already runs") {
		t.Errorf("--to the running version with lagging node groups: exit %d, %s", code, stdout)
	}
}

// failingApply wraps the fake engine so that an apply (not a refresh-only one) fails as an EKS update would.
const failingApply = `#!/bin/sh
case "$1" in
apply) case "$*" in *-refresh-only*) ;; *) echo "$@" >> "$FAKE_TF_LOG"; printf '\nError: waiting for EKS Cluster (eks-cluster-v1-ut) version update (u-1): unexpected state '"'"'Failed'"'"', wanted target '"'"'Successful'"'"'. last error: InsufficientFreeAddresses: not enough free IP addresses\n' >&2; exit 1 ;; esac ;;
esac
exec "$FAKE_INNER" "$@"
`

func TestUpgradeStepFailures(t *testing.T) {
	f := newFakeRun(t)
	stubAddons(t)
	upgradeState(t, "1.30", "1.30", defaultAddons)

	// The guard refuses a step that replaces protected resources; the first step changed nothing: exit 2.
	code, _, stderr := f.run("upgrade", "--to", "1.31", "--skip-live-checks", "--date", "2026-07-01", "--allow", "TS202")
	if code != 2 || !strings.Contains(stderr, "tapstack upgrade: step 1/1: Kubernetes 1.30 -> 1.31 failed: guard:") ||
		!strings.Contains(stderr, "--allow-destroy") || f.ran("apply") {
		t.Errorf("guard: exit %d:\n%s\n%s", code, stderr, f.calls())
	}

	// The apply reports success but the state still says 1.30: the step is not done.
	f.show("plan-noop.json")
	code, stdout, stderr := f.run("upgrade", "--to", "1.31", "--skip-live-checks", "--date", "2026-07-01", "--allow", "TS202")
	if code != 1 || !f.ran("apply") {
		t.Fatalf("unverified step: exit %d:\n%s\n%s", code, stderr, f.calls())
	}
	for _, want := range []string{"step 1/1: Kubernetes 1.30 -> 1.31 failed: verify: after the apply, where Kubernetes 1.31 was expected, " +
		"the cluster reports Kubernetes 1.30; node group node-group-od-v1-ut reports Kubernetes \"1.30\"",
		"add-on kube-proxy runs \"v1.30.0-eksbuild.1\", which EKS does not offer for Kubernetes 1.31",
		"now the cluster and its 2 node group(s) are on Kubernetes 1.30", "run tapstack upgrade --to 1.31 again"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the failure does not say %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "step 1/1: Kubernetes 1.30 -> 1.31\n  control plane: 1.30 -> 1.31") {
		t.Errorf("the step was not announced on stdout:\n%s", stdout)
	}
	// What was planned is the step: the cluster, the node groups and the add-ons on 1.31.
	var doc struct {
		Resource map[string]map[string]map[string]any `json:"resource"`
	}
	b, _ := os.ReadFile(filepath.Join(f.stackDir(), "cdk.tf.json"))
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Resource["aws_eks_cluster"]["eks_cluster"]["version"] != "1.31" || doc.Resource["aws_eks_node_group"]["spot_node_group"]["version"] != "1.31" ||
		doc.Resource["aws_eks_addon"]["kube_proxy_addon"]["addon_version"] != "v1.31.0-eksbuild.1" {
		t.Errorf("the step's document: cluster %v, spot %v, kube-proxy %v", doc.Resource["aws_eks_cluster"]["eks_cluster"]["version"],
			doc.Resource["aws_eks_node_group"]["spot_node_group"]["version"], doc.Resource["aws_eks_addon"]["kube_proxy_addon"]["addon_version"])
	}

	// A failed apply: the state is refreshed (the provider may have saved the version it asked for), and the
	// message names the step, the error and where things are.
	inner := os.Getenv("TAPSTACK_ENGINE_PATH")
	wrapper := filepath.Join(t.TempDir(), "terraform")
	if err := os.WriteFile(wrapper, []byte(failingApply), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_INNER", inner)
	t.Setenv("TAPSTACK_ENGINE_PATH", wrapper)
	os.Remove(f.log)
	code, _, stderr = f.run("upgrade", "--to", "1.31", "--skip-live-checks", "--date", "2026-07-01", "--allow", "TS202")
	if code != 1 {
		t.Fatalf("failed apply: exit %d:\n%s", code, stderr)
	}
	for _, want := range []string{"step 1/1: Kubernetes 1.30 -> 1.31 failed: apply: terraform apply failed: waiting for EKS Cluster",
		"InsufficientFreeAddresses", "now the cluster and its 2 node group(s) are on Kubernetes 1.30"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the failure does not say %q:\n%s", want, stderr)
		}
	}
	t.Logf("failed apply:\n%s", stderr)
	if !strings.Contains(f.calls(), "-refresh-only") {
		t.Errorf("the state was not refreshed after the failed apply:\n%s", f.calls())
	}
}

// Auto Mode has no node groups and no managed add-ons in the stack: a step moves the control plane only.
func TestUpgradeAutoModeDryRun(t *testing.T) {
	f := newFakeRun(t)
	asked := stubAddons(t)
	upgradeState(t, "1.33", "", nil)
	cfg := filepath.Join(t.TempDir(), "auto.yaml")
	if err := os.WriteFile(cfg, []byte("cluster:\n  compute: auto\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := f.run("upgrade", "--config", cfg, "--to", "1.34", "--dry-run", "--date", "2026-07-01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "upgrade cluster eks-cluster-v1-ut: Kubernetes 1.33 -> 1.34 in 1 step(s) (dry run: nothing is planned or applied)\n" +
		"step 1/1: Kubernetes 1.33 -> 1.34\n  control plane: 1.33 -> 1.34\n  nodes: EKS Auto Mode replaces them itself after the control plane\n"
	if stdout != want {
		t.Errorf("dry run printed:\n%s\nwant:\n%s", stdout, want)
	}
	if len(*asked) != 0 {
		t.Errorf("add-on builds asked for %v with no add-ons in the stack", *asked)
	}
}

// EKS moved the cluster by itself (end of support) after the last apply: the state says 1.30, the account 1.31.
// The steps start from what the account runs, as the session's refreshed state says.
func TestUpgradeStartsFromTheRefreshedState(t *testing.T) {
	f := newFakeRun(t)
	stubAddons(t)
	upgradeState(t, "1.30", "1.30", defaultAddons)
	refreshed := map[string]any{}
	if err := json.Unmarshal(upgradeStateJSON(t, "1.31", "1.31", defaultAddons), &refreshed); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"format_version": "1.2", "prior_state": refreshed})
	p := filepath.Join(t.TempDir(), "refresh.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_REFRESH_JSON", p)
	code, stdout, stderr := f.run("upgrade", "--to", "1.32", "--dry-run", "--date", "2026-07-01")
	if code != 0 || !strings.Contains(stdout, "Kubernetes 1.31 -> 1.32 in 1 step(s)") || !strings.Contains(stdout, "node group node-group-od-v1-ut: 1.31 -> 1.32") {
		t.Errorf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	// A real run plans that step; the fake's apply leaves the state as it was, so verification stops it.
	f.show("plan-noop.json")
	code, _, stderr = f.run("upgrade", "--to", "1.32", "--skip-live-checks", "--date", "2026-07-01")
	if code != 1 || !strings.Contains(stderr, "step 1/1: Kubernetes 1.31 -> 1.32 failed: verify:") || !f.ran("apply") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}
