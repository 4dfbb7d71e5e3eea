package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/rules"
)

// commandError turns a workflow's error into the exit code and the lines printed before its message: the
// findings that refused it, the protected resources the guard refused. A refusal before anything changed is
// exit 2; any other failure exit 1.
func commandError(s stdio, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	var b strings.Builder
	var re *lifecycle.RefusedError
	if errors.As(err, &re) && !re.Reported {
		rules.WriteFindings(&b, re.Findings)
	}
	msg := err.Error()
	var ge *lifecycle.GuardError
	if errors.As(err, &ge) {
		fmt.Fprintf(&b, "refused: %s would delete or replace %d protected resource(s):\n", ge.Plan, len(ge.Violations))
		engine.WriteViolations(&b, ge.Violations)
	}
	var dl *engine.DirLockedError
	var ce *engine.CommandError
	if errors.As(err, &dl) || (errors.As(err, &ce) && ce.StateLocked()) {
		msg += " (--lock-timeout D)"
	}
	fmt.Fprint(s.err, b.String())
	code := exitFailure
	if lifecycle.Refused(err) {
		code = exitInvalid
	}
	return &exitError{code: code, msg: msg}
}
