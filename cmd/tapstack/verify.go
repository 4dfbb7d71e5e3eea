package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/rules"
)

func init() {
	register(&command{name: "verify", summary: "check the live stack against the configuration and the outputs file", run: runVerify})
}

// runVerify exits 0 when every fact was read and matches, 2 when any fact does not match (or the input is bad:
// an invalid configuration, a missing or unreadable outputs file), and 1 when nothing mismatched but some fact
// could not be read (a missing permission, an API the endpoint lacks, a timeout, a network error).
func runVerify(args []string, s stdio) error {
	flags := newFlagSet("verify", s)
	sf := addStackFlags(flags)
	path := flags.String("outputs", outputs.DefaultPath, "the outputs file (nested per stack or flat; any key case)")
	rf := addReportFlags(flags, "the time limit of each part of the verification")
	format, timeout := rf.format, rf.timeout
	if err := parse(flags, args); err != nil {
		return err
	}
	if err := rf.validate(); err != nil {
		return err
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	if err := refuse(s, p.findings, rules.Invalid); err != nil {
		return err
	}
	vals, err := outputs.Read(*path, p.cfg.StackName())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(exitInvalid, "outputs file %s does not exist: run tapstack deploy (or tapstack outputs) first, or name it with --outputs", *path)
		}
		return fail(exitInvalid, "outputs file %s: %v", *path, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	clients, err := live.NewClients(ctx, p.cfg.Region, p.cfg.State.Region)
	if err != nil {
		return err
	}
	r := live.Verify(ctx, clients, live.VerifyInput{Config: p.cfg, Doc: p.stack.Doc, Outputs: vals}, live.Options{Timeout: *timeout})
	if *format == "json" {
		err = r.WriteJSON(s.out)
	} else {
		err = r.WriteText(s.out)
	}
	if err != nil {
		return err
	}
	switch {
	case r.Summary.Mismatched > 0:
		return fail(exitInvalid, "%d fact(s) of the live stack do not match", r.Summary.Mismatched)
	case !r.OK():
		return fail(exitFailure, "%d fact(s) could not be verified", r.Summary.NotChecked+r.Summary.Errors)
	}
	return nil
}
