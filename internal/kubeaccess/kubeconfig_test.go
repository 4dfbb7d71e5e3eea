package kubeaccess

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const testARN = "arn:aws:eks:eu-west-1:111122223333:cluster/eks-cluster-v1-dev"

var testCA = []byte("-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n")

func testEntry(endpoint string) Entry {
	return Entry{Cluster: Cluster{Name: "eks-cluster-v1-dev", ARN: testARN, Region: "eu-west-1",
		Endpoint: endpoint, CAData: testCA}}
}

// A kubeconfig with another environment in it, the way kubectl and other tools leave one: a token user, a
// client-certificate user, extensions and preferences.
const existingKubeconfig = `apiVersion: v1
kind: Config
preferences:
  colors: true
current-context: other
clusters:
- name: other-cluster
  cluster:
    server: https://other.example:6443
    certificate-authority: ./other-ca.crt
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: other}
contexts:
- name: other
  context: {cluster: other-cluster, user: other-user, namespace: team}
- name: other-cert
  context: {cluster: other-cluster, user: cert-user}
users:
- name: other-user
  user: {token: secret-token}
- name: cert-user
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
`

func mustLoad(t *testing.T, path string) *clientcmdapi.Config {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestUpdateFileMergesAndKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(existingKubeconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	before := mustLoad(t, path)
	beforeInfo, _ := os.Stat(path)

	replaced, err := UpdateFile(path, testEntry("https://ABC.gr7.eu-west-1.eks.amazonaws.com"))
	if err != nil || replaced {
		t.Fatalf("UpdateFile: replaced %t, %v", replaced, err)
	}
	after := mustLoad(t, path)
	for name, c := range before.Clusters {
		if !reflect.DeepEqual(after.Clusters[name], c) {
			t.Errorf("cluster %s changed: %+v, was %+v", name, after.Clusters[name], c)
		}
	}
	for name, u := range before.AuthInfos {
		if !reflect.DeepEqual(after.AuthInfos[name], u) {
			t.Errorf("user %s changed: %+v, was %+v", name, after.AuthInfos[name], u)
		}
	}
	for name, c := range before.Contexts {
		if !reflect.DeepEqual(after.Contexts[name], c) {
			t.Errorf("context %s changed: %+v, was %+v", name, after.Contexts[name], c)
		}
	}
	if !reflect.DeepEqual(after.Preferences, before.Preferences) {
		t.Errorf("preferences changed: %+v, were %+v", after.Preferences, before.Preferences)
	}
	if len(after.Clusters) != 2 || len(after.AuthInfos) != 3 || len(after.Contexts) != 3 {
		t.Errorf("%d clusters, %d users, %d contexts; want 2, 3, 3", len(after.Clusters), len(after.AuthInfos), len(after.Contexts))
	}
	checkEntry(t, after, testARN, "https://ABC.gr7.eu-west-1.eks.amazonaws.com")

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	// Written beside and renamed over, not rewritten in place; nothing left behind.
	if os.SameFile(info, beforeInfo) {
		t.Error("the kubeconfig was rewritten in place, not replaced")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %v", entries)
	}

	// Again, with a new endpoint: the same entries, replaced.
	replaced, err = UpdateFile(path, testEntry("https://NEW.gr7.eu-west-1.eks.amazonaws.com"))
	if err != nil || !replaced {
		t.Fatalf("second UpdateFile: replaced %t, %v", replaced, err)
	}
	again := mustLoad(t, path)
	if len(again.Clusters) != 2 || len(again.AuthInfos) != 3 || len(again.Contexts) != 3 {
		t.Errorf("after a second run: %d clusters, %d users, %d contexts; want 2, 3, 3", len(again.Clusters), len(again.AuthInfos), len(again.Contexts))
	}
	checkEntry(t, again, testARN, "https://NEW.gr7.eu-west-1.eks.amazonaws.com")
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "name: "+testARN+"\n"); n != 3 {
		t.Errorf("%d entries named %s, want 3 (cluster, context, user):\n%s", n, testARN, b)
	}
}

// checkEntry checks the context, its cluster and its exec user, and that client-go builds a client from them.
func checkEntry(t *testing.T, cfg *clientcmdapi.Config, context, endpoint string) {
	t.Helper()
	if cfg.CurrentContext != context {
		t.Errorf("current-context %q, want %q", cfg.CurrentContext, context)
	}
	kctx := cfg.Contexts[context]
	if kctx == nil || kctx.Cluster != testARN || kctx.AuthInfo != testARN {
		t.Fatalf("context %s: %+v", context, kctx)
	}
	if c := cfg.Clusters[testARN]; c == nil || c.Server != endpoint || string(c.CertificateAuthorityData) != string(testCA) {
		t.Errorf("cluster entry %+v", c)
	}
	u := cfg.AuthInfos[testARN]
	if u == nil || u.Exec == nil {
		t.Fatalf("user entry %+v has no exec plugin", u)
	}
	want := []string{"token", "--cluster", "eks-cluster-v1-dev", "--region", "eu-west-1"}
	if e := u.Exec; e.Command != "tapstack" || !slices.Equal(e.Args, want) || e.APIVersion != "client.authentication.k8s.io/v1beta1" ||
		e.InteractiveMode != clientcmdapi.NeverExecInteractiveMode {
		t.Errorf("exec plugin %+v", e)
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(*cfg, context, nil, nil).ClientConfig()
	if err != nil {
		t.Fatalf("client-go refuses the context: %v", err)
	}
	if rc.Host != endpoint || rc.ExecProvider == nil || rc.ExecProvider.Command != "tapstack" || string(rc.CAData) != string(testCA) {
		t.Errorf("client-go configuration: host %s, exec %+v", rc.Host, rc.ExecProvider)
	}
}

func TestUpdateFileNewFileAndAlias(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", ".kube", "config")
	e := testEntry("https://ABC.eks.amazonaws.com")
	e.Context = "dev"
	if replaced, err := UpdateFile(path, e); err != nil || replaced {
		t.Fatalf("replaced %t, %v", replaced, err)
	}
	cfg := mustLoad(t, path)
	if len(cfg.Contexts) != 1 || cfg.Clusters[testARN] == nil || cfg.AuthInfos[testARN] == nil {
		t.Errorf("contexts %v", cfg.Contexts)
	}
	checkEntry(t, cfg, "dev", "https://ABC.eks.amazonaws.com")
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", info.Mode(), err)
	}
}

// A file clientcmd cannot read, or kubectl's lock, stops the merge and leaves the file as it was.
func TestUpdateFileRefusesAndKeeps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	bad := "apiVersion: v1\nkind: Config\nclusters: {not: [a list\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := UpdateFile(path, testEntry("https://x")); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("unreadable kubeconfig: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != bad {
		t.Errorf("the unreadable kubeconfig was changed:\n%s", b)
	}
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("the lock was left: %v", err)
	}

	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(existingKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := UpdateFile(good, testEntry("https://x")); err == nil || !strings.Contains(err.Error(), "good.lock exists") {
		t.Errorf("locked kubeconfig: %v", err)
	}
	if b, _ := os.ReadFile(good); string(b) != existingKubeconfig {
		t.Error("a locked kubeconfig was changed")
	}
}

// A kubeconfig that is a symbolic link (dotfiles kept in a repository) stays one; its target is replaced.
func TestUpdateFileFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "kubeconfig")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte(existingKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := UpdateFile(link, testEntry("https://x")); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file: %v %v", info.Mode(), err)
	}
	if cfg := mustLoad(t, target); cfg.Contexts[testARN] == nil || cfg.Contexts["other"] == nil {
		t.Errorf("the link's target lacks the contexts: %v", cfg.Contexts)
	}
}

// Which file: the explicit one, else the first existing file of KUBECONFIG (its first when none exists), else
// ~/.kube/config.
func TestKubeconfigPath(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	t.Setenv("KUBECONFIG", a+string(filepath.ListSeparator)+b)
	if got := KubeconfigPath(""); got != a {
		t.Errorf("none exists: %s, want %s", got, a)
	}
	if err := os.WriteFile(b, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := KubeconfigPath(""); got != b {
		t.Errorf("b exists: %s, want %s", got, b)
	}
	if got := KubeconfigPath("out.yaml"); got != "out.yaml" {
		t.Errorf("explicit: %s", got)
	}
	t.Setenv("KUBECONFIG", "")
	if got, want := KubeconfigPath(""), clientcmd.RecommendedHomeFile; got != want || !strings.HasSuffix(got, filepath.Join(".kube", "config")) {
		t.Errorf("no KUBECONFIG: %s, want %s", got, want)
	}
}
