package main

import (
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// takesFlag reports whether command takes the flag name, from the command tree itself.
func takesFlag(command, name string) bool {
	root, _ := newRoot(stdio{out: io.Discard, err: io.Discard})
	cmd, _, err := root.Find([]string{command})
	return err == nil && cmd != root && cmd.Flags().Lookup(name) != nil
}

// flagsOf lists a command's flags, sorted, without cobra's --help.
func flagsOf(t *testing.T, command string) []string {
	t.Helper()
	root, _ := newRoot(stdio{out: io.Discard, err: io.Discard})
	cmd, _, err := root.Find([]string{command})
	if err != nil || cmd == root {
		t.Fatalf("no command %s: %v", command, err)
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			names = append(names, f.Name)
		}
	})
	slices.Sort(names)
	return names
}

// Each command takes the flags it uses and no other.
func TestCommandFlags(t *testing.T) {
	shape := []string{"availability-zones", "cloudwatch-observability", "environment-suffix", "kubernetes-version", "profile", "region",
		"state-bucket", "state-bucket-region", "vpc-cni-version"}
	settings := append([]string{"protect", "ttl"}, shape...)
	environment := []string{"environment-suffix", "profile", "region", "state-bucket", "state-bucket-region"}
	build := append([]string{"adopt-existing", "allow", "config", "date", "engine", "now", "out"}, settings...)
	with := func(base []string, more ...string) []string {
		out := append(append([]string(nil), base...), more...)
		slices.Sort(out)
		return out
	}
	want := map[string][]string{
		"synth":    with(build),
		"check":    with(settings, "adopt-existing", "allow", "config", "date", "format", "live", "now", "timeout"),
		"versions": with(nil, "date", "format"),
		"plan":     with(build, "detailed-exitcode", "format", "json-out", "lock-timeout"),
		"deploy":   with(build, "allow-destroy", "flat", "format", "live-timeout", "lock-timeout", "outputs-file", "skip-in-cluster", "skip-live-checks"),
		"upgrade":  with(build, "allow-destroy", "dry-run", "live-timeout", "lock-timeout", "skip-in-cluster", "skip-live-checks", "to"),
		"outputs":  with(environment, "config", "engine", "flat", "lock-timeout", "out", "outputs-file"),
		"verify":   with(shape, "config", "format", "outputs", "skip-in-cluster", "timeout"),
		"destroy":  with(environment, "config", "engine", "lock-timeout", "out", "yes"),
		"roll":     with(build, "flat", "lock-timeout", "node-group", "outputs-file", "timeout", "yes"),
		"envs":     with(nil, "config", "format", "now", "state-bucket", "state-bucket-region"),
		"drift":    with(nil, "cache-dir", "config", "engine", "format", "parallel", "state-bucket", "state-bucket-region"),
		"gc": with(nil, "cache-dir", "config", "engine", "expired", "keep", "now", "older-than", "parallel", "state-bucket",
			"state-bucket-region", "yes"),
		"token":      with(nil, "cluster", "region"),
		"kubeconfig": with(nil, "alias", "config", "environment-suffix", "out", "profile", "region"),
	}
	for command, w := range want {
		if got := flagsOf(t, command); !slices.Equal(got, w) {
			t.Errorf("%s takes %v, want %v", command, got, w)
		}
	}
	root, _ := newRoot(stdio{out: io.Discard, err: io.Discard})
	for _, c := range root.Commands() {
		if _, ok := want[c.Name()]; !ok && c.Name() != "help" && c.Name() != "completion" {
			t.Errorf("command %s is not in this test", c.Name())
		}
	}
}

// pflag takes long flags with two dashes only; Go's flag package took one too.
func TestDoubleDashFlags(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	must(t, os.WriteFile("c.yaml", []byte("environmentSuffix: dd\n"), 0o644))
	for _, args := range [][]string{
		{"synth", "--config", "c.yaml", "--out", "o1"},
		{"synth", "--config=c.yaml", "--out=o2"},
	} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "TapStackdd") {
			t.Errorf("%v: exit %d, stdout %q: %s", args, code, out, errs)
		}
	}
	code, out, errs := runCLI(t, "synth", "-config", "c.yaml", "--out", "o3")
	if code != 2 || out != "" || !strings.Contains(errs, "tapstack synth: unknown shorthand flag: 'c' in -config") {
		t.Errorf("-config: exit %d, stdout %q, stderr %s", code, out, errs)
	}
	if _, err := os.Stat("o3"); !os.IsNotExist(err) {
		t.Error("-config wrote the stack")
	}
}

func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"help", "deploy"}, {"deploy", "--help"}, {"deploy", "-h"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
		for _, want := range []string{"deploy checks the configuration", "Usage:\n  tapstack deploy [flags]", "Examples:\n  tapstack deploy\n",
			"--allow-destroy", "--skip-live-checks"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: stdout lacks %q:\n%s", args, want, out)
			}
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errs := runCLI(t, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "tapstack provisions") || !strings.Contains(out, "Available Commands:") ||
			!strings.Contains(out, "  upgrade     move the cluster") || !strings.Contains(out, "completion") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
}

// Every command explains itself: a description and at least one example.
func TestEveryCommandHasLongAndExample(t *testing.T) {
	root, _ := newRoot(stdio{out: io.Discard, err: io.Discard})
	for _, c := range append([]*cobra.Command{root}, root.Commands()...) {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if c.Long == "" || !strings.HasPrefix(c.Example, "  tapstack ") || c.Short == "" {
			t.Errorf("%s: Short %q, Long %q, Example %q", c.Name(), c.Short, c.Long, c.Example)
		}
	}
}

// A command line refused before anything runs: exit 2, the error and the usage on stderr, stdout empty.
func TestBadCommandLines(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage:\n  tapstack [command]"},
		{[]string{"nope"}, "tapstack: unknown command \"nope\" for \"tapstack\""},
		{[]string{"synth", "extra"}, "tapstack synth: unexpected argument \"extra\"\n\nUsage:\n  tapstack synth [flags]"},
		{[]string{"help", "nope"}, "tapstack help: unknown help topic \"nope\""},
		{[]string{"--no-such-flag"}, "tapstack: unknown flag: --no-such-flag"},
		{[]string{"plan", "--lock-timeout", "soon"}, "tapstack plan: invalid argument \"soon\" for \"--lock-timeout\" flag"},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q on stderr\nstdout %q\nstderr %s", tc.args, code, tc.want, out, errs)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("a refused command line wrote %v", entries)
	}
	// plan --detailed-exitcode keeps exit 2 for changes: a bad command line is 1 there.
	if code, _, errs := runCLI(t, "plan", "--detailed-exitcode", "extra"); code != 1 || !strings.Contains(errs, `unexpected argument "extra"`) {
		t.Errorf("plan --detailed-exitcode extra: exit %d, want 1: %s", code, errs)
	}
}

func TestVersion(t *testing.T) {
	code, out, errs := runCLI(t, "--version")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "tapstack ") || !strings.HasSuffix(out, "\n") {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	info, ok := debug.ReadBuildInfo()
	if want := "tapstack " + version(info, ok) + "\n"; out != want {
		t.Errorf("--version printed %q, want %q", out, want)
	}

	for _, tc := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{nil, false, "(devel)"},
		{&debug.BuildInfo{}, true, "(devel)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "(devel)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
			{Key: "-buildmode", Value: "exe"}, {Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "281af9606e86"},
			{Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			true, "v1.4.0 vcs.revision=281af9606e86 vcs.modified=true"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}},
			true, "(devel) vcs.revision=abc"},
	} {
		if got := version(tc.info, tc.ok); got != tc.want {
			t.Errorf("version(%+v) = %q, want %q", tc.info, got, tc.want)
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "# bash completion V2 for tapstack", "zsh": "#compdef tapstack",
		"fish": "# fish completion for tapstack", "powershell": "# powershell completion for tapstack"} {
		code, out, errs := runCLI(t, "completion", shell)
		if code != 0 || errs != "" || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, stdout starts %q", shell, code, errs, out[:min(len(out), 80)])
		}
	}
	// The shells ask the binary itself; a command's flags complete from its definition.
	code, out, _ := runCLI(t, "__complete", "destroy", "--")
	if code != 0 || !strings.Contains(out, "--yes") || strings.Contains(out, "--allow") {
		t.Errorf("__complete destroy --: exit %d:\n%s", code, out)
	}
}
