package engine

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// StopTimeout is how long an engine command has to stop after an interrupt before it is killed (New sets it as
// terraform-exec's WaitDelay, 60 s by default). Stopping means saving the state and releasing the lock, behind the
// provider calls in flight and the backend's own retries; a kill leaves the lock held and the state without what
// was made since it was last saved, so the wait is long. On Linux, SIGKILL to tapstack still ends both at once.
const StopTimeout = 5 * time.Minute

// InterruptedError is a step that ended because the command was interrupted (SIGINT or SIGTERM cancelled its
// context). Its message says what the environment was left in, from how the engine command, if one was running,
// ended.
type InterruptedError struct {
	Step string
	// Engine is the engine command that was running when the interrupt came and was asked to stop; nil when
	// none was (the interrupt came between commands, or in a step of tapstack's own).
	Engine *CommandError
	Err    error
}

// Interrupted returns err as an *InterruptedError of step when err comes from a cancelled context
// (errors.Is(err, context.Canceled)), and err itself otherwise; an *InterruptedError already in err is kept,
// since it names the innermost step.
func Interrupted(step string, err error) error {
	if err == nil || !errors.Is(err, context.Canceled) {
		return err
	}
	var ie *InterruptedError
	if errors.As(err, &ie) {
		return err
	}
	ie = &InterruptedError{Step: step, Err: err}
	var ce *CommandError
	var ee *exec.ExitError
	// Without an exit status the engine never started (tfexec checks the context first).
	if errors.As(err, &ce) && errors.As(ce.Err, &ee) {
		ie.Engine = ce
	}
	return ie
}

func (e *InterruptedError) Error() string {
	again := "Run the same command again to finish."
	ce := e.Engine
	if ce == nil {
		return fmt.Sprintf("%s: interrupted while no engine command (terraform or tofu) was running, so the state and "+
			"its lock are as the last one left them. %s", e.Step, again)
	}
	name := ce.Kind.Product() + " " + ce.Command
	changed, writes := "it changed nothing", true
	switch ce.Command {
	case "apply":
		changed = "the state records what it created or changed so far"
	case "destroy":
		changed = "the state records what it deleted so far"
	default: // plan, init, show, output: no state written, no lock left
		writes = false
	}
	switch {
	case ce.ExitCode < 0: // ended by a signal: the kill after StopTimeout
		return fmt.Sprintf("%s: interrupted; %s was asked to stop and did not within %s, so it was killed: the "+
			"state lock (the .tflock object beside the state) may still be held and the state may lack what it was "+
			"doing. Make sure no other run is going, remove a lock left behind, then run the same command again.",
			e.Step, name, StopTimeout)
	case strings.Contains(ce.Stderr, "Error releasing the state lock"):
		return fmt.Sprintf("%s: interrupted; %s was asked to stop and has exited, but could not release the state "+
			"lock (see its error above): %s, and the lock (the .tflock object beside the state) stays until removed. "+
			"Make sure no other run is going, remove it, then run the same command again.", e.Step, name, changed)
	}
	if !writes {
		return fmt.Sprintf("%s: interrupted; %s was asked to stop and has exited, having changed nothing. %s",
			e.Step, name, again)
	}
	return fmt.Sprintf("%s: interrupted; %s was asked to stop and has exited: it released the state lock, and %s. %s",
		e.Step, name, changed, again)
}

func (e *InterruptedError) Unwrap() error { return e.Err }
