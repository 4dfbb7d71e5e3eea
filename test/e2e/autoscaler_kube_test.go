package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

// checkDeployedAutoscaler checks, after a deploy of the default profile, the Cluster Autoscaler in the API server
// (its Deployment on the release of the cluster's version, with the flags for this cluster, the region and its
// service account) and its identity in the front (the association of that service account with its role), and
// that deploy said it created it. It returns the Deployment.
func checkDeployedAutoscaler(t *testing.T, ctx context.Context, admin kubernetes.Interface, d *deployStack, stderr string) *appsv1.Deployment {
	t.Helper()
	version, _ := d.state(t).attr("aws_eks_cluster.eks_cluster", "version").(string)
	image := map[string]string{"1.35": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2",
		"1.36": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1"}[version]
	if image == "" {
		t.Fatalf("the cluster runs Kubernetes %q, which this test knows no release of", version)
	}
	dep, err := admin.AppsV1().Deployments("kube-system").Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the autoscaler's Deployment: %v", err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != image {
		t.Errorf("autoscaler image %s, want %s for Kubernetes %s", c.Image, image, version)
	}
	for _, flag := range []string{"--cloud-provider=aws", "--expander=priority", "--balance-similar-node-groups",
		"--skip-nodes-with-system-pods=false",
		"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/" + d.cluster()} {
		if !slices.Contains(c.Command, flag) {
			t.Errorf("the autoscaler's command lacks %s: %v", flag, c.Command)
		}
	}
	if len(c.Env) != 1 || c.Env[0].Name != "AWS_REGION" || c.Env[0].Value != harness.Region {
		t.Errorf("the autoscaler's env %+v, want AWS_REGION=%s", c.Env, harness.Region)
	}
	sa := dep.Spec.Template.Spec.ServiceAccountName
	if _, err := admin.CoreV1().ServiceAccounts("kube-system").Get(ctx, sa, metav1.GetOptions{}); err != nil || sa != "cluster-autoscaler" {
		t.Errorf("the autoscaler's service account %q: %v", sa, err)
	}
	id, _ := d.state(t).attr("aws_eks_pod_identity_association.cluster_autoscaler", "association_id").(string)
	as, err := eksAPI(d.endpoint).DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String(d.cluster()), AssociationId: aws.String(id)})
	if err != nil {
		t.Fatalf("the autoscaler's association: %v", err)
	}
	if a := as.Association; aws.ToString(a.Namespace) != "kube-system" || aws.ToString(a.ServiceAccount) != sa ||
		!strings.HasSuffix(aws.ToString(a.RoleArn), ":role/eks-cluster-autoscaler-role-v1-"+d.suffix) {
		t.Errorf("the association %+v does not give the Deployment's service account the autoscaler's role", a)
	}
	if !strings.Contains(stderr, "Cluster Autoscaler: Deployment cluster-autoscaler created\n") ||
		!strings.Contains(stderr, "Cluster Autoscaler runs "+image) {
		t.Errorf("deploy does not say it created the autoscaler:\n%s", tail(stderr, 30))
	}
	return dep
}

// markAutoscalerAvailable writes what the Deployment controller would once the autoscaler's pod is ready (no
// controller runs here); it returns the Deployment's resourceVersion after the write.
func markAutoscalerAvailable(t *testing.T, ctx context.Context, admin kubernetes.Interface) string {
	t.Helper()
	dep, err := admin.AppsV1().Deployments("kube-system").Get(ctx, incluster.AutoscalerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1,
		AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
			Reason: "MinimumReplicasAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	dep, err = admin.AppsV1().Deployments("kube-system").UpdateStatus(ctx, dep, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dep.ResourceVersion
}
