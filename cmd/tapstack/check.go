package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/versions"
)

func init() { register(newCheckCommand) }

// checkFlags: check writes nothing and drives no engine, so it takes neither --out nor --engine.
var checkFlags = stackFlagSet{settings: everySetting, allow: true, date: true, now: true, adopt: true}

func newCheckCommand(s stdio) *cobra.Command {
	var (
		sf       *stackFlags
		rf       reportFlags
		withLive bool
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "find every deployment failure before anything is created (--live: in the account too)",
		Long: `check runs every rule on the configuration and the synthesized document at once and prints each finding
(rule ID, severity, kind, field path, message, fix) with the cost estimate. It writes nothing. Exit 0 without an
error finding, 2 with one; --allow ID overrules a would-fail finding knowingly (it stays in the report as
ALLOWED). Date-based rules are checked on --date (default today, UTC).

With --live it also runs the live checks against the account (name collisions, zones, versions, offerings, the
state bucket, quotas), each within --timeout; exit 1 when a live check itself failed.`,
		Example: `  tapstack check
  tapstack check --date 2026-12-01 --format json
  tapstack check --live --timeout 30s
  tapstack check --profile original --allow TS202`,
		RunE: func(*cobra.Command, []string) error { return runCheck(sf, rf, withLive, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, checkFlags)
	rf = addReportFlags(fs, "with --live: the time limit of each live check")
	fs.BoolVar(&withLive, "live", false, "also check the AWS account: name collisions, zones, versions, offerings, the state bucket, quotas")
	return cmd
}

// checkReport is the JSON report of check: the offline report, and the live checks' records with --live.
type checkReport struct {
	rules.Report
	Live *live.Report `json:"live,omitempty"`
}

func runCheck(sf *stackFlags, rf reportFlags, withLive bool, s stdio) error {
	format, timeout := rf.format, rf.timeout
	if err := rf.validate(); err != nil {
		return err
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	findings := p.Findings
	var lr *live.Report
	if withLive {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		lr, err = lifecycle.LiveChecks(ctx, p, *timeout)
		if err != nil {
			return err
		}
		findings = live.Merge(findings, lr.Findings)
	}
	cost := rules.Estimate(p.Config, versions.Get(), p.Date())
	r := rules.NewReport(p.Config.StackName(), p.Config.Profile, p.Date().String(), findings, &cost)
	if *format == "json" {
		err = checkReport{Report: r, Live: lr}.writeJSON(s)
	} else {
		err = r.WriteText(s.out)
		if err == nil && lr != nil {
			fmt.Fprintln(s.out)
			err = lr.WriteText(s.out)
		}
	}
	if err != nil {
		return err
	}
	if r.Summary.Errors > 0 {
		return &exitError{code: exitInvalid}
	}
	if lr != nil && lr.Failed() {
		return fail(exitFailure, "some live checks could not run to their end (status error above)")
	}
	return nil
}

func (c checkReport) writeJSON(s stdio) error {
	if c.Live == nil {
		return c.Report.WriteJSON(s.out)
	}
	return writeJSON(s.out, c)
}
