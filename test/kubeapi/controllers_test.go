package kubeapi_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/test/kubeapi"
)

// runPod plays the scheduler and the kubelet for a pod: binds it to a node, then reports it running and ready
// through the status subresource.
func runPod(t *testing.T, ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, nodeName string) {
	t.Helper()
	if pod.Spec.NodeName == "" {
		if err := c.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name},
			Target: corev1.ObjectReference{Kind: "Node", Name: nodeName}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind %s: %v", pod.Name, err)
		}
	}
	p, err := c.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	if _, err := c.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("mark %s ready: %v", pod.Name, err)
	}
}

// TestKubeControllerManager runs kube-controller-manager beside the API server and shows the controllers the
// tests rely on at work: a Deployment gets a ReplicaSet and pods, a PodDisruptionBudget's status follows its pods'
// readiness, a claim's protection finalizer comes off once no scheduled pod uses it, and the garbage collector
// deletes a deleted Deployment's ReplicaSet. None of it happens with the API server alone.
func TestKubeControllerManager(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := kubeapi.Start(t, kubeapi.Options{ControllerManager: true})
	c, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "default"
	for _, n := range []string{"node-a", "node-b"} {
		kubeapi.CreateNode(t, ctx, c, n)
	}

	labels := map[string]string{"app": "web"}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: new(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: kubeapi.PauseContainer()}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: new(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The deployment controller makes a ReplicaSet, the replicaset controller its two pods.
	var rs appsv1.ReplicaSet
	kubeapi.Eventually(t, 2*time.Minute, "the Deployment's ReplicaSet", func() (bool, string) {
		list, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 1 {
			return false, fmt.Sprintf("%d ReplicaSets, %v\n%s", lenOf(list), err, srv.Logs())
		}
		rs = list.Items[0]
		return true, ""
	})
	if own := metav1.GetControllerOf(&rs); own == nil || own.Kind != "Deployment" || own.Name != "web" {
		t.Errorf("ReplicaSet %s is controlled by %+v, want Deployment web", rs.Name, own)
	}
	var pods []corev1.Pod
	kubeapi.Eventually(t, 2*time.Minute, "the ReplicaSet's pods", func() (bool, string) {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(list.Items) != 2 {
			return false, fmt.Sprintf("%v, %v", list, err)
		}
		pods = list.Items
		return true, ""
	})
	for _, p := range pods {
		if own := metav1.GetControllerOf(&p); own == nil || own.Kind != "ReplicaSet" || own.Name != rs.Name {
			t.Errorf("pod %s is controlled by %+v, want ReplicaSet %s", p.Name, own, rs.Name)
		}
	}

	// The disruption controller: no pod ready yet, so none healthy and no disruption allowed.
	pdbStatus := func(healthy, allowed int32) func() (bool, string) {
		return func() (bool, string) {
			pdb, err := c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			s := pdb.Status
			return s.ObservedGeneration == pdb.Generation && s.ExpectedPods == 2 && s.DesiredHealthy == 1 &&
				s.CurrentHealthy == healthy && s.DisruptionsAllowed == allowed, fmt.Sprintf("%+v", s)
		}
	}
	kubeapi.Eventually(t, time.Minute, "PDB status with no pod ready", pdbStatus(0, 0))
	for i, p := range pods {
		runPod(t, ctx, c, &p, []string{"node-a", "node-b"}[i])
	}
	kubeapi.Eventually(t, time.Minute, "PDB status with both pods ready", pdbStatus(2, 1))

	// Claims: the API server's admission adds kubernetes.io/pvc-protection; only the controller removes it, once
	// no scheduled pod uses the claim.
	claim := func(name string) {
		t.Helper()
		pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: new("none"),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(pvc.Finalizers, "kubernetes.io/pvc-protection") {
			t.Fatalf("claim %s created with finalizers %v, want kubernetes.io/pvc-protection", name, pvc.Finalizers)
		}
	}
	claim("unused")
	claim("used")
	user := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "user", Namespace: ns}, Spec: corev1.PodSpec{
		NodeName: "node-a", Containers: kubeapi.PauseContainer(),
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "used"}}}}}}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, user, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"unused", "used"} {
		if err := c.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(name string) func() (bool, string) {
		return func() (bool, string) {
			pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, ""
			}
			return false, fmt.Sprintf("%v, finalizers %v", err, finalizers(pvc))
		}
	}
	kubeapi.Eventually(t, time.Minute, "the unused claim's deletion", gone("unused"))
	if pvc, err := c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "used", metav1.GetOptions{}); err != nil ||
		pvc.DeletionTimestamp == nil || !slices.Contains(pvc.Finalizers, "kubernetes.io/pvc-protection") {
		t.Errorf("the claim a scheduled pod uses: %v, finalizers %v; want it kept, terminating", err, finalizers(pvc))
	}
	// The pod goes (as the kubelet would confirm it stopped): the claim follows.
	if err := c.CoreV1().Pods(ns).Delete(ctx, "user", metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	kubeapi.Eventually(t, time.Minute, "the used claim's deletion once its pod is gone", gone("used"))

	// The garbage collector deletes what the Deployment owned.
	if err := c.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeapi.Eventually(t, time.Minute, "the deleted Deployment's ReplicaSet", func() (bool, string) {
		_, err := c.AppsV1().ReplicaSets(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

func lenOf(l *appsv1.ReplicaSetList) int {
	if l == nil {
		return 0
	}
	return len(l.Items)
}

func finalizers(pvc *corev1.PersistentVolumeClaim) []string {
	if pvc == nil {
		return nil
	}
	return pvc.Finalizers
}
