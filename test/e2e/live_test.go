package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

const liveBucket = "tapstack-e2e-live-state"

// liveAccount is moto behind the harness's front, with a versioned state bucket, for the live-check tests.
type liveAccount struct {
	moto      *harness.Moto
	front     *harness.Front
	cliConfig string
	env       []string
}

func startLiveAccount(t *testing.T) *liveAccount {
	t.Helper()
	a := &liveAccount{moto: harness.StartMoto(t)}
	a.front = harness.StartFront(t, a.moto.URL)
	a.cliConfig = harness.TerraformCLIConfig(t)
	a.env = liveEnv(a.front.URL, a.cliConfig)
	harness.CreateBucket(t, a.front.URL, liveBucket, harness.Region)
	ctx := liveContext(t)
	if _, err := harness.S3Client(a.front.URL, harness.Region).PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(liveBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatalf("versioning on the state bucket: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto's log (tail):\n%s", liveTail(a.moto.Log(), 80))
		}
	})
	return a
}

// liveEnv is the CLI's environment: every AWS call to endpoint, fake credentials, no tapstack settings of the
// developer's shell.
func liveEnv(endpoint, cliConfig string) []string {
	var env []string
	for _, kv := range harness.CommandEnv(endpoint, cliConfig) {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "ENVIRONMENT_SUFFIX", "TERRAFORM_STATE_BUCKET", "TERRAFORM_STATE_BUCKET_REGION", "TAPSTACK_PROFILE",
			"TAPSTACK_ENGINE", "REPOSITORY", "COMMIT_AUTHOR", "PR_NUMBER", "TEAM", "TF_LOG", "TF_DATA_DIR", "TF_WORKSPACE",
			"TAPSTACK_OUTPUTS_FILE", "TAPSTACK_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "CHECKPOINT_DISABLE=1")
}

func liveContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func liveTail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// liveRun is one run of the CLI.
type liveRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// tapstackLive runs the CLI in dir with env and returns its exit code and output.
func tapstackLive(t *testing.T, dir string, env []string, args ...string) liveRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tapstackBin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now() // clock: measures a duration for the log
	err := cmd.Run()
	r := liveRun{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("tapstack %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("tapstack %s: exit %d in %s", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	return r
}

// liveStackArgs are the stack flags of command in an environment in the live account (dateArgs).
func liveStackArgs(command, suffix string) []string {
	return append([]string{"--environment-suffix", suffix, "--state-bucket", liveBucket, "--state-bucket-region", harness.Region,
		"--region", harness.Region}, dateArgs(command)...)
}

// liveCheckJSON is `tapstack check --live --format json`.
type liveCheckJSON struct {
	Findings []rules.Finding `json:"findings"`
	Summary  struct {
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
	} `json:"summary"`
	Live *struct {
		State      string        `json:"state"`
		Checks     []live.Result `json:"checks"`
		DurationMS float64       `json:"durationMs"`
	} `json:"live"`
}

func checkLive(t *testing.T, a *liveAccount, dir, suffix string, want int, extra ...string) (liveRun, liveCheckJSON) {
	t.Helper()
	args := append([]string{"check", "--live", "--format", "json"}, liveStackArgs("check", suffix)...)
	r := tapstackLive(t, dir, a.env, append(args, extra...)...)
	var rep liveCheckJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("check --live --format json printed no report (%v):\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	if rep.Live == nil {
		t.Fatalf("the JSON report has no live section:\n%s", r.stdout)
	}
	if r.code != want {
		t.Fatalf("check --live exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
	return r, rep
}

// liveFinding returns the findings of a rule.
func liveFindings(rep liveCheckJSON, rule string) []rules.Finding {
	var out []rules.Finding
	for _, f := range rep.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func wantLiveFinding(t *testing.T, rep liveCheckJSON, rule string, sev rules.Severity, parts ...string) {
	t.Helper()
	for _, f := range liveFindings(rep, rule) {
		text := f.Path + " " + f.Message + " " + f.Fix
		ok := f.Severity == sev
		for _, p := range parts {
			ok = ok && strings.Contains(text, p)
		}
		if ok {
			t.Logf("%s %s: %s", rule, f.Severity, f.Message)
			return
		}
	}
	t.Errorf("no %s %s finding mentioning %q; findings: %+v", sev, rule, parts, rep.Findings)
}

func iamLive(endpoint string) *iam.Client {
	return iam.New(iam.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func eksLive(endpoint string) *eks.Client {
	return eks.New(eks.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func logsLive(endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: harness.Region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// TestLiveChecks runs `tapstack check --live` against moto through the front: a clean account passes, a role
// with the stack's name collides, an orphaned log group is reported and then adopted through an import block that
// `terraform plan` imports, and an instance type a zone does not offer is reported.
func TestLiveChecks(t *testing.T) {
	t.Parallel()        // each test has its own moto, front, bucket and working copy
	start := time.Now() // clock: measures a duration for the log
	harness.TerraformBinary(t)
	a := startLiveAccount(t)
	defer func() { t.Logf("TestLiveChecks took %s", time.Since(start).Round(100*time.Millisecond)) }()

	t.Run("clean_account_passes", func(t *testing.T) {
		dir := t.TempDir()
		_, rep := checkLive(t, a, dir, "live1", 0)
		if rep.Summary.Errors != 0 {
			t.Errorf("errors in a clean account: %+v", rep.Findings)
		}
		for _, f := range rep.Findings {
			if strings.HasPrefix(f.Rule, "TS8") {
				t.Errorf("live finding in a clean account: %s %s: %s", f.Rule, f.Severity, f.Message)
			}
		}
		if len(rep.Live.Checks) != len(live.Checks()) {
			t.Errorf("%d live results for %d checks", len(rep.Live.Checks), len(live.Checks()))
		}
		for _, c := range rep.Live.Checks {
			t.Logf("%s %-11s %7.1fms %s: %s", c.ID, c.Status, c.DurationMS, c.Name, c.Note)
			if c.DurationMS <= 0 {
				t.Errorf("%s has no duration", c.ID)
			}
			// Every check, the EC2 quotas included (the front serves them), passes in a clean account.
			if c.Status != live.StatusOK {
				t.Errorf("%s %s: %s (%s)", c.ID, c.Name, c.Status, c.Note)
			}
		}
		if !strings.Contains(rep.Live.State, "does not exist yet") {
			t.Errorf("state: %q", rep.Live.State)
		}
		// The text report carries the same table with durations.
		r := tapstackLive(t, dir, a.env, append([]string{"check", "--live"}, liveStackArgs("check", "live1")...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "Live checks (") || !strings.Contains(r.stdout, "TS809 ok") {
			t.Errorf("text report, exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("existing_role_collides", func(t *testing.T) {
		ctx := liveContext(t)
		role := "eks-cluster-role-v1-live2"
		if _, err := iamLive(a.front.URL).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
		}); err != nil {
			t.Fatalf("create role: %v", err)
		}
		r, rep := checkLive(t, a, t.TempDir(), "live2", 2)
		wantLiveFinding(t, rep, "TS802", rules.Error, "aws_iam_role.eks_cluster_role", role, "EntityAlreadyExists", "delete-role")
		if len(liveFindings(rep, "TS802")) != 1 {
			t.Errorf("want only the cluster role reported: %+v", liveFindings(rep, "TS802"))
		}
		if r.stderr != "" && strings.Contains(r.stderr, "panic") {
			t.Errorf("stderr: %s", r.stderr)
		}
		// deploy runs the same checks first and refuses before planning anything.
		d := tapstackLive(t, t.TempDir(), a.env, append([]string{"deploy"}, liveStackArgs("deploy", "live2")...)...)
		if d.code != 2 || !strings.Contains(d.stderr, "TS802") || !strings.Contains(d.stderr, "live checks") {
			t.Errorf("deploy with a colliding role: exit %d\n%s", d.code, liveTail(d.stderr, 20))
		}
		if _, err := eksLive(a.front.URL).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("eks-cluster-v1-live2")}); err == nil {
			t.Error("deploy refused by the live checks still created the cluster")
		}
	})

	t.Run("orphaned_log_group_is_adopted", func(t *testing.T) {
		ctx := liveContext(t)
		suffix := "live3"
		group := "/aws/eks/eks-cluster-v1-" + suffix + "/cluster"
		if _, err := logsLive(a.front.URL).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
			t.Fatalf("create log group: %v", err)
		}
		dir := t.TempDir()
		_, rep := checkLive(t, a, dir, suffix, 2)
		wantLiveFinding(t, rep, "TS805", rules.Error, group, "ResourceAlreadyExistsException", "--adopt-existing")

		_, rep = checkLive(t, a, dir, suffix, 0, "--adopt-existing")
		wantLiveFinding(t, rep, "TS805", rules.Warning, group, "imports it")

		r := tapstackLive(t, dir, a.env, append([]string{"synth", "--adopt-existing"}, liveStackArgs("synth", suffix)...)...)
		if r.code != 0 {
			t.Fatalf("synth --adopt-existing: exit %d\n%s", r.code, r.stderr)
		}
		stackDir := filepath.Join(dir, "cdktf.out", "stacks", "TapStack"+suffix)
		raw, err := os.ReadFile(filepath.Join(stackDir, "cdk.tf.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Import []struct{ To, ID string } `json:"import"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Import) != 1 || doc.Import[0].To != live.LogGroupAddress || doc.Import[0].ID != group {
			t.Fatalf("cdk.tf.json import blocks = %+v, want one for %s with id %s", doc.Import, live.LogGroupAddress, group)
		}

		// The next plan imports the group instead of failing with ResourceAlreadyExistsException.
		tf := liveTerraform(t, stackDir, a)
		if err := tf.Init(ctx, tfexec.BackendConfig("use_path_style=true"), tfexec.Upgrade(false)); err != nil {
			t.Fatalf("terraform init: %v", err)
		}
		planFile := filepath.Join(stackDir, "adopt.tfplan")
		if _, err := tf.Plan(ctx, tfexec.Out(planFile)); err != nil {
			t.Fatalf("terraform plan with the import block: %v", err)
		}
		plan, err := tf.ShowPlanFile(ctx, planFile)
		if err != nil {
			t.Fatalf("terraform show: %v", err)
		}
		found := false
		for _, rc := range plan.ResourceChanges {
			if rc.Address != live.LogGroupAddress {
				continue
			}
			found = true
			if rc.Change.Importing == nil || rc.Change.Importing.ID != group {
				t.Errorf("%s is not imported: %+v", rc.Address, rc.Change)
			}
			if rc.Change.Actions.Create() {
				t.Errorf("%s is created, not imported: %v", rc.Address, rc.Change.Actions)
			}
			t.Logf("plan: %s imported from %s, then %v", rc.Address, rc.Change.Importing.ID, rc.Change.Actions)
		}
		if !found {
			t.Fatalf("the plan does not touch %s", live.LogGroupAddress)
		}
	})

	t.Run("missing_instance_type_offering", func(t *testing.T) {
		dir := t.TempDir()
		// moto's offering data (taken from AWS) has vt1.3xlarge in us-east-1a but not in us-east-1b.
		cfgFile := filepath.Join(dir, "tapstack.yaml")
		if err := os.WriteFile(cfgFile, []byte(`network:
  availabilityZones: [us-east-1a, us-east-1b]
nodeGroups:
  onDemand: {instanceTypes: [vt1.3xlarge], minSize: 1, desiredSize: 1, maxSize: 2}
`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, rep := checkLive(t, a, dir, "live4", 2, "--config", cfgFile)
		wantLiveFinding(t, rep, "TS811", rules.Error, "nodeGroups.onDemand.instanceTypes[0]", "vt1.3xlarge is not offered in us-east-1b")
		if fs := liveFindings(rep, "TS811"); len(fs) != 1 {
			t.Errorf("t3.medium of the spot group is offered in both zones, yet: %+v", fs)
		}

		// A zone EKS avoids, where t3.medium is not offered either.
		_, rep = checkLive(t, a, dir, "live4", 2, "--availability-zones", "us-east-1a,us-east-1e")
		wantLiveFinding(t, rep, "TS811", rules.Error, "t3.medium is not offered in us-east-1e")
		wantLiveFinding(t, rep, "TS807", rules.Error, "us-east-1e is use1-az3")
	})
}

// liveTerraform is terraform-exec in dir, talking to the front, with providers from the local mirror.
func liveTerraform(t *testing.T, dir string, a *liveAccount) *tfexec.Terraform {
	t.Helper()
	return plainTerraform(t, dir, a.front.URL, a.cliConfig, "terraform: ")
}
