//go:build unix

package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDoc writes a stack document with an S3 backend of bucket and key, and one resource named res.
func writeDoc(t *testing.T, dir, bucket, key, res string) {
	t.Helper()
	doc := `{"terraform":{"required_providers":{"aws":{"source":"hashicorp/aws","version":"5.100.0"}},` +
		`"backend":{"s3":{"bucket":"` + bucket + `","key":"` + key + `","region":"us-east-1","use_lockfile":true}}},` +
		`"resource":{"aws_vpc":{"` + res + `":{"cidr_block":"10.0.0.0/16"}}}}`
	if err := os.WriteFile(filepath.Join(dir, "cdk.tf.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// EnsureInit runs init once for a document and then no engine command at all while the backend, the providers,
// the engine and the working copy stay as init left them; any change among those runs init again.
func TestEnsureInitSkipsAnUnchangedWorkingCopy(t *testing.T) {
	exe, log := writeFakeEngine(t)
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{}
	newEngine := func() *Engine {
		t.Helper()
		e, err := New(ctx, Options{ExecPath: exe, Dir: dir, Getenv: func(k string) string { return env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	writeDoc(t, dir, "state-a", "env/dev/terraform.tfstate", "vpc")
	e := newEngine()
	// ensure runs EnsureInit and reports whether it ran init, and whether it ran any engine command at all.
	ensure := func(step string, e *Engine, wantInit bool) {
		t.Helper()
		before := len(calls(t, log))
		ran, err := e.EnsureInit(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		after := calls(t, log)
		ranInit := len(after) == before+1 && strings.HasPrefix(after[before], "init ")
		if ran != wantInit || (wantInit && !ranInit) || (!wantInit && len(after) != before) {
			t.Errorf("%s: ran %v, commands %q; want init %v", step, ran, after[before:], wantInit)
		}
	}

	ensure("first", e, true)
	ensure("same document", e, false)
	ensure("another Engine on the same working copy", newEngine(), false)
	writeDoc(t, dir, "state-a", "env/dev/terraform.tfstate", "vpc2")
	ensure("a resource changed, not the terraform block", e, false)

	writeDoc(t, dir, "state-b", "env/dev/terraform.tfstate", "vpc2")
	ensure("another bucket", e, true)
	ensure("that bucket again", e, false)
	writeDoc(t, dir, "state-b", "env/prod/terraform.tfstate", "vpc2")
	ensure("another key", e, true)

	env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"
	ensure("another -backend-config (path-style S3)", e, true)
	ensure("and again", e, false)

	t.Setenv("FAKE_TF_VERSION", "1.11.5")
	ensure("another engine version", newEngine(), true)

	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte("# changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ensure("a lock file init did not write", e, true)
	if err := os.Remove(filepath.Join(dir, LockFile)); err != nil {
		t.Fatal(err)
	}
	ensure("no lock file", e, true)
	if err := os.RemoveAll(filepath.Join(dir, ".terraform", "providers")); err != nil {
		t.Fatal(err)
	}
	ensure("no installed providers", e, true)
	if err := os.WriteFile(filepath.Join(dir, ".terraform", "terraform.tfstate"), []byte(`{"version":3,"backend":{"type":"s3","config":{"bucket":"by-hand"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ensure("a backend record init -backend-config=... made by hand", e, true)
	if err := os.Remove(filepath.Join(dir, ".terraform", "terraform.tfstate")); err != nil {
		t.Fatal(err)
	}
	ensure("no backend record", e, true)
	ensure("all back", e, false)

	// A failed init leaves no marker, so the next EnsureInit tries again whatever it was for.
	t.Setenv("FAKE_INIT_FAIL", "S3 bucket does not exist.")
	if err := e.Init(ctx); err == nil {
		t.Fatal("init did not fail")
	}
	t.Setenv("FAKE_INIT_FAIL", "")
	ensure("after a failed init", e, true)
	ensure("after it succeeded", e, false)
}

func TestInitMarkerFollowsTFDataDir(t *testing.T) {
	e := &Engine{dir: "/stack", getenv: func(string) string { return "" }}
	if got := e.dataDir(); got != "/stack/.terraform" {
		t.Errorf("dataDir %s", got)
	}
	e.getenv = func(string) string { return "data" }
	if got := e.dataDir(); got != "/stack/data" {
		t.Errorf("relative TF_DATA_DIR: %s", got)
	}
	e.getenv = func(string) string { return "/elsewhere" }
	if got := e.dataDir(); got != "/elsewhere" {
		t.Errorf("absolute TF_DATA_DIR: %s", got)
	}
}
