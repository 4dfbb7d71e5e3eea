package kubeapi

import (
	"context"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Finalizers the controllers Cloud plays put on what they own.
const (
	// LoadBalancerCleanupFinalizer is the cloud provider's service controller's (and the AWS Load Balancer
	// Controller's) on a Service of type LoadBalancer: removed once the load balancer is deleted.
	LoadBalancerCleanupFinalizer = "service.kubernetes.io/load-balancer-cleanup"
	// IngressFinalizer is the AWS Load Balancer Controller's on an Ingress it serves (its group's finalizer,
	// ingress.k8s.aws/resources for an Ingress alone): removed once the ALB is deleted.
	IngressFinalizer = "ingress.k8s.aws/resources"
	// EBSProvisioner is the EBS CSI driver, the provisioner Cloud plays.
	EBSProvisioner = "ebs.csi.aws.com"
)

// Cloud plays, against the API server, the parts of EKS that cannot run here, by polling what they watch:
//
//   - the AWS Load Balancer Controller and the cloud provider's service controller: they add their finalizer to
//     each Ingress and Service of type LoadBalancer, and when one is being deleted call DeleteLoadBalancer (the
//     e2e tests delete the load balancer in moto there) and remove the finalizer;
//   - the EBS CSI driver's external provisioner: a PersistentVolume it provisioned (ProvisionedByAnnotation is
//     EBSProvisioner) with reclaim policy Delete, once Released (kube-controller-manager's binder says so when its
//     claim is gone), has its volume deleted (DeleteVolume, with the CSI volume handle) and then the object;
//   - the kubelet, for pods on a node only: a pod being deleted is deleted at once (grace period 0), as the
//     kubelet does once its containers stopped.
//
// It makes no load balancer or volume itself: the tests create PersistentVolumes as the provisioner would.
type Cloud struct {
	Client kubernetes.Interface
	// DeleteLoadBalancer and DeleteVolume are called before the finalizer goes or the volume is deleted; nil does
	// nothing. An error leaves the object for the next round.
	DeleteLoadBalancer func(ctx context.Context, kind, namespace, name string) error
	DeleteVolume       func(ctx context.Context, volumeID string) error

	mu      sync.Mutex
	deleted []string
}

// Deleted lists what Cloud deleted in the cloud, in order: "load balancer of Service NS/NAME", "volume ID".
func (c *Cloud) Deleted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.deleted)
}

func (c *Cloud) record(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = append(c.deleted, s)
}

// Start runs Cloud every 100ms until the test ends.
func (c *Cloud) Start(t interface{ Cleanup(func()) }) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			c.Round(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond): // clock: a polling interval
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// Round does one pass; errors (a conflict with a controller's update) are retried by the next one.
func (c *Cloud) Round(ctx context.Context) {
	ings, err := c.Client.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	if err == nil {
		for i := range ings.Items {
			c.ingress(ctx, &ings.Items[i])
		}
	}
	svcs, err := c.Client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err == nil {
		for i := range svcs.Items {
			if svcs.Items[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
				c.service(ctx, &svcs.Items[i])
			}
		}
	}
	pvs, err := c.Client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err == nil {
		for i := range pvs.Items {
			c.volume(ctx, &pvs.Items[i])
		}
	}
	pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil && p.Spec.NodeName != "" {
				_ = c.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))})
			}
		}
	}
}

func (c *Cloud) ingress(ctx context.Context, in *networkingv1.Ingress) {
	api := c.Client.NetworkingV1().Ingresses(in.Namespace)
	switch {
	case in.DeletionTimestamp == nil && !slices.Contains(in.Finalizers, IngressFinalizer):
		in.Finalizers = append(in.Finalizers, IngressFinalizer)
		_, _ = api.Update(ctx, in, metav1.UpdateOptions{})
	case in.DeletionTimestamp != nil && slices.Contains(in.Finalizers, IngressFinalizer):
		if !c.deleteLB(ctx, "Ingress", in.Namespace, in.Name) {
			return
		}
		in.Finalizers = slices.DeleteFunc(in.Finalizers, func(f string) bool { return f == IngressFinalizer })
		_, _ = api.Update(ctx, in, metav1.UpdateOptions{})
	}
}

func (c *Cloud) service(ctx context.Context, s *corev1.Service) {
	api := c.Client.CoreV1().Services(s.Namespace)
	switch {
	case s.DeletionTimestamp == nil && !slices.Contains(s.Finalizers, LoadBalancerCleanupFinalizer):
		s.Finalizers = append(s.Finalizers, LoadBalancerCleanupFinalizer)
		_, _ = api.Update(ctx, s, metav1.UpdateOptions{})
	case s.DeletionTimestamp != nil && slices.Contains(s.Finalizers, LoadBalancerCleanupFinalizer):
		if !c.deleteLB(ctx, "Service", s.Namespace, s.Name) {
			return
		}
		s.Finalizers = slices.DeleteFunc(s.Finalizers, func(f string) bool { return f == LoadBalancerCleanupFinalizer })
		_, _ = api.Update(ctx, s, metav1.UpdateOptions{})
	}
}

func (c *Cloud) deleteLB(ctx context.Context, kind, ns, name string) bool {
	if c.DeleteLoadBalancer != nil {
		if err := c.DeleteLoadBalancer(ctx, kind, ns, name); err != nil {
			return false
		}
	}
	c.record("load balancer of " + kind + " " + ns + "/" + name)
	return true
}

func (c *Cloud) volume(ctx context.Context, pv *corev1.PersistentVolume) {
	if pv.Annotations[provisionedBy] != EBSProvisioner || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.Status.Phase != corev1.VolumeReleased || pv.DeletionTimestamp != nil {
		return
	}
	id := ""
	if pv.Spec.CSI != nil {
		id = pv.Spec.CSI.VolumeHandle
	}
	if c.DeleteVolume != nil {
		if err := c.DeleteVolume(ctx, id); err != nil {
			return
		}
	}
	err := c.Client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{})
	if err == nil || apierrors.IsNotFound(err) {
		c.record("volume " + id)
	}
}

// provisionedBy is incluster.ProvisionedByAnnotation, written out: the harness plays Kubernetes, not tapstack.
const provisionedBy = "pv.kubernetes.io/provisioned-by"
