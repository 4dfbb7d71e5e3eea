package harness

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Nodes plays, against a test Kubernetes API server (test/kubeapi) behind the front's DescribeCluster, what the
// instances of the front's managed node groups and EKS's add-on installer do in a cluster's API, since neither
// EC2 instances nor kubelets exist here. Every few hundred milliseconds it reads the cluster's node groups and
// add-ons through the front's EKS API, as any client would, and:
//
//   - for each ACTIVE or UPDATING node group, keeps desiredSize Node objects (GROUP-node-N), as the kubelets of
//     its instances register them: labelled eks.amazonaws.com/nodegroup and eks.amazonaws.com/capacityType (EKS
//     user guide, managed-node-groups: the labels EKS puts on a group's nodes), Ready, with nodeInfo.kubeletVersion
//     of the group's Kubernetes version (vMINOR.4-eks-0a1b2c3, the form of an EKS AMI's kubelet);
//   - for a node group DELETING or gone, deletes its Node objects, as the cloud node lifecycle controller does
//     once their instances are terminated (kubernetes/cloud-provider-aws);
//   - once the coredns add-on is ACTIVE, keeps its Deployment kube-system/coredns of two replicas (the add-on's
//     manifest; terminationGracePeriodSeconds 0, as no kubelet confirms a stop here). With controllers (the test
//     runs kube-controller-manager) its ReplicaSet and pods come from there and its status from its pods (placed
//     by test/kubeapi.Scheduler); without, the harness reports it available, as the deployment controller would;
//   - SetReady turns a node's Ready condition off and on, as a kubelet that stops and resumes posting status.
//
// Pods are no business of it: a test places and readies its own (test/kubeapi.Workload).
type Nodes struct {
	t       testing.TB
	client  kubernetes.Interface
	eks     *eks.Client
	cluster string
	// controllers: kube-controller-manager runs, so coredns's Deployment gets its status from its pods.
	controllers bool

	mu       sync.Mutex
	notReady map[string]bool
	seen     map[string]string // node -> group, the nodes it made
	stop     context.CancelFunc
	done     chan struct{}
}

// StartNodes plays the nodes and add-on objects of cluster in the front at frontURL on the API server that
// client reaches, until the test ends; controllers says that kube-controller-manager runs there.
func StartNodes(t testing.TB, frontURL, cluster string, client kubernetes.Interface, controllers bool) *Nodes {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := &Nodes{t: t, client: client, cluster: cluster, controllers: controllers, notReady: map[string]bool{}, seen: map[string]string{}, stop: cancel,
		done: make(chan struct{}),
		eks: eks.New(eks.Options{Region: Region, BaseEndpoint: aws.String(frontURL),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})}
	go n.run(ctx)
	t.Cleanup(func() { cancel(); <-n.done })
	return n
}

// SetReady makes a node Ready or NotReady from now on.
func (n *Nodes) SetReady(ctx context.Context, node string, ready bool) error {
	n.mu.Lock()
	n.notReady[node] = !ready
	n.mu.Unlock()
	return n.writeStatus(ctx, node, "")
}

// Of lists the names of a node group's nodes in the API server, sorted.
func (n *Nodes) Of(ctx context.Context, group string) ([]string, error) {
	l, err := n.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "eks.amazonaws.com/nodegroup=" + group})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, x := range l.Items {
		out = append(out, x.Name)
	}
	sort.Strings(out)
	return out, nil
}

// WaitCoreDNS waits until coredns's Deployment is available, as the harness keeps it once the add-on is ACTIVE.
func (n *Nodes) WaitCoreDNS(ctx context.Context) error {
	for {
		d, err := n.client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err == nil && d.Spec.Replicas != nil && d.Status.AvailableReplicas == *d.Spec.Replicas {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("coredns's Deployment not available: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *Nodes) run(ctx context.Context) {
	defer close(n.done)
	var last string
	for {
		if err := n.sync(ctx); err != nil && ctx.Err() == nil && err.Error() != last {
			n.t.Logf("harness nodes: %v", err) // once per distinct error: the cluster may not exist yet
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// sync makes the API server's nodes those of the front's node groups, and coredns's Deployment.
func (n *Nodes) sync(ctx context.Context) error {
	if _, err := n.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(n.cluster)}); err != nil {
		var nf *ekstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil // not created yet: no nodes
		}
		return fmt.Errorf("describe cluster: %w", err)
	}
	list, err := n.eks.ListNodegroups(ctx, &eks.ListNodegroupsInput{ClusterName: aws.String(n.cluster)})
	if err != nil {
		return fmt.Errorf("list node groups: %w", err)
	}
	want := map[string]string{} // node -> group
	version := map[string]string{}
	capacity := map[string]string{}
	for _, g := range list.Nodegroups {
		out, err := n.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(n.cluster), NodegroupName: aws.String(g)})
		if err != nil {
			return fmt.Errorf("describe node group %s: %w", g, err)
		}
		ng := out.Nodegroup
		if ng.Status != ekstypes.NodegroupStatusActive && ng.Status != ekstypes.NodegroupStatusUpdating {
			continue
		}
		desired := 0
		if ng.ScalingConfig != nil && ng.ScalingConfig.DesiredSize != nil {
			desired = int(*ng.ScalingConfig.DesiredSize)
		}
		for i := 1; i <= desired; i++ {
			name := fmt.Sprintf("%s-node-%d", g, i)
			want[name], version[name], capacity[name] = g, aws.ToString(ng.Version), string(ng.CapacityType)
		}
	}
	for name, group := range want {
		if err := n.ensure(ctx, name, group, version[name], capacity[name]); err != nil {
			return err
		}
	}
	n.mu.Lock()
	var gone []string
	for name := range n.seen {
		if _, ok := want[name]; !ok {
			gone = append(gone, name)
		}
	}
	n.mu.Unlock()
	for _, name := range gone {
		if err := n.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete node %s: %w", name, err)
		}
		n.mu.Lock()
		delete(n.seen, name)
		n.mu.Unlock()
	}
	return n.coreDNS(ctx)
}

// ensure registers a node, as its kubelet would, and keeps its status.
func (n *Nodes) ensure(ctx context.Context, name, group, version, capacity string) error {
	n.mu.Lock()
	_, known := n.seen[name]
	n.mu.Unlock()
	if known {
		return nil
	}
	_, err := n.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"eks.amazonaws.com/nodegroup": group, "eks.amazonaws.com/capacityType": capacity, "kubernetes.io/hostname": name}}},
		metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	if err := n.writeStatus(ctx, name, version); err != nil {
		return err
	}
	n.mu.Lock()
	n.seen[name] = group
	n.mu.Unlock()
	return nil
}

// writeStatus posts a node's status: Ready unless SetReady said otherwise, and its kubelet's version (kept when
// version is empty).
func (n *Nodes) writeStatus(ctx context.Context, name, version string) error {
	node, err := n.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	n.mu.Lock()
	ready := !n.notReady[name]
	n.mu.Unlock()
	cond := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}
	if !ready {
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, "KubeletNotReady", "container runtime is down"
	}
	node.Status.Conditions = []corev1.NodeCondition{cond}
	if version != "" {
		node.Status.NodeInfo.KubeletVersion = "v" + strings.TrimPrefix(version, "v") + ".4-eks-0a1b2c3"
	}
	if _, err := n.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("status of node %s: %w", name, err)
	}
	return nil
}

// coreDNS keeps coredns's Deployment, available, once its add-on is ACTIVE.
func (n *Nodes) coreDNS(ctx context.Context) error {
	out, err := n.eks.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(n.cluster), AddonName: aws.String("coredns")})
	if err != nil || out.Addon.Status != ekstypes.AddonStatusActive {
		return nil // not installed (yet): nothing of it runs
	}
	deps := n.client.AppsV1().Deployments("kube-system")
	d, err := deps.Get(ctx, "coredns", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		two, zero := int32(2), int64(0)
		labels := map[string]string{"k8s-app": "kube-dns"}
		d, err = deps.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Labels: labels},
			Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &zero,
						Containers: []corev1.Container{{Name: "coredns", Image: "public.ecr.aws/eks-distro/coredns/coredns:v1.11.4"}}}}}},
			metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("coredns Deployment: %w", err)
	}
	if n.controllers || d.Status.AvailableReplicas == *d.Spec.Replicas {
		return nil
	}
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = *d.Spec.Replicas, *d.Spec.Replicas, *d.Spec.Replicas, *d.Spec.Replicas
	d.Status.ObservedGeneration = d.Generation
	if _, err := deps.UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("coredns Deployment status: %w", err)
	}
	return nil
}
