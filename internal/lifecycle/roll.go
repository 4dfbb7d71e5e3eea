package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/drain"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
)

// RollPhase is how far a roll got; a roll run again starts at the recorded phase.
type RollPhase string

const (
	// RollCreate: the new generation is applied beside the old group, and its nodes waited for.
	RollCreate RollPhase = "create"
	// RollDrain: the old group's nodes are cordoned and their pods evicted.
	RollDrain RollPhase = "drain"
	// RollRemove: the stack is applied without the old group.
	RollRemove RollPhase = "remove"
)

// RollRecord is a roll's progress, kept beside the state (live.RollRecordKey) from its first change to its end.
type RollRecord struct {
	// NodeGroup is the group's generation-A name, which names the roll whatever generation runs.
	NodeGroup  string    `json:"nodeGroup"`
	Phase      RollPhase `json:"phase"`
	Old        string    `json:"old"`
	OldAddress string    `json:"oldAddress"`
	New        string    `json:"new"`
	NewAddress string    `json:"newAddress"`
	Started    time.Time `json:"started"`
	Updated    time.Time `json:"updated"`
}

// RollStore keeps the roll record of an environment.
type RollStore interface {
	// Read returns the record; nil when there is none.
	Read(ctx context.Context, cfg *config.Config) (*RollRecord, error)
	// Write replaces the record whole: a crash leaves the old one or the new one.
	Write(ctx context.Context, cfg *config.Config, r *RollRecord) error
	Clear(ctx context.Context, cfg *config.Config) error
}

// s3RollStore keeps the record beside the state object, through the session's S3 client.
type s3RollStore struct{ c live.StateObjectsAPI }

func (s s3RollStore) Read(ctx context.Context, cfg *config.Config) (*RollRecord, error) {
	b, err := live.ReadRollRecord(ctx, s.c, cfg.State.Bucket, live.RollRecordKey(cfg.StateKey()))
	if err != nil || b == nil {
		return nil, err
	}
	var r RollRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("roll record s3://%s/%s: %w", cfg.State.Bucket, live.RollRecordKey(cfg.StateKey()), err)
	}
	return &r, nil
}

func (s s3RollStore) Write(ctx context.Context, cfg *config.Config, r *RollRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return live.WriteRollRecord(ctx, s.c, cfg.State.Bucket, live.RollRecordKey(cfg.StateKey()), b, cfg.State.Encrypt)
}

func (s s3RollStore) Clear(ctx context.Context, cfg *config.Config) error {
	return live.DeleteRollRecord(ctx, s.c, cfg.State.Bucket, live.RollRecordKey(cfg.StateKey()))
}

// rollStore is Options.Rolls, else the record beside the state through the session's S3 client.
func (ss *session) rollStore(ctx context.Context) (RollStore, error) {
	if ss.o.Rolls != nil {
		return ss.o.Rolls, nil
	}
	clients, err := ss.clients(ctx)
	if err != nil {
		return nil, err
	}
	return s3RollStore{clients.StateObjects}, nil
}

// NodegroupAPI is the EKS call a roll makes itself.
type NodegroupAPI interface {
	DescribeNodegroup(context.Context, *eks.DescribeNodegroupInput, ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error)
}

// RollOptions are Roll's own options.
type RollOptions struct {
	// NodeGroup names the group to roll: either of its generations' names.
	NodeGroup string
	// Timeout bounds each wait: the new group ACTIVE with its nodes Ready, and the drain.
	Timeout time.Duration
	// Yes rolls without asking.
	Yes bool
	// Confirm asks a person; only true confirms. Nil never confirms.
	Confirm func(question string) bool
	// Outputs say where the outputs file goes; a roll rewrites it, since the output names the new group.
	Outputs OutputsOptions
	// EKS describes node groups; nil: the session's client.
	EKS NodegroupAPI
	// Poll is the pause between checks while waiting; drain.DefaultPoll when zero.
	Poll time.Duration
}

// RollResult is what a roll did.
type RollResult struct {
	Stack string
	// Record is the roll's record as it ended.
	Record RollRecord
	// Resumed is the phase a roll run again started at; "" for a new roll.
	Resumed RollPhase
	Rounds  []Round
	Drain   *drain.Report
	Outputs outputs.Values
}

// RollStoppedError: a roll stopped in a phase, which its record keeps; running it again resumes there.
type RollStoppedError struct {
	Record RollRecord
	Err    error
}

func (e *RollStoppedError) Error() string {
	return fmt.Sprintf("%v\nthe roll of node group %s stopped in phase %s (%s -> %s); run `tapstack roll --node-group %s` "+
		"again to resume it there", e.Err, e.Record.NodeGroup, e.Record.Phase, e.Record.Old, e.Record.New, e.Record.NodeGroup)
}

func (e *RollStoppedError) Unwrap() error { return e.Err }

// DefaultRollTimeout bounds each of a roll's waits unless told otherwise.
const DefaultRollTimeout = 20 * time.Minute

// Roll replaces a node group without dropping its pods: it records the roll beside the state, applies the stack
// with the group's other generation beside it (the old one held as it runs), waits for the new group ACTIVE and
// its nodes Ready, cordons and drains the old group's nodes through the eviction API, applies the stack without the
// old group, and clears the record. Each phase is recorded before it starts, so a roll that stops resumes there.
func Roll(ctx context.Context, p *Prepared, o Options, ro RollOptions) (*RollResult, error) {
	if ro.Timeout <= 0 {
		ro.Timeout = DefaultRollTimeout
	}
	kind, err := rollKind(p.Config, ro.NodeGroup)
	if err != nil {
		return nil, err
	}
	ss, err := open(ctx, "roll", p, o, rules.Invalid, rules.WouldFail)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	res := &RollResult{Stack: ss.stackName()}
	log := ss.pr.Log()
	cfg := ss.p.Config

	store, err := ss.rollStore(ctx)
	if err != nil {
		return nil, step("roll record", err)
	}
	rec, err := store.Read(ctx, cfg)
	if err != nil {
		return nil, step("roll record", err)
	}
	ex := ss.p.Options.Existing
	switch {
	case rec != nil && rec.NodeGroup != kind.BaseName:
		return nil, inputError("--node-group", "a roll of node group %s is under way (phase %s, %s -> %s): finish it first with "+
			"`tapstack roll --node-group %s`; nothing was changed", rec.NodeGroup, rec.Phase, rec.Old, rec.New, rec.NodeGroup)
	case rec != nil:
		if err := recordMatchesState(rec, ex, kind); err != nil {
			return nil, inputError("", "roll record s3://%s/%s: %v; if no roll of %s is under way (the environment was destroyed "+
				"and deployed again), delete the record; nothing was changed", cfg.State.Bucket, live.RollRecordKey(cfg.StateKey()), err, rec.NodeGroup)
		}
		res.Resumed = rec.Phase
	default:
		gens := ex.Generations(kind)
		switch len(gens) {
		case 0:
			return nil, inputError("--node-group", "the state of %s holds no node group %s: deploy the environment first; nothing was changed",
				ss.stackName(), kind.BaseName)
		case 2:
			// No record, yet both generations run: the record was lost after the new group was applied. The
			// outputs name the new generation from that apply on, so the drain (which repeats safely) goes on.
			named, ok := kind.GenerationOf(ex.NodeGroupOutputs[kind.Output])
			if !ok {
				return nil, step("roll record", fmt.Errorf("the state holds both %s and %s, but there is no roll record (%s) and "+
					"no output says which one replaces the other", kind.Name(stack.GenerationA), kind.Name(stack.GenerationB),
					live.RollRecordKey(cfg.StateKey())))
			}
			rec = &RollRecord{NodeGroup: kind.BaseName, Phase: RollDrain, Old: kind.Name(named.Other()), OldAddress: kind.Address(named.Other()),
				New: kind.Name(named), NewAddress: kind.Address(named), Started: time.Now().UTC()} // clock: for people
			res.Resumed = RollDrain
			ss.pr.Note(fmt.Sprintf("no roll record, but the state holds both generations and its outputs name %s: resuming with the drain of %s", rec.New, rec.Old))
		}
		if rec == nil {
			from := gens[0]
			rec = &RollRecord{NodeGroup: kind.BaseName, Phase: RollCreate, Old: kind.Name(from), OldAddress: kind.Address(from),
				New: kind.Name(from.Other()), NewAddress: kind.Address(from.Other()), Started: time.Now().UTC()} // clock: when the roll began, for people
		}
	}
	from, _ := kind.GenerationOf(rec.Old)
	to, _ := kind.GenerationOf(rec.New)
	res.Record = *rec

	fmt.Fprintf(log, "roll of node group %s: create %s beside it, wait for its nodes, cordon and drain %s's nodes, then remove %s\n",
		rec.Old, rec.New, rec.Old, rec.Old)
	if res.Resumed != "" {
		fmt.Fprintf(log, "resuming the roll recorded in phase %s (started %s)\n", rec.Phase, rec.Started.Format(time.RFC3339))
	}
	if !ro.Yes && (ro.Confirm == nil || !ro.Confirm(fmt.Sprintf("Roll node group %s onto %s?", rec.Old, rec.New))) {
		return res, NotConfirmedError{}
	}

	var kube kubernetes.Interface
	if rec.Phase != RollRemove {
		if kube, err = reachCluster(ctx, cfg, ss.o.kube()); err != nil {
			return res, step("kubernetes", err)
		}
	}
	stopped := func(err error) error {
		res.Record = *rec
		return &RollStoppedError{Record: *rec, Err: err}
	}
	record := func(ph RollPhase) error {
		rec.Phase, rec.Updated = ph, time.Now().UTC() // clock: when the record changed, for people
		if err := store.Write(ctx, cfg, rec); err != nil {
			return stopped(step("roll record", err))
		}
		res.Record = *rec
		return nil
	}
	roll := &stack.NodeGroupRoll{Key: kind.Key, From: from, To: to}

	if rec.Phase == RollCreate {
		if err := record(RollCreate); err != nil {
			return res, err
		}
		roll.KeepFrom = true
		round, err := ss.rollRound(ctx, roll, nil)
		res.Rounds = append(res.Rounds, round)
		if err != nil {
			return res, stopped(err)
		}
		api := ro.EKS
		if api == nil {
			clients, err := ss.clients(ctx)
			if err != nil {
				return res, stopped(step("nodes", err))
			}
			api = clients.EKS
		}
		if err := timed(ss.pr, "nodes of "+rec.New, func() error {
			desired, err := waitNodegroupActive(ctx, api, rollCluster(ex, cfg), rec.New, ro.Timeout, ro.Poll)
			if err != nil {
				return err
			}
			return drain.WaitReady(ctx, kube, rec.New, desired, drain.Options{Timeout: ro.Timeout, Poll: ro.Poll, Log: log})
		}); err != nil {
			return res, stopped(step("nodes", err))
		}
		if err := record(RollDrain); err != nil {
			return res, err
		}
	}
	if rec.Phase == RollDrain {
		var report *drain.Report
		err := timed(ss.pr, "drain "+rec.Old, func() (err error) {
			report, err = drain.Drain(ctx, kube, rec.Old, drain.Options{Timeout: ro.Timeout, Poll: ro.Poll, Log: log})
			return err
		})
		res.Drain = report
		if report != nil {
			report.Write(ss.pr.Out())
		}
		if err != nil {
			return res, stopped(step("drain", err))
		}
		if err := record(RollRemove); err != nil {
			return res, err
		}
	}
	if rec.Phase == RollRemove {
		roll.KeepFrom = false
		round, err := ss.rollRound(ctx, roll, map[string]bool{rec.OldAddress: true})
		res.Rounds = append(res.Rounds, round)
		if err != nil {
			return res, stopped(err)
		}
		st, err := ss.state(ctx)
		if err != nil {
			return res, stopped(step("state", err))
		}
		if after := stack.ExistingFrom(st); after.Has(rec.OldAddress) || !after.Has(rec.NewAddress) {
			return res, stopped(step("remove", fmt.Errorf("after the apply the state should hold %s and not %s", rec.NewAddress, rec.OldAddress)))
		}
		if err := store.Clear(ctx, cfg); err != nil {
			return res, stopped(step("roll record", err))
		}
	}
	fmt.Fprintf(ss.pr.Out(), "rolled node group %s onto %s\n", rec.Old, rec.New)
	if err := timed(ss.pr, "outputs", func() (err error) {
		res.Outputs, err = ss.writeOutputs(ctx, ro.Outputs)
		return err
	}); err != nil {
		return res, step("outputs", err)
	}
	return res, nil
}

// recordMatchesState checks that a record describes the state it would resume on: the old group while the new one
// is being added, both while the old one drains, the new one while the old one is removed.
func recordMatchesState(rec *RollRecord, ex *stack.Existing, kind stack.NodeGroupKind) error {
	gOld, okOld := kind.GenerationOf(rec.Old)
	gNew, okNew := kind.GenerationOf(rec.New)
	if !okOld || !okNew || gOld == gNew || kind.Address(gOld) != rec.OldAddress || kind.Address(gNew) != rec.NewAddress {
		return fmt.Errorf("it names %s -> %s, which are not the two generations of node group %s", rec.Old, rec.New, kind.BaseName)
	}
	var need []string
	switch rec.Phase {
	case RollCreate:
		need = []string{rec.OldAddress}
	case RollDrain:
		need = []string{rec.OldAddress, rec.NewAddress}
	case RollRemove:
		need = []string{rec.NewAddress}
	default:
		return fmt.Errorf("it records an unknown phase %q", rec.Phase)
	}
	for _, a := range need {
		if !ex.Has(a) {
			return fmt.Errorf("it is in phase %s, which needs %s in the state, and the state holds none", rec.Phase, a)
		}
	}
	return nil
}

// refuseRolling refuses a workflow that would apply the stack while a roll is under way (both generations of a
// node group in state): the roll's own steps decide what happens to them.
func (ss *session) refuseRolling() error {
	if len(ss.p.Stack.Rolling) == 0 {
		return nil
	}
	var how []string
	for _, n := range ss.p.Stack.Rolling {
		how = append(how, "`tapstack roll --node-group "+n+"`")
	}
	return step("check", inputError("", "a roll of node group %s is under way (both its generations are in the state); finish it "+
		"first with %s; nothing was planned or changed", strings.Join(ss.p.Stack.Rolling, ", "), strings.Join(how, ", ")))
}

// rollKind finds the node group a roll names, by either generation's name.
func rollKind(cfg *config.Config, name string) (stack.NodeGroupKind, error) {
	kinds := stack.NodeGroupKinds(cfg)
	if len(kinds) == 0 {
		return stack.NodeGroupKind{}, inputError("--node-group", "%s runs EKS Auto Mode, which has no managed node groups to roll", cfg.ClusterName())
	}
	var names []string
	for _, k := range kinds {
		if _, ok := k.GenerationOf(name); ok {
			return k, nil
		}
		names = append(names, k.BaseName)
	}
	if name == "" {
		return stack.NodeGroupKind{}, inputError("--node-group", "name the node group to roll: %s", strings.Join(names, " or "))
	}
	return stack.NodeGroupKind{}, inputError("--node-group", "%q is not a node group of %s: %s (or its %s generation)", name,
		cfg.StackName(), strings.Join(names, " or "), config.AlternateSuffix)
}

func rollCluster(ex *stack.Existing, cfg *config.Config) string {
	if ex != nil && ex.ClusterName != "" {
		return ex.ClusterName
	}
	return cfg.ClusterName()
}

// reachCluster opens the Kubernetes client and makes one call, so that an endpoint out of reach stops the roll
// before it changes anything.
func reachCluster(ctx context.Context, cfg *config.Config, kube KubeClient) (kubernetes.Interface, error) {
	c, err := kube(ctx, cfg)
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err = c.CoreV1().Nodes().List(pctx, metav1.ListOptions{Limit: 1})
		cancel()
	}
	if err != nil {
		return nil, fmt.Errorf("the Kubernetes API of cluster %s cannot be reached from here (%w); a roll moves pods through it, "+
			"so run it where the endpoint is reachable (from inside the VPC when the endpoint is private); nothing was changed",
			cfg.ClusterName(), err)
	}
	return c, nil
}

// rollRound renders the roll's step on the current state, plans and applies it; deleting the addresses in
// expected is what the step is for, so the guard lets those through.
func (ss *session) rollRound(ctx context.Context, roll *stack.NodeGroupRoll, expected map[string]bool) (Round, error) {
	ss.p.Options.Roll = roll
	ss.expectDeleted = expected
	defer func() { ss.expectDeleted = nil }()
	if err := ss.followState(ctx); err != nil {
		return Round{}, err
	}
	what := "the plan that adds the new node group"
	if !roll.KeepFrom {
		what = "the plan that removes the old node group"
	}
	round, _, err := ss.applyRound(ctx, false, false, what)
	return round, err
}

// waitNodegroupActive waits until EKS reports the node group ACTIVE and returns its desired size; a group that
// failed to create is an error with EKS's health issues.
func waitNodegroupActive(ctx context.Context, api NodegroupAPI, cluster, name string, timeout, poll time.Duration) (int, error) {
	if poll <= 0 {
		poll = drain.DefaultPoll
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		out, err := api.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
		if err == nil && out.Nodegroup != nil {
			g := out.Nodegroup
			last = string(g.Status)
			switch g.Status {
			case ekstypes.NodegroupStatusActive:
				desired := 0
				if g.ScalingConfig != nil && g.ScalingConfig.DesiredSize != nil {
					desired = int(*g.ScalingConfig.DesiredSize)
				}
				return desired, nil
			case ekstypes.NodegroupStatusCreateFailed, ekstypes.NodegroupStatusDeleteFailed, ekstypes.NodegroupStatusDeleting:
				var issues []string
				if g.Health != nil {
					for _, i := range g.Health.Issues {
						issues = append(issues, string(i.Code)+": "+aws.ToString(i.Message))
					}
				}
				return 0, fmt.Errorf("node group %s is %s: %s", name, g.Status, strings.Join(issues, "; "))
			}
		} else if err != nil {
			last = err.Error()
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, errors.Join(fmt.Errorf("node group %s not ACTIVE after %s (last: %s)", name, timeout, last), ctx.Err())
		case <-t.C:
		}
	}
}
