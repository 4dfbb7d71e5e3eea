package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/internal/lifecycle"
)

func init() { register(newPlanCommand) }

func newPlanCommand(s stdio) *cobra.Command {
	var (
		sf       *stackFlags
		ef       *engineFlags
		detailed bool
		jsonOut  string
		format   string
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "show what a deploy would change, without changing anything",
		Long: `plan synthesizes the stack, runs init (S3 backend; reused while the backend and providers are unchanged),
reads the state object from S3 and what the cluster runs from EKS (no engine run), builds the document around
it, plans it and prints a summary: kept, changed in place (with the attributes), adopted, moved,
created, replaced (with the attribute that forces it), deleted, forgotten. The plan goes to stdout, the engine's
progress to stderr; nothing is applied. It refuses an invalid configuration (exit 2) and warns when deploy's
guard would refuse the plan. --format json prints the summary as JSON (docs/json.md) instead.

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
			err := plan(sf, ef, jsonOut, format, s)
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
	fs.StringVar(&format, "format", "text", "the summary's format on stdout: text, or json (docs/json.md; the engine's plan then goes to stderr)")
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

func plan(sf *stackFlags, ef *engineFlags, jsonOut, format string, s stdio) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	// The plan itself is this command's output: the engine's plan goes to stdout, init's progress to stderr. With
	// --format json stdout holds only the summary.
	po := lifecycle.PlanOptions{PlanOutput: s.out, WantJSON: jsonOut != ""}
	if format == "json" {
		po.PlanOutput = s.err
	}
	r, err := lifecycle.Plan(ctx, p, options(sf, ef, newProgress(s)), po)
	if err != nil {
		return commandError(s, err)
	}
	if jsonOut != "" {
		if err := fsutil.WriteFile(jsonOut, append(r.JSON, '\n'), 0o644); err != nil {
			return fail(exitFailure, "json-out: %v", err)
		}
	}
	if format == "json" {
		if err := writeJSON(s.out, planSummary{SchemaVersion: summarySchemaVersion, Command: "plan", PlanResult: r}); err != nil {
			return err
		}
	} else {
		engine.WriteSummary(s.out, r.Summary)
	}
	if len(r.Violations) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "warning: deploy would refuse this plan without --allow-destroy; it deletes or replaces:\n")
		engine.WriteViolations(&b, r.Violations)
		fmt.Fprint(s.err, b.String())
	}
	if r.Changes {
		return errChanges
	}
	return nil
}
