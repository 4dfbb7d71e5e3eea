package lifecycle

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tapstack/tapstack/internal/incluster"
)

const testKey = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"

// deployOnce deploys a new environment whose apply leaves a VPC and, when key is set, the stack's KMS key.
func deployOnce(t *testing.T, h *harness, key string, do DeployOptions) (*DeployResult, error) {
	t.Helper()
	after := []*tfjson.StateResource{resource("aws_vpc.vpc", map[string]any{"id": "vpc-1"})}
	if key != "" {
		after = append(after, resource("aws_kms_key.eks_kms_key", map[string]any{"arn": key}))
	}
	h.eng.plans = []fakePlan{{changes: []*tfjson.ResourceChange{change("aws_vpc.vpc", create)}, after: state(after...)}}
	do.SkipLive = true
	do.Outputs = OutputsOptions{File: t.TempDir() + "/o.json"}
	return Deploy(context.Background(), h.prepared(), h.options(), do)
}

// After the apply, deploy applies the default StorageClass with the key the state holds, and says what it did.
// (What the apply does in a cluster is test/incluster's, against a real API server.)
func TestDeployAppliesTheDefaultStorageClass(t *testing.T) {
	h := newHarness(t, nil)
	res, err := deployOnce(t, h, testKey, DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h.kubeCalls != 1 {
		t.Errorf("connected to the cluster %d times, want 1", h.kubeCalls)
	}
	sc, err := h.kube.StorageV1().StorageClasses().Get(context.Background(), incluster.DefaultStorageClassName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Parameters["kmsKeyId"] != testKey {
		t.Errorf("kmsKeyId %q, want the state's key %q", sc.Parameters["kmsKeyId"], testKey)
	}
	if res.InCluster == nil || !slices.Equal(res.InCluster.Lines(), []string{"StorageClass tapstack-gp3 created"}) {
		t.Errorf("in-cluster result %+v", res.InCluster)
	}
	if !slices.Contains(h.pr.phases, "default StorageClass") {
		t.Errorf("no default StorageClass phase: %v", h.pr.phases)
	}

	// Without a key in the state (encryption off): EBS's own key, no kmsKeyId.
	h2 := newHarness(t, nil)
	if _, err := deployOnce(t, h2, "", DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	sc, err = h2.kube.StorageV1().StorageClasses().Get(context.Background(), incluster.DefaultStorageClassName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Parameters["kmsKeyId"]; ok || sc.Parameters["encrypted"] != "true" {
		t.Errorf("without a key: parameters %v", sc.Parameters)
	}
}

// A cluster the runner cannot reach fails the deploy after the apply and the outputs, saying why and what to do;
// --skip-in-cluster instead lists what was not done and connects to nothing.
func TestDeployUnreachableCluster(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, c := range []struct {
		name        string
		public      bool
		hint, where string
	}{
		{"private endpoint", false, "private only (cluster.endpointPublicAccess is false)", "run tapstack deploy from inside the VPC"},
		{"public endpoint", true, "the runner's own network", "run tapstack deploy from a network that reaches the endpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.cfg.Cluster.EndpointPublicAccess = c.public
			h.kubeErr = refused
			res, err := deployOnce(t, h, testKey, DeployOptions{})
			var se *StepError
			if !errors.As(err, &se) || se.Step != "in-cluster" || Refused(err) {
				t.Fatalf("error %v (%T), want the in-cluster step's", err, err)
			}
			for _, want := range []string{"cannot reach the Kubernetes API of cluster eks-cluster-v1-ut", "connection refused",
				c.hint, c.where, "--skip-in-cluster"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q:\n%v", want, err)
				}
			}
			if res == nil || len(res.Outputs) == 0 || !slices.Contains(h.eng.runs, "apply") {
				t.Errorf("the apply or the outputs did not happen before: %+v, runs %q", res, h.runs())
			}
			if !slices.ContainsFunc(h.pr.notes, func(n string) bool { return strings.Contains(n, "the apply and the outputs file are done") }) {
				t.Errorf("no note that the rest is done: %v", h.pr.notes)
			}
		})
	}

	h := newHarness(t, nil)
	res, err := deployOnce(t, h, testKey, DeployOptions{SkipInCluster: true})
	if err != nil {
		t.Fatal(err)
	}
	if h.kubeCalls != 0 {
		t.Errorf("--skip-in-cluster connected to the cluster %d times", h.kubeCalls)
	}
	if lines := res.InCluster.Lines(); len(lines) != 1 || !strings.Contains(lines[0], "not done: the default StorageClass tapstack-gp3 was not applied") ||
		!strings.Contains(lines[0], "--skip-in-cluster") {
		t.Errorf("skipped: %q", lines)
	}
}

// Without the EBS CSI driver there is nothing to apply inside the cluster: no connection, no result.
func TestDeployWithoutEBSCSIDriverLeavesTheClusterAlone(t *testing.T) {
	h := newHarness(t, nil)
	h.cfg.Addons.EBSCSIDriver = false
	res, err := deployOnce(t, h, testKey, DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h.kubeCalls != 0 || res.InCluster != nil {
		t.Errorf("connected %d times, result %+v", h.kubeCalls, res.InCluster)
	}
}

// Each step of an upgrade applies the default StorageClass after its apply, and says so.
func TestUpgradeAppliesTheDefaultStorageClassAfterEachStep(t *testing.T) {
	h := newHarness(t, upgradeState("1.33"))
	h.cfg.Cluster.KubernetesVersion = "1.33"
	h.eng.plans = []fakePlan{
		{changes: []*tfjson.ResourceChange{change("aws_eks_cluster.eks_cluster", update)}, after: upgradeState("1.34")},
		{changes: []*tfjson.ResourceChange{change("aws_eks_cluster.eks_cluster", update)}, after: upgradeState("1.35")},
	}
	if _, err := Upgrade(context.Background(), h.prepared(), h.options(), UpgradeOptions{To: "1.35", SkipLive: true, ResolveAddons: fakeCatalog}); err != nil {
		t.Fatal(err)
	}
	out := h.pr.out.String()
	if h.kubeCalls != 2 || strings.Count(out, "StorageClass tapstack-gp3 created") != 1 || strings.Count(out, "StorageClass tapstack-gp3 unchanged") != 1 {
		t.Errorf("connected %d times, want 2 (one per step); output:\n%s", h.kubeCalls, out)
	}
}
