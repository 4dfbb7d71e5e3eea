package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/test/e2e/harness"
	"github.com/tapstack/tapstack/test/kubeapi"
)

const storageBucket = "tapstack-e2e-storageclass-state"

// TestKubeDeployStorageClass deploys the default profile on moto and the front, whose DescribeCluster points at a
// real API server that authenticates tapstack's EKS token through the emulator's STS: deploy applies the default
// StorageClass (encrypted gp3 with the cluster's key) and un-marks the gp2 the cluster had, and applies the Cluster
// Autoscaler (its objects with the right image, flags and service account, which its association gives its role);
// verify reports both, a second default added by hand fails verify until the next deploy, and that deploy leaves
// the autoscaler as it was.
func TestKubeDeployStorageClass(t *testing.T) {
	t.Parallel()
	start := time.Now() // clock: the test's duration, logged
	harness.TerraformBinary(t)
	front := harness.StartFront(t, harness.StartMoto(t).URL)
	harness.CreateBucket(t, front.URL, storageBucket, harness.Region)
	d := &deployStack{endpoint: front.URL, env: deployEnv(front.URL, harness.TerraformCLIConfig(t)), bucket: storageBucket, suffix: "sc1"}
	defer func() { t.Logf("TestKubeDeployStorageClass took %s", time.Since(start).Round(time.Second)) }()
	ctx := testContext(t)

	// tapstack runs as an IAM user of its own, so that STS names it and the webhook can check its signatures.
	user, err := iamAPI(front.URL).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("deployer")})
	if err != nil {
		t.Fatal(err)
	}
	key, err := iamAPI(front.URL).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("deployer")})
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret, userARN := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), aws.ToString(user.User.Arn)
	for i, kv := range d.env {
		switch {
		case strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID="):
			d.env[i] = "AWS_ACCESS_KEY_ID=" + keyID
		case strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY="):
			d.env[i] = "AWS_SECRET_ACCESS_KEY=" + secret
		}
	}

	auth, err := kubeapi.NewAuthenticator(kubeapi.AuthOptions{Cluster: d.cluster(), STSEndpoint: front.URL,
		SecretKeys: map[string]string{keyID: secret}, Members: []string{userARN}})
	if err != nil {
		t.Fatal(err)
	}
	srv := kubeapi.Start(t, kubeapi.Options{Authenticator: auth})
	front.ServeKubernetesAPI(d.cluster(), srv.URL, srv.CAData)
	admin, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	// verify also checks the nodes and coredns: the harness plays the node groups' instances and the add-on.
	nodes := harness.StartNodes(t, front.URL, d.cluster(), admin, false)
	// In EKS the deployer's access entry (the cluster creator's, AmazonEKSClusterAdminPolicy) makes it
	// cluster-admin. The test server has no access-entry authorization: the webhook authenticates the deployer as
	// a member with no group, and this binding gives it cluster-admin through RBAC.
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer-cluster-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: userARN}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// EKS's gp2, as clusters created at Kubernetes 1.29 or earlier (and so a taken-over one) have it: marked default.
	binding := storagev1.VolumeBindingWaitForFirstConsumer
	if _, err := admin.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "gp2", Annotations: map[string]string{incluster.IsDefaultAnnotation: "true"}},
		Provisioner: "kubernetes.io/aws-ebs", Parameters: map[string]string{"type": "gp2", "fsType": "ext4"}, VolumeBindingMode: &binding,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	wc := newWorkingCopy(t)
	// The stack flags, without the --skip-in-cluster the other tests pass.
	args := func(command string, extra ...string) []string {
		a := append([]string{command}, extra...)
		for _, s := range d.stackArgs(command) {
			if s != "--skip-in-cluster" {
				a = append(a, s)
			}
		}
		return a
	}
	run := func(t *testing.T, want int, command string, extra ...string) result {
		t.Helper()
		r := d.tapstack(t, wc, command, nil, args(command, extra...)...)
		if r.code != want {
			t.Fatalf("tapstack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", command, r.code, want, r.stdout, tail(r.stderr, 60))
		}
		return r
	}
	defaults := func(t *testing.T) []string {
		t.Helper()
		list, err := admin.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sc := range list.Items {
			if incluster.IsDefault(&sc) {
				out = append(out, sc.Name)
			}
		}
		slices.Sort(out)
		return out
	}

	r := run(t, 0, "deploy", "--skip-live-checks", "--lock-timeout", "30s")
	for _, want := range []string{"StorageClass tapstack-gp3 created\n",
		`StorageClass gp2 no longer marked default: storageclass.kubernetes.io/is-default-class set to "false", tapstack-gp3 is the default`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("deploy does not say %q", want)
		}
	}
	clusterKey, _ := d.state(t).attr("aws_kms_key.eks_kms_key", "arn").(string)
	if !strings.HasPrefix(clusterKey, "arn:aws:kms:") {
		t.Fatalf("the state holds no cluster key: %q", clusterKey)
	}
	if got := defaults(t); !slices.Equal(got, []string{"tapstack-gp3"}) {
		t.Errorf("default StorageClasses %v, want only tapstack-gp3", got)
	}
	sc, err := admin.StorageV1().StorageClasses().Get(ctx, "tapstack-gp3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Provisioner != "ebs.csi.aws.com" || sc.Parameters["type"] != "gp3" || sc.Parameters["encrypted"] != "true" ||
		sc.Parameters["kmsKeyId"] != clusterKey || sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer ||
		sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
		t.Errorf("tapstack-gp3: provisioner %s, parameters %v, binding %v, expansion %v; want encrypted gp3 with %s",
			sc.Provisioner, sc.Parameters, sc.VolumeBindingMode, sc.AllowVolumeExpansion, clusterKey)
	}

	checkDeployedAutoscaler(t, ctx, admin, d, r.stderr)
	// Until its pod is ready verify reports the autoscaler unavailable; then the stack verifies.
	r = run(t, 2, "verify")
	if want := `MISMATCH Deployment/cluster-autoscaler available: expected "yes", actual "no"`; !strings.Contains(r.stdout, want) {
		t.Errorf("verify does not say %q:\n%s", want, r.stdout)
	}
	autoscalerVersion := markAutoscalerAvailable(t, ctx, admin)

	// verify reports the class through the same API server.
	if err := nodes.WaitCoreDNS(ctx); err != nil {
		t.Fatal(err)
	}
	r = run(t, 0, "verify", "--format", "json")
	var rep live.VerifyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --format json: %v\n%s", err, r.stdout)
	}
	facts := map[string]string{}
	for _, it := range rep.Items {
		if it.Part == "storage-class" && it.Status == live.Match {
			facts[it.Field] = it.Actual
		}
	}
	if facts["parameters[kmsKeyId]"] != clusterKey || facts["default StorageClasses"] != "tapstack-gp3" || facts["parameters[type]"] != "gp3" {
		t.Errorf("verify's StorageClass facts %v", facts)
	}
	var autoscalerFacts []string
	for _, it := range rep.Items {
		if it.Part == "autoscaler" && it.Status == live.Match {
			autoscalerFacts = append(autoscalerFacts, it.Resource+" "+it.Field+"="+it.Actual)
		}
	}
	if !slices.Contains(autoscalerFacts, "Deployment/cluster-autoscaler available=yes") || len(autoscalerFacts) != 9 {
		t.Errorf("verify's Cluster Autoscaler facts %v", autoscalerFacts)
	}

	// A class marked default by hand: verify names it, the next deploy un-marks it and leaves its own class as it was.
	before := sc.ResourceVersion
	if _, err := admin.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "fast", Annotations: map[string]string{incluster.IsDefaultAnnotation: "true"}},
		Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"type": "io2"}, VolumeBindingMode: &binding,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = run(t, 2, "verify")
	if want := `MISMATCH StorageClass tapstack-gp3 default StorageClasses: expected "tapstack-gp3", actual "fast, tapstack-gp3"; ` +
		`tapstack deploy sets the default annotation of fast to "false"`; !strings.Contains(r.stdout, want) {
		t.Errorf("verify does not say %q:\n%s", want, r.stdout)
	}
	r = run(t, 0, "deploy", "--skip-live-checks", "--lock-timeout", "30s")
	for _, want := range []string{"StorageClass tapstack-gp3 unchanged\n", "StorageClass fast no longer marked default",
		"Cluster Autoscaler unchanged (registry.k8s.io/autoscaling/cluster-autoscaler:"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the second deploy does not say %q", want)
		}
	}
	if strings.Contains(r.stderr, "StorageClass gp2") {
		t.Error("the second deploy touched gp2 again")
	}
	if sc, err := admin.StorageV1().StorageClasses().Get(ctx, "tapstack-gp3", metav1.GetOptions{}); err != nil || sc.ResourceVersion != before {
		t.Errorf("the second deploy wrote tapstack-gp3 (resourceVersion %s, was %s): %v", sc.ResourceVersion, before, err)
	}
	if got := defaults(t); !slices.Equal(got, []string{"tapstack-gp3"}) {
		t.Errorf("default StorageClasses after the second deploy %v", got)
	}
	if dep, err := admin.AppsV1().Deployments("kube-system").Get(ctx, incluster.AutoscalerName, metav1.GetOptions{}); err != nil || dep.ResourceVersion != autoscalerVersion {
		t.Errorf("the second deploy wrote the autoscaler's Deployment: %v", err)
	}
	run(t, 0, "verify")
}
