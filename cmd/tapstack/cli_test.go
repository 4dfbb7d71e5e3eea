package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clearEnv unsets every pipeline variable so the host's environment cannot leak into a test.
func clearEnv(t *testing.T) {
	for _, k := range []string{"ENVIRONMENT_SUFFIX", "TERRAFORM_STATE_BUCKET", "TERRAFORM_STATE_BUCKET_REGION", "AWS_REGION",
		"REPOSITORY", "COMMIT_AUTHOR", "PR_NUMBER", "TEAM", "TAPSTACK_PROFILE", "TAPSTACK_ENGINE", "TAPSTACK_TTL", "TAPSTACK_PROTECT"} {
		t.Setenv(k, "")
	}
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, stdio{out: &out, err: &errb, in: strings.NewReader("")})
	return code, out.String(), errb.String()
}

func TestSynthDefaultsWritesTheDevStack(t *testing.T) {
	clearEnv(t)
	golden, err := os.ReadFile(filepath.Join("..", "..", "pkg", "stack", "testdata", "default.tf.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, "synth")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := filepath.Join("cdktf.out", "stacks", "TapStackdev", "cdk.tf.json")
	if strings.TrimSpace(out) != want {
		t.Errorf("printed %q, want %q", out, want)
	}
	first, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, golden) {
		t.Error("synth of the defaults differs from pkg/stack/testdata/default.tf.json")
	}
	if code, _, _ := runCLI(t, "synth"); code != 0 {
		t.Fatal("second synth failed")
	}
	second, _ := os.ReadFile(want)
	if !bytes.Equal(first, second) {
		t.Error("two synths of the same input differ")
	}
	var doc map[string]any
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
}

func TestSynthFlagsEnvAndOut(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("ENVIRONMENT_SUFFIX", "pr7107")
	t.Setenv("AWS_REGION", "eu-west-1")
	code, out, errs := runCLI(t, "synth", "--out", "o", "--region", "eu-central-1", "--availability-zones", "eu-central-1a,eu-central-1b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"key": "TapStackpr7107/pr7107/terraform.tfstate"`, `"region": "eu-central-1"`,
		`"availability_zone": "eu-central-1b"`, `--region eu-central-1 --name`} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if !strings.HasPrefix(out, filepath.Join("o", "stacks", "TapStackpr7107")) {
		t.Errorf("wrote to %s", out)
	}
}

func TestSynthNoticeWhenFileOverridesEnvironment(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("AWS_REGION", "us-west-2")
	must(t, os.WriteFile("c.yaml", []byte("region: eu-west-1\n"), 0o644))
	code, _, errs := runCLI(t, "synth", "--config", "c.yaml")
	if code != 0 || !strings.Contains(errs, "notice: AWS_REGION=us-west-2 in the environment is overridden by region: eu-west-1 in c.yaml") {
		t.Errorf("exit %d, stderr %s", code, errs)
	}
}

func TestSynthInvalidWritesNothingAndListsEveryProblem(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	must(t, os.WriteFile("c.yaml", []byte(`network:
  vpcCIDR: 10.0.0.0/16
  publicSubnetCIDRs: [10.0.1.0/24, 10.1.0.0/24]
nodeGroups:
  onDemand: {minSize: 3, desiredSize: 2, maxSize: 5}
cluster: {logRetentionDays: 2}
`), 0o644))
	code, out, errs := runCLI(t, "synth", "--config", "c.yaml", "--environment-suffix", strings.Repeat("s", 60), "--kubernetes-version", "latest")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{"TS101", "TS104", "TS105", "TS107", "TS109", "network.publicSubnetCIDRs[1]", "nodeGroups.onDemand", "fix:", "nothing was written"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %s:\n%s", want, errs)
		}
	}
	if out != "" {
		t.Errorf("stdout %q", out)
	}
	if _, err := os.Stat("cdktf.out"); !os.IsNotExist(err) {
		t.Error("invalid configuration wrote output")
	}
}

func TestSynthWarnsOnWouldFailButWrites(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	code, _, errs := runCLI(t, "synth", "--profile", "original", "--date", "2026-11-25")
	if code != 0 || !strings.Contains(errs, "WARNING TS202") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat("cdktf.out/stacks/TapStackdev/cdk.tf.json"); err != nil {
		t.Error(err)
	}
}

func TestConfigLoadErrorsExit2(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	must(t, os.WriteFile("c.yaml", []byte("nodeGroups: {spot: {maxSize: many}}\nunknownKnob: 1\n"), 0o644))
	code, _, errs := runCLI(t, "synth", "--config", "c.yaml")
	if code != 2 || !strings.Contains(errs, "unknownKnob") || !strings.Contains(errs, "many") {
		t.Errorf("exit %d: %s", code, errs)
	}
	if code, _, _ := runCLI(t, "synth", "--config", "missing.yaml"); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
	if code, _, _ := runCLI(t, "synth", "--engine", "pulumi"); code != 2 {
		t.Errorf("bad engine: exit %d", code)
	}
	if code, _, _ := runCLI(t, "synth", "--date", "yesterday"); code != 2 {
		t.Errorf("bad date: exit %d", code)
	}
	if code, _, _ := runCLI(t, "nope"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

func TestCheckDefaultsPassesWithCostEstimate(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, "check", "--date", "2026-11-25")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{"0 error(s)", "Cost estimate", "EKS control plane (standard support)", "134.74 - 225.84"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat("cdktf.out"); !os.IsNotExist(err) {
		t.Error("check must not write the stack")
	}
}

func TestCheckOriginalVersionIsAnErrorWithItsDate(t *testing.T) {
	clearEnv(t)
	code, out, _ := runCLI(t, "check", "--date", "2026-11-25", "--kubernetes-version", "1.29", "--format", "json")
	if code != 2 {
		t.Fatalf("exit %d", code)
	}
	var r struct {
		Findings []struct{ Rule, Severity, Message string }
		Summary  struct{ Errors int }
		Cost     struct{ MonthlyHigh float64 }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range r.Findings {
		if f.Rule == "TS202" && f.Severity == "error" && strings.Contains(f.Message, "2026-03-23") {
			found = true
		}
	}
	if !found || r.Summary.Errors == 0 || r.Cost.MonthlyHigh == 0 {
		t.Errorf("report %+v", r)
	}
	// Knowingly overruled, it passes (TS212 too: EKS refuses the default upgrade policy STANDARD on 1.29).
	if code, _, errs := runCLI(t, "check", "--date", "2026-11-25", "--kubernetes-version", "1.29", "--allow", "TS202,TS212"); code != 0 {
		t.Errorf("--allow TS202: exit %d %s", code, errs)
	}
	// On the last day of extended support it was still allowed.
	if code, _, _ := runCLI(t, "check", "--date", "2026-03-22", "--kubernetes-version", "1.29", "--allow", "TS212"); code != 0 {
		t.Errorf("1.29 on 2026-03-22 was in extended support: exit %d", code)
	}
}

func TestVersions(t *testing.T) {
	code, out, _ := runCLI(t, "versions", "--date", "2026-11-25")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"1.29     2024-01-23  2025-03-23       2026-03-23       end-of-life", "1.31", "extended", "1.36", "standard", "default 1.36", "sources:"} {
		if !strings.Contains(out, want) {
			t.Errorf("versions lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "versions", "--date", "2025-01-01", "--format", "json")
	var v struct {
		Kubernetes []struct{ Version, Status string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("exit %d %s", code, out)
	}
	for _, k := range v.Kubernetes {
		if k.Version == "1.29" && k.Status != "standard" {
			t.Errorf("1.29 on 2025-01-01 is %s", k.Status)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
