package lifecycle

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/fakes3"
	"github.com/tapstack/tapstack/internal/fakestate"
	"github.com/tapstack/tapstack/internal/tfstate"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/stack"
)

const (
	expiredAt = "2026-12-02T00:00:00Z" // before fleetNow
	laterAt   = "2026-12-24T00:00:00Z" // after it
)

// gcBucket is a shared bucket with everything gc must tell apart. Keys name what each is.
func gcBucket() *fakes3.Bucket {
	b := &fakes3.Bucket{Name: "states", PageSize: 3}
	old := fleetNow.Add(-72 * time.Hour)
	put := func(s fakestate.Env, modified time.Time) { b.Put(fakestate.Key(s.Suffix), s.Raw(), modified) }
	expired := map[string]string{"tapstack:expires-at": expiredAt}
	put(fakestate.Env{Suffix: "ex1", Tags: expired}, old)
	put(fakestate.Env{Suffix: "ex2", Region: "eu-west-1", Tags: expired}, old)
	put(fakestate.Env{Suffix: "prot", Tags: map[string]string{"tapstack:expires-at": expiredAt, "tapstack:protect": "true"}}, old)
	put(fakestate.Env{Suffix: "lock", Tags: expired}, old)
	b.Put(fakestate.Key("lock")+".tflock", []byte("{}"), fleetNow.Add(-5*time.Minute))
	put(fakestate.Env{Suffix: "keep", Tags: expired}, old)
	put(fakestate.Env{Suffix: "young", Tags: map[string]string{"tapstack:expires-at": laterAt}}, old)
	put(fakestate.Env{Suffix: "eph", Tags: map[string]string{"tapstack:ephemeral": "true"}}, old)
	put(fakestate.Env{Suffix: "fresh", Tags: map[string]string{"tapstack:ephemeral": "true"}}, fleetNow.Add(-time.Hour))
	put(fakestate.Env{Suffix: "plain"}, old)
	put(fakestate.Env{Suffix: "orig", ManagedBy: "CDKTF", Tags: expired}, old)
	put(fakestate.Env{Suffix: "cp1", VPC: "vpc-same", Tags: expired}, old)
	put(fakestate.Env{Suffix: "cp2", VPC: "vpc-same", Tags: expired}, old)
	return b
}

func suffixes(es []*GCEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Suffix)
	}
	return out
}

// The selection: --expired takes what is past its expiry; --older-than only what carries an expiry or is marked
// ephemeral and has not changed for that long, never an unmarked environment; neither ever takes a foreign state,
// a copy, a protected, kept or locked environment, which are listed as spared with why. A dry run changes nothing.
func TestGCSelection(t *testing.T) {
	b := gcBucket()
	gco := GCOptions{Expired: true, Keep: []string{"keep", "nosuch"}}
	r, err := GC(context.Background(), fleetOptions(b), gco)
	if err != nil {
		t.Fatal(err)
	}
	if got := suffixes(r.Selected); !slices.Equal(got, []string{"ex1", "ex2"}) {
		t.Errorf("--expired selected %v, want ex1 and ex2", got)
	}
	spared := map[string]string{}
	for _, e := range r.Spared {
		spared[e.Suffix] = e.Why
	}
	for suffix, why := range map[string]string{"prot": "protected (tapstack:protect = true)", "keep": "kept (--keep)",
		"lock": "its state lock is held (for 5m0s)", "orig": "foreign: the cluster's ManagedBy tag", "cp1": "copy: holds resource IDs",
		"cp2": "copy: holds resource IDs"} {
		if !strings.HasPrefix(spared[suffix], why) {
			t.Errorf("%s spared for %q, want %q", suffix, spared[suffix], why)
		}
	}
	if len(spared) != 6 {
		t.Errorf("spared %v", spared)
	}
	if !r.DryRun || r.Selected[0].Status != WouldDestroy || r.Selected[0].Reason != "expired at "+expiredAt {
		t.Errorf("dry run: %+v", r.Selected[0])
	}
	// ex1 in us-east-1 is priced (133.74-164.10); ex2's node groups have no sourced price in eu-west-1 (73).
	if r.Saving.Low != 206.74 || r.Saving.High != 237.1 || len(r.Saving.Unpriced) != 2 {
		t.Errorf("saving %+v", r.Saving)
	}
	if r.Foreign != 1 || !slices.Equal(r.UnknownKeep, []string{"nosuch"}) {
		t.Errorf("foreign %d, unknown keep %v", r.Foreign, r.UnknownKeep)
	}
	if b.Calls("DeleteObject") != 0 || len(b.Keys()) != 13 {
		t.Error("a dry run changed the bucket")
	}

	r, err = GC(context.Background(), fleetOptions(b), GCOptions{OlderThan: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := suffixes(r.Selected); !slices.Equal(got, []string{"eph", "ex1", "ex2", "keep", "young"}) {
		t.Errorf("--older-than 48h selected %v: want the marked ones unchanged for 72h (not fresh, not plain)", got)
	}
	if r.Selected[0].Reason != "ephemeral, unchanged for 72h0m0s (--older-than 48h0m0s)" {
		t.Errorf("reason %q", r.Selected[0].Reason)
	}

	if _, err := GC(context.Background(), fleetOptions(b), GCOptions{}); !Refused(err) || !strings.Contains(err.Error(), "--expired, --older-than D") {
		t.Errorf("no selection: %v", err)
	}
}

// gcWorld stands in for Terraform and the account behind each environment's destroy: the state comes from the
// bucket at the key the located configuration names, and a destroy empties it there, as the S3 backend would.
type gcWorld struct {
	t  *testing.T
	b  *fakes3.Bucket
	mu sync.Mutex
	// located records the configuration each destroy located its environment with.
	located map[string]*config.Config
	// failDestroy fails the destroy of these suffixes.
	failDestroy map[string]bool
	// duringDestroy runs inside a destroy, to change the bucket meanwhile.
	duringDestroy func(suffix string)
	destroyed     []string
	// running and most count the destroys at once; together, when set, is closed once two run at once.
	running, most int
	together      chan struct{}
}

func (w *gcWorld) State(ctx context.Context, cfg *config.Config) (*tfjson.State, error) {
	w.mu.Lock()
	w.located[cfg.EnvironmentSuffix] = cfg
	w.mu.Unlock()
	raw, err := live.ReadBucketObject(ctx, w.b, cfg.State.Bucket, cfg.StateKey())
	if err != nil {
		return nil, err
	}
	return tfstate.Decode(raw)
}

func (w *gcWorld) open(_ context.Context, _ engine.Kind, dir string, _ io.Writer, _ time.Duration) (Engine, error) {
	return &gcEngine{w: w, dir: dir, suffix: strings.TrimPrefix(filepath.Base(dir), "TapStack")}, nil
}

type gcEngine struct {
	Engine // anything else panics: destroy calls only what follows
	w      *gcWorld
	dir    string
	suffix string
}

func (e *gcEngine) Dir() string                              { return e.dir }
func (e *gcEngine) EnsureInit(context.Context) (bool, error) { return true, nil }
func (e *gcEngine) Destroy(context.Context) error {
	e.w.mu.Lock()
	e.w.running++
	e.w.most = max(e.w.most, e.w.running)
	if e.w.running == 2 && e.w.together != nil {
		close(e.w.together)
		e.w.together = nil
	}
	wait := e.w.together
	e.w.mu.Unlock()
	if wait != nil { // hold the first destroy until a second one runs, or long enough to say none will
		select {
		case <-wait:
		case <-time.After(5 * time.Second):
		}
	}
	e.w.mu.Lock()
	e.w.running--
	e.w.mu.Unlock()
	if e.w.duringDestroy != nil {
		e.w.duringDestroy(e.suffix)
	}
	if e.w.failDestroy[e.suffix] {
		return errors.New("terraform destroy failed: DependencyViolation")
	}
	e.w.mu.Lock()
	e.w.destroyed = append(e.w.destroyed, e.suffix)
	e.w.mu.Unlock()
	e.w.b.Put(fakestate.Key(e.suffix), fakestate.Empty(e.suffix), fleetNow)
	return nil
}

// With --yes, each selected environment is located from the listing and destroyed through Destroy; an emptied
// state's object is removed; a failed destroy is reported and the others go on; one that changed after the
// listing (a lock taken meanwhile) is spared.
func TestGCDestroys(t *testing.T) {
	b := gcBucket()
	b.Put(fakestate.Key("ex3"), fakestate.Env{Suffix: "ex3", Tags: map[string]string{"tapstack:expires-at": expiredAt}}.Raw(), fleetNow)
	w := &gcWorld{t: t, b: b, located: map[string]*config.Config{}, failDestroy: map[string]bool{"ex2": true}}
	w.duringDestroy = func(suffix string) {
		if suffix == "ex1" { // another pipeline takes ex3's lock while ex1 is destroyed
			b.Put(fakestate.Key("ex3")+".tflock", []byte("{}"), fleetNow)
		}
	}
	cl := &fakeCleaner{}
	pr := &recorder{}
	r, err := GC(context.Background(), fleetOptions(b), GCOptions{Expired: true, Yes: true, Parallel: 1, CacheDir: t.TempDir(),
		Keep: []string{"keep"}, Workflow: Options{OpenEngine: w.open, State: w, Account: runsAsRecorded{}, Kube: fakeCluster()},
		Cleaner: func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return cl, nil }, Progress: pr})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]*GCEntry{}
	for _, e := range r.Selected {
		status[e.Suffix] = e
	}
	if len(r.Selected) != 3 || status["ex1"].Status != Destroyed || !status["ex1"].StateRemoved || status["ex2"].Status != GCFailed ||
		status["ex3"].Status != Spared {
		t.Fatalf("selected %+v %+v %+v", status["ex1"], status["ex2"], status["ex3"])
	}
	if !strings.Contains(status["ex2"].Why, "destroy: terraform destroy failed: DependencyViolation") || status["ex2"].StateRemoved {
		t.Errorf("ex2: %+v", status["ex2"])
	}
	if !strings.HasPrefix(status["ex3"].Why, "changed since the listing: its state lock is held") {
		t.Errorf("ex3: %q", status["ex3"].Why)
	}
	if b.Has(fakestate.Key("ex1")) || !b.Has(fakestate.Key("ex2")) || !b.Has(fakestate.Key("ex3")) || !b.Has(fakestate.Key("prot")) ||
		!b.Has(fakestate.Key("lock")) || !b.Has(fakestate.Key("orig")) {
		t.Errorf("bucket afterwards: %v", b.Keys())
	}
	if !slices.Equal(w.destroyed, []string{"ex1"}) {
		t.Errorf("destroyed %v", w.destroyed)
	}
	// Each environment was located from the listing: suffix, the region of its ARNs, the bucket, its key.
	c := w.located["ex2"]
	if c == nil || c.Region != "eu-west-1" || c.State.Bucket != "states" || c.State.Region != "us-east-1" ||
		c.StateKey() != fakestate.Key("ex2") || c.Profile != "default" {
		t.Errorf("ex2 located with %+v", c)
	}
	if !strings.Contains(pr.log.String(), "[ex1] the state of TapStackex1 holds no resources") &&
		!strings.Contains(pr.log.String(), "[ex1] TapStackex1 holds 6 resources") {
		t.Errorf("the destroy's log is not prefixed with its suffix:\n%s", pr.log.String())
	}
	if !strings.Contains(pr.log.String(), "gc ex2: failed: destroy: ") {
		t.Errorf("no line for ex2:\n%s", pr.log.String())
	}
}

// --parallel 2 destroys two environments at once, and both state objects go, with the roll record beside one.
func TestGCDestroysInParallel(t *testing.T) {
	b := &fakes3.Bucket{Name: "states"}
	for _, s := range []string{"ex1", "ex2"} {
		b.Put(fakestate.Key(s), fakestate.Env{Suffix: s, Tags: map[string]string{"tapstack:expires-at": expiredAt}}.Raw(), fleetNow)
	}
	b.Put(live.RollRecordKey(fakestate.Key("ex1")), []byte(`{"phase":"drain"}`), fleetNow)
	w := &gcWorld{t: t, b: b, located: map[string]*config.Config{}, together: make(chan struct{})}
	r, err := GC(context.Background(), fleetOptions(b), GCOptions{Expired: true, Yes: true, Parallel: 2, CacheDir: t.TempDir(),
		Workflow: Options{OpenEngine: w.open, State: w, Account: runsAsRecorded{}, Kube: fakeCluster()},
		Cleaner:  func(context.Context, *config.Config, io.Writer) (Cleaner, error) { return &fakeCleaner{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(Destroyed) != 2 || w.most != 2 || len(b.Keys()) != 0 {
		t.Errorf("destroyed %d, %d at once, bucket %v", r.Count(Destroyed), w.most, b.Keys())
	}
}

// runsAsRecorded reports that the account runs what each state says; safe for destroys at once.
type runsAsRecorded struct{}

func (runsAsRecorded) Follow(context.Context, *config.Config, *stack.Existing) ([]string, error) {
	return nil, nil
}
