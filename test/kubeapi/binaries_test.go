package kubeapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The versions Start looks for are those scripts/build-kube.sh builds: the wrapper modules' requirements.
func TestVersionsMatchTheWrapperModules(t *testing.T) {
	for _, c := range []struct{ gomod, module, want string }{
		{"../../scripts/kube/kube-apiserver/go.mod", "k8s.io/kubernetes", KubernetesVersion},
		{"../../scripts/kube/etcd/go.mod", "go.etcd.io/etcd/server/v3", EtcdVersion},
	} {
		b, err := os.ReadFile(c.gomod)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(c.module) + `\s+(v\S+)`).FindSubmatch(b)
		if m == nil || string(m[1]) != c.want {
			t.Errorf("%s requires %s %s; the harness looks for %s", c.gomod, c.module, m, c.want)
		}
	}
	// Every staging module is replaced by its published release of the same Kubernetes version (v1.X.Y = v0.X.Y).
	b, err := os.ReadFile("../../scripts/kube/kube-apiserver/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	staging := "v0." + strings.TrimPrefix(KubernetesVersion, "v1.")
	replaces := regexp.MustCompile(`(?m)^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (v\S+)$`).FindAllSubmatch(b, -1)
	if len(replaces) < 30 {
		t.Fatalf("%d staging replaces; the release's go.mod has 33", len(replaces))
	}
	for _, r := range replaces {
		if string(r[1]) != string(r[2]) || string(r[3]) != staging {
			t.Errorf("replace %s => %s %s; want the same module at %s", r[1], r[2], r[3], staging)
		}
	}
}

func TestBinariesNamesTheBuildCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TAPSTACK_TOOL_CACHE", dir)
	t.Setenv("TAPSTACK_KUBE_APISERVER", "")
	t.Setenv("TAPSTACK_ETCD", "")
	if _, _, err := Binaries(); err == nil || !strings.Contains(err.Error(), BuildCommand) {
		t.Fatalf("empty cache: %v; want an error naming %q", err, BuildCommand)
	}
	for _, name := range []string{"kube-apiserver-" + KubernetesVersion + "/kube-apiserver", "etcd-" + EtcdVersion + "/etcd"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	api, etcd, err := Binaries()
	if err != nil || api != filepath.Join(dir, "kube-apiserver-"+KubernetesVersion, "kube-apiserver") || etcd != filepath.Join(dir, "etcd-"+EtcdVersion, "etcd") {
		t.Fatalf("filled cache: %s, %s, %v", api, etcd, err)
	}
	t.Setenv("TAPSTACK_ETCD", filepath.Join(dir, "missing"))
	if _, _, err := Binaries(); err == nil || !strings.Contains(err.Error(), "TAPSTACK_ETCD") {
		t.Fatalf("TAPSTACK_ETCD naming no file: %v", err)
	}
}
