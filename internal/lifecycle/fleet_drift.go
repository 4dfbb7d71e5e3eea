package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"golang.org/x/sync/errgroup"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/fsutil"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

// DefaultParallel is how many environments drift and gc work on at once unless told otherwise.
const DefaultParallel = 4

// Drift working copies: the generated configuration, the saved refresh-only plan and the engine's log.
const (
	DriftDocument = "drift.tf.json"
	driftPlanFile = "drift.tfplan"
	DriftLog      = "drift.log"
)

// DriftOptions are Drift's own options.
type DriftOptions struct {
	// Parallel is how many environments are checked at once; 0: DefaultParallel.
	Parallel int
	// CacheDir holds a working copy per environment, CacheDir/drift/<bucket>/<suffix>, kept between runs so that
	// init is reused.
	CacheDir string
	// Engine is terraform (default) or tofu.
	Engine string
	// OpenEngine opens the engine in a working copy; nil: engine.New.
	OpenEngine func(ctx context.Context, kind engine.Kind, dir string, log io.Writer, lockTimeout time.Duration) (Engine, error)
	// Progress receives a line per environment as it finishes; nil discards it.
	Progress Progress
}

// DriftStatus is what a refresh-only plan found.
type DriftStatus string

const (
	InSync  DriftStatus = "in-sync"
	Drifted DriftStatus = "drifted"
	Failed  DriftStatus = "failed"
)

// DriftReport is the outcome of Drift: one entry per environment of ours, and the states it did not check.
type DriftReport struct {
	Bucket       string         `json:"bucket"`
	BucketRegion string         `json:"bucketRegion"`
	Environments []*DriftResult `json:"environments"`
	Skipped      []Skipped      `json:"skipped"`
}

// Skipped is a state a fleet command left alone, and why.
type Skipped struct {
	Key   string   `json:"key"`
	Class EnvClass `json:"class"`
	Why   string   `json:"why"`
}

// DriftResult is one environment's refresh-only plan.
type DriftResult struct {
	Key    string      `json:"key"`
	Suffix string      `json:"suffix"`
	Stack  string      `json:"stack"`
	Region string      `json:"region"`
	Status DriftStatus `json:"status"`
	// Changes is the plan's resource_drift: what changed outside Terraform (drifted only).
	Changes []DriftChange `json:"changes"`
	// Error says why the check failed (failed only).
	Error string `json:"error,omitempty"`
	// Log is the engine's output of the check, kept in the working copy.
	Log string `json:"log"`
}

// DriftChange is a resource that changed outside Terraform.
type DriftChange struct {
	Address string `json:"address"`
	// Action is update (attributes changed) or delete (the object is gone).
	Action string `json:"action"`
	// Attributes are the top-level attributes whose values differ, with the values when they are plain and not
	// sensitive.
	Attributes []DriftAttribute `json:"attributes"`
}

// DriftAttribute is an attribute that changed.
type DriftAttribute struct {
	Name   string `json:"name"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// Count is how many environments came out with a status.
func (r *DriftReport) Count(s DriftStatus) int {
	return countWhere(r.Environments, func(e *DriftResult) bool { return e.Status == s })
}

// Drift runs, for each environment of ours in the bucket, a refresh-only plan against its recorded state, Parallel
// at a time: in its own working copy under CacheDir, with a configuration generated from what the listing read
// (the backend's bucket, key and region; the provider's region from the state's ARNs and its default tags from the
// state's tags), never from the local configuration. An environment whose plan records changes is drifted only
// when the plan's resource_drift (show -json) lists a resource: Terraform 1.11 exits 2 on a refresh-only plan of
// an unchanged environment too. A failure on one is reported with why, and the others go on.
func Drift(ctx context.Context, fo FleetOptions, do DriftOptions) (*DriftReport, error) {
	kind, err := engine.ParseKind(do.Engine)
	if err != nil {
		return nil, inputError("engine", "%v", err)
	}
	f, err := Envs(ctx, fo)
	if err != nil {
		return nil, err
	}
	pr := do.Progress
	if pr == nil {
		pr = Discard
	}
	log := (&syncProgress{inner: pr}).Log()
	r := &DriftReport{Bucket: f.Bucket, BucketRegion: f.BucketRegion, Environments: []*DriftResult{}, Skipped: []Skipped{}}
	parallel := do.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	g := new(errgroup.Group)
	g.SetLimit(parallel)
	for _, e := range f.Envs {
		if !e.Acting() {
			r.Skipped = append(r.Skipped, Skipped{Key: e.Key, Class: e.Class, Why: e.Why})
			continue
		}
		res := &DriftResult{Key: e.Key, Suffix: e.Suffix, Stack: e.Stack, Region: e.Region, Changes: []DriftChange{}}
		r.Environments = append(r.Environments, res)
		g.Go(func() error {
			start := time.Now() // clock: a duration
			dir := filepath.Join(do.CacheDir, "drift", safeName(fo.Bucket), safeName(e.Suffix))
			res.Log = filepath.Join(dir, DriftLog)
			var out bytes.Buffer
			err := checkDrift(ctx, kind, dir, fo, e, do, &lockedWriter{mu: new(sync.Mutex), w: &out}, res)
			if err != nil {
				res.Status, res.Error = Failed, err.Error()
			}
			if werr := fsutil.WriteFile(res.Log, out.Bytes(), 0o644); werr != nil && err == nil {
				res.Status, res.Error = Failed, "writing the log: "+werr.Error()
			}
			fmt.Fprintf(log, "drift %s: %s (%s)\n", e.Suffix, res.Status, time.Since(start).Round(10*time.Millisecond))
			return nil
		})
	}
	_ = g.Wait()
	return r, ctx.Err()
}

// checkDrift writes the working copy's configuration, runs init when needed, the refresh-only plan and, when the
// plan records changes, show -json.
func checkDrift(ctx context.Context, kind engine.Kind, dir string, fo FleetOptions, e *Env, do DriftOptions, log io.Writer, res *DriftResult) error {
	if e.Region == "" {
		return fmt.Errorf("the state's ARNs name no region for the provider")
	}
	doc, err := driftDocument(kind, fo, e)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, DriftDocument), doc, 0o600); err != nil {
		return err
	}
	lock, err := engine.LockDir(ctx, dir, 0, "tapstack drift")
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() { _ = lock.Unlock() }()
	opener := do.OpenEngine
	if opener == nil {
		opener = openEngine
	}
	eng, err := opener(ctx, kind, dir, log, 0)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if _, err := eng.EnsureInit(ctx); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	plan := filepath.Join(dir, driftPlanFile)
	defer os.Remove(plan)
	changes, err := eng.Plan(ctx, plan, engine.PlanOptions{RefreshOnly: true})
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	res.Status = InSync
	if !changes {
		return nil
	}
	p, _, err := eng.ShowPlan(ctx, plan)
	if err != nil {
		return fmt.Errorf("show: %w", err)
	}
	for _, rc := range p.ResourceDrift {
		if rc.Mode != tfjson.ManagedResourceMode || rc.Change == nil {
			continue
		}
		if c := driftChange(rc, e.state); c.Action == "delete" || len(c.Attributes) > 0 {
			res.Changes = append(res.Changes, c)
		}
	}
	if len(res.Changes) > 0 {
		res.Status = Drifted
	}
	return nil
}

// driftDocument is the working copy's configuration: the S3 backend of the state, the provider in the state's
// region with the default tags the state records (without them every tag would read as drift), and the state's
// outputs as their recorded values, so that the plan shows no output going away. It declares no resource: a
// refresh-only plan refreshes every resource of the state all the same. Sensitive outputs are left out, so that
// no secret is written to the working copy; their removal is no resource drift.
func driftDocument(kind engine.Kind, fo FleetOptions, e *Env) ([]byte, error) {
	required := stack.RequiredVersion
	if kind == engine.OpenTofu {
		required = stack.RequiredVersionTofu
	}
	provider := map[string]any{"region": e.Region}
	if tags := recordedDefaultTags(e.state); len(tags) > 0 {
		provider["default_tags"] = []any{map[string]any{"tags": tags}}
	}
	doc := map[string]any{
		"//": "generated by tapstack drift from the state at s3://" + fo.Bucket + "/" + e.Key,
		"terraform": map[string]any{
			"required_version":   required,
			"required_providers": map[string]any{"aws": map[string]any{"source": "hashicorp/aws", "version": stack.ProviderVersion}},
			"backend": map[string]any{"s3": map[string]any{"bucket": fo.Bucket, "key": e.Key, "region": fo.BucketRegion,
				"encrypt": true, "use_lockfile": true}},
		},
		"provider": map[string]any{"aws": []any{provider}},
	}
	outputs := map[string]any{}
	if e.state != nil && e.state.Values != nil {
		for name, o := range e.state.Values.Outputs {
			if o == nil || o.Sensitive {
				continue
			}
			v, err := outputExpression(o)
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", name, err)
			}
			outputs[name] = map[string]any{"value": v}
		}
	}
	if len(outputs) > 0 {
		doc["output"] = outputs
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// templateMarkers are what Terraform's JSON syntax reads as interpolation in a string.
var templateMarkers = strings.NewReplacer("${", "$${", "%{", "%%{")

// outputExpression renders a recorded output value as a constant expression of Terraform's JSON syntax, of the
// recorded type where that is a list, set or map (a literal would be a tuple or an object).
func outputExpression(o *tfjson.StateOutput) (any, error) {
	if s, ok := o.Value.(string); ok {
		return templateMarkers.Replace(s), nil
	}
	raw, err := json.Marshal(o.Value)
	if err != nil {
		return nil, err
	}
	quoted, err := json.Marshal(string(raw))
	if err != nil {
		return nil, err
	}
	expr := "jsondecode(" + templateMarkers.Replace(string(quoted)) + ")"
	switch {
	case o.Type.IsListType():
		expr = "tolist(" + expr + ")"
	case o.Type.IsSetType():
		expr = "toset(" + expr + ")"
	case o.Type.IsMapType():
		expr = "tomap(" + expr + ")"
	}
	return "${" + expr + "}", nil
}

// recordedDefaultTags are the provider's default tags as the state records them: on every tagged resource, the
// tags in tags_all that the resource does not set itself, keeping those all such resources agree on.
func recordedDefaultTags(st *tfjson.State) map[string]string {
	var common map[string]string
	for _, r := range engine.Resources(st) {
		all, ok := r.AttributeValues["tags_all"].(map[string]any)
		if !ok || r.DeposedKey != "" {
			continue
		}
		own := stringMap(r.AttributeValues["tags"])
		defaults := map[string]string{}
		for k, v := range all {
			s, _ := v.(string)
			if _, set := own[k]; !set {
				defaults[k] = s
			}
		}
		if common == nil {
			common = defaults
			continue
		}
		for k, v := range common {
			if defaults[k] != v {
				delete(common, k)
			}
		}
	}
	return common
}

// driftChange says what a resource_drift entry changed: the top-level attributes that differ. A refresh-only plan
// also lists what is no change of the object: an unset map, list or string recorded as null and read back empty
// (tags = {}, labels = {}), and attributes that only mirror other resources of the same state (mirrored); neither
// counts.
func driftChange(rc *tfjson.ResourceChange, st *tfjson.State) DriftChange {
	c := DriftChange{Address: rc.Address, Attributes: []DriftAttribute{}}
	var actions []string
	for _, a := range rc.Change.Actions {
		actions = append(actions, string(a))
	}
	c.Action = strings.Join(actions, ",")
	before, _ := rc.Change.Before.(map[string]any)
	after, _ := rc.Change.After.(map[string]any)
	if after == nil {
		return c // gone: nothing to compare
	}
	sensitive := func(v any, name string) bool {
		m, _ := v.(map[string]any)
		return m != nil && m[name] != nil && m[name] != false
	}
	var names []string
	for k := range after {
		names = append(names, k)
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		if reflect.DeepEqual(normalize(before[k]), normalize(after[k])) || mirrored(st, rc, after, k) {
			continue
		}
		a := DriftAttribute{Name: k}
		if !sensitive(rc.Change.BeforeSensitive, k) && !sensitive(rc.Change.AfterSensitive, k) && plain(before[k]) && plain(after[k]) {
			a.Before, a.After = before[k], after[k]
		}
		c.Attributes = append(c.Attributes, a)
	}
	return c
}

// normalize makes null and empty alike, in depth: a map without entries, a list without elements, an empty string
// and an entry whose value is one of them.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if n := normalize(e); n != nil {
				out[k] = n
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// mirrored reports whether an attribute, as refreshed, holds exactly what other resources of the same state put
// there: a role's managed_policy_arns are its aws_iam_role_policy_attachment resources and its inline_policy its
// aws_iam_role_policy resources; a route table's route list is its aws_route resources. The apply recorded them
// before those resources existed, so the first refresh reads them back. Anything added outside Terraform is
// still drift.
func mirrored(st *tfjson.State, rc *tfjson.ResourceChange, after map[string]any, name string) bool {
	var want, got []string
	role, _ := after["name"].(string)
	table, _ := after["id"].(string)
	switch {
	case rc.Type == "aws_iam_role" && name == "managed_policy_arns" && role != "":
		want = statesOf(st, "aws_iam_role_policy_attachment", "role", role, "policy_arn")
		got = stringList(after[name], "")
	case rc.Type == "aws_iam_role" && name == "inline_policy" && role != "":
		want = statesOf(st, "aws_iam_role_policy", "role", role, "name")
		got = stringList(after[name], "name")
	case rc.Type == "aws_route_table" && name == "route" && table != "":
		want = statesOf(st, "aws_route", "route_table_id", table, "destination_cidr_block")
		got = stringList(after[name], "cidr_block")
	default:
		return false
	}
	sort.Strings(want)
	sort.Strings(got)
	return slices.Equal(want, got)
}

// statesOf lists attribute field of the state's resources of a type whose attribute by equals value.
func statesOf(st *tfjson.State, typ, by, value, field string) []string {
	var out []string
	for _, r := range engine.Resources(st) {
		if r.Type != typ || r.DeposedKey != "" {
			continue
		}
		if v, _ := r.AttributeValues[by].(string); v == value {
			if f, _ := r.AttributeValues[field].(string); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// stringList reads a list of strings, or of objects' field, leaving out empty ones.
func stringList(v any, field string) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		if field != "" {
			m, _ := e.(map[string]any)
			e = m[field]
		}
		if s, _ := e.(string); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// plain reports whether a value is a string, number or bool (shown as it is) rather than a block or a list.
func plain(v any) bool {
	switch v.(type) {
	case string, float64, bool, json.Number:
		return true
	}
	return false
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// safeName makes a bucket name or suffix a directory name.
func safeName(s string) string {
	if s = unsafeName.ReplaceAllString(s, "_"); s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}

// lockedWriter serialises writes: from the environments worked on at once, and from an engine's stdout and
// stderr, which terraform-exec copies on two goroutines.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// syncProgress passes progress on from several goroutines at once, one call at a time, its log included.
type syncProgress struct {
	mu    sync.Mutex
	inner Progress
}

func (p *syncProgress) Phase(name string, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inner.Phase(name, took)
}

func (p *syncProgress) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inner.Note(msg)
}

func (p *syncProgress) Findings(fs []rules.Finding) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inner.Findings(fs)
}

func (p *syncProgress) Log() io.Writer { return &lockedWriter{mu: &p.mu, w: p.inner.Log()} }
func (p *syncProgress) Out() io.Writer { return &lockedWriter{mu: &p.mu, w: p.inner.Out()} }
