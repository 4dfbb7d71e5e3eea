package lifecycle

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

const (
	kcClusterARN = "arn:aws:eks:us-east-1:111122223333:cluster/eks-cluster-v1-ut"
	kcCaller     = "arn:aws:sts::111122223333:assumed-role/Admin/alice"
	kcRole       = "arn:aws:iam::111122223333:role/Admin"
)

// fakeKubeEKS answers DescribeCluster for one cluster and ListAccessEntries a page at a time.
type fakeKubeEKS struct {
	endpoint    string // "" is a made-up EKS endpoint
	ca          []byte // nil is "PEM"
	mode        ekstypes.AuthenticationMode
	pages       [][]string
	describeErr error
	listErr     error
	listCalls   int
}

func (f *fakeKubeEKS) DescribeCluster(_ context.Context, in *eks.DescribeClusterInput, _ ...func(*eks.Options)) (*eks.DescribeClusterOutput, error) {
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	if aws.ToString(in.Name) != "eks-cluster-v1-ut" {
		return nil, &ekstypes.ResourceNotFoundException{Message: aws.String("No cluster found for name: " + aws.ToString(in.Name))}
	}
	endpoint, ca := f.endpoint, f.ca
	if endpoint == "" {
		endpoint = "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com"
	}
	if ca == nil {
		ca = []byte("PEM")
	}
	return &eks.DescribeClusterOutput{Cluster: &ekstypes.Cluster{
		Name: in.Name, Arn: aws.String(kcClusterARN), Status: ekstypes.ClusterStatusActive,
		Endpoint:             aws.String(endpoint),
		CertificateAuthority: &ekstypes.Certificate{Data: aws.String(base64.StdEncoding.EncodeToString(ca))},
		AccessConfig:         &ekstypes.AccessConfigResponse{AuthenticationMode: f.mode},
	}}, nil
}

func (f *fakeKubeEKS) ListAccessEntries(_ context.Context, in *eks.ListAccessEntriesInput, _ ...func(*eks.Options)) (*eks.ListAccessEntriesOutput, error) {
	f.listCalls++
	if f.listErr != nil {
		return nil, f.listErr
	}
	if aws.ToString(in.ClusterName) != "eks-cluster-v1-ut" {
		return nil, errors.New("wrong cluster " + aws.ToString(in.ClusterName))
	}
	i := 0
	if in.NextToken != nil {
		i = int(aws.ToString(in.NextToken)[0] - '0')
	}
	out := &eks.ListAccessEntriesOutput{}
	if i < len(f.pages) {
		out.AccessEntries = f.pages[i]
	}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

type fakeKubeSTS struct {
	arn   string
	err   error
	calls int
}

func (f *fakeKubeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Arn: aws.String(f.arn), Account: aws.String("111122223333")}, nil
}

func kubePrepared(t *testing.T, admins ...string) *Prepared {
	t.Helper()
	cfg, ok := config.Defaults("default")
	if !ok {
		t.Fatal("no default profile")
	}
	cfg.EnvironmentSuffix = "ut"
	cfg.Cluster.AdminPrincipals = admins
	day, err := versions.ParseDate("2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	return Prepare(&cfg, stack.Options{Engine: "terraform", Date: day}, nil)
}

// The context goes into the kubeconfig; the caller's role, entered with a path and found on the second page of
// access entries, has access: no warning.
func TestKubeconfigWritesTheContext(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kubeconfig")
	fe := &fakeKubeEKS{mode: ekstypes.AuthenticationModeApi,
		pages: [][]string{{"arn:aws:iam::111122223333:role/node"}, {"arn:aws:iam::111122223333:role/teams/platform/Admin"}}}
	res, err := Kubeconfig(context.Background(), kubePrepared(t), KubeconfigOptions{File: file, Alias: "ut",
		EKS: fe, STS: &fakeKubeSTS{arn: kcCaller}})
	if err != nil {
		t.Fatal(err)
	}
	if res.File != file || res.Context != "ut" || res.Replaced || res.Caller != kcRole || len(res.Warnings)+len(res.Notes) != 0 {
		t.Errorf("result %+v", res)
	}
	if fe.listCalls != 2 {
		t.Errorf("%d ListAccessEntries calls, want 2 pages", fe.listCalls)
	}
	kc, err := clientcmd.LoadFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, u := kc.Clusters[kcClusterARN], kc.AuthInfos[kcClusterARN]
	if kc.CurrentContext != "ut" || c == nil || c.Server != "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com" ||
		string(c.CertificateAuthorityData) != "PEM" || u == nil || u.Exec == nil ||
		strings.Join(u.Exec.Args, " ") != "token --cluster eks-cluster-v1-ut --region us-east-1" {
		t.Errorf("kubeconfig: current %q, cluster %+v, user %+v", kc.CurrentContext, c, u)
	}
}

func TestKubeconfigWarnsWithoutAccessEntry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     ekstypes.AuthenticationMode
		admins   []string
		want     []string
		dontWant []string
	}{
		{"API", ekstypes.AuthenticationModeApi, nil,
			[]string{kcRole + " has no access entry on cluster eks-cluster-v1-ut", "cluster.adminPrincipals",
				"aws eks create-access-entry --region us-east-1 --cluster-name eks-cluster-v1-ut --principal-arn " + kcRole,
				"--policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"},
			[]string{"aws-auth", "deploy to create"}},
		{"API_AND_CONFIG_MAP", ekstypes.AuthenticationModeApiAndConfigMap, nil,
			[]string{"unless the aws-auth ConfigMap maps it", "aws eks create-access-entry"}, nil},
		{"configured but not deployed", ekstypes.AuthenticationModeApi, []string{kcRole},
			[]string{"It is in cluster.adminPrincipals: deploy to create its entry"}, []string{"aws eks create-access-entry"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "kubeconfig")
			res, err := Kubeconfig(context.Background(), kubePrepared(t, tc.admins...), KubeconfigOptions{File: file,
				EKS: &fakeKubeEKS{mode: tc.mode, pages: [][]string{{"arn:aws:iam::111122223333:role/node"}}},
				STS: &fakeKubeSTS{arn: kcCaller}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 1 {
				t.Fatalf("warnings %q", res.Warnings)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Warnings[0], w) {
					t.Errorf("warning lacks %q:\n%s", w, res.Warnings[0])
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(res.Warnings[0], w) {
					t.Errorf("warning has %q:\n%s", w, res.Warnings[0])
				}
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("the kubeconfig was not written: %v", err)
			}
		})
	}
}

// In CONFIG_MAP mode access entries do not apply: a note, and neither STS nor ListAccessEntries is asked.
func TestKubeconfigConfigMapMode(t *testing.T) {
	fe, fs := &fakeKubeEKS{mode: ekstypes.AuthenticationModeConfigMap}, &fakeKubeSTS{arn: kcCaller}
	res, err := Kubeconfig(context.Background(), kubePrepared(t), KubeconfigOptions{File: filepath.Join(t.TempDir(), "k"), EKS: fe, STS: fs})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "access entries do not apply") {
		t.Errorf("notes %q, warnings %q", res.Notes, res.Warnings)
	}
	if fe.listCalls+fs.calls != 0 {
		t.Errorf("%d ListAccessEntries and %d GetCallerIdentity calls", fe.listCalls, fs.calls)
	}
}

// A check that cannot run is a warning; the kubeconfig is written all the same.
func TestKubeconfigCheckFailures(t *testing.T) {
	denied := errors.New("AccessDenied: not authorized")
	for name, tc := range map[string]struct {
		eks  *fakeKubeEKS
		sts  *fakeKubeSTS
		want string
	}{
		"caller":  {&fakeKubeEKS{mode: ekstypes.AuthenticationModeApi}, &fakeKubeSTS{err: denied}, "could not tell who the caller is"},
		"entries": {&fakeKubeEKS{mode: ekstypes.AuthenticationModeApi, listErr: denied}, &fakeKubeSTS{arn: kcCaller}, "could not list the access entries of eks-cluster-v1-ut, so " + kcRole + "'s was not checked"},
	} {
		file := filepath.Join(t.TempDir(), "k")
		res, err := Kubeconfig(context.Background(), kubePrepared(t), KubeconfigOptions{File: file, EKS: tc.eks, STS: tc.sts})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tc.want) || !strings.Contains(res.Warnings[0], "AccessDenied") {
			t.Errorf("%s: warnings %q", name, res.Warnings)
		}
		if _, err := os.Stat(file); err != nil {
			t.Errorf("%s: kubeconfig not written: %v", name, err)
		}
	}
}

// No cluster: a step error that says what to do, and no kubeconfig.
func TestKubeconfigNoCluster(t *testing.T) {
	file := filepath.Join(t.TempDir(), "k")
	p := kubePrepared(t)
	p.Config.EnvironmentSuffix = "gone"
	_, err := Kubeconfig(context.Background(), p, KubeconfigOptions{File: file, EKS: &fakeKubeEKS{}, STS: &fakeKubeSTS{arn: kcCaller}})
	var se *StepError
	if !errors.As(err, &se) || se.Step != "describe cluster" || !strings.Contains(err.Error(), "cluster eks-cluster-v1-gone does not exist in us-east-1: deploy") {
		t.Errorf("error %v", err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("a kubeconfig was written: %v", err)
	}
}

func TestPrincipalARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::111122223333:assumed-role/Admin/alice":              "arn:aws:iam::111122223333:role/Admin",
		"arn:aws-cn:sts::111122223333:assumed-role/Ops/i-0abc":            "arn:aws-cn:iam::111122223333:role/Ops",
		"arn:aws:iam::111122223333:user/bob":                              "arn:aws:iam::111122223333:user/bob",
		"arn:aws:iam::111122223333:role/Admin":                            "arn:aws:iam::111122223333:role/Admin",
		"arn:aws:sts::111122223333:federated-user/carol":                  "arn:aws:sts::111122223333:federated-user/carol",
		"arn:aws:iam::111122223333:root":                                  "arn:aws:iam::111122223333:root",
		"not an arn":                                                      "not an arn",
		"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/x": "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_1",
	} {
		if got := principalARN(in); got != want {
			t.Errorf("principalARN(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"arn:aws:iam::111122223333:role/teams/platform/Admin": "arn:aws:iam::111122223333:role/Admin",
		"arn:aws:iam::111122223333:role/Admin":                "arn:aws:iam::111122223333:role/Admin",
		"arn:aws:iam::111122223333:user/division/bob":         "arn:aws:iam::111122223333:user/division/bob",
	} {
		if got := withoutRolePath(in); got != want {
			t.Errorf("withoutRolePath(%s) = %s, want %s", in, got, want)
		}
	}
}

// A workflow reaches the cluster's API through client-go with the cluster's CA and a bearer token for the
// cluster, signed with the AWS configuration's credentials; no kubeconfig, no plugin.
func TestClusterREST(t *testing.T) {
	var auth string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind": "NamespaceList", "apiVersion": "v1", "items": []}`)
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLIFECYCLE", "secret", "")}

	rc, err := ClusterREST(context.Background(), awsCfg, kubePrepared(t).Config, &fakeKubeEKS{endpoint: srv.URL, ca: ca})
	if err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok, ok := strings.CutPrefix(auth, "Bearer k8s-aws-v1.")
	if !ok {
		t.Fatalf("Authorization %q", auth)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); u.Host != "sts.us-east-1.amazonaws.com" || !strings.HasPrefix(q.Get("X-Amz-Credential"), "AKIDLIFECYCLE/") ||
		q.Get("X-Amz-SignedHeaders") != "host;x-k8s-aws-id" {
		t.Errorf("token URL %s", u)
	}

	p := kubePrepared(t)
	p.Config.EnvironmentSuffix = "gone"
	if _, err := ClusterREST(context.Background(), awsCfg, p.Config, &fakeKubeEKS{}); err == nil {
		t.Error("no error for a cluster that does not exist")
	}
}
