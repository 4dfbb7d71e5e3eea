//go:build unix

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tapstack/tapstack/internal/fakes3"
	"github.com/tapstack/tapstack/internal/fakestate"
)

// gcBucket holds two expired environments of tapstack's, a protected one, a locked one and the original's state.
func gcTestBucket() *fakes3.Bucket {
	b := &fakes3.Bucket{Name: "team-states"}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	expired := map[string]string{"tapstack:expires-at": "2026-12-02T00:00:00Z"}
	for _, s := range []string{"pr1", "pr2", "lck"} {
		b.Put(fakestate.Key(s), fakestate.Env{Suffix: s, Tags: expired}.Raw(), at)
	}
	b.Put(fakestate.Key("lck")+".tflock", []byte("{}"), time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC))
	b.Put(fakestate.Key("prot"), fakestate.Env{Suffix: "prot", Tags: map[string]string{"tapstack:expires-at": "2026-12-02T00:00:00Z",
		"tapstack:protect": "true"}}.Raw(), at)
	b.Put(fakestate.Key("dev"), fakestate.Env{Suffix: "dev", ManagedBy: "CDKTF"}.Raw(), at)
	return b
}

// Without --yes gc lists what it would destroy, with the saving, and what it spares; it changes nothing.
func TestGCDryRun(t *testing.T) {
	clearEnv(t)
	b := gcTestBucket()
	withBucket(t, b)
	code, out, errs := runCLI(t, "gc", "--expired", "--state-bucket", "team-states", "--now", fleetTestNow, "--keep", "nosuch")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"would destroy 2 environments, saving 267.48-328.20 USD a month:",
		"pr1     us-east-1  expired at 2026-12-02T00:00:00Z  133.74-164.10  would destroy\n",
		"pr2     us-east-1  expired at 2026-12-02T00:00:00Z  133.74-164.10  would destroy\n",
		"  lck (TapStacklck/lck/terraform.tfstate, expired at 2026-12-02T00:00:00Z): its state lock is held (for 1h0m0s)",
		"  prot (TapStackprot/prot/terraform.tfstate, expired at 2026-12-02T00:00:00Z): protected (tapstack:protect = true)",
		"1 state is not tapstack's: never touched",
		"run again with --yes to destroy them",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("gc lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "note: --keep nosuch: no state of the bucket has that suffix") {
		t.Errorf("stderr: %s", errs)
	}
	if b.Calls("DeleteObject") != 0 || len(b.Keys()) != 6 {
		t.Errorf("a dry run changed the bucket: %v", b.Keys())
	}
	code, out, _ = runCLI(t, "gc", "--expired", "--state-bucket", "team-states", "--now", "2026-12-01T12:00:00Z")
	if code != 0 || !strings.Contains(out, "nothing to destroy") {
		t.Errorf("before the expiry: exit %d\n%s", code, out)
	}
}

// Bad input: exit 2, both problems named, nothing listed; a selection is required.
func TestGCRefusals(t *testing.T) {
	clearEnv(t)
	b := gcTestBucket()
	withBucket(t, b)
	code, _, errs := runCLI(t, "gc", "--older-than", "-1h", "--parallel", "0")
	if code != 2 || !strings.Contains(errs, "--older-than: -1h0m0s is not a positive duration") || !strings.Contains(errs, "--parallel: 0 is not a positive number") {
		t.Errorf("bad flags: exit %d: %s", code, errs)
	}
	code, _, errs = runCLI(t, "gc", "--now", "later", "--engine", "pulumi", "--config", "no-such.yaml")
	for _, want := range []string{`--now: "later" is not an RFC 3339 time`, `--engine: "pulumi" is not terraform or tofu`,
		"--config: open no-such.yaml", "say what to reap: --expired, --older-than D, or both"} {
		if code != 2 || !strings.Contains(errs, want) {
			t.Errorf("bad --now, --engine, --config and no selection: exit %d, stderr lacks %q: %s", code, want, errs)
		}
	}
	if b.Calls("ListObjectsV2") != 0 {
		t.Error("bad flags listed the bucket")
	}
}

// With --yes each destroy runs through destroy's path; one that fails (here: the fake account refuses the log
// group's deletion) is reported, its state object kept, the others go on, and gc exits 1.
func TestGCYesReportsFailures(t *testing.T) {
	clearEnv(t)
	f := newFakeRun(t)
	b := gcTestBucket()
	withBucket(t, b)
	code, out, errs := runCLI(t, "gc", "--expired", "--yes", "--state-bucket", "team-states", "--now", fleetTestNow,
		"--cache-dir", f.dir, "--parallel", "2")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"destroyed 0 of 2 environments selected, saving 0.00 USD a month:", "pr1     us-east-1  expired at 2026-12-02T00:00:00Z  133.74-164.10  failed: log group: "} {
		if !strings.Contains(out, want) {
			t.Errorf("gc --yes lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"[pr1] the state of TapStackpr1 holds no resources", "[pr2] ", "gc pr1: failed: ",
		"tapstack gc: 2 of 2 environments could not be destroyed"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if !b.Has(fakestate.Key("pr1")) || !b.Has(fakestate.Key("pr2")) || b.Calls("DeleteObject") != 0 {
		t.Errorf("a failed destroy's state object went: %v", b.Keys())
	}
}
