//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const twoIdentities = `workloadIdentities:
  - namespace: shop
    serviceAccount: orders
    inlinePolicy:
      Version: 2012-10-17
      Statement: [{Effect: Allow, Action: ["sqs:ReceiveMessage"], Resource: "arn:aws:sqs:us-east-1:111122223333:orders"}]
  - name: reports
    namespace: analytics
    serviceAccount: reporter
    managedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
`

// Two workload identities synthesize their roles, associations (beside the Cluster Autoscaler's) and output; a duplicate service account or a
// malformed identity is exit 2 with every problem and its field path, and nothing written: not by synth, and
// not by deploy, which runs no engine and no live check.
func TestWorkloadIdentitiesSynthAndRefusal(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	must(t, os.WriteFile("ok.yaml", []byte(twoIdentities), 0o644))
	code, out, errs := runCLI(t, "synth", "--config", "ok.yaml", "--date", "2026-12-01")
	if code != 0 {
		t.Fatalf("two identities: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(strings.TrimSpace(out))
	must(t, err)
	var doc struct {
		Resource map[string]map[string]any `json:"resource"`
		Output   map[string]struct {
			Value any `json:"value"`
		} `json:"output"`
	}
	must(t, json.Unmarshal(b, &doc))
	assocs := doc.Resource["aws_eks_pod_identity_association"]
	if len(assocs) != 3 || assocs["workload_identity_shop_orders"] == nil || assocs["workload_identity_reports"] == nil || doc.Resource["aws_iam_role_policy"]["workload_identity_shop_orders"] == nil ||
		len(doc.Output["workload_identity_role_arns"].Value.(map[string]any)) != 2 {
		t.Errorf("synthesized: associations %v, inline policies %v, output %v", doc.Resource["aws_eks_pod_identity_association"],
			doc.Resource["aws_iam_role_policy"], doc.Output["workload_identity_role_arns"])
	}

	bad := map[string]struct {
		file string
		want []string
	}{
		"duplicate": {twoIdentities + `  - namespace: shop
    serviceAccount: orders
    managedPolicyArns: [arn:aws:iam::aws:policy/AmazonSQSFullAccess]
`, []string{"TS119", "workloadIdentities[2].serviceAccount", "service account shop/orders already has workloadIdentities[0]", "fix: merge"}},
		"malformed": {`workloadIdentities:
  - namespace: Shop
    serviceAccount: orders
    managedPolicyArns: [AmazonS3ReadOnlyAccess]
    inlinePolicy: '{"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "s3:GetObject"}]}'
addons: {podIdentityAgent: false}
`, []string{"TS118", "workloadIdentities[0].namespace", "TS120", "workloadIdentities[0].managedPolicyArns[0]",
			"workloadIdentities[0].inlinePolicy", `Effect is "Permit"`, "Statement[0] has no Resource", "TS121", "addons.podIdentityAgent"}},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			must(t, os.WriteFile("c.yaml", []byte(c.file), 0o644))
			code, out, errs := runCLI(t, "synth", "--config", "c.yaml", "--date", "2026-12-01")
			if code != 2 || out != "" {
				t.Fatalf("synth: exit %d, stdout %q, want 2 and nothing", code, out)
			}
			for _, w := range append(c.want, "nothing was written") {
				if !strings.Contains(errs, w) {
					t.Errorf("synth's stderr lacks %q:\n%s", w, errs)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "cdktf.out")); !os.IsNotExist(err) {
				t.Error("synth wrote output")
			}

			f := newFakeRun(t)
			code, _, errs = f.run("deploy", "--config", filepath.Join(dir, "c.yaml"), "--outputs-file", filepath.Join(f.dir, "o.json"))
			if code != 2 || f.calls() != "" || !strings.Contains(errs, c.want[0]) {
				t.Fatalf("deploy: exit %d, engine calls %q: %s", code, f.calls(), errs)
			}
			if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
				t.Errorf("deploy wrote %v", entries)
			}
		})
	}
}
