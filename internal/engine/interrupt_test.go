package engine

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

func TestInterruptedPassesOtherErrorsThrough(t *testing.T) {
	if Interrupted("plan", nil) != nil {
		t.Error("nil is not nil")
	}
	plain := errors.New("boom")
	if got := Interrupted("plan", plain); got != plain {
		t.Errorf("a plain error became %v", got)
	}
	deadline := fmt.Errorf("live check: %w", context.DeadlineExceeded)
	var ie *InterruptedError
	if errors.As(Interrupted("live checks", deadline), &ie) {
		t.Error("a timeout is not an interrupt")
	}
}

func TestInterruptedBetweenEngineCommands(t *testing.T) {
	cause := fmt.Errorf("waiting for .tapstack.lock: %w", context.Canceled)
	err := Interrupted("lock", cause)
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Step != "lock" || ie.Engine != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %#v", err)
	}
	want := "lock: interrupted while no engine command (terraform or tofu) was running, so the state and its lock " +
		"are as the last one left them. Run the same command again to finish."
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
	// tfexec answers a cancelled context before it starts the engine: a CommandError without an exit status.
	notStarted := newCommandError(Terraform, "apply", context.Canceled, "")
	if errors.As(Interrupted("apply", notStarted), &ie); ie.Engine != nil {
		t.Errorf("an engine that never started counts as stopped: %v", ie)
	}
	// The innermost step wins when the error is wrapped again.
	if errors.As(Interrupted("state", fmt.Errorf("refresh: %w", err)), &ie); ie.Step != "lock" {
		t.Errorf("step %q, want the first one named", ie.Step)
	}
}

// exitErr runs sh -c script for its *exec.ExitError.
func exitErr(t *testing.T, script string) error {
	t.Helper()
	err := exec.Command("sh", "-c", script).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("sh -c %q: %v", script, err)
	}
	// What tfexec returns once the context is cancelled: the wait's error, matching context.Canceled.
	return fmt.Errorf("%w (%w)", ee, context.Canceled)
}

func TestInterruptedEngineOutcomes(t *testing.T) {
	exited := exitErr(t, "exit 1")
	for _, c := range []struct {
		name, command, stderr string
		err                   error
		rerun                 bool // the message sends the user straight back
		want                  []string
	}{
		{"apply stopped", "apply", "Error: execution halted\n", exited, true, []string{
			"apply: interrupted; Terraform apply was asked to stop and has exited: it released the state lock, and " +
				"the state records what it created or changed so far. Run the same command again to finish."}},
		{"destroy stopped", "destroy", "", exited, true, []string{
			"Terraform destroy was asked to stop and has exited: it released the state lock, and the state records " +
				"what it deleted so far."}},
		{"plan stopped", "plan", "", exited, true, []string{
			"state: interrupted; Terraform plan was asked to stop and has exited, having changed nothing."}},
		{"lock kept", "apply", "Error: Error releasing the state lock\n", exited, false, []string{
			"Terraform apply was asked to stop and has exited, but could not release the state lock (see its error " +
				"above): the state records what it created or changed so far, and the lock (the .tflock object beside " +
				"the state) stays until removed."}},
		{"killed", "apply", "", exitErr(t, "kill -9 $$"), false, []string{
			"Terraform apply was asked to stop and did not within 5m0s, so it was killed: the state lock (the " +
				".tflock object beside the state) may still be held"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			step := c.command
			if c.command == "plan" {
				step = "state" // a refresh: the step is the caller's
			}
			err := Interrupted(step, newCommandError(Terraform, c.command, c.err, c.stderr))
			var ie *InterruptedError
			var ce *CommandError
			if !errors.As(err, &ie) || ie.Engine == nil || !errors.As(err, &ce) || !errors.Is(err, context.Canceled) {
				t.Fatalf("got %#v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message\n%s\nlacks\n%s", err, w)
				}
			}
			if got := strings.HasSuffix(err.Error(), "Run the same command again to finish."); got != c.rerun {
				t.Errorf("ends with a plain rerun: %v, want %v: %s", got, c.rerun, err)
			}
		})
	}
}
