package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/tfstate"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/versions"
)

// GCOptions are GC's own options.
type GCOptions struct {
	// Expired selects the environments whose recorded expiry has passed.
	Expired bool
	// OlderThan selects the ephemeral environments (an expiry or the ephemeral tag) whose state has not changed
	// for this long; 0: not asked.
	OlderThan time.Duration
	// Keep are suffixes never to destroy.
	Keep []string
	// Yes destroys; without it GC only says what it would destroy.
	Yes bool
	// Parallel is how many environments are destroyed at once; 0: DefaultParallel.
	Parallel int
	// CacheDir holds the working copies: each destroy's stack directory is CacheDir/gc/<bucket>/stacks/TapStack<suffix>.
	CacheDir string
	// Engine is terraform (default) or tofu.
	Engine string
	// Rules run on each environment's document (Destroy refuses invalid findings); nil: rules.Run.
	Rules RulesFunc
	// Workflow supplies, for tests, what each Destroy would otherwise make itself: OpenEngine, Account, State.
	Workflow Options
	// Cleaner finds and removes what Kubernetes left; nil: the account's.
	Cleaner func(ctx context.Context, cfg *config.Config, log io.Writer) (Cleaner, error)
	// Progress receives what each destroy does, every line prefixed with its suffix; nil discards it.
	Progress Progress
}

// GCStatus is what became of a selected environment.
type GCStatus string

const (
	WouldDestroy GCStatus = "would-destroy"
	Destroyed    GCStatus = "destroyed"
	GCFailed     GCStatus = "failed"
	// Spared: selected at the listing, but when read again just before its destroy it was protected, locked or no
	// longer expired, so it was left alone.
	Spared GCStatus = "spared"
)

// GCReport is what GC selected and did.
type GCReport struct {
	Bucket       string    `json:"bucket"`
	BucketRegion string    `json:"bucketRegion"`
	Now          time.Time `json:"now"`
	DryRun       bool      `json:"dryRun"`
	// Selected are the environments chosen for destruction, with what became of each.
	Selected []*GCEntry `json:"selected"`
	// Spared are the ones the selection matched that GC never touches: foreign, copies, protected, kept, locked.
	Spared []*GCEntry `json:"spared"`
	// Saving is the monthly estimate of the selected environments (would be, or was, saved).
	Saving EnvCost `json:"saving"`
	// Foreign counts the states that are not tapstack's at all.
	Foreign int `json:"foreign"`
	// UnknownKeep are --keep suffixes no environment of the bucket has.
	UnknownKeep []string `json:"unknownKeep"`
}

// GCEntry is one environment GC selected or spared.
type GCEntry struct {
	Key    string `json:"key"`
	Suffix string `json:"suffix"`
	Stack  string `json:"stack"`
	Region string `json:"region"`
	// Reason says why the selection matched it (expired at ..., unchanged for ...).
	Reason  string  `json:"reason"`
	Monthly EnvCost `json:"monthly"`
	// Status is what became of a selected one; Why says why one was spared or failed.
	Status       GCStatus `json:"status,omitempty"`
	Why          string   `json:"why,omitempty"`
	StateRemoved bool     `json:"stateRemoved"`
}

// Count is how many selected environments came out with a status.
func (r *GCReport) Count(s GCStatus) int {
	return countWhere(r.Selected, func(e *GCEntry) bool { return e.Status == s })
}

// GC reaps environments: it lists the bucket, selects those of ours past their expiry (Expired) or ephemeral and
// unchanged for OlderThan, and never those that are foreign, copies, protected, kept or whose state lock is held.
// Without Yes it stops there. With Yes it destroys them, Parallel at a time, each through Destroy with Yes (the
// Kubernetes leftovers in the VPC, the stack, the log group EKS writes again), after reading its state and lock
// once more; when the state is then empty it deletes the state object (a versioned bucket keeps its history). A
// failure on one is reported and the others go on.
func GC(ctx context.Context, fo FleetOptions, gc GCOptions) (*GCReport, error) {
	if !gc.Expired && gc.OlderThan <= 0 {
		return nil, inputError("", "say what to reap: --expired, --older-than D, or both")
	}
	kind, err := engine.ParseKind(gc.Engine)
	if err != nil {
		return nil, inputError("engine", "%v", err)
	}
	f, err := Envs(ctx, fo)
	if err != nil {
		return nil, err
	}
	r := &GCReport{Bucket: f.Bucket, BucketRegion: f.BucketRegion, Now: f.Now, DryRun: !gc.Yes,
		Selected: []*GCEntry{}, Spared: []*GCEntry{}, UnknownKeep: []string{}}
	suffixes := map[string]bool{}
	for _, e := range f.Envs {
		suffixes[e.Suffix] = true
		if e.Class == Foreign {
			r.Foreign++
		}
		reason := gc.matches(e, f.Now)
		if reason == "" {
			continue
		}
		entry := &GCEntry{Key: e.Key, Suffix: e.Suffix, Stack: e.Stack, Region: e.Region, Reason: reason, Monthly: e.Monthly}
		if why := gc.spare(e); why != "" {
			entry.Why = why
			r.Spared = append(r.Spared, entry)
			continue
		}
		entry.Status = WouldDestroy
		r.Selected = append(r.Selected, entry)
		r.Saving.Low, r.Saving.High = round2(r.Saving.Low+e.Monthly.Low), round2(r.Saving.High+e.Monthly.High)
		r.Saving.Unpriced = append(r.Saving.Unpriced, e.Monthly.Unpriced...)
		r.Saving.Currency = e.Monthly.Currency
	}
	r.Saving.Unpriced = nonNil(r.Saving.Unpriced)
	for _, k := range gc.Keep {
		if !suffixes[k] {
			r.UnknownKeep = append(r.UnknownKeep, k)
		}
	}
	if !gc.Yes || len(r.Selected) == 0 {
		return r, nil
	}

	var pr Progress = Discard
	if gc.Progress != nil {
		pr = &syncProgress{inner: gc.Progress}
	}
	shared := pr.Log()
	parallel := gc.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	g := new(errgroup.Group)
	g.SetLimit(parallel)
	for _, entry := range r.Selected {
		g.Go(func() error {
			ep := &prefixProgress{prefix: entry.Suffix + ": ", inner: pr, log: &prefixWriter{prefix: "[" + entry.Suffix + "] ", w: shared}}
			start := time.Now() // clock: a duration
			gc.reap(ctx, kind, fo, entry, ep)
			ep.log.flush()
			line := fmt.Sprintf("gc %s: %s", entry.Suffix, entry.Status)
			if entry.Why != "" {
				line += ": " + entry.Why
			}
			fmt.Fprintf(shared, "%s (%s)\n", line, time.Since(start).Round(10*time.Millisecond))
			return nil
		})
	}
	_ = g.Wait()
	return r, ctx.Err()
}

// matches says why the selection takes an environment, or "" when it does not. A protected or unmarked
// environment never matches --older-than: only one with an expiry or marked ephemeral does.
func (gc GCOptions) matches(e *Env, now time.Time) string {
	if e.Class == Unreadable {
		return ""
	}
	if gc.Expired && e.Expired {
		return "expired at " + e.ExpiresAt
	}
	if gc.OlderThan > 0 && e.Ephemeral && !e.Protected {
		if unchanged := now.Sub(e.LastModified); unchanged >= gc.OlderThan {
			return fmt.Sprintf("ephemeral, unchanged for %s (--older-than %s)", unchanged.Round(time.Second), gc.OlderThan)
		}
	}
	return ""
}

// spare says why GC never touches a matching environment, or "".
func (gc GCOptions) spare(e *Env) string {
	switch {
	case e.Class == Foreign:
		return "foreign: " + e.Why
	case e.Class == Copy:
		return "copy: " + e.Why
	case e.Protected:
		return "protected (" + stack.TagProtect + " = true)"
	case slices.Contains(gc.Keep, e.Suffix):
		return "kept (--keep)"
	case e.Lock != nil:
		return fmt.Sprintf("its state lock is held (for %s)", (time.Duration(e.Lock.AgeSeconds) * time.Second).String())
	}
	return ""
}

// reap destroys one environment, having read its state and lock again, and removes its state object once empty.
func (gc GCOptions) reap(ctx context.Context, kind engine.Kind, fo FleetOptions, entry *GCEntry, pr *prefixProgress) {
	fail := func(format string, a ...any) {
		entry.Status, entry.Why = GCFailed, fmt.Sprintf(format, a...)
	}
	e, err := recheck(ctx, fo, entry.Key)
	if err != nil {
		fail("reading the state again: %v", err)
		return
	}
	if e == nil {
		entry.Status, entry.Why = Spared, "the state object is gone"
		return
	}
	if gc.matches(e, fo.Now) == "" || !e.Acting() || gc.spare(e) != "" {
		why := gc.spare(e)
		if why == "" {
			why = "no longer selected: " + string(e.Class)
			if e.Acting() {
				why = "no longer selected (expiry " + orNone(e.ExpiresAt) + ")"
			}
		}
		entry.Status, entry.Why = Spared, "changed since the listing: "+why
		return
	}
	if e.Region == "" {
		fail("the state's ARNs name no region, so the environment cannot be located")
		return
	}
	p := Prepare(locate(e, fo), stack.Options{Engine: string(kind), Date: dayOf(fo.Now), Now: fo.Now}, gc.Rules)
	o := gc.Workflow
	o.Out = filepath.Join(gc.CacheDir, "gc", safeName(fo.Bucket))
	o.LockTimeout = 0
	o.Progress = pr
	if _, err := Destroy(ctx, p, o, DestroyOptions{Yes: true, Cleaner: gc.Cleaner}); err != nil {
		fail("%v", err)
		return
	}
	raw, err := live.ReadBucketObject(ctx, fo.S3, fo.Bucket, entry.Key)
	if err != nil {
		fail("destroyed, but reading the state afterwards: %v; its object was kept", err)
		return
	}
	if raw != nil {
		st, err := tfstate.Decode(raw)
		if err != nil {
			fail("destroyed, but the state afterwards cannot be read: %v; its object was kept", err)
			return
		}
		if n := len(engine.Resources(st)); n > 0 {
			fail("destroyed, but the state still holds %d resource(s); its object was kept", n)
			return
		}
		if err := live.DeleteBucketObject(ctx, fo.S3, fo.Bucket, entry.Key); err != nil {
			fail("destroyed, but removing the empty state object: %v", err)
			return
		}
		// A roll record beside it would be resumed by a later environment of the same name.
		if err := live.DeleteBucketObject(ctx, fo.S3, fo.Bucket, live.RollRecordKey(entry.Key)); err != nil {
			fail("destroyed, but removing the roll record beside the state: %v", err)
			return
		}
	}
	entry.Status, entry.StateRemoved = Destroyed, true
}

// recheck lists and reads one state and its lock again, as they are now; nil when the state object is gone.
func recheck(ctx context.Context, fo FleetOptions, key string) (*Env, error) {
	objs, err := live.ListBucket(ctx, fo.S3, fo.Bucket, key)
	if err != nil {
		return nil, err
	}
	var e *Env
	for _, o := range objs {
		if o.Key == key {
			e = &Env{Key: key, LastModified: o.LastModified}
		}
	}
	if e == nil {
		return nil, nil
	}
	for _, o := range objs {
		if o.Key == key+lockSuffix {
			e.Lock = &EnvLock{Since: o.LastModified, AgeSeconds: max(0, int64(fo.Now.Sub(o.LastModified)/time.Second))}
		}
	}
	raw, err := live.ReadBucketObject(ctx, fo.S3, fo.Bucket, key)
	if err != nil {
		return nil, err
	}
	e.read(raw, fo.Now, dayOf(fo.Now))
	return e, nil
}

// locate is the configuration that finds an environment from what the listing read: its suffix, region and
// profile (the recorded tag, else the default), the bucket and the state's key. What the environment contains
// comes from its state, as for destroy.
func locate(e *Env, fo FleetOptions) *config.Config {
	profile := e.Profile
	cfg, ok := config.Defaults(profile)
	if !ok || profile == "" {
		cfg, _ = config.Defaults("default")
		profile = "default"
	}
	cfg.Profile = profile
	cfg.EnvironmentSuffix = e.Suffix
	cfg.Region = e.Region
	cfg.State.Bucket, cfg.State.Region = fo.Bucket, fo.BucketRegion
	if e.Key != cfg.StateKey() {
		cfg.State.Key = e.Key
	}
	return &cfg
}

func dayOf(t time.Time) versions.Date {
	d, _ := versions.ParseDate(t.UTC().Format(time.DateOnly))
	return d
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// prefixProgress passes a workflow's progress on with the environment's name in front, for several at once.
type prefixProgress struct {
	prefix string
	inner  Progress
	log    *prefixWriter
}

func (p *prefixProgress) Phase(name string, took time.Duration) { p.inner.Phase(p.prefix+name, took) }
func (p *prefixProgress) Note(msg string)                       { p.inner.Note(p.prefix + msg) }
func (p *prefixProgress) Findings(fs []rules.Finding) {
	var b strings.Builder
	rules.WriteFindings(&b, fs)
	fmt.Fprint(p.log, b.String())
}
func (p *prefixProgress) Log() io.Writer { return p.log }
func (p *prefixProgress) Out() io.Writer { return p.log }

// prefixWriter writes whole lines, each with the prefix, so that the output of several engines at once stays
// readable.
type prefixWriter struct {
	mu     sync.Mutex
	prefix string
	w      io.Writer
	buf    bytes.Buffer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		i := bytes.IndexByte(p.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := p.buf.Next(i + 1)
		if _, err := fmt.Fprintf(p.w, "%s%s", p.prefix, line); err != nil {
			return len(b), err
		}
	}
}

// flush writes what is left of a last line without its newline.
func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf.Len() > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf.String())
		p.buf.Reset()
	}
}
