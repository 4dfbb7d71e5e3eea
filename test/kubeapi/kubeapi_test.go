package kubeapi_test

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tapstack/tapstack/test/e2e/harness"
	"github.com/tapstack/tapstack/test/kubeapi"
)

const cluster = "tapstack-dev"

// principal is an IAM identity in moto and its credentials.
type principal struct {
	arn   string
	creds aws.Credentials
}

var bootstrap = aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}

func newUser(t *testing.T, ctx context.Context, c *iam.Client, name string) principal {
	t.Helper()
	u, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return principal{arn: aws.ToString(u.User.Arn), creds: aws.Credentials{
		AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}}
}

// TestKubeEKSTokens runs kube-apiserver with the harness's webhook, behind the front's
// DescribeCluster, and talks to it with client-go and EKS tokens of IAM users and an assumed role in moto. It
// needs the binaries scripts/build-kube.sh builds: without them it fails, naming that command.
func TestKubeEKSTokens(t *testing.T) {
	t.Parallel()
	if _, err := kubeapi.Binaries(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: CI runs many emulators on two cores
	defer cancel()
	front := harness.StartFront(t, harness.StartMoto(t).URL)
	iamc := iam.New(iam.Options{Region: harness.Region, BaseEndpoint: aws.String(front.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return bootstrap, nil })})
	admin := newUser(t, ctx, iamc, "admin")
	viewer := newUser(t, ctx, iamc, "viewer")
	stranger := newUser(t, ctx, iamc, "stranger")
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deployer"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	stsc := sts.New(sts.Options{Region: harness.Region, BaseEndpoint: aws.String(front.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return admin.creds, nil })})
	assumed, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("ci-run")})
	if err != nil {
		t.Fatal(err)
	}
	deployer := principal{arn: aws.ToString(role.Role.Arn), creds: aws.Credentials{AccessKeyID: aws.ToString(assumed.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(assumed.Credentials.SecretAccessKey), SessionToken: aws.ToString(assumed.Credentials.SessionToken)}}

	secrets := map[string]string{}
	for _, p := range []principal{admin, viewer, stranger, deployer} {
		secrets[p.creds.AccessKeyID] = p.creds.SecretAccessKey
	}
	auth, err := kubeapi.NewAuthenticator(kubeapi.AuthOptions{
		Cluster: cluster, STSEndpoint: front.URL, SecretKeys: secrets,
		Admins: []string{admin.arn, deployer.arn}, Members: []string{viewer.arn},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := kubeapi.Start(t, kubeapi.Options{Authenticator: auth})

	// The cluster as tapstack finds it: DescribeCluster's endpoint and CA, and its own Kubernetes version.
	front.ServeKubernetesAPI(cluster, srv.URL, srv.CAData)
	eksc := eks.New(eks.Options{Region: harness.Region, BaseEndpoint: aws.String(front.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return bootstrap, nil })})
	if _, err := eksc.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String(cluster), Version: aws.String("1.33"),
		RoleArn:            aws.String("arn:aws:iam::123456789012:role/cluster"),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-1", "subnet-2"}}}); err != nil {
		t.Fatal(err)
	}
	desc, err := eksc.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(cluster)})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := base64.StdEncoding.DecodeString(aws.ToString(desc.Cluster.CertificateAuthority.Data))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(desc.Cluster.Version) != "1.33" {
		t.Errorf("DescribeCluster version %q, want 1.33", aws.ToString(desc.Cluster.Version))
	}
	token := func(p principal, cluster string, signedAt time.Time) string {
		t.Helper()
		tok, err := kubeapi.PresignToken(ctx, kubeapi.TokenRequest{Credentials: p.creds, Endpoint: front.URL,
			Region: harness.Region, Cluster: cluster, SignedAt: signedAt})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	client := func(tok string) *kubernetes.Clientset {
		t.Helper()
		c, err := kubernetes.NewForConfig(&rest.Config{Host: aws.ToString(desc.Cluster.Endpoint), BearerToken: tok,
			TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// The server's own version is the build's, not the cluster's.
	v, err := client(token(admin, cluster, time.Time{})).Discovery().ServerVersion()
	if err != nil || v.GitVersion != kubeapi.KubernetesVersion {
		t.Errorf("server version %+v, %v; want %s", v, err, kubeapi.KubernetesVersion)
	}

	// An admin lists the namespaces the API server makes at start (polled: they appear just after /readyz).
	want := []string{"default", "kube-node-lease", "kube-public", "kube-system"}
	var names []string
	for deadline := time.Now().Add(time.Minute); ; { // clock: a polling deadline
		list, err := client(token(admin, cluster, time.Time{})).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("admin lists namespaces: %v\n%s", err, srv.Logs())
		}
		names = names[:0]
		for _, ns := range list.Items {
			names = append(names, ns.Name)
		}
		slices.Sort(names)
		if slices.Equal(names, want) || time.Now().After(deadline) { // clock: a polling deadline
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !slices.Equal(names, want) {
		t.Errorf("namespaces %v, want %v", names, want)
	}

	// Who the API server thinks each caller is: the mapping of the webhook, plus system:authenticated.
	for _, c := range []struct {
		who      principal
		username string
		groups   []string
	}{
		{admin, admin.arn, []string{"system:masters", "system:authenticated"}},
		{deployer, "arn:aws:iam::123456789012:role/deployer", []string{"system:masters", "system:authenticated"}},
		{viewer, viewer.arn, []string{"system:authenticated"}},
	} {
		r, err := client(token(c.who, cluster, time.Time{})).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Errorf("%s: self subject review: %v", c.who.arn, err)
			continue
		}
		u := r.Status.UserInfo
		if u.Username != c.username || !slices.Equal(u.Groups, c.groups) {
			t.Errorf("%s: the API server sees %s in %v; want %s in %v", c.who.arn, u.Username, u.Groups, c.username, c.groups)
		}
	}
	if aws.ToString(role.Role.Arn) != "arn:aws:iam::123456789012:role/deployer" {
		t.Errorf("moto's role ARN %s", aws.ToString(role.Role.Arn))
	}

	// A member is authenticated but RBAC grants it nothing: 403.
	_, err = client(token(viewer, cluster, time.Time{})).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("member lists namespaces: %v; want 403 Forbidden", err)
	}

	// Refused by the webhook: 401.
	wrongSecret := admin
	wrongSecret.creds.SecretAccessKey = "not-" + admin.creds.SecretAccessKey
	for name, tok := range map[string]string{
		"token for another cluster":  token(admin, "tapstack-prod", time.Time{}),
		"expired token":              token(admin, cluster, time.Now().Add(-16*time.Minute)), // clock: older than STS honours
		"garbage":                    "k8s-aws-v1.garbage",
		"not an EKS token":           "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
		"wrong secret key":           token(wrongSecret, cluster, time.Time{}),
		"principal, no access entry": token(stranger, cluster, time.Time{}),
	} {
		_, err := client(tok).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if !apierrors.IsUnauthorized(err) {
			t.Errorf("%s: %v; want 401 Unauthorized", name, err)
		}
	}

	// The harness's own admin client (a certificate in system:masters) works too.
	adminClient, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminClient.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Errorf("admin certificate: %v", err)
	}
}
