//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/stack"
)

// repoRoot is the directory of the module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod)
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod in %s or above", dir)
		}
	}
}

// outputsFile is TAPSTACK_OUTPUTS_FILE or the pipeline's default, relative paths from the repository root.
func outputsFile(t *testing.T) string {
	p := os.Getenv("TAPSTACK_OUTPUTS_FILE")
	if p == "" {
		p = outputs.DefaultPath
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(repoRoot(t), p)
	}
	return p
}

// deployed is the stack under test: its configuration, synthesized document and outputs.
type deployed struct {
	cfg    *config.Config
	st     *stack.Stack
	values outputs.Values
	path   string
}

// load reads the outputs file and the configuration. A missing file fails the test with what to do.
func load(t *testing.T) *deployed {
	t.Helper()
	path := outputsFile(t)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the outputs file %s does not exist: deploy the stack first (tapstack deploy writes it), or point "+
			"TAPSTACK_OUTPUTS_FILE at it", path)
	}
	if err != nil {
		t.Fatalf("outputs file %s: %v", path, err)
	}
	src := config.Sources{LookupEnv: os.LookupEnv, File: os.Getenv("TAPSTACK_CONFIG"), Flags: map[string]string{}}
	if v, ok := os.LookupEnv("ENVIRONMENT_SUFFIX"); !ok || v == "" {
		// The suffix of the deployed stack, from its cluster name eks-cluster-v1-<suffix>.
		flat, err := outputs.Decode(raw, "")
		if err != nil {
			t.Fatalf("outputs file %s: %v (set ENVIRONMENT_SUFFIX to pick the stack)", path, err)
		}
		if s, ok := strings.CutPrefix(flat.String("cluster_name"), "eks-cluster-v1-"); ok && s != "" {
			src.Flags["environment-suffix"] = s
		}
	}
	cfg, notices, err := config.Load(src)
	for _, n := range notices {
		t.Logf("notice: %s", n)
	}
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	values, err := outputs.Decode(raw, cfg.StackName())
	if err != nil {
		t.Fatalf("outputs file %s: %v", path, err)
	}
	return &deployed{cfg: cfg, st: stack.Build(cfg, stack.Options{}), values: values, path: path}
}

var (
	once   sync.Once
	report *live.VerifyReport
	loaded *deployed
)

// verified runs verify once for the whole suite.
func verified(t *testing.T) (*deployed, *live.VerifyReport) {
	t.Helper()
	d := load(t)
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		clients, err := live.NewClients(ctx, d.cfg.Region, d.cfg.State.Region)
		if err != nil {
			t.Fatalf("AWS clients: %v", err)
		}
		loaded = d
		report = live.Verify(ctx, clients, live.VerifyInput{Config: d.cfg, Doc: d.st.Doc, Outputs: d.values}, live.Options{})
	})
	if report == nil {
		t.Fatal("verify did not run")
	}
	return loaded, report
}

// TestOutputs are the original's output tests: every output the pipeline relies on is in the file.
func TestOutputs(t *testing.T) {
	d := load(t)
	t.Logf("outputs of %s from %s", d.cfg.StackName(), d.path)
	for _, name := range []string{"cluster_endpoint", "cluster_name", "oidc_provider_arn", "oidc_issuer_url",
		"kubectl_config_command", "on_demand_node_group_name", "spot_node_group_name", "vpc_id", "public_subnet_ids",
		"cluster_log_group_name", "node_role_arn"} {
		t.Run(name, func(t *testing.T) {
			if _, ok := d.values[name]; !ok {
				t.Fatalf("output %s is missing from %s", name, d.path)
			}
		})
	}
	t.Run("kubectl_config_command", func(t *testing.T) {
		want := fmt.Sprintf("aws eks update-kubeconfig --region %s --name %s", d.cfg.Region, d.values.String("cluster_name"))
		if got := d.values.String("kubectl_config_command"); got != want {
			t.Errorf("kubectl_config_command = %q, want %q", got, want)
		}
	})
	t.Run("cluster_endpoint_is_https", func(t *testing.T) {
		if ep := d.values.String("cluster_endpoint"); !strings.HasPrefix(ep, "https://") {
			t.Errorf("cluster_endpoint = %q", ep)
		}
	})
	t.Run("oidc_provider_arn_names_the_issuer", func(t *testing.T) {
		arn, issuer := d.values.String("oidc_provider_arn"), d.values.String("oidc_issuer_url")
		if !strings.HasSuffix(arn, ":oidc-provider/"+strings.TrimPrefix(issuer, "https://")) {
			t.Errorf("oidc_provider_arn %q is not the provider of %q", arn, issuer)
		}
	})
}

// TestLiveStack checks each fact of the live stack, one subtest per part and field, naming expected and actual.
func TestLiveStack(t *testing.T) {
	d, r := verified(t)
	t.Logf("verified %s in %s: %d matched, %d mismatched, %d not checked, %d error(s)", d.cfg.StackName(),
		r.Duration.Round(time.Millisecond), r.Summary.Matched, r.Summary.Mismatched, r.Summary.NotChecked, r.Summary.Errors)
	byPart := map[string][]live.Item{}
	var parts []string
	for _, it := range r.Items {
		if _, ok := byPart[it.Part]; !ok {
			parts = append(parts, it.Part)
		}
		byPart[it.Part] = append(byPart[it.Part], it)
	}
	for _, p := range parts {
		t.Run(p, func(t *testing.T) {
			for _, it := range byPart[p] {
				t.Run(it.Resource+"/"+it.Field, func(t *testing.T) {
					switch it.Status {
					case live.Match:
					case live.Mismatch:
						t.Errorf("%s %s: expected %q, actual %q", it.Resource, it.Field, it.Expected, it.Actual)
					default:
						t.Errorf("%s %s could not be verified (%s): %s", it.Resource, it.Field, it.Status, it.Note)
					}
				})
			}
		})
	}
	if len(r.Items) == 0 {
		t.Fatal("verify checked nothing")
	}
}
