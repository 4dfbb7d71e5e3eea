package engine

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// lockStderr is what Terraform 1.11 printed (-no-color) when another run held the S3 lockfile.
const lockStderr = `
Error: Error acquiring the state lock

Error message: operation error S3: PutObject, https response error
StatusCode: 412, RequestID:
b0PgELO2h18YxqhCMWkFmVk5LlL1oSCPe2yPMP8HqbHv85HIPDC5, HostID:
9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=,
api error PreconditionFailed: At least one of the pre-conditions you
specified did not hold
Lock Info:
  ID:        b33ea1a3-765e-a211-00f6-a16cc0732fff
  Path:      tapstack-e2e-deploy-state/TapStacke2e1/e2e1/terraform.tfstate
  Operation: OperationTypePlan
  Who:       root@vm
  Version:   1.11.4
  Created:   2026-11-25 21:37:47.453719468 +0000 UTC
  Info:      


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time. Please resolve the issue above and try
again. For most commands, you can disable locking with the "-lock=false"
flag, but this is not recommended.
`

func TestCommandErrorStateLocked(t *testing.T) {
	err := newCommandError(Terraform, "plan", errors.New("exit status 1\n"+lockStderr), lockStderr)
	if !err.StateLocked() {
		t.Fatal("not recognized as a state lock")
	}
	msg := err.Error()
	for _, w := range []string{"terraform plan: the state is locked by another run", "who root@vm",
		"operation OperationTypePlan", "path tapstack-e2e-deploy-state/TapStacke2e1/e2e1/terraform.tfstate",
		"backend: api error PreconditionFailed: At least one of the pre-conditions you specified did not hold",
		"wait longer for the lock"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q\ndoes not say %q", msg, w)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("the message spans lines: %q", msg)
	}
	if strings.Contains(msg, "--") {
		t.Errorf("the message names a flag, which only the caller knows: %q", msg)
	}
}

func TestCommandErrorDiagnostics(t *testing.T) {
	stderr := "\nError: creating EKS Cluster (x): InvalidParameterException: bad\n\n  with aws_eks_cluster.eks_cluster,\n" +
		"\n│ Error: Plugin did not respond\n│\n\nError: Plugin did not respond\n"
	cmd := exec.Command("false")
	runErr := cmd.Run()
	err := newCommandError(OpenTofu, "apply", runErr, stderr)
	if err.StateLocked() || err.ExitCode != 1 {
		t.Fatalf("StateLocked %v, exit %d", err.StateLocked(), err.ExitCode)
	}
	want := "tofu apply failed: creating EKS Cluster (x): InvalidParameterException: bad; Plugin did not respond"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err.Error(), want)
	}
	if !errors.Is(err, runErr) {
		t.Error("does not unwrap to the exec error")
	}
	bare := newCommandError(Terraform, "init", errors.New("exit status 1\nmore"), "")
	if bare.Error() != "terraform init failed: exit status 1" {
		t.Errorf("got %q", bare.Error())
	}
}
