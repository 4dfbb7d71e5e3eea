// Command tapstack provisions a TapStack EKS environment: synth, check, plan, deploy, verify, destroy.
// Each command lives in its own file; this one dispatches and maps errors to exit codes.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Exit codes: 0 success, 1 a failure while running, 2 bad input or refused findings.
const (
	exitOK      = 0
	exitFailure = 1
	exitInvalid = 2
)

type command struct {
	name    string
	summary string
	run     func(args []string, io stdio) error
}

type stdio struct {
	out, err io.Writer
	in       io.Reader
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

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

func run(args []string, s stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(s.err)
		if len(args) == 0 {
			return exitInvalid
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(s.err, "tapstack: unknown command %q\n\n", args[0])
		usage(s.err)
		return exitInvalid
	}
	err := c.run(args[1:], s)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(s.err, "tapstack %s: %s\n", c.name, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(s.err, "tapstack %s: %v\n", c.name, err)
	return exitFailure
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tapstack <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tapstack <command> -h' for a command's flags.")
}
