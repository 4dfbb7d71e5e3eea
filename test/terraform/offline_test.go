// Package terraform_test runs the real Terraform CLI with the real hashicorp/aws provider over every profile's
// synthesized document, offline: fake credentials, explicit zones, and a local backend through an override file.
package terraform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

// override swaps the S3 backend for a local one and keeps the provider from calling AWS.
const override = `{
  "terraform": {"backend": {"local": {"path": "terraform.tfstate"}}},
  "provider": {"aws": {"region": "us-east-1", "access_key": "offline", "secret_key": "offline",
    "skip_credentials_validation": true, "skip_requesting_account_id": true, "skip_metadata_api_check": true}}
}
`

func TestValidateAndPlanEveryProfile(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("terraform is not on PATH: install Terraform >= 1.11 (see README)")
	}
	cliConfig := harness.TerraformCLIConfig(t)
	type variant struct {
		name, profile string
		creates       int // the resources the plan must create
		mutate        func(*config.Config)
	}
	variants := []variant{
		{"original", "original", 21, nil},
		{"default", "default", 44, nil}, // 14 of them the platform add-ons, their roles and log groups
		{"hardened", "hardened", 60, nil},
		{"auto-mode", "default", 24, func(c *config.Config) {
			c.Cluster.Compute, c.Cluster.AuthenticationMode = config.ComputeAuto, "API_AND_CONFIG_MAP"
		}},
		{"every-option", "hardened", 62, func(c *config.Config) {
			c.Cluster.EndpointPublicAccess, c.Cluster.PublicAccessCIDRs = true, []string{"203.0.113.0/24"}
			c.Cluster.AdminPrincipals = []string{"arn:aws:iam::111122223333:role/platform-admin", "arn:aws:iam::111122223333:role/oncall"}
			c.Network.NATGateways = config.NATSingle
			c.Addons.VPCCNI.Version = "v1.20.0-eksbuild.1"
		}},
		// Two workload identities: a role, an inline policy (with an IAM policy variable Terraform must leave alone)
		// and an association; a role, two managed policies and an association.
		{"workload-identities", "default", 51, func(c *config.Config) { // the default's 44, and 2 roles, 1 inline policy, 2 attachments, 2 associations
			c.WorkloadIdentities = []config.WorkloadIdentity{
				{Namespace: "shop", ServiceAccount: "orders", InlinePolicy: inlinePolicy},
				{Name: "reports", Namespace: "analytics", ServiceAccount: "reporter", ManagedPolicyARNs: []string{
					"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::111122223333:policy/reports-write"}},
			}
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			c, _ := config.Defaults(v.profile)
			c.Network.AvailabilityZones = []string{"us-east-1a", "us-east-1b"}
			if v.mutate != nil {
				v.mutate(&c)
			}
			built := stack.Build(&c, stack.Options{})
			managed := 0
			for _, r := range built.Doc.Resources() {
				if r.Mode == "managed" {
					managed++
				}
			}
			if managed != v.creates {
				t.Errorf("document declares %d resources, want %d", managed, v.creates)
			}
			doc, err := built.Doc.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "cdk.tf.json"), doc, 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "offline_override.tf.json"), []byte(override), 0o644))
			tf, err := tfexec.NewTerraform(dir, bin)
			must(t, err)
			env := map[string]string{"TF_CLI_CONFIG_FILE": cliConfig, "CHECKPOINT_DISABLE": "1",
				"AWS_EC2_METADATA_DISABLED": "true"}
			must(t, tf.SetEnv(env))
			ctx := context.Background()
			must(t, tf.Init(ctx))
			val, err := tf.Validate(ctx)
			must(t, err)
			if !val.Valid || val.ErrorCount > 0 || val.WarningCount > 0 {
				t.Fatalf("terraform validate: %+v", val.Diagnostics)
			}
			planFile := filepath.Join(dir, "plan.tfplan")
			changes, err := tf.Plan(ctx, tfexec.Out(planFile), tfexec.Refresh(false))
			must(t, err)
			if !changes {
				t.Fatal("plan of an empty state reports no changes")
			}
			plan, err := tf.ShowPlanFile(ctx, planFile)
			must(t, err)
			creates := 0
			for _, rc := range plan.ResourceChanges {
				if rc.Change.Actions.Create() {
					creates++
				} else if !rc.Change.Actions.NoOp() && !rc.Change.Actions.Read() {
					t.Errorf("%s: unexpected actions %v", rc.Address, rc.Change.Actions)
				}
			}
			if creates != v.creates {
				t.Errorf("plan creates %d resources, want %d", creates, v.creates)
			}
			// The machine-readable plan (what deploy reads instead of show -json) announces the same creates.
			var ui bytes.Buffer
			_, err = tf.PlanJSON(ctx, &ui, tfexec.Refresh(false))
			must(t, err)
			fromUI := engine.SummarizeChanges(engine.ParsePlannedChanges(ui.Bytes()), nil)
			if fromShow := engine.Summarize(plan); !slices.Equal(fromUI.Created, fromShow.Created) || len(fromUI.Created) != v.creates {
				t.Errorf("plan -json creates %d resources, show -json %d:\n%v\n%v", len(fromUI.Created), len(fromShow.Created),
					fromUI.Created, fromShow.Created)
			}
			assertPlanned(t, plan, "aws_eks_cluster.eks_cluster", "version", c.Cluster.KubernetesVersion)
			assertPlanned(t, plan, "aws_subnet.public_subnet_2", "availability_zone", "us-east-1b")
			if len(c.WorkloadIdentities) > 0 {
				// The provider normalizes the JSON; the variable must reach it as written, not as a template.
				var got, want any
				for _, rc := range plan.ResourceChanges {
					if rc.Address == "aws_iam_role_policy.workload_identity_shop_orders" {
						after, _ := rc.Change.After.(map[string]any)
						s, _ := after["policy"].(string)
						_ = json.Unmarshal([]byte(s), &got)
					}
				}
				if must(t, json.Unmarshal([]byte(inlinePolicy), &want)); !reflect.DeepEqual(got, want) {
					t.Errorf("inline policy planned as %v, want %v", got, want)
				}
				assertPlanned(t, plan, "aws_eks_pod_identity_association.workload_identity_reports", "service_account", "reporter")
				assertPlanned(t, plan, "aws_iam_role.workload_identity_reports", "name", "eks-workload-reports-v1-dev")
			}
		})
	}
}

// inlinePolicy holds an IAM policy variable, which Terraform would read as a template unless the stack escapes it.
const inlinePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],` +
	`"Resource":"arn:aws:s3:::orders/${aws:PrincipalTag/kubernetes-namespace}/*"}]}`

func assertPlanned(t *testing.T, p *tfjson.Plan, addr, attr string, want any) {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == addr {
			after, _ := rc.Change.After.(map[string]any)
			if after[attr] != want {
				t.Errorf("%s.%s planned as %v, want %v", addr, attr, after[attr], want)
			}
			return
		}
	}
	t.Errorf("%s is not in the plan", addr)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
