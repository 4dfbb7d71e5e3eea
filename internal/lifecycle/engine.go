package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/tfstate"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

// Engine is what the workflows ask of Terraform or OpenTofu in one stack directory; *engine.Engine is one.
type Engine interface {
	// EnsureInit runs init unless this working copy was initialised for the same backend and providers.
	EnsureInit(ctx context.Context) (ran bool, err error)
	// Init runs init whatever the working copy holds.
	Init(ctx context.Context) error
	// Plan writes a saved plan to file and reports whether it has changes.
	Plan(ctx context.Context, file string, opts engine.PlanOptions) (changes bool, err error)
	// PlanChanges writes a saved plan as Plan does and returns the changes its machine-readable output announces.
	PlanChanges(ctx context.Context, file string, opts engine.PlanOptions) (changes bool, planned []engine.PlannedChange, err error)
	// ShowPlan reads a saved plan (show -json), parsed and as the engine printed it.
	ShowPlan(ctx context.Context, file string) (*tfjson.Plan, []byte, error)
	Apply(ctx context.Context, planFile string) error
	Destroy(ctx context.Context) error
	// State reads the current state; a state with no resources has nil Values.
	State(ctx context.Context) (*tfjson.State, error)
	// RefreshState records what the account holds in the state (apply -refresh-only).
	RefreshState(ctx context.Context) error
	Outputs(ctx context.Context) (map[string]json.RawMessage, error)
	// SetProgress changes where the engine's own output streams from the next command on.
	SetProgress(w io.Writer)
	Dir() string
}

// Options are what every engine workflow takes besides the prepared configuration.
type Options struct {
	// Out is the root of the synthesized output (cdktf.out).
	Out string
	// LockTimeout is how long to wait for the stack directory's lock and for the state lock.
	LockTimeout time.Duration
	// OpenEngine opens the engine in a stack directory, streaming its output to log. Nil: engine.New of the
	// engine the stack options name.
	OpenEngine func(ctx context.Context, kind engine.Kind, dir string, log io.Writer, lockTimeout time.Duration) (Engine, error)
	// Account reads what the environment runs now, for the stack to follow; nil: EKS's Describe calls, or a
	// refresh-only plan when they fail.
	Account Account
	// State reads the environment's state; nil: the raw object from its S3 backend, or the engine's show -json
	// (which loads the provider) when that cannot be read or decoded.
	State StateReader
	// Progress receives what the workflow does; nil discards it.
	Progress Progress
	// Rolls keeps the environment's roll record (tapstack roll); nil: beside the state in S3.
	Rolls RollStore
	// Kube connects to the cluster's Kubernetes API for what tapstack applies inside it; nil: ClusterClient.
	Kube KubeClient
}

// Account brings what the state says an environment runs up to date with the account, where EKS changes it by
// itself (a cluster upgraded at the end of support, an add-on's role removed).
type Account interface {
	// Follow changes ex to what the account runs and says what differed.
	Follow(ctx context.Context, cfg *config.Config, ex *stack.Existing) (notes []string, err error)
}

// StateReader reads an environment's state; a state with no resources has nil Values.
type StateReader interface {
	State(ctx context.Context, cfg *config.Config) (*tfjson.State, error)
}

func (o Options) progress() Progress {
	if o.Progress == nil {
		return Discard
	}
	return o.Progress
}

func openEngine(ctx context.Context, kind engine.Kind, dir string, log io.Writer, lockTimeout time.Duration) (Engine, error) {
	return engine.New(ctx, engine.Options{Kind: kind, Dir: dir, Progress: log, LockTimeout: lockTimeout})
}

// session is one workflow's hold on a stack: its prepared configuration, the locked directory and the
// initialized engine.
type session struct {
	name string // the workflow, for the lock's holder and for notes
	p    *Prepared
	o    Options
	pr   Progress
	dir  string
	lock *engine.DirLock
	eng  Engine
	// refused are the finding kinds this workflow refuses, on the first document and on each one built around
	// the state.
	refused []rules.Kind
	// awsClients are made on first use (clients).
	awsClients *live.Clients
	// followed is set once the state before the first apply was read; autoscalerBefore says whether it held the
	// Cluster Autoscaler's association (noteAutoscaler).
	followed, autoscalerBefore bool
	// expectDeleted are the addresses the next round is meant to delete (a roll removing the old node group):
	// the guard lets their deletion through.
	expectDeleted map[string]bool
}

// open refuses the findings of the refused kinds (step check), locks the stack directory (lock), writes the
// document (synth), opens the engine (engine), runs init (init) and builds the stack again around what the
// environment runs (followState). Close the session when done.
func open(ctx context.Context, name string, p *Prepared, o Options, refused ...rules.Kind) (*session, error) {
	pr := o.progress()
	pr.Phase("checks", p.took)
	if err := refuse(p.Findings, "; nothing was written or changed", refused...); err != nil {
		return nil, step("check", err)
	}
	kind, err := engine.ParseKind(p.Options.Engine)
	if err != nil {
		return nil, inputError("engine", "%v", err)
	}
	ss := &session{name: name, p: p, o: o, pr: pr, dir: p.Dir(o.Out), refused: refused}
	if err := timed(pr, "lock", func() error {
		ss.lock, err = engine.LockDir(ctx, ss.dir, o.LockTimeout, "tapstack "+name)
		return err
	}); err != nil {
		return nil, step("lock", err)
	}
	if _, err := Synth(p, o.Out, pr); err != nil {
		ss.close()
		return nil, step("synth", err)
	}
	opener := o.OpenEngine
	if opener == nil {
		opener = openEngine
	}
	if ss.eng, err = opener(ctx, kind, ss.dir, pr.Log(), o.LockTimeout); err != nil {
		ss.close()
		return nil, step("engine", err)
	}
	start := time.Now()
	ran, err := ss.eng.EnsureInit(ctx)
	if err != nil {
		ss.close()
		return nil, step("init", err)
	}
	if ran {
		pr.Phase("init", time.Since(start))
	} else {
		pr.Phase("init (reused: same backend and providers)", time.Since(start))
	}
	if err := ss.followState(ctx); err != nil {
		ss.close()
		return nil, err
	}
	return ss, nil
}

func (ss *session) close() {
	if ss.lock != nil {
		_ = ss.lock.Unlock()
	}
}

// stackName is TapStack<suffix>.
func (ss *session) stackName() string { return ss.p.Config.StackName() }

// planFile is the saved plan's path in the stack directory.
func (ss *session) planFile() string { return filepath.Join(ss.eng.Dir(), engine.PlanFile) }

// state reads the environment's state.
func (ss *session) state(ctx context.Context) (*tfjson.State, error) {
	var st *tfjson.State
	err := timed(ss.pr, "state", func() (err error) {
		if ss.o.State != nil {
			st, err = ss.o.State.State(ctx, ss.p.Config)
			return err
		}
		st, err = ss.backendState(ctx)
		if err != nil {
			ss.pr.Note(fmt.Sprintf("reading the state object: %v; asking %s instead", err, ss.p.Options.Engine))
			st, err = ss.eng.State(ctx)
		}
		return err
	})
	return st, err
}

// backendState reads the state as the raw object from its S3 backend and decodes it: no engine run, no provider
// load. tapstack uses the default workspace, so the key is the configured one.
func (ss *session) backendState(ctx context.Context) (*tfjson.State, error) {
	clients, err := ss.clients(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := live.ReadStateObject(ctx, clients.S3, ss.p.Config.State.Bucket, ss.p.Config.StateKey())
	if err != nil {
		return nil, err
	}
	return tfstate.Decode(raw)
}

// clients are the session's AWS clients, made once.
func (ss *session) clients(ctx context.Context) (*live.Clients, error) {
	if ss.awsClients == nil {
		c, err := live.NewClients(ctx, ss.p.Config.Region, ss.p.Config.State.Region)
		if err != nil {
			return nil, err
		}
		ss.awsClients = c
	}
	return ss.awsClients, nil
}

// followState reads what the environment already runs and, when there is something, builds the stack again
// around it (stack.Existing), runs the rules on that document and rewrites it, so that a plan never asks EKS for
// a step it refuses. What it follows is the account, not only the state: EKS upgrades clusters by itself at the
// end of support, and a stale state would turn that into a downgrade. What the stack kept of the account instead
// of the configuration is a note. The document built around the state is the one planned, so the workflow's
// refused kinds are refused on it as on the first (step check); the other errors are step state.
func (ss *session) followState(ctx context.Context) error {
	st, err := ss.state(ctx)
	if err != nil {
		return step("state", err)
	}
	ex := stack.ExistingFrom(st)
	ss.noteAutoscaler(ex)
	if ex == nil {
		return nil
	}
	if err := timed(ss.pr, "refresh", func() error { return ss.follow(ctx, &ex) }); err != nil {
		return step("state", err)
	}
	if ex == nil {
		return nil
	}
	opts := ss.p.Options
	opts.Existing = ex
	ss.p.rebuild(opts)
	ss.pr.Phase("checks", ss.p.took)
	for _, n := range ss.p.Stack.Notes {
		if ss.name == "upgrade" && n == ss.p.Stack.VersionNote {
			continue // upgrade moves the version itself and prints its steps instead
		}
		ss.pr.Note(n)
	}
	if n := controlPlaneCost(ss.p.Config, ss.p.Stack.KubernetesVersion, ss.p.Date()); n != "" && ss.name != "upgrade" {
		ss.pr.Note(n)
	}
	if err := refuse(ss.p.Findings, " in the document built around the state, which was neither written, planned "+
		"nor applied", ss.refused...); err != nil {
		return step("check", err)
	}
	if _, err := writeDocument(ss.p, ss.o.Out); err != nil {
		return step("state", err)
	}
	return nil
}

// follow brings ex up to date with the account: through Options.Account, or EKS's Describe calls in parallel
// (no engine run), or, when those fail, a refresh-only plan whose prior state is what the account holds.
func (ss *session) follow(ctx context.Context, ex **stack.Existing) error {
	if ss.o.Account != nil {
		notes, err := ss.o.Account.Follow(ctx, ss.p.Config, *ex)
		for _, n := range notes {
			ss.pr.Note(n)
		}
		return err
	}
	cluster, ngs, addons := (*ex).LiveNames()
	if cluster == "" {
		return nil // no cluster in the state: nothing EKS changes by itself
	}
	clients, err := ss.clients(ctx)
	var r *stack.Running
	if err == nil {
		r, err = live.ReadRunning(ctx, clients.EKS, cluster, ngs, addons)
	}
	if err == nil {
		for _, n := range (*ex).Overlay(*r) {
			ss.pr.Note(n)
		}
		return nil
	}
	ss.pr.Note(fmt.Sprintf("reading what cluster %s runs from EKS: %v; refreshing through %s instead", cluster, err, ss.p.Options.Engine))
	file := filepath.Join(ss.eng.Dir(), engine.RefreshPlanFile)
	defer os.Remove(file)
	if _, err := ss.eng.Plan(ctx, file, engine.PlanOptions{RefreshOnly: true}); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	p, _, err := ss.eng.ShowPlan(ctx, file)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if p != nil && p.PriorState != nil && p.PriorState.Values != nil {
		*ex = stack.ExistingFrom(p.PriorState)
	}
	return nil
}
