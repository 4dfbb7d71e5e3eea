//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

// fakeTerraform stands in for the engine (through TAPSTACK_ENGINE_PATH): it logs its arguments and answers from
// FAKE_* variables, so the commands' wiring is tested without Terraform or AWS.
const fakeTerraform = `#!/bin/sh
echo "$@" >> "$FAKE_TF_LOG"
case "$1" in
version) echo '{"terraform_version":"1.11.4","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}' ;;
init) echo "Terraform has been successfully initialized!"; if [ -n "$FAKE_INIT_FAIL" ]; then printf '\nError: %s\n' "$FAKE_INIT_FAIL" >&2; exit 1; fi ;;
plan) json=; for a in "$@"; do case "$a" in -out=*) : > "${a#-out=}" ;; -json) json=1 ;; esac; done
      # plan -json (deploy): a replacement is announced, so deploy reads the plan from show as before.
      if [ -n "$json" ]; then echo '{"@message":"Plan: some changes","type":"planned_change","change":{"resource":{"addr":"aws_vpc.vpc","resource_type":"aws_vpc"},"action":"replace"}}'
      else echo "Plan: some changes"; fi
      exit "${FAKE_PLAN_EXIT:-2}" ;;
show) for last; do :; done
      case "$last" in
      *tapstack-refresh.tfplan) cat "${FAKE_REFRESH_JSON:-$FAKE_SHOW_JSON}" ;;
      *.tfplan) cat "$FAKE_SHOW_JSON" ;;
      *) if [ -n "$FAKE_STATE_JSON" ]; then cat "$FAKE_STATE_JSON"; else echo "$FAKE_OUTPUTS_STATE"; fi ;;
      esac ;;
apply) echo "Apply complete!"; if [ -n "$FAKE_STATE_AFTER_APPLY" ]; then cp "$FAKE_STATE_AFTER_APPLY" "$FAKE_STATE_JSON"; fi ;;
destroy) echo "Destroy complete!" ;;
output) echo '{"cluster_name":{"sensitive":false,"type":"string","value":"eks-cluster-v1-ut"},"vpc_id":{"sensitive":false,"type":"string","value":"vpc-1"},"public_subnet_ids":{"sensitive":false,"type":["tuple",["string","string"]],"value":["subnet-1","subnet-2"]},"token":{"sensitive":true,"type":"string","value":"secret"}}' ;;
esac
`

// fakeOutputsState is the state show -json gives when a test sets none: no resources, the outputs a deploy
// leaves (a sensitive one among them).
const fakeOutputsState = `{"format_version":"1.0","values":{"outputs":{"cluster_name":{"sensitive":false,"type":"string","value":"eks-cluster-v1-ut"},"vpc_id":{"sensitive":false,"type":"string","value":"vpc-1"},"public_subnet_ids":{"sensitive":false,"type":["tuple",["string","string"]],"value":["subnet-1","subnet-2"]},"token":{"sensitive":true,"type":"string","value":"secret"}},"root_module":{}}}`

type fakeRun struct {
	t   *testing.T
	dir string // the working copy
	log string
}

func newFakeRun(t *testing.T) *fakeRun {
	t.Helper()
	bin := t.TempDir()
	exe := filepath.Join(bin, "terraform")
	if err := os.WriteFile(exe, []byte(fakeTerraform), 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fakeRun{t: t, dir: t.TempDir(), log: filepath.Join(bin, "calls.log")}
	t.Setenv("TAPSTACK_ENGINE_PATH", exe)
	t.Setenv("FAKE_OUTPUTS_STATE", fakeOutputsState)
	t.Setenv("TAPSTACK_ENGINE", "")
	t.Setenv("FAKE_TF_LOG", f.log)
	f.show("plan-replace-vpc.json")
	t.Setenv("AWS_ENDPOINT_URL", awsEndpoint.URL) // TestMain: no test reaches AWS
	return f
}

// show makes the fake's show print a fixture of internal/engine/testdata.
func (f *fakeRun) show(name string) {
	p, err := filepath.Abs(filepath.Join("..", "..", "internal", "engine", "testdata", name))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Setenv("FAKE_SHOW_JSON", p)
}

func (f *fakeRun) stackDir() string { return filepath.Join(f.dir, "cdktf.out", "stacks", "TapStackut") }

// run runs a command with the stack flags, in the working copy's paths; --date only to a command that takes it.
func (f *fakeRun) run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	full := args
	if takesFlag(args[0], "date") && !slices.Contains(args, "--date") { // the test's own day wins
		full = append(full, "--date", "2026-12-01")
	}
	full = append(full, "--environment-suffix", "ut", "--state-bucket", "tapstack-unit-state", "--region", "us-east-1",
		"--out", filepath.Join(f.dir, "cdktf.out"))
	code = run(full, stdio{out: &out, err: &errb, in: strings.NewReader("")})
	return code, out.String(), errb.String()
}

func (f *fakeRun) calls() string {
	b, _ := os.ReadFile(f.log)
	return string(b)
}

// shownPlan: the saved plan was shown (show -json of the state does not count).
func (f *fakeRun) shownPlan() bool {
	for _, l := range strings.Split(f.calls(), "\n") {
		if strings.HasPrefix(l, "show ") && strings.HasSuffix(l, engine.PlanFile) {
			return true
		}
	}
	return false
}

func (f *fakeRun) ran(command string) bool {
	for _, l := range strings.Split(f.calls(), "\n") {
		if strings.HasPrefix(l, command+" ") {
			return true
		}
	}
	return false
}

func TestOutputsCommandShape(t *testing.T) {
	f := newFakeRun(t)
	file := filepath.Join(f.dir, "cfn-outputs", "flat-outputs.json")
	code, stdout, stderr := f.run("outputs", "--outputs-file", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(stdout) != file {
		t.Errorf("stdout %q", stdout)
	}
	var nested map[string]map[string]any
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &nested); err != nil {
		t.Fatal(err)
	}
	v := nested["TapStackut"]
	if len(nested) != 1 || v["cluster_name"] != "eks-cluster-v1-ut" || v["vpc_id"] != "vpc-1" || len(v["public_subnet_ids"].([]any)) != 2 {
		t.Errorf("nested file: %s", b)
	}
	if _, ok := v["token"]; ok {
		t.Error("a sensitive output reached the file")
	}
	if _, err := os.Stat(filepath.Join(f.stackDir(), "cdk.tf.json")); err != nil {
		t.Errorf("outputs did not synthesize the stack: %v", err)
	}
	// The outputs come from the state (here the engine's, as the fake S3 refuses the object): no output run.
	if !f.ran("init") || f.ran("output") || f.ran("plan") || f.ran("apply") {
		t.Errorf("calls:\n%s", f.calls())
	}

	code, _, stderr = f.run("outputs", "--outputs-file", file, "--flat")
	if code != 0 {
		t.Fatalf("--flat: exit %d: %s", code, stderr)
	}
	var flat map[string]any
	b, _ = os.ReadFile(file)
	if err := json.Unmarshal(b, &flat); err != nil || flat["cluster_name"] != "eks-cluster-v1-ut" || flat["TapStackut"] != nil {
		t.Errorf("flat file: %s", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("the outputs directory holds %d files (a temporary file left behind?)", len(entries))
	}
}

func TestPlanDetailedExitCode(t *testing.T) {
	f := newFakeRun(t)
	jsonOut := filepath.Join(f.dir, "plan.json")
	code, stdout, stderr := f.run("plan", "--detailed-exitcode", "--json-out", jsonOut, "--lock-timeout", "45s")
	if code != 2 {
		t.Fatalf("changes: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Plan: some changes") {
		t.Errorf("the plan did not stream to stdout: %q", stdout)
	}
	if strings.Contains(stdout, "initialized") || !strings.Contains(stderr, "successfully initialized") {
		t.Errorf("init's progress belongs on stderr:\nstdout %q\nstderr %q", stdout, stderr)
	}
	if !strings.Contains(stderr, "deploy would refuse") || !strings.Contains(stderr, "aws_vpc.vpc") {
		t.Errorf("no guard warning: %s", stderr)
	}
	got, _ := os.ReadFile(jsonOut)
	want, _ := os.ReadFile(os.Getenv("FAKE_SHOW_JSON"))
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Error("--json-out is not the engine's show -json")
	}
	if !strings.Contains(f.calls(), "-lock-timeout=45s") {
		t.Errorf("--lock-timeout did not reach plan:\n%s", f.calls())
	}
	if _, err := os.Stat(filepath.Join(f.stackDir(), engine.PlanFile)); !os.IsNotExist(err) {
		t.Errorf("the saved plan was left behind: %v", err)
	}

	if code, _, _ := f.run("plan"); code != 0 {
		t.Errorf("changes without --detailed-exitcode: exit %d", code)
	}
	t.Setenv("FAKE_PLAN_EXIT", "0")
	f.show("plan-noop.json")
	if code, _, stderr := f.run("plan", "--detailed-exitcode"); code != 0 {
		t.Errorf("no changes: exit %d: %s", code, stderr)
	}
	t.Setenv("FAKE_INIT_FAIL", "S3 bucket does not exist")
	code, _, stderr = f.run("plan", "--detailed-exitcode")
	if code != 1 || !strings.Contains(stderr, "tapstack plan: init: terraform init failed: S3 bucket does not exist") {
		t.Errorf("failed init: exit %d: %s", code, stderr)
	}
	t.Setenv("FAKE_INIT_FAIL", "")
	// A refused configuration is an error (1) for --detailed-exitcode, never "changes" (2).
	if code, _, stderr := f.run("plan", "--detailed-exitcode", "--kubernetes-version", "banana"); code != 1 {
		t.Errorf("invalid configuration with --detailed-exitcode: exit %d: %s", code, stderr)
	}
	if code, _, _ := f.run("plan", "--kubernetes-version", "banana"); code != 2 {
		t.Errorf("invalid configuration: exit %d, want 2", code)
	}
	if code, _, _ := f.run("plan", "--detailed-exitcode", "--no-such-flag"); code != 1 {
		t.Errorf("bad flag with --detailed-exitcode: exit %d, want 1", code)
	}
}

// noAWSCalls fails the test when AWS was called after the nth request to the package's endpoint.
// noAWSCalls: no live check ran since the n-th call. Reading the state object and what the cluster runs is
// not a live check.
func noAWSCalls(t *testing.T, n int) {
	t.Helper()
	var got []fakeAWSRequest
	for _, r := range awsEndpoint.since(n) {
		if !strings.HasSuffix(r.Path, ".tfstate") && !strings.HasPrefix(r.Path, "/clusters/") {
			got = append(got, r)
		}
	}
	if len(got) > 0 {
		t.Errorf("%d AWS call(s) with --skip-live-checks, such as %+v", len(got), got[0])
	}
}

func TestDeployGuard(t *testing.T) {
	f := newFakeRun(t)
	n := awsEndpoint.count()
	defer noAWSCalls(t, n)
	outFile := filepath.Join(f.dir, "o.json")
	code, stdout, stderr := f.run("deploy", "--skip-live-checks", "--outputs-file", outFile)
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	for _, w := range []string{"tapstack deploy: guard:", "aws_vpc.vpc: replace (delete, then create), because a change to cidr_block forces replacement",
		"aws_subnet.public_subnet_1", "aws_eks_node_group.spot_node_group", "--allow-destroy", "nothing was applied"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("the refusal does not say %q:\n%s", w, stderr)
		}
	}
	if f.ran("apply") || stdout != "" {
		t.Fatalf("a refused plan was applied:\n%s", f.calls())
	}
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Error("outputs written after a refusal")
	}

	code, stdout, stderr = f.run("deploy", "--skip-live-checks", "--outputs-file", outFile, "--allow-destroy")
	if code != 0 || !f.ran("apply") || strings.TrimSpace(stdout) != outFile {
		t.Fatalf("--allow-destroy: exit %d, stdout %q: %s\n%s", code, stdout, stderr, f.calls())
	}
	if !strings.Contains(stderr, "--allow-destroy: applying a plan that deletes or replaces 5 protected resource(s)") {
		t.Errorf("no notice of what --allow-destroy let through:\n%s", stderr)
	}
	if _, err := os.Stat(outFile); err != nil {
		t.Error(err)
	}
}

func TestDeploySteps(t *testing.T) {
	f := newFakeRun(t)
	n := awsEndpoint.count()
	defer noAWSCalls(t, n)
	// The forgotten log group is no deletion: applied without --allow-destroy.
	f.show("plan-forget-removed-log-group.json")
	if code, _, stderr := f.run("deploy", "--skip-live-checks", "--outputs-file", filepath.Join(f.dir, "o.json")); code != 0 || !f.ran("apply") {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	f = newFakeRun(t)
	t.Setenv("FAKE_PLAN_EXIT", "0")
	code, _, stderr := f.run("deploy", "--skip-live-checks", "--outputs-file", filepath.Join(f.dir, "o.json"))
	if code != 0 || f.ran("apply") || f.shownPlan() || f.ran("output") {
		t.Fatalf("no changes: exit %d: %s\n%s", code, stderr, f.calls())
	}
	if !strings.Contains(stderr, "up to date") {
		t.Errorf("stderr: %s", stderr)
	}

	// check refuses would-fail findings before anything runs, the live checks included.
	f = newFakeRun(t)
	code, _, stderr = f.run("deploy", "--kubernetes-version", "1.28")
	if code != 2 || !strings.Contains(stderr, "tapstack deploy: check:") || f.calls() != "" {
		t.Fatalf("would-fail: exit %d: %s\ncalls: %s", code, stderr, f.calls())
	}
}

// Without --skip-live-checks deploy runs the live checks before planning. Here they reach only the package's
// local endpoint (TestMain), signed with the fake credentials, which refuses every call: each check says what it
// could not check, and deploy goes on, since a check that could not run is no finding.
func TestDeployRunsTheLiveChecks(t *testing.T) {
	f := newFakeRun(t)
	f.show("plan-forget-removed-log-group.json")
	n := awsEndpoint.count()
	code, _, stderr := f.run("deploy", "--outputs-file", filepath.Join(f.dir, "o.json"))
	if code != 0 || !f.ran("apply") {
		t.Fatalf("exit %d: %s\n%s", code, stderr, f.calls())
	}
	reqs := awsEndpoint.since(n)
	targets := map[string]bool{}
	for _, r := range reqs {
		targets[r.Target] = true
		if !strings.Contains(r.Authorization, "Credential="+testAccessKey+"/") {
			t.Errorf("a call not signed with the test's credentials: %+v", r)
		}
	}
	if !targets["GetCallerIdentity"] || !targets["DescribeAvailabilityZones"] {
		t.Errorf("the live checks did not reach the local endpoint: %+v", reqs)
	}
	for _, want := range []string{"live check TS801 not-checked: access denied: needs sts:GetCallerIdentity",
		"live check TS807 not-checked: access denied: needs ec2:DescribeAvailabilityZones"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("deploy does not say %q:\n%s", want, stderr)
		}
	}
}

func TestLocalLock(t *testing.T) {
	f := newFakeRun(t)
	held, err := engine.LockDir(context.Background(), f.stackDir(), 0, "tapstack deploy")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	start := time.Now()
	code, _, stderr := f.run("plan", "--lock-timeout", "300ms")
	if code != 1 || !strings.Contains(stderr, "tapstack plan: lock: the stack directory is in use by tapstack deploy") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Error("did not wait for the lock timeout")
	}
	if f.calls() != "" {
		t.Errorf("the engine ran under another command's lock:\n%s", f.calls())
	}
}

func TestDestroyEmptyState(t *testing.T) {
	f := newFakeRun(t)
	state := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(state, []byte(`{"format_version":"1.0"}`), 0o644)
	t.Setenv("FAKE_SHOW_JSON", state)
	code, _, stderr := f.run("destroy")
	if code != 0 || !strings.Contains(stderr, "holds no resources: nothing to destroy") || f.ran("destroy") {
		t.Fatalf("exit %d: %s\n%s", code, stderr, f.calls())
	}
}

// A flag a command does not take is an unknown flag: exit 2, the error and the usage on stderr, nothing on stdout
// and nothing written or run.
func TestUnusedFlagsAreUnknown(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{
		{"destroy", "--allow", "TS202"},
		{"destroy", "--date", "2026-12-01"},
		{"destroy", "--adopt-existing"},
		{"destroy", "--vpc-cni-version", "v1.19.0-eksbuild.1"},
		{"outputs", "--allow", "TS202"},
		{"outputs", "--date", "2026-12-01"},
		{"outputs", "--kubernetes-version", "1.35"},
		{"verify", "--date", "2026-12-01"},
		{"check", "--out", "o"},
	} {
		f := newFakeRun(t)
		t.Chdir(f.dir)
		code, stdout, stderr := runCLI(t, args...)
		flag := args[1]
		if code != 2 || !strings.Contains(stderr, "tapstack "+args[0]+": unknown flag: "+flag+"\n") ||
			!strings.Contains(stderr, "Usage:\n  tapstack "+args[0]+" [flags]") || stdout != "" {
			t.Errorf("%v: exit %d, want 2 with the error and the usage on stderr\nstdout %q\nstderr %s", args, code, stdout, stderr)
		}
		if f.calls() != "" {
			t.Errorf("%v ran the engine:\n%s", args, f.calls())
		}
		if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
			t.Errorf("%v wrote %v", args, entries)
		}
	}
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"yes\n": true, " yes \n": true, "yes": true, "y\n": false, "no\n": false, "": false} {
		var errb bytes.Buffer
		if got := confirm(stdio{err: &errb, in: strings.NewReader(in)}, "Destroy?"); got != want {
			t.Errorf("confirm(%q) = %v", in, got)
		}
		if !strings.Contains(errb.String(), "Destroy? Only 'yes' will be accepted") {
			t.Errorf("question: %q", errb.String())
		}
	}
	if confirm(stdio{err: &bytes.Buffer{}}, "?") {
		t.Error("no stdin confirmed")
	}
}

// commandError maps the workflows' typed errors to exit codes: a refusal before anything changed is 2, any
// other failure 1; detailedExit maps them for plan --detailed-exitcode.
func TestCommandErrorAndDetailedExit(t *testing.T) {
	var s stdio
	var buf bytes.Buffer
	s.err = &buf
	var ee *exitError
	refused := &lifecycle.StepError{Step: "check", Err: &lifecycle.RefusedError{
		Findings: []rules.Finding{{Rule: "TS999", Severity: rules.Error, Kind: rules.Invalid, Message: "bad"}}, What: "; nothing"}}
	if e := commandError(s, refused); !errors.As(e, &ee) || ee.code != exitInvalid || ee.msg != "check: 1 error(s); nothing" ||
		!strings.Contains(buf.String(), "TS999") {
		t.Errorf("refused: %#v, printed %q", e, buf.String())
	}
	if e := commandError(s, &lifecycle.StepError{Step: "apply", Err: errors.New("boom")}); !errors.As(e, &ee) ||
		ee.code != exitFailure || ee.msg != "apply: boom" {
		t.Errorf("failed step: %#v", e)
	}
	stopped := &lifecycle.UpgradeStoppedError{Step: "step 1/2", Cause: refused, Changed: true}
	if e := commandError(s, stopped); !errors.As(e, &ee) || ee.code != exitFailure {
		t.Errorf("a refusal after a change is a failure: %#v", e)
	}
	if commandError(s, nil) != nil {
		t.Error("commandError(nil)")
	}
	help := &exitError{code: exitOK}
	if commandError(s, help) != help {
		t.Error("help lost")
	}
	if detailedExit(nil) != nil {
		t.Error("nil")
	}
	if errors.As(detailedExit(errChanges), &ee); ee.code != 2 {
		t.Errorf("changes -> %d", ee.code)
	}
	if errors.As(detailedExit(fail(exitInvalid, "refused")), &ee); ee.code != 1 || ee.msg != "refused" {
		t.Errorf("refused -> %d %q", ee.code, ee.msg)
	}
	if errors.As(detailedExit(help), &ee); ee.code != 0 {
		t.Errorf("help -> %d", ee.code)
	}
}

// An environment whose state runs Kubernetes 1.30 keeps it: the document plans no version change, a note says
// why, and the plan's summary lists what is kept and what is replaced with the attribute that forces it.
func TestPlanFollowsTheState(t *testing.T) {
	f := newFakeRun(t)
	state := filepath.Join(t.TempDir(), "state.json")
	st := `{"format_version":"1.0","values":{"root_module":{"resources":[
{"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.30"}},
{"address":"aws_iam_role_policy_attachment.eks_cni_policy","mode":"managed","type":"aws_iam_role_policy_attachment","name":"eks_cni_policy","values":{}}]}}}`
	if err := os.WriteFile(state, []byte(st), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_STATE_JSON", state)
	code, stdout, stderr := f.run("plan", "--kubernetes-version", "1.33")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "note: kept Kubernetes 1.30, which the cluster runs") || !strings.Contains(stderr, "tapstack upgrade --to 1.33") {
		t.Errorf("no note on the kept version:\n%s", stderr)
	}
	b, err := os.ReadFile(filepath.Join(f.stackDir(), "cdk.tf.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resource map[string]map[string]map[string]any `json:"resource"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if v := doc.Resource["aws_eks_cluster"]["eks_cluster"]["version"]; v != "1.30" {
		t.Errorf("the document asks for version %v, want the running 1.30", v)
	}
	for _, want := range []string{"Plan summary: 9 kept, 2 changed in place", "    aws_vpc.vpc (forced by cidr_block)\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, stdout)
		}
	}
	// synth never reads the state: it writes what the configuration says.
	if code, _, stderr := f.run("synth", "--kubernetes-version", "1.33"); code != 0 {
		t.Fatalf("synth: exit %d: %s", code, stderr)
	}
	if b2, _ := os.ReadFile(filepath.Join(f.stackDir(), "cdk.tf.json")); !strings.Contains(string(b2), `"version": "1.33"`) && !strings.Contains(string(b2), `"version":"1.33"`) {
		t.Errorf("synth did not write the configured version")
	}
}

// Moving vpc-cni to its own role takes two applies: the node role keeps AmazonEKS_CNI_Policy until the add-on
// runs with the new role, then loses it. deploy does both rounds, so the next plan is clean.
func TestDeployMigratesCNIInTwoRounds(t *testing.T) {
	f := newFakeRun(t)
	dir := t.TempDir()
	write := func(name, addonRole string) string {
		p := filepath.Join(dir, name)
		st := `{"format_version":"1.0","values":{"root_module":{"resources":[
{"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.36"}},
{"address":"aws_iam_role_policy_attachment.eks_cni_policy","mode":"managed","type":"aws_iam_role_policy_attachment","name":"eks_cni_policy","values":{}},
{"address":"aws_eks_addon.vpc_cni_addon","mode":"managed","type":"aws_eks_addon","name":"vpc_cni_addon","values":{"service_account_role_arn":"` + addonRole + `"}}]},
"outputs":{"cluster_name":{"sensitive":false,"type":"string","value":"eks-cluster-v1-ut"}}}}`
		if err := os.WriteFile(p, []byte(st), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("FAKE_STATE_JSON", write("state.json", ""))
	t.Setenv("FAKE_STATE_AFTER_APPLY", write("after.json", "arn:aws:iam::123456789012:role/vpc-cni"))
	f.show("plan-forget-removed-log-group.json")
	code, _, stderr := f.run("deploy", "--skip-live-checks", "--outputs-file", filepath.Join(f.dir, "o.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	applies := strings.Count(f.calls(), "\napply ") + map[bool]int{true: 1}[strings.HasPrefix(f.calls(), "apply ")]
	if applies != 2 || !strings.Contains(stderr, "second round: vpc-cni now runs with its own role") {
		t.Errorf("%d applies, want 2 with a second round:\n%s\n%s", applies, stderr, f.calls())
	}
	if !strings.Contains(stderr, "kept AmazonEKS_CNI_Policy on the node role") {
		t.Errorf("first round did not say it kept the node policy:\n%s", stderr)
	}
	b, _ := os.ReadFile(filepath.Join(f.stackDir(), "cdk.tf.json"))
	if strings.Contains(string(b), "eks_cni_policy") {
		t.Error("after the second round the document still gives nodes the CNI policy")
	}
	// Without the node policy in the state there is nothing to migrate: one round.
	f2 := newFakeRun(t)
	f2.show("plan-forget-removed-log-group.json")
	t.Setenv("FAKE_STATE_AFTER_APPLY", "")
	t.Setenv("FAKE_STATE_JSON", write("plain.json", "arn:aws:iam::123456789012:role/vpc-cni"))
	if code, _, stderr := f2.run("deploy", "--skip-live-checks", "--outputs-file", filepath.Join(f2.dir, "o.json")); code != 0 ||
		strings.Contains(stderr, "second round") {
		t.Errorf("exit %d, a second round without a migration:\n%s", code, stderr)
	}
}

// EKS upgraded the cluster by itself (end of support) after the last apply: the state still says 1.30, the
// account 1.31. The stack follows the refreshed state, so the plan never asks EKS for a downgrade.
func TestPlanFollowsTheRefreshedState(t *testing.T) {
	f := newFakeRun(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	if err := os.WriteFile(state, []byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
{"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.30","name":"eks-cluster-v1-ut"}}]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	refresh := filepath.Join(dir, "refresh.json")
	if err := os.WriteFile(refresh, []byte(`{"format_version":"1.2","prior_state":{"format_version":"1.0","values":{"root_module":{"resources":[
{"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.31"}}]}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_STATE_JSON", state)
	t.Setenv("FAKE_REFRESH_JSON", refresh)
	code, _, stderr := f.run("plan", "--kubernetes-version", "1.30")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "note: kept Kubernetes 1.31, which the cluster runs: the configured 1.30 is behind it") {
		t.Errorf("no note on the version EKS moved to:\n%s", stderr)
	}
	if !strings.Contains(f.calls(), "-refresh-only") {
		t.Errorf("the state was not refreshed first:\n%s", f.calls())
	}
	b, _ := os.ReadFile(filepath.Join(f.stackDir(), "cdk.tf.json"))
	var doc struct {
		Resource map[string]map[string]map[string]any `json:"resource"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if v := doc.Resource["aws_eks_cluster"]["eks_cluster"]["version"]; v != "1.31" {
		t.Errorf("the document asks for %v: a downgrade EKS refuses", v)
	}
	if _, err := os.Stat(filepath.Join(f.stackDir(), engine.RefreshPlanFile)); !os.IsNotExist(err) {
		t.Errorf("the refresh plan was left behind: %v", err)
	}
}

// The document planned is the one built around the state, so the rules run on it too: a finding that only that
// document has (here a test rule on the kept Kubernetes version) is refused for the command's refused kinds.
func TestRulesRunOnTheDocumentBuiltAroundTheState(t *testing.T) {
	kind := rules.Invalid
	old := runRules
	t.Cleanup(func() { runRules = old })
	runRules = func(in rules.Input) []rules.Finding {
		fs := old(in)
		if cl, ok := in.Doc.Lookup(stack.ClusterAddress); ok && cl.Body["version"] != in.Config.Cluster.KubernetesVersion {
			fs = append(fs, rules.Finding{Rule: "TS999", Severity: rules.Error, Kind: kind, Path: "cluster.kubernetesVersion",
				Message: fmt.Sprintf("test rule: the document renders Kubernetes %v", cl.Body["version"])})
		}
		return fs
	}
	state := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(state, []byte(`{"format_version":"1.0","values":{"root_module":{"resources":[
{"address":"aws_eks_cluster.eks_cluster","mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","values":{"version":"1.30"}}]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	// Without a state the first document is the one planned, and it has no finding.
	f := newFakeRun(t)
	if code, _, stderr := f.run("plan", "--kubernetes-version", "1.35"); code != 0 || strings.Contains(stderr, "TS999") {
		t.Fatalf("new environment: exit %d: %s", code, stderr)
	}

	// plan refuses an invalid finding of the document built around the state, before planning it.
	f = newFakeRun(t)
	t.Setenv("FAKE_STATE_JSON", state)
	code, stdout, stderr := f.run("plan", "--kubernetes-version", "1.35")
	if code != 2 || !strings.Contains(stderr, "TS999") || !strings.Contains(stderr, "test rule: the document renders Kubernetes 1.30") ||
		!strings.Contains(stderr, "tapstack plan: check: 1 error(s) in the document built around the state") {
		t.Fatalf("plan, invalid: exit %d: %s\n%s", code, stdout, stderr)
	}
	if f.planned() || !f.ran("show") {
		t.Errorf("plan, invalid: the state was not read or the document was planned:\n%s", f.calls())
	}
	if b, _ := os.ReadFile(filepath.Join(f.stackDir(), "cdk.tf.json")); strings.Contains(string(b), `"1.30"`) {
		t.Error("the refused document was written")
	}

	// So does upgrade, before it lists or runs a step.
	stubAddons(t)
	f = newFakeRun(t)
	code, stdout, stderr = f.run("upgrade", "--to", "1.31", "--kubernetes-version", "1.35", "--dry-run")
	if code != 2 || !strings.Contains(stderr, "tapstack upgrade: check: 1 error(s) in the document built around the state") ||
		strings.Contains(stdout, "step") || f.planned() {
		t.Fatalf("upgrade, invalid: exit %d: %s\n%s", code, stdout, stderr)
	}

	// A would-fail finding: plan does not refuse it, deploy does, before the live checks and before planning.
	kind = rules.WouldFail
	f = newFakeRun(t)
	if code, _, stderr := f.run("plan", "--kubernetes-version", "1.35"); code != 0 || !f.planned() {
		t.Fatalf("plan, would-fail: exit %d: %s\n%s", code, stderr, f.calls())
	}
	f = newFakeRun(t)
	code, _, stderr = f.run("deploy", "--kubernetes-version", "1.35", "--outputs-file", filepath.Join(f.dir, "o.json"))
	if code != 2 || !strings.Contains(stderr, "tapstack deploy: check: 1 error(s) in the document built around the state") ||
		!strings.Contains(stderr, "TS999") {
		t.Fatalf("deploy, would-fail: exit %d: %s", code, stderr)
	}
	if f.planned() || f.ran("apply") || strings.Contains(stderr, "live check") {
		t.Errorf("deploy, would-fail: planned, applied or ran live checks:\n%s\n%s", stderr, f.calls())
	}
}

// plan and deploy --format json print only their JSON summary on stdout: the engine's plan and the progress go
// to stderr, and the document carries the schema version and what the plan replaces with the attribute forcing it.
func TestFormatJSON(t *testing.T) {
	f := newFakeRun(t)
	f.show("plan-replace-vpc.json")
	code, stdout, stderr := f.run("plan", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var ps struct {
		SchemaVersion int    `json:"schemaVersion"`
		Command       string `json:"command"`
		Changes       bool   `json:"changes"`
		Summary       struct {
			Replaced []engine.SummaryEntry `json:"replaced"`
		} `json:"summary"`
		Protected []engine.Violation `json:"protected"`
	}
	if err := json.Unmarshal([]byte(stdout), &ps); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if ps.SchemaVersion != 1 || ps.Command != "plan" || !ps.Changes || len(ps.Protected) == 0 ||
		!slices.ContainsFunc(ps.Summary.Replaced, func(e engine.SummaryEntry) bool {
			return e.Address == "aws_vpc.vpc" && slices.Contains(e.Detail, "forced by cidr_block")
		}) {
		t.Errorf("plan summary %+v", ps)
	}
	if !strings.Contains(stderr, "Plan: some changes") {
		t.Errorf("the engine's plan did not go to stderr: %s", stderr)
	}
	if code, _, stderr := f.run("plan", "--format", "yaml"); code != 2 || !strings.Contains(stderr, `--format: "yaml" is not text or json`) {
		t.Errorf("--format yaml: exit %d: %s", code, stderr)
	}

	f.show("plan-forget-removed-log-group.json")
	code, stdout, stderr = f.run("deploy", "--skip-live-checks", "--format", "json", "--outputs-file", filepath.Join(f.dir, "o.json"))
	if code != 0 {
		t.Fatalf("deploy: exit %d: %s", code, stderr)
	}
	var ds struct {
		Command     string `json:"command"`
		OutputsFile string `json:"outputsFile"`
		Rounds      []struct {
			Changes bool `json:"changes"`
		} `json:"rounds"`
	}
	if err := json.Unmarshal([]byte(stdout), &ds); err != nil {
		t.Fatalf("deploy stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if ds.Command != "deploy" || ds.OutputsFile != filepath.Join(f.dir, "o.json") || len(ds.Rounds) != 1 || !ds.Rounds[0].Changes {
		t.Errorf("deploy summary %+v", ds)
	}
}

// With the EBS CSI driver on (the default profile), deploy applies the default StorageClass after the apply and
// says so; --skip-in-cluster says what it did not do; a cluster it cannot reach fails the deploy, saying why.
func TestDeployInCluster(t *testing.T) {
	// A plan the guard lets through: it only forgets a log group.
	newRun := func() *fakeRun { f := newFakeRun(t); f.show("plan-forget-removed-log-group.json"); return f }
	f := newRun()
	code, _, stderr := f.run("deploy", "--skip-live-checks", "--outputs-file", filepath.Join(f.dir, "o.json"))
	if code != 0 || !strings.Contains(stderr, "StorageClass tapstack-gp3 created\n") {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	f = newRun()
	code, _, stderr = f.run("deploy", "--skip-live-checks", "--skip-in-cluster", "--outputs-file", filepath.Join(f.dir, "o.json"))
	if code != 0 || !strings.Contains(stderr, "not done: the default StorageClass tapstack-gp3 was not applied") {
		t.Fatalf("--skip-in-cluster: exit %d: %s", code, stderr)
	}

	old := kubeClient
	t.Cleanup(func() { kubeClient = old })
	kubeClient = func(context.Context, *config.Config) (kubernetes.Interface, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "ABC.gr7.us-east-1.eks.amazonaws.com", IsNotFound: true}
	}
	f = newRun()
	code, _, stderr = f.run("deploy", "--skip-live-checks", "--outputs-file", filepath.Join(f.dir, "o.json"))
	for _, want := range []string{"tapstack deploy: in-cluster: cannot reach the Kubernetes API of cluster", "no such host",
		"from inside the VPC", "--skip-in-cluster", "the apply and the outputs file are done"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("unreachable: stderr does not say %q", want)
		}
	}
	if code != 1 || !f.ran("apply") {
		t.Errorf("unreachable: exit %d, want 1 after the apply: %s", code, stderr)
	}
}
