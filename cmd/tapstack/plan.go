package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/pkg/rules"
)

func init() {
	register(&command{name: "plan", summary: "show what a deploy would change, without changing anything", run: runPlan})
}

func runPlan(args []string, s stdio) error {
	fs := newFlagSet("plan", s)
	sf := addStackFlags(fs)
	ef := addEngineFlags(fs)
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on an error")
	jsonOut := fs.String("json-out", "", "also write the plan in the engine's JSON format (show -json) to this file")
	err := parse(fs, args)
	if err == nil {
		err = plan(sf, ef, *jsonOut, s)
	}
	if *detailed {
		return detailedExit(err)
	}
	if errors.Is(err, errChanges) {
		return nil
	}
	return err
}

// errChanges reports a plan with changes, for --detailed-exitcode.
var errChanges = errors.New("the plan has changes")

// detailedExit maps plan's result to --detailed-exitcode: 0 no changes, 2 changes, 1 any error, refusals and
// bad flags included, so a pipeline never takes an error for drift.
func detailedExit(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, errChanges) {
		return &exitError{code: exitInvalid}
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.code == exitOK {
			return ee
		}
		return &exitError{code: exitFailure, msg: ee.msg}
	}
	return err
}

func plan(sf *stackFlags, ef *engineFlags, jsonOut string, s stdio) error {
	ctx, stop := commandContext()
	defer stop()
	ss, err := openSession(ctx, "plan", sf, ef, s, s.err, rules.Invalid)
	if err != nil {
		return err
	}
	defer ss.close()
	// The plan itself is this command's output: it goes to stdout, init's progress to stderr.
	ss.eng.SetProgress(s.out)
	file := ss.planFile()
	defer os.Remove(file)
	changes, err := ss.eng.Plan(ctx, file, engine.PlanOptions{})
	if err != nil {
		return stepError("plan", err)
	}
	p, raw, err := ss.eng.ShowPlan(ctx, file)
	if err != nil {
		return stepError("show", err)
	}
	if jsonOut != "" {
		if err := fsutil.WriteFile(jsonOut, append(raw, '\n'), 0o644); err != nil {
			return stepError("json-out", err)
		}
	}
	engine.WriteSummary(s.out, engine.Summarize(p))
	if vs := engine.Guard(p); len(vs) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "warning: deploy would refuse this plan without --allow-destroy; it deletes or replaces:\n")
		engine.WriteViolations(&b, vs)
		fmt.Fprint(s.err, b.String())
	}
	if changes {
		return errChanges
	}
	return nil
}
