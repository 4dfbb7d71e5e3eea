package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

// deployStack is one environment under test, reached through the front.
type deployStack struct {
	endpoint string   // the front's URL
	env      []string // the CLI's environment
	bucket   string
	suffix   string
}

func (d *deployStack) name() string     { return "TapStack" + d.suffix }
func (d *deployStack) stateKey() string { return d.name() + "/" + d.suffix + "/terraform.tfstate" }
func (d *deployStack) cluster() string  { return "eks-cluster-v1-" + d.suffix }

// stackArgs are the stack flags of command in this environment, on the front's day (dateArgs).
func (d *deployStack) stackArgs(command string) []string {
	return append([]string{"--environment-suffix", d.suffix, "--state-bucket", d.bucket,
		"--state-bucket-region", harness.Region, "--region", harness.Region}, dateArgs(command)...)
}

// dateArgs puts a command that takes --date on the front's day (destroy, outputs and verify run no date-based
// rule and take no --date: an unknown flag, exit 2), gives the live checks of those that run them a time limit
// for a loaded machine, and --skip-in-cluster to those that take it.
func dateArgs(command string) []string {
	var out []string
	switch command {
	case "destroy", "outputs", "verify":
	default:
		out = []string{"--date", harness.TestDay}
	}
	// The live checks' time limit, generous: CI runs many emulators, Terraform and a build on two cores.
	switch command {
	case "check", "verify":
		out = append(out, "--timeout", liveLimit)
	case "deploy", "upgrade":
		out = append(out, "--live-timeout", liveLimit)
	}
	// No Kubernetes API server answers these clusters (moto's endpoints are made up): deploy, upgrade and verify
	// leave out what they do through it. The TestKube tests, which start one, build their arguments themselves.
	switch command {
	case "deploy", "upgrade", "verify":
		out = append(out, "--skip-in-cluster")
	}
	return out
}

// liveLimit is each live check's time limit in the tests.
const liveLimit = "3m"

// result is one run of the CLI.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) output() string { return r.stdout + r.stderr }

// tapstack runs the CLI in dir (a working copy) and logs its output as it comes, prefixed with label. It may run
// on a goroutine of its own.
func (d *deployStack) tapstack(t *testing.T, dir, label string, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tapstackBin, args...)
	cmd.Dir = dir
	cmd.Env = d.env
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(&stdout, &harness.LogWriter{T: t, Prefix: label + " | "})
	cmd.Stderr = io.MultiWriter(&stderr, &harness.LogWriter{T: t, Prefix: label + " ! "})
	start := time.Now() // clock: measures a duration for the log
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start).Round(100 * time.Millisecond)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default: // not started, or killed: Errorf, not Fatalf, as this may run on another goroutine
		t.Errorf("%s: tapstack %s: %v", label, strings.Join(args, " "), err)
		r.code = -1
	}
	t.Logf("%s: tapstack %s: exit %d in %s", label, args[0], r.code, r.took)
	return r
}

// run is tapstack with the stack flags appended, expecting exit code want.
func (d *deployStack) run(t *testing.T, dir string, want int, args ...string) result {
	t.Helper()
	r := d.tapstack(t, dir, args[0], nil, append(args, d.stackArgs(args[0])...)...)
	if r.code != want {
		t.Fatalf("tapstack %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), r.code, want, tail(r.stderr, 60))
	}
	return r
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = append([]string{"..."}, ls[len(ls)-lines:]...)
	}
	return strings.Join(ls, "\n")
}

// deployEnv is the CLI's environment: every AWS call to endpoint with fake credentials, Terraform's providers
// from the local mirror, and nothing of the developer's tapstack settings.
func deployEnv(endpoint, cliConfig string) []string {
	var env []string
	for _, kv := range harness.CommandEnv(endpoint, cliConfig) {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "ENVIRONMENT_SUFFIX", "TERRAFORM_STATE_BUCKET", "TERRAFORM_STATE_BUCKET_REGION", "TAPSTACK_PROFILE",
			"TAPSTACK_ENGINE", "TAPSTACK_TTL", "TAPSTACK_PROTECT", "CHECKPOINT_DISABLE", "TF_LOG", "TF_DATA_DIR", "TF_WORKSPACE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "CHECKPOINT_DISABLE=1")
}

// tfState is the part of a state object the tests read.
type tfState struct {
	Serial    int `json:"serial"`
	Resources []struct {
		Mode      string `json:"mode"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Instances []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"instances"`
	} `json:"resources"`
	Outputs map[string]struct {
		Value any `json:"value"`
	} `json:"outputs"`
}

// state reads the environment's state object from the bucket.
func (d *deployStack) state(t *testing.T) tfState {
	t.Helper()
	raw := harness.StateObject(t, d.endpoint, d.bucket, d.stateKey())
	var st tfState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("state object s3://%s/%s is not a state: %v", d.bucket, d.stateKey(), err)
	}
	return st
}

// managed lists the managed resources of a state as type.name, sorted.
func (st tfState) managed() []string {
	var out []string
	for _, r := range st.Resources {
		if r.Mode == "managed" {
			out = append(out, r.Type+"."+r.Name)
		}
	}
	sort.Strings(out)
	return out
}

// attr returns an attribute of the first instance of a managed resource.
func (st tfState) attr(address, name string) any {
	for _, r := range st.Resources {
		if r.Mode == "managed" && r.Type+"."+r.Name == address && len(r.Instances) > 0 {
			return r.Instances[0].Attributes[name]
		}
	}
	return nil
}

// document reads the synthesized stack of a working copy.
type document struct {
	Resource map[string]map[string]any `json:"resource"`
	Output   map[string]any            `json:"output"`
}

func (d *deployStack) document(t *testing.T, dir string) document {
	t.Helper()
	p := filepath.Join(dir, "cdktf.out", "stacks", d.name(), "cdk.tf.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("synthesized stack: %v", err)
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return doc
}

// addresses lists the document's managed resources as type.name, sorted.
func (doc document) addresses() []string {
	var out []string
	for typ, byName := range doc.Resource {
		for name := range byName {
			out = append(out, typ+"."+name)
		}
	}
	sort.Strings(out)
	return out
}

func (doc document) outputNames() []string {
	var out []string
	for name := range doc.Output {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// SDK clients against the front.

func awsOptions(endpoint string) (aws.CredentialsProvider, *string) {
	return credentials.NewStaticCredentialsProvider("test", "test", ""), aws.String(endpoint)
}

func eksAPI(endpoint string) *eks.Client {
	creds, ep := awsOptions(endpoint)
	return eks.New(eks.Options{Region: harness.Region, BaseEndpoint: ep, Credentials: creds})
}

func ec2API(endpoint string) *ec2.Client {
	creds, ep := awsOptions(endpoint)
	return ec2.New(ec2.Options{Region: harness.Region, BaseEndpoint: ep, Credentials: creds})
}

func elbv2API(endpoint string) *elbv2.Client {
	creds, ep := awsOptions(endpoint)
	return elbv2.New(elbv2.Options{Region: harness.Region, BaseEndpoint: ep, Credentials: creds})
}

func iamAPI(endpoint string) *iam.Client {
	creds, ep := awsOptions(endpoint)
	return iam.New(iam.Options{Region: harness.Region, BaseEndpoint: ep, Credentials: creds})
}

func logsAPI(endpoint string) *cloudwatchlogs.Client {
	creds, ep := awsOptions(endpoint)
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: harness.Region, BaseEndpoint: ep, Credentials: creds})
}

// logGroupExists reports whether the log group name exists.
func logGroupExists(t *testing.T, endpoint, name string) bool {
	t.Helper()
	out, err := logsAPI(endpoint).DescribeLogGroups(testContext(t), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatalf("describe log groups %s: %v", name, err)
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			return true
		}
	}
	return false
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newWorkingCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	return dir
}

// plainTerraform is the real Terraform CLI in dir, driven directly rather than through tapstack, with every AWS
// call to endpoint and its output logged with prefix.
func plainTerraform(t *testing.T, dir, endpoint, cliConfig, prefix string) *tfexec.Terraform {
	t.Helper()
	tf, err := tfexec.NewTerraform(dir, harness.TerraformBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range harness.CommandEnv(endpoint, cliConfig) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range tfexec.ProhibitedEnv(env) {
		delete(env, k)
	}
	env["CHECKPOINT_DISABLE"] = "1"
	if err := tf.SetEnv(env); err != nil {
		t.Fatal(err)
	}
	w := &harness.LogWriter{T: t, Prefix: prefix}
	tf.SetStdout(w)
	tf.SetStderr(w)
	return tf
}
