package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
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
	msg := fmt.Sprintf("%s: interrupted; %s was asked to stop and has exited: it released the state lock, and %s.",
		e.Step, name, changed)
	if len(ce.Untainted) > 0 {
		msg += " What it had not finished creating, which AWS goes on creating, was untainted so that the next run " +
			"keeps it rather than replacing it: " + strings.Join(ce.Untainted, ", ") + "."
	}
	if ce.UntaintErr != nil {
		again = "Untaint them (" + ce.Kind.Binary() + " untaint ADDRESS in the stack directory), then run the same " +
			"command again."
		msg += fmt.Sprintf(" What it had not finished creating is marked tainted, so the next plan would replace it, "+
			"which deploy refuses for a protected resource, and untainting failed (%v): %s.", firstLine(ce.UntaintErr),
			strings.Join(ce.CutShort[len(ce.Untainted):], ", "))
	}
	if len(ce.Unrecorded) > 0 {
		msg += " What it was creating but did not record in the state, which AWS may have made (then the next run " +
			"fails on its name until it is deleted or imported): " + strings.Join(ce.Unrecorded, ", ") + "."
	}
	return msg + " " + again
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// keepCutShort untaints what an interrupted apply was still creating. The interrupt cancels the provider's calls:
// a resource AWS has accepted but the provider still waits on (a cluster, a node group) fails with "context
// canceled", and Terraform marks it tainted, so the next plan would replace it, which the guard refuses for a
// protected resource, while AWS goes on creating it. Untainted, the next run reads it as it is and goes on. What
// was kept, or not, is recorded in err's *CommandError.
func (e *Engine) keepCutShort(ctx context.Context, err error) {
	var ce *CommandError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ce) || ce.ExitCode < 0 ||
		strings.Contains(ce.Stderr, "Error releasing the state lock") {
		return // not interrupted, or the engine left the state unsaved or locked
	}
	cut := cutShort(ce.Stderr)
	if len(cut) == 0 {
		return
	}
	// Part of stopping: the command's context is already cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopTimeout)
	defer cancel()
	// state pull, not show: show starts the provider for its schema, which takes long on a loaded machine.
	var raw string
	serr := e.run("state pull", false, func() error {
		var err error
		raw, err = e.tf.StatePull(ctx)
		return err
	})
	var tainted map[string]bool
	if serr == nil {
		tainted, serr = rawInstances(raw)
	}
	if serr != nil {
		ce.CutShort, ce.UntaintErr = cut, serr
		return
	}
	for _, addr := range cut {
		if t, ok := tainted[addr]; !ok {
			ce.Unrecorded = append(ce.Unrecorded, addr)
		} else if t {
			ce.CutShort = append(ce.CutShort, addr)
		}
	}
	for _, addr := range ce.CutShort {
		if uerr := e.run("untaint", true, func() error {
			return e.tf.Untaint(ctx, addr, tfexec.LockTimeout(e.lockTimeoutArg()))
		}); uerr != nil {
			ce.UntaintErr = uerr
			return
		}
		ce.Untainted = append(ce.Untainted, addr)
	}
}

// rawInstances reads a state as state pull prints it (format version 4): the address of every managed resource
// instance, and whether it is tainted.
func rawInstances(raw string) (map[string]bool, error) {
	out := map[string]bool{}
	if strings.TrimSpace(raw) == "" {
		return out, nil // no state yet
	}
	var st struct {
		Resources []struct {
			Module    string `json:"module"`
			Mode      string `json:"mode"`
			Type      string `json:"type"`
			Name      string `json:"name"`
			Instances []struct {
				IndexKey any    `json:"index_key"`
				Status   string `json:"status"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, fmt.Errorf("reading the state: %w", err)
	}
	for _, r := range st.Resources {
		if r.Mode != "managed" {
			continue
		}
		base := r.Type + "." + r.Name
		if r.Module != "" {
			base = r.Module + "." + base
		}
		for _, in := range r.Instances {
			addr := base
			switch k := in.IndexKey.(type) {
			case float64:
				addr += fmt.Sprintf("[%d]", int(k))
			case string:
				addr += fmt.Sprintf("[%q]", k)
			}
			out[addr] = in.Status == "tainted"
		}
	}
	return out, nil
}

// cutShort lists the resources of the "with ADDRESS," line of each "Error:" block whose summary ends in "context
// canceled" (how the AWS provider reports a call an interrupt cancelled), but for deletions: a resource whose
// deletion was cut short was not created by this apply and keeps the taint it had.
func cutShort(stderr string) []string {
	var out []string
	cancelled := false
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(line, "│╷╵ "))
		if summary, ok := strings.CutPrefix(line, "Error: "); ok {
			cancelled = strings.HasSuffix(summary, "context canceled") && !strings.Contains(summary, "delet")
			continue
		}
		if addr, ok := strings.CutPrefix(line, "with "); ok && cancelled && strings.HasSuffix(addr, ",") {
			if addr = strings.TrimSuffix(addr, ","); !slices.Contains(out, addr) {
				out = append(out, addr)
			}
			cancelled = false
		}
	}
	return out
}
