package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/rules"
)

// engineFlags are the flags of the commands that drive the engine (plan, deploy, upgrade, destroy, outputs).
type engineFlags struct {
	lockTimeout time.Duration
}

func addEngineFlags(fs *pflag.FlagSet) *engineFlags {
	ef := &engineFlags{}
	fs.DurationVar(&ef.lockTimeout, "lock-timeout", 0,
		"how long to wait for the state lock, and for another tapstack command on this working copy (0s: fail at once)")
	return ef
}

// outputFlags say where and how the outputs file is written.
type outputFlags struct {
	file string
	flat bool
}

func addOutputFlags(fs *pflag.FlagSet) *outputFlags {
	of := &outputFlags{}
	fs.StringVar(&of.file, "outputs-file", outputs.DefaultPath, "outputs file to write")
	fs.BoolVar(&of.flat, "flat", false, `write a flat {name: value} map instead of {"TapStack<suffix>": {...}}`)
	return of
}

func (of *outputFlags) options() lifecycle.OutputsOptions {
	return lifecycle.OutputsOptions{File: of.file, Flat: of.flat}
}

// commandContext is cancelled on SIGINT or SIGTERM; the engine then gets an interrupt and stops cleanly,
// releasing the state lock. Until stop is called, later signals are caught and dropped: a second Ctrl-C must not
// end tapstack while the engine stops, since on Linux the engine is killed when tapstack exits (Pdeathsig).
func commandContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// options are the lifecycle options of an engine command.
func options(sf *stackFlags, ef *engineFlags, pr lifecycle.Progress) lifecycle.Options {
	return lifecycle.Options{Out: sf.out, LockTimeout: ef.lockTimeout, Progress: pr, Kube: kubeClient}
}

// progress prints what a workflow does: a line per phase with its duration, notes and findings on stderr (with
// the engine's own output), the command's result lines on stdout.
type progress struct {
	s stdio
	// log, when set, replaces stderr as the log (plan sends the engine's plan to stdout).
	log io.Writer
}

func newProgress(s stdio) *progress { return &progress{s: s} }

func (p *progress) Phase(name string, took time.Duration) {
	fmt.Fprintf(p.s.err, "tapstack: %s (%s)\n", name, took.Round(10*time.Millisecond))
}

func (p *progress) Note(msg string) { fmt.Fprintf(p.s.err, "note: %s\n", msg) }

func (p *progress) Findings(fs []rules.Finding) {
	var b strings.Builder
	rules.WriteFindings(&b, fs)
	fmt.Fprint(p.s.err, b.String())
}

func (p *progress) Log() io.Writer {
	if p.log != nil {
		return p.log
	}
	return p.s.err
}

func (p *progress) Out() io.Writer { return p.s.out }
