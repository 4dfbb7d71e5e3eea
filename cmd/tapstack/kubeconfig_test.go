package main

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	fakeClusterARN = "arn:aws:eks:us-east-1:123456789012:cluster/eks-cluster-v1-dev"
	fakeCA         = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
)

// answerEKSCluster makes the fake AWS endpoint know the dev cluster, its access entries and the caller, in the
// shapes of the API references: DescribeCluster and ListAccessEntries (REST JSON,
// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html, API_ListAccessEntries.html) and
// STS GetCallerIdentity (query protocol, XML,
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
func answerEKSCluster(t *testing.T, callerARN string, entries ...string) {
	answerEKSClusterAt(t, "https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com", []byte(fakeCA), callerARN, entries...)
}

func answerEKSClusterAt(t *testing.T, endpoint string, ca []byte, callerARN string, entries ...string) {
	json := func(body string) fakeAnswer {
		return fakeAnswer{status: http.StatusOK, contentType: "application/json", body: body}
	}
	awsEndpoint.answer(t, "GET /clusters/eks-cluster-v1-dev", json(`{"cluster": {"name": "eks-cluster-v1-dev",
		"arn": "`+fakeClusterARN+`", "status": "ACTIVE", "version": "1.36",
		"endpoint": "`+endpoint+`",
		"certificateAuthority": {"data": "`+base64.StdEncoding.EncodeToString(ca)+`"},
		"accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": true}}}`))
	quoted := make([]string, len(entries))
	for i, e := range entries {
		quoted[i] = `"` + e + `"`
	}
	awsEndpoint.answer(t, "GET /clusters/eks-cluster-v1-dev/access-entries",
		json(`{"accessEntries": [`+strings.Join(quoted, ", ")+`], "nextToken": null}`))
	awsEndpoint.answer(t, "GetCallerIdentity", fakeAnswer{status: http.StatusOK, contentType: "text/xml", body: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>` + callerARN + `</Arn>
    <UserId>AROAEXAMPLE:unit</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`})
}

// onPath puts an executable named tapstack on PATH, so the command does not warn that kubectl cannot find it.
func onPath(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "tapstack"), []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("PATH", dir)
}

func TestKubeconfigCommand(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "not-this-one"))
	onPath(t)
	answerEKSCluster(t, "arn:aws:sts::123456789012:assumed-role/Admin/unit", "arn:aws:iam::123456789012:role/Admin")
	before := awsEndpoint.count()

	code, out, errs := runCLI(t, "kubeconfig", "--out", "kube/config")
	if code != 0 || out != "kube/config\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if strings.Contains(errs, "warning") || !strings.Contains(errs, "added context "+fakeClusterARN) {
		t.Errorf("stderr %s", errs)
	}
	kc, err := clientcmd.LoadFromFile("kube/config")
	if err != nil {
		t.Fatal(err)
	}
	c, u := kc.Clusters[fakeClusterARN], kc.AuthInfos[fakeClusterARN]
	if kc.CurrentContext != fakeClusterARN || c == nil || c.Server != "https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com" ||
		string(c.CertificateAuthorityData) != fakeCA {
		t.Errorf("current context %q, cluster %+v", kc.CurrentContext, c)
	}
	if u == nil || u.Exec == nil || u.Exec.Command != "tapstack" || u.Exec.APIVersion != "client.authentication.k8s.io/v1beta1" ||
		!slices.Equal(u.Exec.Args, []string{"token", "--cluster", "eks-cluster-v1-dev", "--region", "us-east-1"}) ||
		u.Exec.InteractiveMode != "Never" {
		t.Errorf("user %+v", u)
	}
	if info, err := os.Stat("kube/config"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v, %v", info.Mode(), err)
	}
	var calls []string
	for _, r := range awsEndpoint.since(before) {
		calls = append(calls, r.Target+r.Path)
		if !strings.Contains(r.Authorization, "Credential="+testAccessKey+"/") {
			t.Errorf("%s%s signed %q", r.Target, r.Path, r.Authorization)
		}
	}
	want := []string{"/clusters/eks-cluster-v1-dev", "GetCallerIdentity/", "/clusters/eks-cluster-v1-dev/access-entries"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	if _, err := os.Stat(os.Getenv("KUBECONFIG")); !os.IsNotExist(err) {
		t.Errorf("KUBECONFIG's file was written with --out given: %v", err)
	}

	// Again, with an alias, and a caller without an access entry: a warning naming it and how to add one.
	answerEKSCluster(t, "arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:role/Admin")
	t.Setenv("PATH", t.TempDir())
	code, _, errs = runCLI(t, "kubeconfig", "--out", "kube/config", "--alias", "dev")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, w := range []string{"warning: arn:aws:iam::123456789012:user/bob has no access entry on cluster eks-cluster-v1-dev",
		"aws eks create-access-entry", "warning: tapstack is not on PATH", "added context dev"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}
	kc, err = clientcmd.LoadFromFile("kube/config")
	if err != nil {
		t.Fatal(err)
	}
	if kc.CurrentContext != "dev" || len(kc.Contexts) != 2 || len(kc.Clusters) != 1 || len(kc.AuthInfos) != 1 {
		t.Errorf("current %q, contexts %v, %d clusters, %d users", kc.CurrentContext, kc.Contexts, len(kc.Clusters), len(kc.AuthInfos))
	}
}

// KUBECONFIG's first file gets the context when there is no --out.
func TestKubeconfigCommandUsesKUBECONFIG(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	onPath(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	t.Setenv("KUBECONFIG", first+string(filepath.ListSeparator)+second)
	answerEKSCluster(t, "arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::123456789012:role/Admin")
	code, out, errs := runCLI(t, "kubeconfig")
	if code != 0 || out != first+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if _, err := clientcmd.LoadFromFile(first); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Errorf("second file: %v", err)
	}
}

// EKS refuses: exit 1 naming the step, and no kubeconfig.
func TestKubeconfigCommandDescribeFails(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, "kubeconfig", "--out", "k")
	if code != 1 || out != "" || !strings.Contains(errs, "tapstack kubeconfig: describe cluster:") || !strings.Contains(errs, "AccessDenied") {
		t.Errorf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if _, err := os.Stat("k"); !os.IsNotExist(err) {
		t.Errorf("a kubeconfig was written: %v", err)
	}
}

// What kubectl does with the kubeconfig: client-go loads it, runs tapstack token as the plugin (here the test
// binary, as tapstack on PATH) and sends the token it printed to the cluster's endpoint, trusting the cluster's CA.
func TestKubeconfigWorksWithClientGo(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	var (
		mu   sync.Mutex
		auth []string
	)
	apiserver := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": []}`)
	}))
	defer apiserver.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: apiserver.Certificate().Raw})
	answerEKSClusterAt(t, apiserver.URL, ca, "arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::123456789012:role/Admin")

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "tapstack")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv(runAsCLI, "1")

	if code, _, errs := runCLI(t, "kubeconfig", "--out", "kubeconfig"); code != 0 || strings.Contains(errs, "warning") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", "kubeconfig")
	if err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(apiserver.URL + "/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusOK || len(auth) != 1 {
		t.Fatalf("status %d, %d requests", resp.StatusCode, len(auth))
	}
	tok, ok := strings.CutPrefix(auth[0], "Bearer k8s-aws-v1.")
	if !ok {
		t.Fatalf("Authorization %q", auth[0])
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if q := u.Query(); "http://"+u.Host != awsEndpoint.URL || q.Get("X-Amz-SignedHeaders") != "host;x-k8s-aws-id" ||
		!strings.Contains(q.Get("X-Amz-Credential"), "/us-east-1/sts/") {
		t.Errorf("token URL %s", u)
	}
}
