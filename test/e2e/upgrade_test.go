package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

const upgradeBucket = "tapstack-e2e-upgrade-state"

var upgradeNodeGroups = []string{"aws_eks_node_group.on_demand_node_group", "aws_eks_node_group.spot_node_group"}

// TestUpgrade moves a default-profile environment from Kubernetes 1.32 to 1.35 through `tapstack upgrade`, against
// the front's UpdateClusterVersion and UpdateNodegroupVersion (moto has neither), which follow EKS's rules: one
// minor version at a time, to a version offered on the front's day, node groups never ahead of the control plane
// and never left behind it, each change taking time. An upgrade that fails at 1.34 stops with everything on 1.33;
// run again, it reaches 1.35; an upgrade EKS's readiness checks block stops with a clear message; a dry run
// changes nothing. The environment keeps extended support (EKS refuses
// STANDARD on 1.32, which is past its end of standard support on the test's day).
func TestUpgrade(t *testing.T) {
	t.Parallel()        // each test has its own moto, front, bucket and working copy
	start := time.Now() // clock: the test's duration, logged
	harness.TerraformBinary(t)
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	harness.CreateBucket(t, front.URL, upgradeBucket, harness.Region)
	d := &deployStack{
		endpoint: front.URL,
		env:      deployEnv(front.URL, harness.TerraformCLIConfig(t)),
		bucket:   upgradeBucket,
		suffix:   "e2eup",
	}
	wc := newWorkingCopy(t)
	defer func() { t.Logf("TestUpgrade took %s", time.Since(start).Round(time.Second)) }()
	cfg := filepath.Join(wc, "extended.yaml")
	if err := os.WriteFile(cfg, []byte("cluster:\n  upgradeSupportType: EXTENDED\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"1_deploy_on_1_32", func(t *testing.T) {
			d.run(t, wc, 0, "deploy", "--config", cfg, "--kubernetes-version", "1.32", "--skip-live-checks")
			d.wantVersions(t, "1.32")
		}},
		{"2_failure_at_1_34_leaves_1_33", func(t *testing.T) {
			front.FailClusterUpgradeTo("1.34")
			r := d.run(t, wc, 1, "upgrade", "--config", cfg, "--to", "1.35")
			for _, want := range []string{"step 1/3: Kubernetes 1.32 -> 1.33\n", "step 1/3 done: the cluster and its 2 node group(s) are on Kubernetes 1.33",
				"step 2/3: Kubernetes 1.33 -> 1.34\n"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("upgrade output lacks %q:\n%s", want, r.stdout)
				}
			}
			for _, want := range []string{"tapstack upgrade: step 2/3: Kubernetes 1.33 -> 1.34 failed: apply:", "InsufficientFreeAddresses",
				"now the cluster and its 2 node group(s) are on Kubernetes 1.33", "tapstack upgrade --to 1.35 again"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the failure does not say %q:\n%s", want, tail(r.stderr, 20))
				}
			}
			if strings.Contains(r.stdout, "step 3/3") {
				t.Errorf("the upgrade went on after the failed step:\n%s", r.stdout)
			}
			d.wantVersions(t, "1.33")
		}},
		{"3_upgrade_again_reaches_1_35", func(t *testing.T) {
			front.FailClusterUpgradeTo("")
			r := d.run(t, wc, 0, "upgrade", "--config", cfg, "--to", "1.35")
			for _, want := range []string{"Kubernetes 1.33 -> 1.35 in 2 step(s)", "step 1/2: Kubernetes 1.33 -> 1.34\n",
				"step 1/2 done: the cluster and its 2 node group(s) are on Kubernetes 1.34", "step 2/2: Kubernetes 1.34 -> 1.35\n",
				"step 2/2 done: the cluster and its 2 node group(s) are on Kubernetes 1.35", "upgraded cluster eks-cluster-v1-e2eup to Kubernetes 1.35"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("upgrade output lacks %q:\n%s", want, r.stdout)
				}
			}
			d.wantVersions(t, "1.35")
			d.wantAddonsFor(t, "1.35")
			d.run(t, wc, 0, "plan", "--config", cfg, "--detailed-exitcode", "--kubernetes-version", "1.35")
		}},
		{"4_readiness_issue_stops_the_upgrade", func(t *testing.T) {
			// EKS's upgrade insights find a blocking issue: tapstack does not force, it stops and says why.
			front.BlockUpgrades(d.cluster(), "deprecated API usage")
			defer front.BlockUpgrades(d.cluster(), "")
			r := d.run(t, wc, 1, "upgrade", "--config", cfg, "--to", "1.36")
			for _, want := range []string{"step 1/1: Kubernetes 1.35 -> 1.36 failed: apply:", "InvalidStateException",
				"Upgrade readiness issues detected", "now the cluster and its 2 node group(s) are on Kubernetes 1.35"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the refusal does not say %q:\n%s", want, tail(r.stderr, 20))
				}
			}
			d.wantVersions(t, "1.35")
		}},
		{"5_dry_run_changes_nothing", func(t *testing.T) {
			before := d.state(t)
			r := d.run(t, wc, 0, "upgrade", "--config", cfg, "--to", "1.36", "--dry-run")
			for _, want := range []string{"Kubernetes 1.35 -> 1.36 in 1 step(s) (dry run", "step 1/1: Kubernetes 1.35 -> 1.36\n",
				"  control plane: 1.35 -> 1.36\n", "  add-on kube-proxy: v1.35.0-eksbuild.1 -> v1.36.0-eksbuild.1 (EKS's default for 1.36)\n",
				"  node group node-group-od-v1-e2eup: 1.35 -> 1.36\n", "  node group node-group-spot-v1-e2eup: 1.35 -> 1.36\n"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("the dry run lacks %q:\n%s", want, r.stdout)
				}
			}
			if after := d.state(t); after.Serial != before.Serial {
				t.Errorf("the dry run changed the state: serial %d -> %d", before.Serial, after.Serial)
			}
			d.wantVersions(t, "1.35")
		}},
		{"6_destroy", func(t *testing.T) {
			d.run(t, wc, 0, "destroy", "--config", cfg, "--yes")
			if left := d.state(t); len(left.Resources) != 0 {
				t.Errorf("the state still holds %v", left.managed())
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %s failed; the later steps depend on it", s.name)
		}
	}
}

// wantVersions checks that the state and EKS (DescribeCluster, DescribeNodegroup) both put the cluster and both
// node groups on version.
func (d *deployStack) wantVersions(t *testing.T, version string) {
	t.Helper()
	st := d.state(t)
	if got := st.attr("aws_eks_cluster.eks_cluster", "version"); got != version {
		t.Errorf("the state's cluster is on %v, want %s", got, version)
	}
	ctx := testContext(t)
	c := eksAPI(d.endpoint)
	cl, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
	if err != nil {
		t.Fatalf("describe cluster: %v", err)
	}
	if got := aws.ToString(cl.Cluster.Version); got != version {
		t.Errorf("EKS reports the cluster on %s, want %s", got, version)
	}
	for _, addr := range upgradeNodeGroups {
		if got := st.attr(addr, "version"); got != version {
			t.Errorf("the state's %s is on %v, want %s", addr, got, version)
		}
		name, _ := st.attr(addr, "node_group_name").(string)
		ng, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(d.cluster()), NodegroupName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe node group %q: %v", name, err)
		}
		if got := aws.ToString(ng.Nodegroup.Version); got != version {
			t.Errorf("EKS reports node group %s on %s, want %s", name, got, version)
		}
	}
}

// wantAddonsFor checks that every add-on of the cluster runs a build EKS offers for Kubernetes k8s.
func (d *deployStack) wantAddonsFor(t *testing.T, k8s string) {
	t.Helper()
	ctx := testContext(t)
	c := eksAPI(d.endpoint)
	list, err := c.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: aws.String(d.cluster())})
	if err != nil {
		t.Fatalf("list add-ons: %v", err)
	}
	if want := []string{"amazon-cloudwatch-observability", "aws-ebs-csi-driver", "coredns", "eks-node-monitoring-agent",
		"eks-pod-identity-agent", "kube-proxy", "metrics-server", "vpc-cni"}; !slices.Equal(list.Addons, want) {
		t.Errorf("add-ons %v, want %v", list.Addons, want)
	}
	for _, name := range list.Addons {
		a, err := c.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(d.cluster()), AddonName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe add-on %s: %v", name, err)
		}
		v := aws.ToString(a.Addon.AddonVersion)
		offered, err := c.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String(name), KubernetesVersion: aws.String(k8s)})
		if err != nil {
			t.Fatalf("add-on versions of %s: %v", name, err)
		}
		ok := false
		for _, ai := range offered.Addons {
			for _, av := range ai.AddonVersions {
				ok = ok || aws.ToString(av.AddonVersion) == v
			}
		}
		if !ok {
			t.Errorf("add-on %s runs %s, which EKS does not offer for Kubernetes %s", name, v, k8s)
		}
	}
}
