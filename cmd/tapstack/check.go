package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/versions"
)

func init() {
	register(&command{name: "check", summary: "find every deployment failure before anything is created (--live: in the account too)", run: runCheck})
}

// checkReport is the JSON report of check: the offline report, and the live checks' records with --live.
type checkReport struct {
	rules.Report
	Live *live.Report `json:"live,omitempty"`
}

func runCheck(args []string, s stdio) error {
	fs := newFlagSet("check", s)
	sf := addStackFlags(fs)
	rf := addReportFlags(fs, "with --live: the time limit of each live check")
	format, timeout := rf.format, rf.timeout
	withLive := fs.Bool("live", false, "also check the AWS account: name collisions, zones, versions, offerings, the state bucket, quotas")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := rf.validate(); err != nil {
		return err
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	findings := p.findings
	var lr *live.Report
	if *withLive {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		lr, err = liveChecks(ctx, p, sf.adopt, *timeout)
		if err != nil {
			return err
		}
		findings = live.Merge(findings, lr.Findings)
	}
	cost := rules.Estimate(p.cfg, versions.Get(), p.date)
	r := rules.NewReport(p.cfg.StackName(), p.cfg.Profile, p.date.String(), findings, &cost)
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
	enc := json.NewEncoder(s.out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// liveChecks runs the live checks of a prepared stack: it reads the stack's state from its S3 backend (to tell
// the stack's own objects from collisions), then runs every check concurrently, each within timeout. It fails
// only when the AWS configuration cannot be loaded at all.
func liveChecks(ctx context.Context, p *prepared, adopt bool, timeout time.Duration) (*live.Report, error) {
	cfg := p.cfg
	clients, err := live.NewClients(ctx, cfg.Region, cfg.State.Region)
	if err != nil {
		return nil, err
	}
	in := live.Input{Config: cfg, Doc: p.stack.Doc, Date: p.date, Adopt: adopt}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	st, serr := live.ReadState(sctx, clients.S3, cfg.State.Bucket, cfg.StateKey())
	cancel()
	where := fmt.Sprintf("s3://%s/%s", cfg.State.Bucket, cfg.StateKey())
	state := ""
	switch {
	case serr != nil:
		in.StateUnknown = live.StateProblem(serr)
		state = where + ": " + in.StateUnknown + "; collisions are reported as warnings"
	case st == nil:
		state = where + " does not exist yet: every existing object with the stack's names collides"
	default:
		in.InState = st
		n := 0
		for _, c := range st.Types {
			n += c
		}
		state = fmt.Sprintf("%s holds %d resources", where, n)
	}
	r := live.Run(ctx, clients, in, live.Options{Timeout: timeout})
	r.State = state
	return r, nil
}
