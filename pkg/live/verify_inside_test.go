package live

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/stack"
)

func kubeNode(name, group, kubelet string, ready corev1.ConditionStatus) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"eks.amazonaws.com/nodegroup": group}},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: kubelet},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "KubeletNotReady", Message: "PLEG is not healthy"}}}}
}

func deployment(ns, name string, replicas, available int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{AvailableReplicas: available}}
}

func daemonSet(ns, name string, desired, available int32) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: desired, NumberAvailable: available}}
}

// healthyInside is a cluster of the default profile as verify wants it inside: a Ready node on the configured
// version, coredns available.
func healthyInside() []runtime.Object {
	cfg, _ := config.Defaults("default")
	return []runtime.Object{kubeNode("n0", cfg.OnDemandGroupName(), "v"+cfg.Cluster.KubernetesVersion+".2-eks-b2c4f6e", corev1.ConditionTrue),
		deployment("kube-system", "coredns", 2, 2)}
}

// bare is an API server holding only objs.
func bare(objs ...runtime.Object) func(context.Context) (kubernetes.Interface, error) {
	return func(context.Context) (kubernetes.Interface, error) { return k8sfake.NewClientset(objs...), nil }
}

func verifyInside(t *testing.T, cfg *config.Config, f *fakeAWS, out outputs.Values, kube func(context.Context) (kubernetes.Interface, error)) *VerifyReport {
	t.Helper()
	st := stack.Build(cfg, stack.Options{})
	return Verify(context.Background(), f.clients(), VerifyInput{Config: cfg, Doc: st.Doc, Outputs: out, Kube: kube}, Options{Timeout: 5 * time.Second})
}

func item(r *VerifyReport, part, resource, field string) *Item {
	for i, it := range r.Items {
		if it.Part == part && it.Resource == resource && it.Field == field {
			return &r.Items[i]
		}
	}
	return nil
}

// partOK: every fact of the part was read and matched.
func partOK(r *VerifyReport, id string) bool {
	for _, p := range r.Parts {
		if p.ID == id {
			return p.Status == StatusOK
		}
	}
	return false
}

// Inside the cluster: every node Ready and on the minor version EKS reports for the cluster, and the add-ons'
// workloads available; coredns is required, the others are checked where they run.
func TestVerifyInsideTheCluster(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	k8s := cfg.Cluster.KubernetesVersion
	r := verifyInside(t, cfg, f, out, cluster(
		kubeNode("n1", cfg.OnDemandGroupName(), "v"+k8s+".2-eks-b2c4f6e", corev1.ConditionTrue),
		kubeNode("n2", cfg.SpotGroupName(), "v"+k8s+".2-eks-b2c4f6e", corev1.ConditionTrue),
		daemonSet("kube-system", "aws-node", 2, 2),
		deployment("amazon-cloudwatch", "amazon-cloudwatch-observability-controller-manager", 1, 1)))
	if !partOK(r, "nodes") || !partOK(r, "workloads") {
		t.Fatalf("a healthy cluster does not verify inside:\n%s", text(r))
	}
	for _, c := range []struct{ part, res, field string }{
		{"nodes", "node n1 (" + cfg.OnDemandGroupName() + ")", "Ready"},
		{"nodes", "node n2 (" + cfg.SpotGroupName() + ")", "kubelet minor version (nodeInfo.kubeletVersion)"},
		{"workloads", "Deployment kube-system/coredns (coredns)", "available pods"},
		{"workloads", "DaemonSet kube-system/aws-node (vpc-cni)", "available pods"},
		{"workloads", "Deployment amazon-cloudwatch/amazon-cloudwatch-observability-controller-manager (amazon-cloudwatch-observability)", "available pods"},
	} {
		if it := item(r, c.part, c.res, c.field); it == nil || it.Status != Match {
			t.Errorf("%s %s %s: %+v", c.part, c.res, c.field, it)
		}
	}
	if it := item(r, "workloads", "Deployment kube-system/metrics-server (metrics-server)", "exists"); it != nil {
		t.Errorf("an absent optional workload is reported: %+v", it)
	}

	// A NotReady node, a node a minor behind (EKS's version, not the API server's), coredns short of a pod, a
	// DaemonSet short of one: each a mismatch.
	r = verifyInside(t, cfg, f, out, bare(
		kubeNode("n1", cfg.OnDemandGroupName(), "v"+k8s+".2-eks-b2c4f6e", corev1.ConditionFalse),
		kubeNode("n2", cfg.SpotGroupName(), "v1.31.9-eks-0000000", corev1.ConditionTrue),
		deployment("kube-system", "coredns", 2, 1), daemonSet("kube-system", "kube-proxy", 2, 1)))
	wantMismatch(t, r, "node n1 ("+cfg.OnDemandGroupName()+")", "Ready", "True", "False")
	wantMismatch(t, r, "node n2 ("+cfg.SpotGroupName()+")", "kubelet minor version (nodeInfo.kubeletVersion)", k8s, "1.31")
	wantMismatch(t, r, "Deployment kube-system/coredns (coredns)", "available pods", "2", "1")
	wantMismatch(t, r, "DaemonSet kube-system/kube-proxy (kube-proxy)", "available pods", "2", "1")
	if it := item(r, "nodes", "node n1 ("+cfg.OnDemandGroupName()+")", "Ready"); it == nil || it.Note != "KubeletNotReady PLEG is not healthy" {
		t.Errorf("the kubelet's reason is not told: %+v", it)
	}
	r = verifyInside(t, cfg, f, out, bare())
	wantMismatch(t, r, cfg.ClusterName(), "nodes", "at least 1", "0: no node has joined")
	wantMismatch(t, r, "Deployment kube-system/coredns (coredns)", "exists", "yes", "no such Deployment")
}

// An API out of reach is said for each inside check, which it skipped: an error, so verify does not pass; a
// caller the cluster refuses is not checked. Left out on request, they are listed as skipped.
func TestVerifyInsideUnreachable(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	out["kms_key_arn"] = clusterKey
	r := verifyInside(t, cfg, f, out, func(context.Context) (kubernetes.Interface, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("i/o timeout")}
	})
	if r.OK() || r.Summary.Mismatched != 0 || r.Summary.Errors != 4 { // nodes, workloads, StorageClass, Cluster Autoscaler
		t.Fatalf("summary %+v", r.Summary)
	}
	for _, check := range InsideChecks {
		it := item(r, map[string]string{InsideChecks[0]: "nodes", InsideChecks[1]: "workloads"}[check], "cluster "+cfg.ClusterName()+"'s Kubernetes API", check)
		if it == nil || it.Status != Failed || !strings.HasPrefix(it.Note, "skipped: cannot reach the Kubernetes API") {
			t.Errorf("%s: %+v", check, it)
		}
	}
	if !strings.Contains(text(r), "ERROR    cluster "+cfg.ClusterName()+"'s Kubernetes API "+InsideChecks[0]+": skipped: cannot reach") {
		t.Errorf("report:\n%s", text(r))
	}

	r = verifyInside(t, cfg, f, out, func(context.Context) (kubernetes.Interface, error) {
		return nil, apierrors.NewUnauthorized("Unauthorized")
	})
	if it := item(r, "nodes", "cluster "+cfg.ClusterName()+"'s Kubernetes API", InsideChecks[0]); it == nil || it.Status != NotChecked ||
		!strings.Contains(it.Note, "refused the caller") {
		t.Errorf("refused caller: %+v", it)
	}

	st := stack.Build(cfg, stack.Options{})
	r = Verify(context.Background(), f.clients(), VerifyInput{Config: cfg, Doc: st.Doc, Outputs: out, KubeSkipped: "not verified (--skip-in-cluster)"},
		Options{Timeout: 5 * time.Second})
	if !r.OK() || len(r.Skipped) != 4 || !strings.Contains(text(r), "SKIPPED  add-on workloads available: not verified (--skip-in-cluster)") { // with the StorageClass and the Cluster Autoscaler
		t.Errorf("skipped on request: %+v\n%s", r.Summary, text(r))
	}
}

// After a roll the outputs name the group's alternate generation: verify checks that group.
func TestVerifyFollowsTheNodeGroupGeneration(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	cl := cfg.ClusterName()
	b := config.AlternateGroupName(cfg.OnDemandGroupName())
	ng := *f.nodegroups[cl+"/"+cfg.OnDemandGroupName()]
	ng.NodegroupName = aws.String(b)
	delete(f.nodegroups, cl+"/"+cfg.OnDemandGroupName())
	f.nodegroups[cl+"/"+b] = &ng
	out["on_demand_node_group_name"] = b
	if r := verify(t, f, cfg, out); !r.OK() {
		t.Errorf("generation B does not verify: %+v", r.Mismatches())
	}
	out["on_demand_node_group_name"] = "node-group-other"
	f.nodegroups[cl+"/node-group-other"] = &ng
	r := verify(t, f, cfg, out)
	wantMismatch(t, r, cfg.OnDemandGroupName(), "output on_demand_node_group_name", cfg.OnDemandGroupName(), "node-group-other")
}
