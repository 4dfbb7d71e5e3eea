package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/rules"
)

// RefusedError: findings refuse the command before it changes anything. Findings are the ones that refuse it.
type RefusedError struct {
	Findings []rules.Finding
	// What says what was refused and what was not done ("nothing was written or changed").
	What string
	// Reported: the findings already went to Progress.Findings.
	Reported bool
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%d error(s)%s", len(e.Findings), e.What)
}

// Refused: nothing changed.
func (e *RefusedError) Refused() bool { return true }

// GuardError: the plan would delete or replace protected resources, and the caller did not allow it.
type GuardError struct {
	// Plan names the plan refused ("the plan", "the plan of step 1/2: ...").
	Plan       string
	Violations []engine.Violation
	// Rolls are the node groups the plan replaces: `tapstack roll` replaces them without dropping their pods.
	Rolls []string
}

func (e *GuardError) Error() string {
	addrs := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		addrs[i] = v.Address
	}
	msg := fmt.Sprintf("the plan would delete or replace %d protected resource(s) (%s), so nothing was applied; if "+
		"that is intended, run again with --allow-destroy", len(e.Violations), strings.Join(addrs, ", "))
	for _, n := range e.Rolls {
		msg += fmt.Sprintf("; to replace node group %s without dropping its pods, run `tapstack roll --node-group %s`", n, n)
	}
	return msg
}

func (e *GuardError) Refused() bool { return true }

// InputError: an argument or the environment is not what the workflow can act on; nothing changed.
type InputError struct {
	// Field names the argument, when one is at fault ("--to").
	Field   string
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func (e *InputError) Refused() bool { return true }

func inputError(field, format string, a ...any) *InputError {
	return &InputError{Field: field, Message: fmt.Sprintf(format, a...)}
}

// StepError: the named step of a workflow failed (check, lock, synth, engine, init, state, live checks, plan,
// guard, apply, outputs, cleanup, destroy, log group, verify).
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// step wraps err as the failure of step; nil stays nil. An interrupt says what the environment was left in
// (engine.Interrupted).
func step(name string, err error) error {
	if err == nil {
		return nil
	}
	var ie *engine.InterruptedError
	if errors.As(engine.Interrupted(name, err), &ie) {
		return ie
	}
	return &StepError{Step: name, Err: err}
}

// Refused reports whether err means that the workflow refused before it changed anything (bad input, refusing
// findings, the guard, no confirmation), as against a failure while it ran.
func Refused(err error) bool {
	var r interface{ Refused() bool }
	return errors.As(err, &r) && r.Refused()
}
