package lifecycle

import (
	"io"
	"time"

	"github.com/tapstack/tapstack/pkg/rules"
)

// Progress receives what a workflow does as it does it. cmd/tapstack prints it; tests record it.
type Progress interface {
	// Phase reports a finished phase (checks, live checks, lock, synth, init, state, plan, show, apply, outputs,
	// cleanup, destroy) and how long it took.
	Phase(name string, took time.Duration)
	// Note is something a person should know: what the stack kept of the account, a cost, a second round.
	Note(msg string)
	// Findings are findings that do not refuse the command (warnings, the live checks' report).
	Findings(fs []rules.Finding)
	// Log receives listings and the engine's own output: what a person follows (stderr).
	Log() io.Writer
	// Out receives the command's own result lines, such as an upgrade's steps (stdout).
	Out() io.Writer
}

// Discard is a Progress that drops everything.
var Discard Progress = discard{}

type discard struct{}

func (discard) Phase(string, time.Duration) {}
func (discard) Note(string)                 {}
func (discard) Findings([]rules.Finding)    {}
func (discard) Log() io.Writer              { return io.Discard }
func (discard) Out() io.Writer              { return io.Discard }

// timed runs fn as the phase name and reports its duration, whether or not it failed.
func timed(p Progress, name string, fn func() error) error {
	start := time.Now() // clock: a duration
	err := fn()
	p.Phase(name, time.Since(start))
	return err
}

// textProgress writes only the log, to a writer; for building text of several lines.
type textProgress struct{ w io.Writer }

func (textProgress) Phase(string, time.Duration) {}
func (textProgress) Note(string)                 {}
func (textProgress) Findings([]rules.Finding)    {}
func (t textProgress) Log() io.Writer            { return t.w }
func (textProgress) Out() io.Writer              { return io.Discard }
