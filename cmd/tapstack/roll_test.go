package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// roll refuses a bad command line before it loads anything: no group named, a timeout that is not positive, a
// group of another stack (exit 2, nothing written).
func TestRollCommandLine(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"roll"}, "--node-group: name the node group to roll"},
		{[]string{"roll", "--node-group", "node-group-od-v1-dev", "--timeout", "0s"}, "--timeout: 0s is not a positive duration"},
		{[]string{"roll", "--node-group", "node-group-gpu-v1-dev", "--out", dir}, `"node-group-gpu-v1-dev" is not a node group of TapStackdev: node-group-od-v1-dev or node-group-spot-v1-dev`},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "stacks")); len(entries) != 0 {
		t.Errorf("a refused roll wrote %v", entries)
	}
}
