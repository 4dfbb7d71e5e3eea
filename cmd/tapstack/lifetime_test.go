package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// defaultTagsOf reads the provider's default tags of a synthesized stack.
func defaultTagsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	var doc struct {
		Provider struct {
			AWS []struct {
				DefaultTags []struct {
					Tags map[string]string `json:"tags"`
				} `json:"default_tags"`
			} `json:"aws"`
		} `json:"provider"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Provider.AWS) != 1 || len(doc.Provider.AWS[0].DefaultTags) != 1 {
		t.Fatalf("%s: no default tags (%v)", path, err)
	}
	return doc.Provider.AWS[0].DefaultTags[0].Tags
}

// --ttl with --now pinned gives the same expiry tag on every synth; --protect alone means true.
func TestSynthRecordsTTLAndProtect(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	args := []string{"synth", "--ttl", "72h", "--protect", "--now", "2026-12-01T09:00:00+01:00"}
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	path := strings.TrimSpace(out)
	first, _ := os.ReadFile(path)
	tags := defaultTagsOf(t, path)
	if tags["tapstack:expires-at"] != "2026-12-04T08:00:00Z" || tags["tapstack:ephemeral"] != "true" || tags["tapstack:protect"] != "true" {
		t.Errorf("tags %v: want expiry 2026-12-04T08:00:00Z, ephemeral and protect", tags)
	}
	if code, _, errs := runCLI(t, args...); code != 0 {
		t.Fatalf("second synth: exit %d: %s", code, errs)
	}
	if second, _ := os.ReadFile(path); string(first) != string(second) {
		t.Error("two synths with the same --now differ")
	}
	// From the environment, as a pipeline sets them.
	t.Setenv("TAPSTACK_TTL", "1h")
	t.Setenv("TAPSTACK_PROTECT", "false")
	if code, _, errs := runCLI(t, "synth", "--now", "2026-12-01T09:00:00Z", "--out", "env"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	tags = defaultTagsOf(t, filepath.Join("env", "stacks", "TapStackdev", "cdk.tf.json"))
	if tags["tapstack:expires-at"] != "2026-12-01T10:00:00Z" || tags["tapstack:protect"] != "" {
		t.Errorf("from the environment: tags %v", tags)
	}
}

// Bad --now, --date, --ttl and --protect values are refused at once, each named, and nothing is written.
func TestLifetimeInputRefused(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, "synth", "--now", "tomorrow", "--date", "2026-13-01")
	if code != 2 || out != "" || !strings.Contains(errs, `--now: "tomorrow" is not an RFC 3339 time`) || !strings.Contains(errs, "--date:") {
		t.Errorf("bad --now and --date: exit %d, stdout %q, stderr %s", code, out, errs)
	}
	code, _, errs = runCLI(t, "synth", "--ttl", "3 days")
	if code != 2 || !strings.Contains(errs, "TS122") || !strings.Contains(errs, `ttl: ttl "3 days" is not a duration`) {
		t.Errorf("bad --ttl: exit %d, stderr %s", code, errs)
	}
	code, _, errs = runCLI(t, "synth", "--protect=maybe")
	if code != 2 || !strings.Contains(errs, `--protect: "maybe" is not true or false`) {
		t.Errorf("bad --protect: exit %d, stderr %s", code, errs)
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("refused input wrote %v", entries)
	}
}

// Without --date, the date-based rules run on the day of --now.
func TestNowGivesTheDate(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	code, out, errs := runCLI(t, "check", "--format", "json", "--now", "2026-11-30T23:30:00-02:00")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `"date": "2026-12-01"`) {
		t.Errorf("check on --now 2026-11-30T23:30:00-02:00 (2026-12-01 UTC) did not run on 2026-12-01:\n%s", out[:min(len(out), 300)])
	}
}
