package engine

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-exec/tfexec"
)

// Options configure New.
type Options struct {
	// Kind is the engine; empty means Terraform.
	Kind Kind
	// ExecPath is the engine's executable; empty means Locate.
	ExecPath string
	// Dir is the synthesized stack's directory, where the engine runs.
	Dir string
	// Progress receives the engine's output as it happens (init, plan, apply and destroy). Nil discards it.
	Progress io.Writer
	// LockTimeout is how long plan, apply and destroy wait for the state lock (-lock-timeout).
	LockTimeout time.Duration
	// Getenv reads the environment for engine discovery and the backend configuration; nil means os.Getenv.
	// The engine process itself inherits this process's environment.
	Getenv func(string) string
}

// Engine runs one engine executable in one stack directory. It is not safe for concurrent use: hold the
// directory's lock (LockDir) while using it.
type Engine struct {
	kind        Kind
	path        string
	dir         string
	version     *version.Version
	tf          *tfexec.Terraform
	progress    io.Writer
	lockTimeout time.Duration
	getenv      func(string) string
}

// New finds the engine, checks its version and prepares it to run in opts.Dir. It returns a *NotFoundError or a
// *VersionError when the engine cannot be used.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Kind == "" {
		opts.Kind = Terraform
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	path := opts.ExecPath
	if path == "" {
		p, err := Locate(opts.Kind, opts.Getenv)
		if err != nil {
			return nil, err
		}
		path = p
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	tf, err := tfexec.NewTerraform(dir, path)
	if err != nil {
		return nil, err
	}
	// A cancelled context interrupts the engine; tfexec's 60 s before the kill can cut it off while it still
	// saves the state and releases the lock (StopTimeout). The error is Windows's, where there is no interrupt.
	_ = tf.SetWaitDelay(StopTimeout)
	e := &Engine{kind: opts.Kind, path: path, dir: dir, tf: tf, progress: opts.Progress,
		lockTimeout: opts.LockTimeout, getenv: opts.Getenv}
	if err := e.checkVersion(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// SetProgress changes where the engine's output streams from the next command on; nil discards it.
func (e *Engine) SetProgress(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	e.progress = w
}

// Kind is the engine in use.
func (e *Engine) Kind() Kind { return e.kind }

// Path is the engine's executable.
func (e *Engine) Path() string { return e.path }

// Dir is the stack directory the engine runs in.
func (e *Engine) Dir() string { return e.dir }

// Version is the engine's version.
func (e *Engine) Version() *version.Version { return e.version }

// lockTimeoutArg renders the lock timeout as the engine's -lock-timeout value.
func (e *Engine) lockTimeoutArg() string {
	return lockTimeoutArg(e.lockTimeout)
}

func lockTimeoutArg(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.String()
}

// run runs one engine command. Its stderr always streams to the progress writer, and so does its stdout when
// stream is set (commands whose stdout is data, such as show -json, keep it to themselves). A failure comes back
// as a *CommandError.
func (e *Engine) run(command string, stream bool, fn func() error) error {
	var stderr bytes.Buffer
	e.tf.SetStderr(io.MultiWriter(e.progress, &stderr))
	if stream {
		e.tf.SetStdout(e.progress)
	}
	defer func() {
		e.tf.SetStderr(nil)
		e.tf.SetStdout(nil)
	}()
	if err := fn(); err != nil {
		return newCommandError(e.kind, command, err, stderr.String())
	}
	return nil
}
