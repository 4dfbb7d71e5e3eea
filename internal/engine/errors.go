package engine

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// NotFoundError is returned when the engine's executable cannot be found or run.
type NotFoundError struct {
	Kind Kind
	// Path is the executable that was tried, when there was one (TAPSTACK_ENGINE_PATH or a PATH hit).
	Path string
	Err  error
}

func (e *NotFoundError) Error() string {
	where := e.Kind.Binary() + " was not found on PATH"
	if e.Path != "" {
		where = e.Path + " cannot be run"
	}
	return fmt.Sprintf("%s (%v): %s, or set %s to its executable", where, e.Err, e.Kind.InstallHint(), EnvEnginePath)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// VersionError is returned when the engine is older than tapstack supports.
type VersionError struct {
	Kind Kind
	Path string
	// Have is the version the executable reported; Need is the oldest supported.
	Have, Need string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("%s %s (%s) is too old: tapstack needs %s >= %s for S3-native state locking (use_lockfile); %s",
		e.Kind.Binary(), e.Have, e.Path, e.Kind.Product(), e.Need, e.Kind.InstallHint())
}

// DirLockedError is returned when another command holds the stack directory's lock for longer than the wait. Its
// message names no flag: the caller knows how its user sets the wait.
type DirLockedError struct {
	Path string
	// Holder is what the holding command wrote into the lock file (pid, command, start time), if anything.
	Holder string
	Waited time.Duration
}

func (e *DirLockedError) Error() string {
	holder := ""
	if e.Holder != "" {
		holder = " by " + e.Holder
	}
	return fmt.Sprintf("the stack directory is in use%s (lock %s, waited %s): another tapstack command is running "+
		"on this working copy; wait for it to finish, or wait longer for the lock", holder, e.Path, e.Waited)
}

// CommandError is a failed engine command. The engine's own output has already been streamed to the user; the
// error carries its diagnostics in short.
type CommandError struct {
	Kind    Kind
	Command string // init, plan, apply, destroy, show, output
	// ExitCode is the engine's exit status, -1 when it did not run to an exit.
	ExitCode int
	// Diagnostics are the summaries of the engine's "Error:" blocks.
	Diagnostics []string
	// Stderr is everything the command wrote on stderr.
	Stderr string
	Err    error
	// CutShort lists the resources an interrupted apply was still creating, which the engine then marked tainted;
	// Apply untaints them (Untainted), or says why not (UntaintErr). Unrecorded are those it was creating but did
	// not record in the state: AWS may have made them.
	CutShort, Untainted, Unrecorded []string
	UntaintErr                      error
}

func (e *CommandError) Error() string {
	name := e.Kind.Binary() + " " + e.Command
	if e.StateLocked() {
		return fmt.Sprintf("%s: the state is locked by another run, so nothing was changed%s; wait for that run to "+
			"finish, or wait longer for the lock", name, lockDetail(e.Stderr))
	}
	if len(e.Diagnostics) > 0 {
		return fmt.Sprintf("%s failed: %s", name, strings.Join(e.Diagnostics, "; "))
	}
	return fmt.Sprintf("%s failed: %v", name, firstLine(e.Err))
}

func (e *CommandError) Unwrap() error { return e.Err }

// StateLocked reports whether the command failed because another run holds the state lock.
func (e *CommandError) StateLocked() bool {
	return strings.Contains(e.Stderr, "Error acquiring the state lock") || strings.Contains(e.Stderr, "Error locking state")
}

// newCommandError wraps an error of terraform-exec with what the command wrote on stderr.
func newCommandError(kind Kind, command string, err error, stderr string) *CommandError {
	ce := &CommandError{Kind: kind, Command: command, ExitCode: -1, Stderr: stderr, Err: err,
		Diagnostics: diagnostics(stderr)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ce.ExitCode = ee.ExitCode()
	}
	return ce
}

// diagnostics returns the summary line of each "Error: ..." block of an engine's plain (-no-color) output,
// with the box drawing of a coloured terminal removed if there is any.
func diagnostics(stderr string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(line, "│╷╵ "))
		if s, ok := strings.CutPrefix(line, "Error: "); ok && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// lockDetail picks the lock's holder and the backend's error out of an "Error acquiring the state lock" block:
//
//	Error message: operation error S3: PutObject, https response error
//	StatusCode: 412, ..., api error PreconditionFailed: At least one of the
//	pre-conditions you specified did not hold
//	Lock Info:
//	  Path:      bucket/key
//	  Operation: OperationTypePlan
//	  Who:       root@host
//	  Created:   2026-11-25 21:37:47 +0000 UTC
func lockDetail(stderr string) string {
	var info []string
	var msg []string
	inMsg := false
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(line, "│╷╵ "))
		if v, ok := strings.CutPrefix(line, "Error message:"); ok {
			inMsg = true
			line = v
		} else if line == "" || strings.HasPrefix(line, "Lock Info:") {
			inMsg = false
		}
		if inMsg {
			msg = append(msg, strings.TrimSpace(line))
			continue
		}
		for _, key := range []string{"Who:", "Operation:", "Created:", "Path:"} {
			if v, ok := strings.CutPrefix(line, key); ok {
				info = append(info, strings.ToLower(strings.TrimSuffix(key, ":"))+" "+strings.TrimSpace(v))
			}
		}
	}
	if m := strings.Join(msg, " "); m != "" {
		if i := strings.Index(m, "api error "); i >= 0 {
			m = m[i:]
		}
		info = append(info, "backend: "+m)
	}
	if len(info) == 0 {
		return ""
	}
	return " (" + strings.Join(info, ", ") + ")"
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
