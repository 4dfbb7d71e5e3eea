package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RepoRoot returns the directory of the module's go.mod: `go env GOMOD` first, then a walk up from the working
// directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod)
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("repo root: %v", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("repo root: no go.mod in %s or above", dir)
		}
	}
}

// OriginalStack returns the path of the original's dev stack as CDKTF 0.21 synthesized it: the repository's
// byte-identical copy (pkg/tfdoc/testdata/cdktf-original-dev.tf.json) of the shared fixture
// original-TapStackdev.tf.json, kept in the repository so that a clone anywhere has it.
func OriginalStack(t testing.TB) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "pkg", "tfdoc", "testdata", "cdktf-original-dev.tf.json")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the original's stack is missing: %v", err)
	}
	return p
}

// TerraformCLIConfig returns the path of a Terraform CLI configuration that installs providers without the
// internet: $TF_CLI_CONFIG_FILE when that file exists, else the one scripts/terraform-cli-config.sh writes for the
// local filesystem mirror. It fails the test when neither works.
func TerraformCLIConfig(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TF_CLI_CONFIG_FILE"); p != "" {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	script := filepath.Join(RepoRoot(t), "scripts", "terraform-cli-config.sh")
	cmd := exec.Command("bash", script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	p := strings.TrimSpace(string(out))
	if err != nil || p == "" {
		t.Fatalf("no Terraform CLI configuration: TF_CLI_CONFIG_FILE=%q does not name a file, and %s failed (%v): %s"+
			"\n(set TAPSTACK_PROVIDER_MIRROR to the directory that contains registry.terraform.io)",
			os.Getenv("TF_CLI_CONFIG_FILE"), script, err, strings.TrimSpace(stderr.String()))
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s printed %q, which is not a file: %v", script, p, err)
	}
	return p
}

// TerraformBinary returns the terraform executable on PATH; it fails the test (never skips) when there is none.
func TerraformBinary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatalf("terraform not found on PATH: install Terraform 1.11 or newer: %v", err)
	}
	return p
}
