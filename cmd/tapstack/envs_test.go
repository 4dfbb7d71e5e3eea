package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/tapstack/tapstack/internal/fakes3"
	"github.com/tapstack/tapstack/internal/fakestate"
	"github.com/tapstack/tapstack/pkg/live"
)

// withBucket makes the fleet commands reach b instead of S3, for this test.
func withBucket(t *testing.T, b *fakes3.Bucket) {
	t.Helper()
	old := newBucketClient
	newBucketClient = func(context.Context, string) (live.StateBucketAPI, error) { return b, nil }
	t.Cleanup(func() { newBucketClient = old })
}

// fleetBucket holds two of tapstack's environments (one expired, one protected and locked), the original's
// state and another project's.
func fleetBucket() *fakes3.Bucket {
	b := &fakes3.Bucket{Name: "team-states", PageSize: 2}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	b.Put(fakestate.Key("pr1"), fakestate.Env{Suffix: "pr1", Tags: map[string]string{"tapstack:expires-at": "2026-12-02T00:00:00Z"}}.Raw(), at)
	b.Put(fakestate.Key("pr2"), fakestate.Env{Suffix: "pr2", Region: "eu-west-1", Tags: map[string]string{"tapstack:protect": "true"}}.Raw(), at)
	b.Put(fakestate.Key("pr2")+".tflock", []byte("{}"), time.Date(2026, 12, 3, 11, 58, 30, 0, time.UTC))
	b.Put(fakestate.Key("dev"), fakestate.Env{Suffix: "dev", ManagedBy: "CDKTF"}.Raw(), at)
	b.Put("billing/terraform.tfstate", fakestate.Env{Suffix: "billing", NoCluster: true}.Raw(), at)
	return b
}

const fleetTestNow = "2026-12-03T12:00:00Z"

func TestEnvsText(t *testing.T) {
	clearEnv(t)
	withBucket(t, fleetBucket())
	code, out, errs := runCLI(t, "envs", "--state-bucket", "team-states", "--now", fleetTestNow)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"s3://team-states (us-east-1) at 2026-12-03T12:00:00Z: 2 environments of tapstack's, 0 copies, 2 foreign states, 0 unreadable states",
		"pr1     us-east-1  2026-12-01T08:00:00Z  6          1.36  on_demand 2 (1-3), spot 1 (1-3)  default  4pr1  2026-12-02T00:00:00Z (expired)  -          -           133.74-164.10\n",
		"pr2     eu-west-1", "yes        held 1m30s  73.00",
		"  foreign TapStackdev/dev/terraform.tfstate: the cluster's ManagedBy tag is \"CDKTF\", not \"tapstack\" (6 resources)",
		"  foreign billing/terraform.tfstate: no aws_eks_cluster.eks_cluster (3 resources)",
		"left out of the estimates (no sourced price):\n  pr2: node-group-od-v1-pr2: 2 x t3.medium on-demand",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("envs lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "tapstack: listed 4 state objects") {
		t.Errorf("stderr: %s", errs)
	}
}

func TestEnvsJSON(t *testing.T) {
	clearEnv(t)
	withBucket(t, fleetBucket())
	t.Setenv("TERRAFORM_STATE_BUCKET", "team-states") // the pipeline's variable names the bucket
	code, out, errs := runCLI(t, "envs", "--format", "json", "--now", fleetTestNow)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		SchemaVersion int    `json:"schemaVersion"`
		Command       string `json:"command"`
		Bucket        string `json:"bucket"`
		Now           string `json:"now"`
		Environments  []struct {
			Key, Class, Suffix, ExpiresAt string
			Expired, Protected            bool
			Lock                          *struct{ AgeSeconds int64 }
		} `json:"environments"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if r.SchemaVersion != 1 || r.Command != "envs" || r.Bucket != "team-states" || r.Now != fleetTestNow || len(r.Environments) != 4 {
		t.Fatalf("report %+v", r)
	}
	byKey := map[string]int{}
	for i, e := range r.Environments {
		byKey[e.Key] = i
	}
	pr1, pr2 := r.Environments[byKey[fakestate.Key("pr1")]], r.Environments[byKey[fakestate.Key("pr2")]]
	if pr1.Class != "ours" || !pr1.Expired || pr1.Lock != nil || pr2.Class != "ours" || !pr2.Protected || pr2.Lock == nil || pr2.Lock.AgeSeconds != 90 {
		t.Errorf("pr1 %+v, pr2 %+v", pr1, pr2)
	}
	if r.Environments[byKey["billing/terraform.tfstate"]].Class != "foreign" {
		t.Errorf("billing: %+v", r.Environments[byKey["billing/terraform.tfstate"]])
	}
	if _, again, _ := runCLI(t, "envs", "--format", "json", "--now", fleetTestNow); again != out {
		t.Error("two runs at the same --now printed different JSON")
	}
}

// Bad flags are refused at once, each named; a listing S3 refuses is a failure.
func TestEnvsRefusals(t *testing.T) {
	clearEnv(t)
	b := fleetBucket()
	withBucket(t, b)
	code, out, errs := runCLI(t, "envs", "--format", "yaml", "--now", "noon", "--config", "no-such.yaml")
	if code != 2 || out != "" || !strings.Contains(errs, `--format: "yaml" is not text or json`) ||
		!strings.Contains(errs, `--now: "noon" is not an RFC 3339 time`) || !strings.Contains(errs, "--config: open no-such.yaml") {
		t.Errorf("bad flags: exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if b.Calls("ListObjectsV2") != 0 {
		t.Error("refused flags listed the bucket")
	}
	b.Fail = map[string]error{"ListObjectsV2": &smithy.GenericAPIError{Code: "AccessDenied", Message: "denied"}}
	code, _, errs = runCLI(t, "envs", "--state-bucket", "team-states")
	if code != 1 || !strings.Contains(errs, "tapstack envs: s3:ListObjectsV2: api error AccessDenied: denied") {
		t.Errorf("denied listing: exit %d, stderr %s", code, errs)
	}
}
