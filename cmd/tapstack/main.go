// Command tapstack provisions a TapStack EKS environment: synth, check, plan, deploy, verify, destroy.
// Each command lives in its own file; this one builds the command tree (cobra) and maps errors to exit codes.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes: 0 success, 1 a failure while running, 2 bad input or refused findings.
const (
	exitOK      = 0
	exitFailure = 1
	exitInvalid = 2
)

type stdio struct {
	out, err io.Writer
	in       io.Reader
}

// commands build each command of one run: every command's file registers its constructor. A run builds its own
// tree, so no flag value outlives the run that set it.
var commands []func(s stdio) *cobra.Command

func register(newCommand func(s stdio) *cobra.Command) { commands = append(commands, newCommand) }

// exitError carries an exit code; its message, if any, is printed on stderr.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, a ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, a...)}
}

func main() {
	os.Exit(run(os.Args[1:], stdio{out: os.Stdout, err: os.Stderr, in: os.Stdin}))
}

// run executes one command line and returns its exit code. Help (--help, -h, tapstack help COMMAND), --version
// and completion print on stdout and exit 0. A command line refused before its command runs (no command, an
// unknown command or flag, a bad flag value, an unexpected argument) prints the error and the usage on stderr and
// exits 2, nothing changed. A command's own error prints as "tapstack COMMAND: message" on stderr, with the code
// its exitError carries, 1 for any other error.
func run(args []string, s stdio) int {
	root, ran := newRoot(s)
	if len(args) == 0 {
		fmt.Fprint(s.err, root.UsageString())
		return exitInvalid
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	if cmd == nil {
		cmd = root
	}
	var ee *exitError
	if !*ran {
		code := exitInvalid
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintf(s.err, "%s: %v\n\n%s", cmd.CommandPath(), err, cmd.UsageString())
		return code
	}
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(s.err, "%s: %s\n", cmd.CommandPath(), ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(s.err, "%s: %v\n", cmd.CommandPath(), err)
	return exitFailure
}

// newRoot builds the command tree for one run. ran reports whether a command's RunE started: an error before
// that is the command line's (usage on stderr, exit 2), an error after it the command's.
func newRoot(s stdio) (root *cobra.Command, ran *bool) {
	ran = new(bool)
	root = &cobra.Command{
		Use:   "tapstack",
		Short: "provision a production Amazon EKS environment through Terraform",
		Long: `tapstack provisions a production Amazon EKS environment as code. It turns a configuration into Terraform
JSON, checks it for every failure class it knows before anything is created, drives the real Terraform CLI (or
OpenTofu) with S3 state and native locking, writes the pipeline's outputs file and verifies the live stack.

Configuration comes from flags, then the YAML file (--config FILE), then the environment, then the profile's
defaults. Flags take two dashes (--config FILE or --config=FILE); -h is the only short flag of a command.

Exit codes: 0 success; 2 bad input or refused findings (nothing is written or changed); 1 any other failure.`,
		Example: `  tapstack synth
  tapstack check --live
  tapstack deploy
  tapstack help deploy`,
		Version:       version(debug.ReadBuildInfo()),
		SilenceErrors: true,
		SilenceUsage:  true,
		// No root action: without a command run prints the usage on stderr (exit 2), and an unknown command is an
		// error. The default completion command stays.
	}
	root.SetVersionTemplate("tapstack {{.Version}}\n")
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetIn(s.in)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	for _, newCommand := range commands {
		c := newCommand(s)
		if c.Args == nil {
			c.Args = noArgs
		}
		runE := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			*ran = true
			return runE(cmd, args)
		}
		root.AddCommand(c)
	}
	root.SetHelpCommand(newHelpCommand())
	// What ExecuteC adds on its own, added now so the usage printed without a command lists it too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	return root, ran
}

// noArgs refuses positional arguments: every command takes flags only.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fail(exitInvalid, "unexpected argument %q", args[0])
	}
	return nil
}

// newHelpCommand is cobra's help command, except that an unknown topic is an error (exit 2, on stderr) instead of
// the root's usage with exit 0.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help prints a command's description, examples and flags on stdout: tapstack help COMMAND.",
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range c.Root().Commands() {
				if (sub.IsAvailableCommand() || sub.Name() == "help") && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return fail(exitInvalid, "unknown help topic %q", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// version is the module's version and, when the build recorded them, its VCS revision and whether the working
// tree was modified: "(devel)" when the build has no version (go run, go build in the module, tests).
func version(info *debug.BuildInfo, ok bool) string {
	v := "(devel)"
	if ok && info.Main.Version != "" {
		v = info.Main.Version
	}
	if !ok {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			v += " " + s.Key + "=" + s.Value
		}
	}
	return v
}
