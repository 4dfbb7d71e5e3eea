// Package e2e drives the tapstack CLI, built once for the package, against moto and the harness's front, with
// the real Terraform CLI and the real hashicorp/aws provider. The tests start everything they need and fail,
// never skip, when a tool is missing.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tapstackBin is the CLI under test, built by TestMain.
var tapstackBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tapstack-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tapstackBin = filepath.Join(dir, "tapstack")
	build := exec.Command("go", "build", "-o", tapstackBin, "github.com/tapstack/tapstack/cmd/tapstack")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the tapstack CLI:", err)
		return 1
	}
	return m.Run()
}
