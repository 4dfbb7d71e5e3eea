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

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/versions"
)

// InsideChecks name what verify checks through the cluster's Kubernetes API, for the report of what it skipped
// when the API cannot be reached.
var InsideChecks = []string{"nodes Ready and on the cluster's Kubernetes version", "add-on workloads available"}

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

// insideUnreachable is the item of an inside check that could not be made, and why: never a pass. An endpoint
// out of reach is an error, a caller the cluster refuses is not checked (kubeFailure).
func insideUnreachable(ctx context.Context, v *verifier, check string, err error) []Item {
	it := kubeFailure(ctx, v.cfg, "cluster "+v.cfg.ClusterName()+"'s Kubernetes API", err)
	it.Field = check
	if it.Status == NotChecked {
		it.Note = fmt.Sprintf("cluster %s refused the caller (%s); `tapstack kubeconfig` says whether it has an access entry",
			v.cfg.ClusterName(), short(err))
	}
	it.Note = "skipped: " + it.Note
	return []Item{it}
}

// verifyNodes checks every node: Ready, and its kubelet on the cluster's minor version as EKS reports it (the API
// server's own /version says what the control plane binary is, not what EKS calls the cluster).
func verifyNodes(ctx context.Context, v *verifier) []Item {
	client, err := v.kube(ctx)
	if err != nil {
		return insideUnreachable(ctx, v, InsideChecks[0], err)
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
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return insideUnreachable(ctx, v, InsideChecks[0], err)
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
	client, err := v.kube(ctx)
	if err != nil {
		return insideUnreachable(ctx, v, InsideChecks[1], err)
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
			d, e := client.AppsV1().Deployments(w.namespace).Get(ctx, w.name, metav1.GetOptions{})
			if err = e; e == nil {
				want = 1
				if d.Spec.Replicas != nil {
					want = *d.Spec.Replicas
				}
				have = d.Status.AvailableReplicas
			}
		case "DaemonSet":
			d, e := client.AppsV1().DaemonSets(w.namespace).Get(ctx, w.name, metav1.GetOptions{})
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
			items = append(items, kubeFailure(ctx, v.cfg, res, err))
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
