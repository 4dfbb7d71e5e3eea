//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapstack/tapstack/internal/fakes3"
	"github.com/tapstack/tapstack/internal/fakestate"
)

// driftPlanJSON is show -json of a refresh-only plan that found the log group's retention changed.
const driftPlanJSON = `{"format_version":"1.2","resource_drift":[{"address":"aws_cloudwatch_log_group.eks_cluster_log_group",
"mode":"managed","type":"aws_cloudwatch_log_group","name":"eks_cluster_log_group","change":{"actions":["update"],
"before":{"name":"/aws/eks/eks-cluster-v1-pr1/cluster","retention_in_days":30},"after":{"name":"/aws/eks/eks-cluster-v1-pr1/cluster","retention_in_days":7}}}]}`

// drift runs the fake engine in a working copy per environment: exit 0 in sync, 2 drifted (with what changed),
// 1 when a check failed or a flag is bad.
func TestDriftCommand(t *testing.T) {
	clearEnv(t)
	newFakeRun(t)
	b := &fakes3.Bucket{Name: "team-states"}
	b.Put(fakestate.Key("pr1"), fakestate.Env{Suffix: "pr1"}.Raw(), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	b.Put("other/terraform.tfstate", fakestate.Env{Suffix: "x", NoCluster: true}.Raw(), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	withBucket(t, b)
	showJSON := filepath.Join(t.TempDir(), "drift.json")
	if err := os.WriteFile(showJSON, []byte(driftPlanJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_SHOW_JSON", showJSON)
	cache := t.TempDir()
	args := []string{"drift", "--state-bucket", "team-states", "--cache-dir", cache}

	code, out, errs := runCLI(t, args...)
	if code != 2 {
		t.Fatalf("drifted: exit %d, want 2\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"1 environment checked: 0 in sync, 1 drifted, 0 failed",
		"pr1     us-east-1  drifted  changed outside Terraform:",
		"aws_cloudwatch_log_group.eks_cluster_log_group: retention_in_days 30 -> 7",
		"not checked:\n  foreign other/terraform.tfstate: no aws_eks_cluster.eks_cluster"} {
		if !strings.Contains(out, want) {
			t.Errorf("drift lacks %q:\n%s", want, out)
		}
	}
	doc, err := os.ReadFile(filepath.Join(cache, "drift", "team-states", "pr1", "drift.tf.json"))
	if err != nil || !strings.Contains(string(doc), `"key": "TapStackpr1/pr1/terraform.tfstate"`) {
		t.Errorf("working copy document: %v\n%s", err, doc)
	}

	t.Setenv("FAKE_PLAN_EXIT", "0")
	code, out, errs = runCLI(t, append(args, "--format", "json")...)
	var r struct {
		SchemaVersion int    `json:"schemaVersion"`
		Command       string `json:"command"`
		Environments  []struct{ Suffix, Status string }
		Skipped       []struct{ Key, Class string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.SchemaVersion != 1 || r.Command != "drift" ||
		len(r.Environments) != 1 || r.Environments[0].Status != "in-sync" || len(r.Skipped) != 1 {
		t.Errorf("in sync: exit %d, report %+v\n%s\n%s", code, r, out, errs)
	}

	t.Setenv("FAKE_INIT_FAIL", "Failed to get existing workspaces")
	code, out, errs = runCLI(t, args...)
	if code != 1 || !strings.Contains(out, "failed  init: terraform init failed: Failed to get existing workspaces") ||
		!strings.Contains(errs, "1 of 1 environment could not be checked") {
		t.Errorf("failed: exit %d\n%s\n%s", code, out, errs)
	}

	// A bad flag is exit 1 too: exit 2 means drift.
	calls := b.Calls("ListObjectsV2")
	code, _, errs = runCLI(t, "drift", "--parallel", "0", "--format", "xml")
	if code != 1 || !strings.Contains(errs, "--parallel: 0 is not a positive number") || !strings.Contains(errs, `--format: "xml"`) {
		t.Errorf("bad flags: exit %d: %s", code, errs)
	}
	if code, _, _ := runCLI(t, "drift", "--no-such-flag"); code != 1 {
		t.Errorf("unknown flag: exit %d, want 1", code)
	}
	if b.Calls("ListObjectsV2") != calls {
		t.Error("bad flags listed the bucket")
	}
}
