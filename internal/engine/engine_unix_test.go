//go:build unix

package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapstack/tapstack/pkg/stack"
)

// fakeEngine is a shell script standing in for terraform: it logs its arguments and answers version, init,
// plan, show, state pull, apply, destroy, untaint and output from FAKE_* variables. Its init leaves what a real
// one does in the working directory: .terraform/providers, the backend record and a lock file. With
// FAKE_APPLY_WAIT, apply runs until SIGINT, then prints that on stderr and exits 1, as Terraform stops.
const fakeEngine = `#!/bin/sh
echo "$@" >> "$FAKE_TF_LOG"
case "$1" in
version) printf '{"terraform_version":"%s","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}\n' "${FAKE_TF_VERSION:-1.11.4}" ;;
init) echo "Initializing the backend..."; if [ -n "$FAKE_INIT_FAIL" ]; then printf '\nError: %s\n\n' "$FAKE_INIT_FAIL" >&2; exit 1; fi
      mkdir -p .terraform/providers; printf '{"version":3,"backend":{"type":"s3"},"args":"%s"}\n' "$*" > .terraform/terraform.tfstate
      echo 'provider "registry.terraform.io/hashicorp/aws" {}' > .terraform.lock.hcl ;;
plan) for a in "$@"; do case "$a" in -out=*) : > "${a#-out=}" ;; esac; done
      echo "Plan: 1 to add, 0 to change, 0 to destroy."; echo "a warning" >&2; exit "${FAKE_PLAN_EXIT:-2}" ;;
show) cat "$FAKE_SHOW_JSON" ;;
state) cat "$FAKE_STATE" ;;
apply) if [ -n "$FAKE_APPLY_WAIT" ]; then
         trap 'echo "Interrupt received."; printf "%s" "$FAKE_APPLY_WAIT" >&2; exit 1' INT
         echo "Creating..."; while :; do sleep 0.05; done
       fi
       echo "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." ;;
destroy) echo "Destroy complete! Resources: 1 destroyed." ;;
untaint) if [ -n "$FAKE_UNTAINT_FAIL" ]; then printf '\nError: %s\n' "$FAKE_UNTAINT_FAIL" >&2; exit 1; fi
         for a in "$@"; do :; done; echo "Resource instance $a has been successfully untainted." ;;
output) printf '{"vpc_id":{"sensitive":false,"type":"string","value":"vpc-1"},"secret":{"sensitive":true,"type":"string","value":"s"}}\n' ;;
esac
`

// writeFakeEngine writes the fake into a new directory and points the FAKE_* variables at files in it.
func writeFakeEngine(t *testing.T) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "terraform")
	if err := os.WriteFile(path, []byte(fakeEngine), 0o755); err != nil {
		t.Fatal(err)
	}
	log = filepath.Join(dir, "calls.log")
	t.Setenv("FAKE_TF_LOG", log)
	abs, err := filepath.Abs(filepath.Join("testdata", "plan-replace-vpc.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_SHOW_JSON", abs)
	return path, log
}

func calls(t *testing.T, log string) []string {
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func callOf(t *testing.T, log, command string) string {
	for _, c := range calls(t, log) {
		if strings.HasPrefix(c, command+" ") {
			return c
		}
	}
	t.Fatalf("%s was not run: %v", command, calls(t, log))
	return ""
}

func TestEngineCommands(t *testing.T) {
	exe, log := writeFakeEngine(t)
	var progress bytes.Buffer
	ctx := context.Background()
	env := map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
	e, err := New(ctx, Options{ExecPath: exe, Dir: t.TempDir(), Progress: &progress, LockTimeout: 90 * time.Second,
		Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind() != Terraform || e.Version().String() != "1.11.4" || e.Path() != exe {
		t.Errorf("kind %s version %s path %s", e.Kind(), e.Version(), e.Path())
	}

	if err := e.Init(ctx); err != nil {
		t.Fatal(err)
	}
	init := callOf(t, log, "init")
	for _, w := range []string{"-reconfigure", "-backend-config=use_path_style=true", "-input=false"} {
		if !strings.Contains(init, w) {
			t.Errorf("init %q lacks %s", init, w)
		}
	}

	planFile := filepath.Join(e.Dir(), PlanFile)
	changes, err := e.Plan(ctx, planFile, PlanOptions{})
	if err != nil || !changes {
		t.Fatalf("Plan: changes %v, %v", changes, err)
	}
	plan := callOf(t, log, "plan")
	for _, w := range []string{"-out=" + planFile, "-lock-timeout=1m30s", "-detailed-exitcode"} {
		if !strings.Contains(plan, w) {
			t.Errorf("plan %q lacks %s", plan, w)
		}
	}
	for _, w := range []string{"Initializing the backend", "Plan: 1 to add", "a warning"} {
		if !strings.Contains(progress.String(), w) {
			t.Errorf("progress lacks %q:\n%s", w, progress.String())
		}
	}

	progress.Reset()
	p, raw, err := e.ShowPlan(ctx, planFile)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(os.Getenv("FAKE_SHOW_JSON"))
	if !bytes.Equal(raw, bytes.TrimSpace(want)) {
		t.Error("ShowPlan's raw JSON is not what the engine printed")
	}
	if vs := Guard(p, stack.ProtectedTypes); len(vs) != 5 {
		t.Errorf("parsed plan: %d violations", len(vs))
	}
	if progress.Len() != 0 {
		t.Errorf("show's JSON went to the progress writer: %d bytes", progress.Len())
	}

	if err := e.Apply(ctx, planFile); err != nil {
		t.Fatal(err)
	}
	if a := callOf(t, log, "apply"); !strings.HasSuffix(a, planFile) || !strings.Contains(a, "-lock-timeout=1m30s") {
		t.Errorf("apply %q", a)
	}
	if err := e.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if d := callOf(t, log, "destroy"); !strings.Contains(d, "-auto-approve") || !strings.Contains(d, "-lock-timeout=1m30s") {
		t.Errorf("destroy %q", d)
	}
	outs, err := e.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(outs["vpc_id"]), `"value":"vpc-1"`) || !strings.Contains(string(outs["secret"]), `"sensitive":true`) {
		t.Errorf("outputs %s", outs)
	}
}

func TestEngineNoChangesAndFailures(t *testing.T) {
	exe, _ := writeFakeEngine(t)
	ctx := context.Background()
	e, err := New(ctx, Options{ExecPath: exe, Dir: t.TempDir(), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_PLAN_EXIT", "0")
	if changes, err := e.Plan(ctx, "p", PlanOptions{}); err != nil || changes {
		t.Fatalf("no-change plan: %v %v", changes, err)
	}
	t.Setenv("FAKE_INIT_FAIL", "Failed to get existing workspaces: S3 bucket does not exist.")
	err = e.Init(ctx)
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Command != "init" || ce.ExitCode != 1 {
		t.Fatalf("failed init: %v", err)
	}
	if err.Error() != "terraform init failed: Failed to get existing workspaces: S3 bucket does not exist." {
		t.Errorf("message %q", err)
	}
}

func TestEngineDiscovery(t *testing.T) {
	exe, _ := writeFakeEngine(t)
	ctx := context.Background()

	// TAPSTACK_ENGINE_PATH names the executable.
	env := map[string]string{EnvEnginePath: exe}
	e, err := New(ctx, Options{Kind: OpenTofu, Dir: t.TempDir(), Getenv: func(k string) string { return env[k] }})
	if err != nil || e.Path() != exe || e.Kind() != OpenTofu {
		t.Fatalf("New with %s: %v", EnvEnginePath, err)
	}
	env[EnvEnginePath] = filepath.Join(t.TempDir(), "missing")
	_, err = New(ctx, Options{Dir: t.TempDir(), Getenv: func(k string) string { return env[k] }})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "install Terraform 1.11 or newer") {
		t.Fatalf("missing %s: %v", EnvEnginePath, err)
	}
	notExec := filepath.Join(t.TempDir(), "terraform")
	os.WriteFile(notExec, []byte("x"), 0o644)
	env[EnvEnginePath] = notExec
	if _, err := Locate(Terraform, func(k string) string { return env[k] }); !errors.As(err, &nf) {
		t.Fatalf("not executable: %v", err)
	}

	// On PATH, by the engine's name.
	t.Setenv("PATH", filepath.Dir(exe))
	if p, err := Locate(Terraform, func(string) string { return "" }); err != nil || p != exe {
		t.Fatalf("Locate on PATH: %s %v", p, err)
	}
	_, err = Locate(OpenTofu, func(string) string { return "" })
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "tofu was not found on PATH") ||
		!strings.Contains(err.Error(), "install OpenTofu 1.10 or newer") || !strings.Contains(err.Error(), EnvEnginePath) {
		t.Fatalf("tofu missing: %v", err)
	}

	// Too old.
	t.Setenv("FAKE_TF_VERSION", "1.10.5")
	_, err = New(ctx, Options{ExecPath: exe, Dir: t.TempDir()})
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Have != "1.10.5" {
		t.Fatalf("terraform 1.10.5: %v", err)
	}
	t.Setenv("FAKE_TF_VERSION", "1.10.0")
	if _, err := New(ctx, Options{Kind: OpenTofu, ExecPath: exe, Dir: t.TempDir()}); err != nil {
		t.Fatalf("tofu 1.10.0: %v", err)
	}
}
