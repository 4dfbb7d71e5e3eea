package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

func init() { register(newPlanCommand) }

func newPlanCommand(s stdio) *cobra.Command {
	var (
		sf       *stackFlags
		ef       *engineFlags
		detailed bool
		jsonOut  string
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "show what a deploy would change, without changing anything",
		Long: `plan synthesizes the stack, runs init (S3 backend), refreshes what the environment runs, builds the
document around it, plans it and prints a summary: kept, changed in place (with the attributes), adopted, moved,
created, replaced (with the attribute that forces it), deleted, forgotten. The plan goes to stdout, the engine's
progress to stderr; nothing is applied. It refuses an invalid configuration (exit 2) and warns when deploy's
guard would refuse the plan.

With --detailed-exitcode: exit 0 no changes, 2 changes, 1 any error (bad flags and refusals included), so a
pipeline never takes an error for drift. --json-out writes the engine's plan JSON for policy tools.`,
		Example: `  tapstack plan
  tapstack plan --detailed-exitcode
  tapstack plan --profile default --adopt-existing --json-out plan.json
  tapstack plan --lock-timeout 5m`,
		// With --detailed-exitcode a bad command line is exit 1 too: see detailedExit.
		Args: func(cmd *cobra.Command, args []string) error {
			err := noArgs(cmd, args)
			if err != nil && detailed {
				return detailedExit(err)
			}
			return err
		},
		RunE: func(*cobra.Command, []string) error {
			err := plan(sf, ef, jsonOut, s)
			if detailed {
				return detailedExit(err)
			}
			if errors.Is(err, errChanges) {
				return nil
			}
			return err
		},
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, buildFlags)
	ef = addEngineFlags(fs)
	fs.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on an error")
	fs.StringVar(&jsonOut, "json-out", "", "also write the plan in the engine's JSON format (show -json) to this file")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		if detailed {
			return &exitError{code: exitFailure, msg: err.Error()}
		}
		return err
	})
	return cmd
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
	if vs := engine.Guard(p, stack.ProtectedTypes); len(vs) > 0 {
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
