package live

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

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

func verifyInside(t *testing.T, cfg *config.Config, f *fakeAWS, out outputs.Values, kube *Kube) *VerifyReport {
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

// Inside the cluster: every node Ready and on the minor version EKS reports for the cluster, and the add-ons'
// workloads available; coredns is required, the others are checked where they run.
func TestVerifyInsideTheCluster(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	k8s := cfg.Cluster.KubernetesVersion
	objs := []runtime.Object{
		kubeNode("n1", cfg.OnDemandGroupName(), "v"+k8s+".2-eks-b2c4f6e", corev1.ConditionTrue),
		kubeNode("n2", cfg.SpotGroupName(), "v"+k8s+".2-eks-b2c4f6e", corev1.ConditionTrue),
		deployment("kube-system", "coredns", 2, 2), daemonSet("kube-system", "aws-node", 2, 2),
		deployment("amazon-cloudwatch", "amazon-cloudwatch-observability-controller-manager", 1, 1),
	}
	r := verifyInside(t, cfg, f, out, &Kube{Client: fake.NewClientset(objs...)})
	if !r.OK() {
		var b bytes.Buffer
		_ = r.WriteText(&b)
		t.Fatalf("a healthy cluster does not verify:\n%s", b.String())
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

	// A NotReady node, a node a minor behind (EKS's version, not the API server's), coredns short of a pod and
	// absent: each a mismatch.
	objs = []runtime.Object{
		kubeNode("n1", cfg.OnDemandGroupName(), "v"+k8s+".2-eks-b2c4f6e", corev1.ConditionFalse),
		kubeNode("n2", cfg.SpotGroupName(), "v1.31.9-eks-0000000", corev1.ConditionTrue),
		deployment("kube-system", "coredns", 2, 1), daemonSet("kube-system", "kube-proxy", 2, 1),
	}
	r = verifyInside(t, cfg, f, out, &Kube{Client: fake.NewClientset(objs...)})
	wantMismatch(t, r, "node n1 ("+cfg.OnDemandGroupName()+")", "Ready", "True", "False")
	wantMismatch(t, r, "node n2 ("+cfg.SpotGroupName()+")", "kubelet minor version (nodeInfo.kubeletVersion)", k8s, "1.31")
	wantMismatch(t, r, "Deployment kube-system/coredns (coredns)", "available pods", "2", "1")
	wantMismatch(t, r, "DaemonSet kube-system/kube-proxy (kube-proxy)", "available pods", "2", "1")
	if it := item(r, "nodes", "node n1 ("+cfg.OnDemandGroupName()+")", "Ready"); it == nil || it.Note != "KubeletNotReady PLEG is not healthy" {
		t.Errorf("the kubelet's reason is not told: %+v", it)
	}
	r = verifyInside(t, cfg, f, out, &Kube{Client: fake.NewClientset()})
	wantMismatch(t, r, cfg.ClusterName(), "nodes", "at least 1", "0: no node has joined")
	wantMismatch(t, r, "Deployment kube-system/coredns (coredns)", "exists", "yes", "no such Deployment")
}

// An API out of reach is said, with the checks it skipped: not checked, so verify does not pass.
func TestVerifyInsideUnreachable(t *testing.T) {
	cfg := defaults(t, "default")
	f, out := deployed(t, cfg)
	r := verifyInside(t, cfg, f, out, &Kube{Endpoint: "https://ABC.gr7.us-east-1.eks.amazonaws.com",
		Err: errors.New("dial tcp 10.0.1.5:443: i/o timeout")})
	if r.OK() || r.Summary.NotChecked != 2 || r.Summary.Mismatched != 0 {
		t.Fatalf("summary %+v", r.Summary)
	}
	var b bytes.Buffer
	_ = r.WriteText(&b)
	for _, check := range InsideChecks {
		want := "NOT-CHECKED the cluster's Kubernetes API at https://ABC.gr7.us-east-1.eks.amazonaws.com " + check + ": skipped: dial tcp 10.0.1.5:443: i/o timeout"
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	// Left out on request: listed as skipped, and no part of the report.
	st := stack.Build(cfg, stack.Options{})
	r = Verify(context.Background(), f.clients(), VerifyInput{Config: cfg, Doc: st.Doc, Outputs: out, KubeSkipped: "not verified (--skip-in-cluster)"},
		Options{Timeout: 5 * time.Second})
	b.Reset()
	_ = r.WriteText(&b)
	if !r.OK() || len(r.Skipped) != 2 || !strings.Contains(b.String(), "SKIPPED  add-on workloads available: not verified (--skip-in-cluster)") {
		t.Errorf("skipped on request: %+v\n%s", r.Summary, b.String())
	}
	r = verifyInside(t, cfg, f, out, &Kube{Err: apierrors.NewUnauthorized("Unauthorized")})
	if it := item(r, "nodes", "the cluster's Kubernetes API", InsideChecks[0]); it == nil || it.Status != NotChecked ||
		!strings.Contains(it.Note, "the cluster refused the caller") {
		t.Errorf("refused caller: %+v", it)
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
