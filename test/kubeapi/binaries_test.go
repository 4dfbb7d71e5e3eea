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
		{"../../scripts/kube/kube-controller-manager/go.mod", "k8s.io/kubernetes", ControllerManagerVersion},
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
	for _, c := range []struct{ gomod, version string }{
		{"../../scripts/kube/kube-apiserver/go.mod", KubernetesVersion},
		{"../../scripts/kube/kube-controller-manager/go.mod", ControllerManagerVersion},
	} {
		b, err := os.ReadFile(c.gomod)
		if err != nil {
			t.Fatal(err)
		}
		staging := "v0." + strings.TrimPrefix(c.version, "v1.")
		replaces := regexp.MustCompile(`(?m)^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (v\S+)$`).FindAllSubmatch(b, -1)
		if len(replaces) < 30 {
			t.Fatalf("%s: %d staging replaces; the release's go.mod has 33", c.gomod, len(replaces))
		}
		for _, r := range replaces {
			if string(r[1]) != string(r[2]) || string(r[3]) != staging {
				t.Errorf("%s: replace %s => %s %s; want the same module at %s", c.gomod, r[1], r[2], r[3], staging)
			}
		}
	}
}

func TestBinariesNamesTheBuildCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TAPSTACK_TOOL_CACHE", dir)
	for _, env := range []string{"TAPSTACK_KUBE_APISERVER", "TAPSTACK_ETCD", "TAPSTACK_KUBE_CONTROLLER_MANAGER"} {
		t.Setenv(env, "")
	}
	if _, err := Binaries(); err == nil || !strings.Contains(err.Error(), BuildCommand) {
		t.Fatalf("empty cache: %v; want an error naming %q", err, BuildCommand)
	}
	want := Paths{
		APIServer:         filepath.Join(dir, "kube-apiserver-"+KubernetesVersion, "kube-apiserver"),
		Etcd:              filepath.Join(dir, "etcd-"+EtcdVersion, "etcd"),
		ControllerManager: filepath.Join(dir, "kube-controller-manager-"+ControllerManagerVersion, "kube-controller-manager"),
	}
	for i, p := range []string{want.APIServer, want.Etcd, want.ControllerManager} {
		if i == 2 {
			// Two of three built: the missing one is named, with its variable.
			if _, err := Binaries(); err == nil || !strings.Contains(err.Error(), "kube-controller-manager "+ControllerManagerVersion) ||
				!strings.Contains(err.Error(), "TAPSTACK_KUBE_CONTROLLER_MANAGER") {
				t.Fatalf("no kube-controller-manager: %v", err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Binaries()
	if err != nil || got != want {
		t.Fatalf("filled cache: %+v, %v; want %+v", got, err, want)
	}
	t.Setenv("TAPSTACK_ETCD", filepath.Join(dir, "missing"))
	if _, err := Binaries(); err == nil || !strings.Contains(err.Error(), "TAPSTACK_ETCD") {
		t.Fatalf("TAPSTACK_ETCD naming no file: %v", err)
	}
	t.Setenv("TAPSTACK_ETCD", "")
	t.Setenv("TAPSTACK_KUBE_CONTROLLER_MANAGER", want.Etcd) // any executable
	if got, err := Binaries(); err != nil || got.ControllerManager != want.Etcd {
		t.Fatalf("TAPSTACK_KUBE_CONTROLLER_MANAGER set: %+v, %v", got, err)
	}
}
