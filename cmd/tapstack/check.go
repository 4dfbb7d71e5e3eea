package main

import (
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/versions"
)

func init() {
	register(&command{name: "check", summary: "find every deployment failure before anything is created", run: runCheck})
}

func runCheck(args []string, s stdio) error {
	fs := newFlagSet("check", s)
	sf := addStackFlags(fs)
	format := fs.String("format", "text", "report format: text or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fail(exitInvalid, "--format: %q is not text or json", *format)
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	cost := rules.Estimate(p.cfg, versions.Get(), p.date)
	r := rules.NewReport(p.cfg.StackName(), p.cfg.Profile, p.date.String(), p.findings, &cost)
	if *format == "json" {
		err = r.WriteJSON(s.out)
	} else {
		err = r.WriteText(s.out)
	}
	if err != nil {
		return err
	}
	if r.Summary.Errors > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}
