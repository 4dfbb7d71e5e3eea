package live

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/versions"
)

// InsideChecks name what verify checks through the cluster's Kubernetes API, for the report of what it skipped
// when the API cannot be reached.
var InsideChecks = []string{"nodes Ready and on the cluster's Kubernetes version", "add-on workloads available"}

// Kube is verify's way into the cluster's Kubernetes API: a client, or why there is none.
type Kube struct {
	Client kubernetes.Interface
	// Endpoint is the API's URL, for messages.
	Endpoint string
	// Err says why the API cannot be reached (or refused the caller); the inside checks are then not checked.
	Err error
}

// workload is a Deployment or DaemonSet an add-on runs.
type workload struct {
	addon, namespace, kind, name string
	required                     bool
}

// addonWorkloads are what the add-ons run in the cluster, under the names their manifests give: coredns's
// Deployment (EKS user guide, managing-coredns), the DaemonSets aws-node (managing-vpc-cni), kube-proxy
// (managing-kube-proxy) and eks-pod-identity-agent (pod-id-agent-setup), the EBS CSI driver's controller
// Deployment and node DaemonSet (aws-ebs-csi-driver's chart), metrics-server's Deployment (EKS user guide,
// metrics-server), the CloudWatch add-on's operator Deployment and agent and Fluent Bit DaemonSets in
// amazon-cloudwatch (CloudWatch user guide, install-CloudWatch-Observability-EKS-addon), the node monitoring
// agent's DaemonSet (EKS user guide, node-health-nma). Every cluster with nodes runs CoreDNS, managed or not,
// so it is required; the others are checked where present.
var addonWorkloads = []workload{
	{"coredns", "kube-system", "Deployment", "coredns", true},
	{"vpc-cni", "kube-system", "DaemonSet", "aws-node", false},
	{"kube-proxy", "kube-system", "DaemonSet", "kube-proxy", false},
	{"eks-pod-identity-agent", "kube-system", "DaemonSet", "eks-pod-identity-agent", false},
	{"aws-ebs-csi-driver", "kube-system", "Deployment", "ebs-csi-controller", false},
	{"aws-ebs-csi-driver", "kube-system", "DaemonSet", "ebs-csi-node", false},
	{"metrics-server", "kube-system", "Deployment", "metrics-server", false},
	{"amazon-cloudwatch-observability", "amazon-cloudwatch", "Deployment", "amazon-cloudwatch-observability-controller-manager", false},
	{"amazon-cloudwatch-observability", "amazon-cloudwatch", "DaemonSet", "cloudwatch-agent", false},
	{"amazon-cloudwatch-observability", "amazon-cloudwatch", "DaemonSet", "fluent-bit", false},
	{"eks-node-monitoring-agent", "kube-system", "DaemonSet", "eks-node-monitoring-agent", false},
}

// skippedInside is the item of an inside check that could not run, and why: never a pass.
func (v *verifier) skippedInside(check string) []Item {
	where := "the cluster's Kubernetes API"
	if v.kube.Endpoint != "" {
		where += " at " + v.kube.Endpoint
	}
	note := fmt.Sprintf("skipped: %v; run verify where the endpoint can be reached (from inside the VPC when it is private)", v.kube.Err)
	if apierrors.IsUnauthorized(v.kube.Err) || apierrors.IsForbidden(v.kube.Err) {
		note = fmt.Sprintf("skipped: the cluster refused the caller (%v); `tapstack kubeconfig` says whether it has an access entry", v.kube.Err)
	}
	return []Item{{Resource: where, Field: check, Status: NotChecked, Note: note}}
}

// verifyNodes checks every node: Ready, and its kubelet on the cluster's minor version as EKS reports it (the API
// server's own /version says what the control plane binary is, not what EKS calls the cluster).
func verifyNodes(ctx context.Context, v *verifier) []Item {
	const check = "nodes Ready and on the cluster's Kubernetes version"
	if v.kube.Client == nil {
		return v.skippedInside(check)
	}
	cluster := v.clusterName()
	cl, err := describeCluster(ctx, v.c.EKS, cluster)
	if err != nil {
		return []Item{failure(ctx, cluster, "version (for the nodes)", err)}
	}
	if cl == nil {
		return []Item{{Resource: cluster, Field: "exists", Expected: "yes", Actual: "no such cluster", Status: Mismatch}}
	}
	version := aws.ToString(cl.Version)
	list, err := v.kube.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return []Item{insideFailure(cluster, "nodes", err)}
	}
	var items []Item
	if len(list.Items) == 0 && v.cfg.Cluster.Compute != config.ComputeAuto && wantsNodes(v.cfg) {
		items = append(items, Item{Resource: cluster, Field: "nodes", Expected: "at least 1", Actual: "0: no node has joined", Status: Mismatch})
	}
	for i := range list.Items {
		n := &list.Items[i]
		res := "node " + n.Name
		if g := n.Labels["eks.amazonaws.com/nodegroup"]; g != "" {
			res += " (" + g + ")"
		}
		ready, why := nodeCondition(n)
		it := compare(res, "Ready", "True", ready)
		if why != "" {
			it.Note = why
		}
		items = append(items, it)
		kubelet := n.Status.NodeInfo.KubeletVersion
		it = compare(res, "kubelet minor version (nodeInfo.kubeletVersion)", version, minorOf(kubelet))
		it.Note = kubelet
		items = append(items, it)
	}
	return items
}

// wantsNodes: some node group should have nodes.
func wantsNodes(cfg *config.Config) bool {
	return cfg.NodeGroups.OnDemand.DesiredSize > 0 || cfg.NodeGroups.Spot.DesiredSize > 0
}

// nodeCondition is a node's Ready status and, when not True, the kubelet's reason and message.
func nodeCondition(n *corev1.Node) (status, why string) {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status != corev1.ConditionTrue {
				why = strings.TrimSpace(c.Reason + " " + c.Message)
			}
			return string(c.Status), why
		}
	}
	return "no Ready condition", ""
}

// minorOf reads the minor version of a kubelet version (v1.34.2-eks-b2c4f6e is 1.34); the string itself when it
// is not one.
func minorOf(kubelet string) string {
	s := strings.TrimPrefix(kubelet, "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return kubelet
	}
	m := parts[0] + "." + parts[1]
	if _, _, ok := versions.ParseMinor(m); !ok {
		return kubelet
	}
	return m
}

// verifyWorkloads checks the add-ons' Deployments and DaemonSets: each has as many available pods as it wants.
func verifyWorkloads(ctx context.Context, v *verifier) []Item {
	const check = "add-on workloads available"
	if v.kube.Client == nil {
		return v.skippedInside(check)
	}
	var items []Item
	for _, w := range addonWorkloads {
		if w.required && v.cfg.Cluster.Compute == config.ComputeAuto {
			w.required = false // Auto Mode runs CoreDNS itself, outside the cluster's workloads
		}
		res := fmt.Sprintf("%s %s/%s (%s)", w.kind, w.namespace, w.name, w.addon)
		var want, have int32
		var err error
		switch w.kind {
		case "Deployment":
			d, e := v.kube.Client.AppsV1().Deployments(w.namespace).Get(ctx, w.name, metav1.GetOptions{})
			if err = e; e == nil {
				want = 1
				if d.Spec.Replicas != nil {
					want = *d.Spec.Replicas
				}
				have = d.Status.AvailableReplicas
			}
		case "DaemonSet":
			d, e := v.kube.Client.AppsV1().DaemonSets(w.namespace).Get(ctx, w.name, metav1.GetOptions{})
			if err = e; e == nil {
				want, have = d.Status.DesiredNumberScheduled, d.Status.NumberAvailable
			}
		}
		switch {
		case apierrors.IsNotFound(err) && !w.required:
			continue
		case apierrors.IsNotFound(err):
			items = append(items, Item{Resource: res, Field: "exists", Expected: "yes", Actual: "no such " + w.kind, Status: Mismatch})
		case err != nil:
			items = append(items, insideFailure(res, "available", err))
		default:
			it := Item{Resource: res, Field: "available pods", Expected: strconv.Itoa(int(want)), Actual: strconv.Itoa(int(have)), Status: Match}
			if have < want {
				it.Status = Mismatch
			}
			items = append(items, it)
		}
	}
	return items
}

// insideFailure turns a Kubernetes API error into an item: a refusal is not checked, anything else an error.
func insideFailure(resource, field string, err error) Item {
	it := Item{Resource: resource, Field: field, Status: Failed, Note: err.Error()}
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		it.Status, it.Note = NotChecked, "the cluster refused the caller: "+err.Error()
	}
	return it
}
