package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

// TestVerify deploys the default stack to moto through the CLI, then: `tapstack verify` passes, and so does the
// integration suite (go test -tags integration ./test/integration/) on the outputs file; after a node group is
// scaled behind the stack's back, both fail naming the node group and the field.
func TestVerify(t *testing.T) {
	t.Parallel()        // each test has its own moto, front, bucket and working copy
	start := time.Now() // clock: measures a duration for the log
	harness.TerraformBinary(t)
	a := startLiveAccount(t)
	defer func() { t.Logf("TestVerify took %s", time.Since(start).Round(100*time.Millisecond)) }()
	const suffix = "ver1"
	wc := t.TempDir()
	stackArgs := liveStackArgs("verify", suffix)

	r := tapstackLive(t, wc, a.env, append([]string{"deploy", "--lock-timeout", "30s"}, liveStackArgs("deploy", suffix)...)...)
	if r.code != 0 {
		t.Fatalf("deploy: exit %d\n%s", r.code, liveTail(r.stderr, 60))
	}
	outFile := filepath.Join(wc, outputs.DefaultPath)

	t.Run("verify_passes_after_deploy", func(t *testing.T) {
		r := tapstackLive(t, wc, a.env, append([]string{"verify"}, stackArgs...)...)
		t.Logf("verify:\n%s", r.stdout)
		if r.code != 0 {
			t.Fatalf("verify of a fresh deploy: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		r = tapstackLive(t, t.TempDir(), a.env, append([]string{"verify", "--format", "json", "--outputs", outFile}, stackArgs...)...)
		var rep live.VerifyReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
			t.Fatalf("verify --format json: exit %d, %v\n%s", r.code, err, r.stdout)
		}
		if !rep.OK() || rep.Summary.Matched < 30 || len(rep.Parts) != 11 {
			t.Errorf("JSON summary %+v with %d parts, want 11: seven and the four platform add-ons", rep.Summary, len(rep.Parts))
		}
		// Each platform add-on with a role reports its association: owner, namespace, service account, role.
		assoc := 0
		for _, it := range rep.Items {
			if strings.HasPrefix(it.Part, "addon:") && strings.HasPrefix(it.Field, "association ") && it.Status == live.Match {
				assoc++
			}
		}
		if assoc != 8 {
			t.Errorf("%d association facts matched, want 4 for each of the two add-ons with a role", assoc)
		}
		for _, p := range rep.Parts {
			t.Logf("part %-20s %-8s %6.1fms", p.ID, p.Status, p.DurationMS)
		}
	})

	t.Run("integration_suite_passes", func(t *testing.T) {
		out, err := runIntegrationSuite(t, a, outFile, suffix)
		if err != nil {
			t.Fatalf("the integration suite failed on a fresh deploy: %v\n%s", err, liveTail(out, 80))
		}
		if !strings.Contains(out, "--- PASS: TestLiveStack") || !strings.Contains(out, "--- PASS: TestOutputs") {
			t.Errorf("the suite's tests did not all run:\n%s", liveTail(out, 80))
		}
	})

	t.Run("integration_suite_fails_without_the_outputs_file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "flat-outputs.json")
		out, err := runIntegrationSuite(t, a, missing, suffix)
		if err == nil || strings.Contains(out, "--- SKIP") {
			t.Fatalf("the suite did not fail without its outputs file:\n%s", liveTail(out, 40))
		}
		if want := "the outputs file " + missing + " does not exist"; !strings.Contains(out, want) {
			t.Errorf("the failure does not say %q:\n%s", want, liveTail(out, 40))
		}
	})

	t.Run("verify_fails_after_a_change_behind_the_stacks_back", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		group := "node-group-spot-v1-" + suffix
		client := eks.New(eks.Options{Region: harness.Region, BaseEndpoint: aws.String(a.front.URL),
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
		if _, err := client.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{
			ClusterName: aws.String("eks-cluster-v1-" + suffix), NodegroupName: aws.String(group),
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(3), DesiredSize: aws.Int32(3), MaxSize: aws.Int32(6)},
		}); err != nil {
			t.Fatalf("UpdateNodegroupConfig: %v", err)
		}
		// EKS changes the group asynchronously: it is UPDATING until the change completes.
		waiter := eks.NewNodegroupActiveWaiter(client, func(o *eks.NodegroupActiveWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, 2*time.Second })
		if err := waiter.Wait(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("eks-cluster-v1-" + suffix), NodegroupName: aws.String(group)},
			time.Minute); err != nil {
			t.Fatalf("the node group did not become ACTIVE after the change: %v", err)
		}

		r := tapstackLive(t, wc, a.env, append([]string{"verify"}, stackArgs...)...)
		t.Logf("verify:\n%s%s", r.stdout, r.stderr)
		if r.code != 2 {
			t.Fatalf("verify of a changed stack: exit %d, want 2", r.code)
		}
		want := `MISMATCH ` + group + ` scalingConfig.maxSize: expected "10", actual "6"`
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify does not say %q", want)
		}
		if n := strings.Count(r.stdout, "MISMATCH"); n != 1 {
			t.Errorf("%d mismatches reported, want only the one changed field", n)
		}

		out, err := runIntegrationSuite(t, a, outFile, suffix)
		if err == nil {
			t.Fatalf("the integration suite passed a changed stack:\n%s", liveTail(out, 40))
		}
		if want := group + ` scalingConfig.maxSize: expected "10", actual "6"`; !strings.Contains(out, want) {
			t.Errorf("the suite's failure does not say %q:\n%s", want, liveTail(out, 40))
		}
	})
}

// runIntegrationSuite runs `go test -tags integration ./test/integration/` from the repository root against the
// front, on outFile.
func runIntegrationSuite(t *testing.T, a *liveAccount, outFile, suffix string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-tags", "integration", "-count=1", "-v", "./test/integration/")
	cmd.Dir = harness.RepoRoot(t)
	cmd.Env = append(liveEnv(a.front.URL, ""), "TAPSTACK_OUTPUTS_FILE="+outFile, "ENVIRONMENT_SUFFIX="+suffix,
		"TERRAFORM_STATE_BUCKET="+liveBucket, "TERRAFORM_STATE_BUCKET_REGION="+harness.Region)
	start := time.Now() // clock: measures a duration for the log
	out, err := cmd.CombinedOutput()
	t.Logf("go test -tags integration ./test/integration/: %v in %s", err, time.Since(start).Round(100*time.Millisecond))
	return string(out), err
}
