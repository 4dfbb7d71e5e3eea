package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/stack"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

var (
	// stepLiveChecks concern the version a step moves to; accountLiveChecks run once. Names, zones, offerings
	// and quotas belong to an environment that already runs, and a step changes none of them.
	stepLiveChecks    = []string{live.IDKubernetesOffered, live.IDVPCCNIOffered}
	accountLiveChecks = []string{live.IDCaller, live.IDStateBucket}
	// calendarRules judge a version by the EKS calendar alone. They do not block an intermediate version: EKS
	// moves a cluster through a version it no longer creates clusters on (it upgrades such clusters itself), and
	// UpdateClusterVersion is the authority there. The target version's findings block, as in deploy.
	calendarRules = map[string]bool{rules.IDSupportEnded: true, live.IDKubernetesOffered: true}
)

// UpgradeOptions are Upgrade's own options.
type UpgradeOptions struct {
	// To is the Kubernetes version to move the cluster to, one minor version at a time.
	To string
	// DryRun describes the steps without planning or applying.
	DryRun bool
	// AllowDestroy applies a step whose plan deletes or replaces protected resources.
	AllowDestroy bool
	// SkipLive skips the live checks of each step's version.
	SkipLive bool
	// LiveTimeout bounds each live check.
	LiveTimeout time.Duration
	// ResolveAddons asks EKS which builds of the named add-ons it offers for a Kubernetes version; nil: the
	// account.
	ResolveAddons func(ctx context.Context, cfg *config.Config, k8s string, names []string) (map[string]live.AddonVersions, error)
	// Live runs the live checks of one step; nil: against the account.
	Live func(ctx context.Context, in live.Input, opts live.Options) (*live.Report, error)
	// SkipInCluster leaves out what tapstack applies through the cluster's Kubernetes API after each step (the
	// default StorageClass); each step says what was not done.
	SkipInCluster bool
}

// UpgradeResult is what an upgrade did (or, in a dry run, would do).
type UpgradeResult struct {
	Cluster string
	// From is the version the cluster ran; To the version it runs now (From when nothing was done).
	From, To string
	Steps    int
}

func resolveAddons(ctx context.Context, cfg *config.Config, k8s string, names []string) (map[string]live.AddonVersions, error) {
	clients, err := live.NewClients(ctx, cfg.Region, cfg.State.Region)
	if err != nil {
		return nil, err
	}
	return live.ResolveAddonVersions(ctx, clients.EKS, k8s, names)
}

// Upgrade moves the cluster from the version its state records to uo.To, one minor version at a time. Each step
// updates the control plane, then the add-ons and the node groups. Every step's checks run before the first step
// changes anything; after each apply the state must show the step's version. A failure stops with an
// *UpgradeStoppedError that says where everything is; the same call continues from there.
func Upgrade(ctx context.Context, p *Prepared, o Options, uo UpgradeOptions) (*UpgradeResult, error) {
	if err := CheckUpgradeTarget(uo.To); err != nil {
		return nil, err
	}
	if uo.LiveTimeout <= 0 {
		uo.LiveTimeout = live.DefaultTimeout
	}
	if uo.ResolveAddons == nil {
		uo.ResolveAddons = resolveAddons
	}
	ss, err := open(ctx, "upgrade", p, o, rules.Invalid)
	if err != nil {
		return nil, err
	}
	defer ss.close()
	if err := ss.refuseRolling(); err != nil {
		return nil, err
	}
	ex := ss.p.Options.Existing
	cluster := ss.p.Config.ClusterName()
	u := &upgradeRun{ss: ss, o: uo, out: ss.pr.Out(), current: ex}
	if ex == nil || ex.KubernetesVersion == "" {
		return nil, inputError("", "the state of %s holds no cluster, so there is nothing to upgrade: deploy it first "+
			"(tapstack deploy --kubernetes-version %s); nothing was changed", ss.stackName(), uo.To)
	}
	running := ex.KubernetesVersion
	res := &UpgradeResult{Cluster: cluster, From: running, To: running}
	if versions.CompareMinor(uo.To, running) < 0 {
		return nil, inputError("--to", "%s is below %s, which cluster %s runs: EKS never downgrades a cluster; "+
			"give --to %s or newer; nothing was changed", uo.To, running, cluster, running)
	}
	if err := u.planSteps(ctx, ex, uo.DryRun); err != nil {
		return nil, err
	}
	res.Steps = len(u.steps)
	if len(u.steps) == 0 {
		fmt.Fprintf(u.out, "cluster %s already runs Kubernetes %s, and so do its node groups: nothing to upgrade\n",
			cluster, running)
		return res, nil
	}
	mode := ""
	if uo.DryRun {
		mode = " (dry run: nothing is planned or applied)"
	}
	fmt.Fprintf(u.out, "upgrade cluster %s: Kubernetes %s -> %s in %d step(s)%s\n", cluster, running, uo.To, len(u.steps), mode)
	if uo.DryRun {
		for _, st := range u.steps {
			st.describe(u.out)
		}
	}
	if err := u.preflight(ctx, uo.SkipLive || uo.DryRun); err != nil {
		return nil, err
	}
	if uo.DryRun {
		return res, nil
	}
	for _, st := range u.steps {
		if err := u.run(ctx, st); err != nil {
			return res, err
		}
		res.To = st.to
	}
	fmt.Fprintf(u.out, "upgraded cluster %s to Kubernetes %s; its node groups and add-ons followed\n", cluster, uo.To)
	if c := ss.p.Config.Cluster.KubernetesVersion; c != uo.To {
		ss.pr.Note(fmt.Sprintf("the configuration says Kubernetes %s: set cluster.kubernetesVersion (or --kubernetes-version) "+
			"to %s, or plan and deploy keep noting the difference", c, uo.To))
	}
	return res, nil
}

// CheckUpgradeTarget refuses a missing target version, or one the EKS calendar does not list.
func CheckUpgradeTarget(to string) error {
	d := versions.Get()
	var known []string
	for _, k := range d.Kubernetes {
		known = append(known, k.Version)
	}
	if to == "" {
		return inputError("", "--to is required: the Kubernetes version to move the cluster to, such as --to %s "+
			"(tapstack versions lists them)", d.DefaultKubernetesVersion)
	}
	if _, ok := d.Lookup(to); !ok {
		return inputError("--to", "%q is not a Kubernetes version of the EKS calendar (data checked %s); use one of %s",
			to, d.Checked, strings.Join(known, ", "))
	}
	return nil
}

// upgradeRun is one `tapstack upgrade`: its session and its steps.
type upgradeRun struct {
	ss    *session
	o     UpgradeOptions
	out   io.Writer // the command's result lines
	steps []*upgradeStep
	// names are the node groups' names by address, for messages.
	names map[string]string
	// current is what runs before the next step: the refreshed state the session read, then the state each
	// step's apply left.
	current *stack.Existing
}

// upgradeStep moves the cluster from one minor version to the next (or, when from == to, brings node groups
// that lag behind the control plane to its version).
type upgradeStep struct {
	n, of    int
	from, to string
	target   bool
	cfg      *config.Config // the configuration with the step's version (and a vpc-cni pin it overrides cleared)
	// resolved is what EKS offers of each add-on for the step's version; nil when it could not be asked (dry run).
	resolved   map[string]live.AddonVersions
	resolveErr error
	addons     []addonChoice
	nodeGroups []nodeGroupStep
	autoMode   bool
	notes      []string
	problems   []string // what makes the step impossible, found before anything runs
	doc        *tfdoc.Document
}

type addonChoice struct{ name, from, to, why string }

type nodeGroupStep struct{ address, name, from string }

// planSteps lists the steps from the running version to the target, resolves each step's add-on builds and
// builds each step's document from what the state runs.
func (u *upgradeRun) planSteps(ctx context.Context, ex *stack.Existing, dryRun bool) error {
	running := ex.KubernetesVersion
	var pairs [][2]string
	if len(lagging(ex)) > 0 {
		pairs = append(pairs, [2]string{running, running})
	}
	for from := running; versions.CompareMinor(from, u.o.To) < 0; from = versions.NextMinor(from) {
		pairs = append(pairs, [2]string{from, versions.NextMinor(from)})
	}
	var names []string
	for _, r := range u.ss.p.Stack.Doc.OfType("aws_eks_addon") {
		if n, _ := r.Body["addon_name"].(string); n != "" {
			names = append(names, n)
		}
	}
	u.names = map[string]string{}
	current := map[string]string{}
	for k, v := range ex.AddonVersions {
		current[k] = v
	}
	ngFrom := map[string]string{}
	for k, v := range ex.NodeGroupVersions {
		ngFrom[k] = v
	}
	for i, p := range pairs {
		c := *u.ss.p.Config
		c.Cluster.KubernetesVersion = p[1]
		st := &upgradeStep{n: i + 1, of: len(pairs), from: p[0], to: p[1], target: p[1] == u.o.To, cfg: &c,
			autoMode: c.Cluster.Compute == config.ComputeAuto}
		if len(names) > 0 {
			st.resolved, st.resolveErr = u.o.ResolveAddons(ctx, st.cfg, st.to, names)
			if st.resolveErr != nil && !dryRun {
				return fmt.Errorf("step %d/%d (Kubernetes %s -> %s): asking EKS for the add-on builds of %s: %w; nothing was changed",
					st.n, st.of, st.from, st.to, st.to, st.resolveErr)
			}
			if st.resolveErr == nil {
				st.chooseAddons(names, current)
			}
		}
		sim := *ex
		sim.KubernetesVersion = st.from
		built := st.build(u.ss.p.Options, &sim)
		st.doc = built.Doc
		if built.KubernetesVersion != st.to {
			st.problems = append(st.problems, fmt.Sprintf("the stack renders Kubernetes %s instead of %s", built.KubernetesVersion, st.to))
		}
		for _, r := range built.Doc.OfType("aws_eks_node_group") {
			name, _ := r.Body["node_group_name"].(string)
			u.names[r.Address()] = name
			st.nodeGroups = append(st.nodeGroups, nodeGroupStep{address: r.Address(), name: name, from: ngFrom[r.Address()]})
			ngFrom[r.Address()] = st.to
		}
		u.steps = append(u.steps, st)
	}
	return nil
}

// lagging lists the node groups in state that are not on the cluster's version.
func lagging(ex *stack.Existing) []string {
	var out []string
	for addr, v := range ex.NodeGroupVersions {
		if v != "" && v != ex.KubernetesVersion {
			out = append(out, addr)
		}
	}
	sort.Strings(out)
	return out
}

// chooseAddons picks each add-on's build for the step: a configured vpc-cni pin EKS offers for the version; the
// running build when EKS offers it and it is not older than the default (EKS does not downgrade add-ons);
// otherwise EKS's default for the version. current is updated to the choice, for the next step.
func (st *upgradeStep) chooseAddons(names []string, current map[string]string) {
	for _, name := range names {
		av := st.resolved[name]
		cur := current[name]
		ch := addonChoice{name: name, from: cur}
		if len(av.Offered) == 0 {
			st.problems = append(st.problems, fmt.Sprintf("EKS offers no build of add-on %s for Kubernetes %s", name, st.to))
			continue
		}
		pin := ""
		if name == "vpc-cni" {
			pin = st.cfg.Addons.VPCCNI.Version
		}
		switch {
		case pin != "" && av.Offers(pin):
			ch.to, ch.why = pin, "the configured pin"
		case cur != "" && av.Offers(cur) && (av.Default == "" || versions.CompareSemver(cur, av.Default) >= 0):
			ch.to, ch.why = cur, "kept: offered for "+st.to
		case av.Default != "":
			ch.to, ch.why = av.Default, "EKS's default for "+st.to
		default:
			ch.to, ch.why = av.Offered[0], "the newest EKS offers for "+st.to+", which names no default"
		}
		if pin != "" && ch.to != pin {
			st.cfg.Addons.VPCCNI.Version = "" // the step renders the chosen build instead
			st.notes = append(st.notes, fmt.Sprintf("the configured vpc-cni pin %s is not offered for Kubernetes %s, so this step "+
				"installs %s; set addons.vpcCni.version to %s, or leave it empty for EKS's default", pin, st.to, ch.to, ch.to))
		}
		current[name] = ch.to
		st.addons = append(st.addons, ch)
	}
}

// build renders the step's document around what the state runs (ex).
func (st *upgradeStep) build(base stack.Options, ex *stack.Existing) *stack.Stack {
	opts := base
	opts.Existing, opts.UpgradeStep = ex, true
	opts.AddonVersions = map[string]string{}
	for _, a := range st.addons {
		opts.AddonVersions[a.name] = a.to
	}
	return stack.Build(st.cfg, opts)
}

func (st *upgradeStep) title() string {
	if st.from == st.to {
		return fmt.Sprintf("step %d/%d: node groups to Kubernetes %s, which the control plane runs", st.n, st.of, st.to)
	}
	return fmt.Sprintf("step %d/%d: Kubernetes %s -> %s", st.n, st.of, st.from, st.to)
}

// describe prints what the step changes: the control plane, each add-on's build and each node group.
func (st *upgradeStep) describe(w io.Writer) {
	fmt.Fprintln(w, st.title())
	if st.from != st.to {
		fmt.Fprintf(w, "  control plane: %s -> %s\n", st.from, st.to)
	}
	switch {
	case st.resolveErr != nil:
		fmt.Fprintf(w, "  add-ons: not resolved (%v): the step would ask EKS for its builds for %s\n", st.resolveErr, st.to)
	default:
		for _, a := range st.addons {
			switch a.from {
			case a.to:
				fmt.Fprintf(w, "  add-on %s: %s (%s)\n", a.name, a.to, a.why)
			case "":
				fmt.Fprintf(w, "  add-on %s: %s, new (%s)\n", a.name, a.to, a.why)
			default:
				fmt.Fprintf(w, "  add-on %s: %s -> %s (%s)\n", a.name, a.from, a.to, a.why)
			}
		}
	}
	if st.autoMode {
		fmt.Fprintf(w, "  nodes: EKS Auto Mode replaces them itself after the control plane\n")
	}
	for _, ng := range st.nodeGroups {
		from := ng.from
		if from == "" {
			from = "new"
		}
		fmt.Fprintf(w, "  node group %s: %s -> %s\n", ng.name, from, st.to)
	}
	for _, n := range st.notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// preflight runs every step's rules, and its live checks unless skipped, before the first step changes anything:
// a finding that blocks any step refuses the whole upgrade.
func (u *upgradeRun) preflight(ctx context.Context, skipLive bool) error {
	runLive := u.o.Live
	if !skipLive && runLive == nil {
		clients, err := live.NewClients(ctx, u.ss.p.Config.Region, u.ss.p.Config.State.Region)
		if err != nil {
			return step("live checks", err)
		}
		runLive = func(ctx context.Context, in live.Input, opts live.Options) (*live.Report, error) {
			return live.Run(ctx, clients, in, opts), nil
		}
	}
	var all []rules.Finding
	log := u.ss.pr.Log()
	for _, st := range u.steps {
		fs := u.ss.p.rules(rules.Input{Config: st.cfg, Doc: st.doc, Date: u.ss.p.Date(), LiveCheckIDs: live.CheckIDs()})
		var results []live.Result
		if !skipLive {
			only := stepLiveChecks
			if st.n == 1 {
				only = append(append([]string(nil), accountLiveChecks...), stepLiveChecks...)
			}
			lr, err := runLive(ctx, live.Input{Config: st.cfg, Doc: st.doc, Date: u.ss.p.Date()},
				live.Options{Timeout: u.o.LiveTimeout, Only: only})
			if err != nil {
				return step("live checks", err)
			}
			fs = append(fs, lr.Findings...) // live.Run applies the allowed IDs
			results = lr.Results
		}
		var block, warn []rules.Finding
		for _, f := range fs {
			switch {
			case f.Severity != rules.Error || f.Kind == rules.Advice:
			case f.Kind == rules.WouldFail && !st.target && calendarRules[f.Rule]:
				f.Severity = rules.Warning
				f.Message += fmt.Sprintf(" (Kubernetes %s is an intermediate version of this upgrade: not blocking)", st.to)
				warn = append(warn, f)
			default:
				block = append(block, f)
			}
		}
		for _, p := range st.problems {
			block = append(block, rules.Finding{Rule: "upgrade", Severity: rules.Error, Kind: rules.WouldFail,
				Path: "cluster.kubernetesVersion", Message: p})
		}
		var trouble strings.Builder
		if !liveTrouble(textProgress{&trouble}, results) && len(block)+len(warn) == 0 {
			continue
		}
		fmt.Fprintf(log, "checks of %s:\n", st.title())
		u.ss.pr.Findings(append(block, warn...))
		fmt.Fprint(log, trouble.String())
		all = append(all, block...)
	}
	if len(all) > 0 {
		return step("check", &RefusedError{Findings: all, Reported: true,
			What: " in the checks of the upgrade's steps; nothing was planned or changed (--allow ID overrules a would-fail finding knowingly)"})
	}
	return nil
}

// run takes one step: synth, plan (shown in detail: a step is rare and each changes the cluster), guard, apply, then reads the state to verify that the cluster, every node
// group and every add-on are where the step put them, and applies what tapstack owns inside the cluster. A
// failure stops the upgrade with the versions things are on now.
func (u *upgradeRun) run(ctx context.Context, st *upgradeStep) error {
	st.describe(u.out)
	ex := u.current
	if ex == nil || ex.KubernetesVersion != st.from {
		got := "no cluster"
		if ex != nil {
			got = "Kubernetes " + ex.KubernetesVersion
		}
		return u.stopped(ctx, st, fmt.Errorf("state: the state says the cluster runs %s, where this step starts from %s", got, st.from), false)
	}
	built := st.build(u.ss.p.Options, ex)
	sp := *u.ss.p
	sp.Config, sp.Stack = st.cfg, built
	if _, err := writeDocument(&sp, u.ss.o.Out); err != nil {
		return u.stopped(ctx, st, step("synth", err), false)
	}
	if _, applied, err := u.ss.applyRound(ctx, u.o.AllowDestroy, true, "the plan of "+st.title()); err != nil {
		return u.stopped(ctx, st, err, applied)
	}
	tfst, err := u.ss.state(ctx)
	if err != nil {
		return u.stopped(ctx, st, step("verify", err), false)
	}
	u.current = stack.ExistingFrom(tfst)
	if err := st.verify(u.current, u.names); err != nil {
		return u.stopped(ctx, st, step("verify", err), true)
	}
	fmt.Fprintf(u.out, "step %d/%d done: %s\n", st.n, st.of, describeVersions(u.current, u.names))
	// Again after each step, as after a deploy: a later step's failure leaves the cluster with it applied.
	ic, err := u.ss.inCluster(ctx, tfst, u.o.SkipInCluster)
	for _, l := range ic.Lines() {
		fmt.Fprintf(u.out, "  %s\n", l)
	}
	if err != nil {
		return u.stopped(ctx, st, err, true)
	}
	return nil
}

// verify checks that the state reports the step's version for the cluster and every node group, and a build EKS
// offers for that version for every add-on.
func (st *upgradeStep) verify(ex *stack.Existing, names map[string]string) error {
	if ex == nil {
		return errors.New("the state holds no cluster after the apply")
	}
	var bad []string
	if ex.KubernetesVersion != st.to {
		bad = append(bad, "the cluster reports Kubernetes "+ex.KubernetesVersion)
	}
	for _, ng := range st.nodeGroups {
		if v := ex.NodeGroupVersions[ng.address]; v != st.to {
			bad = append(bad, fmt.Sprintf("node group %s reports Kubernetes %q", ng.name, v))
		}
	}
	for _, a := range st.addons {
		v := ex.AddonVersions[a.name]
		if av, ok := st.resolved[a.name]; ok && !av.Offers(v) {
			bad = append(bad, fmt.Sprintf("add-on %s runs %q, which EKS does not offer for Kubernetes %s", a.name, v, st.to))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("after the apply, where Kubernetes %s was expected, %s", st.to, strings.Join(bad, "; "))
	}
	return nil
}

// UpgradeStoppedError: an upgrade stopped at a step. Where says which versions everything is on now; running the
// same upgrade again continues from there.
type UpgradeStoppedError struct {
	// Step is the step's title ("step 1/2: Kubernetes 1.30 -> 1.31").
	Step   string
	Cause  error
	Where  string
	Target string
	// Changed: the step applied something, or an earlier step did.
	Changed bool
}

func (e *UpgradeStoppedError) Error() string {
	return fmt.Sprintf("%s failed: %s\nnow %s; fix the cause and run tapstack upgrade --to %s again: it continues from there",
		e.Step, e.Cause, e.Where, e.Target)
}

func (e *UpgradeStoppedError) Unwrap() error { return e.Cause }

// Refused: the first step was refused before it applied anything, so nothing changed.
func (e *UpgradeStoppedError) Refused() bool { return !e.Changed && Refused(e.Cause) }

// stopped ends the upgrade at st and says where the cluster and its node groups are. After an apply it first
// refreshes the state: after a failed update the provider saves the version it asked for, not the one EKS kept.
func (u *upgradeRun) stopped(ctx context.Context, st *upgradeStep, cause error, applied bool) error {
	extra := ""
	if applied {
		if err := u.ss.eng.RefreshState(ctx); err != nil {
			extra = fmt.Sprintf(" (refreshing the state failed: %v; tapstack plan shows what it records)", err)
		}
	}
	where := "the versions could not be read from the state"
	switch tfst, err := u.ss.state(ctx); {
	case !applied && u.current != nil: // nothing changed since it was read
		where = describeVersions(u.current, u.names)
	case err == nil:
		where = describeVersions(stack.ExistingFrom(tfst), u.names)
	}
	return &UpgradeStoppedError{Step: st.title(), Cause: cause, Where: where + extra, Target: u.o.To,
		Changed: applied || st.n > 1}
}

// describeVersions says which Kubernetes version the cluster and its node groups report, and whether they agree.
func describeVersions(ex *stack.Existing, names map[string]string) string {
	if ex == nil || ex.KubernetesVersion == "" {
		return "the state holds no cluster"
	}
	if len(ex.NodeGroupVersions) == 0 {
		return "the cluster is on Kubernetes " + ex.KubernetesVersion
	}
	var behind []string
	for _, addr := range lagging(ex) {
		n := names[addr]
		if n == "" {
			n = addr
		}
		behind = append(behind, fmt.Sprintf("%s on %s", n, ex.NodeGroupVersions[addr]))
	}
	if len(behind) == 0 {
		return fmt.Sprintf("the cluster and its %d node group(s) are on Kubernetes %s", len(ex.NodeGroupVersions), ex.KubernetesVersion)
	}
	return fmt.Sprintf("the control plane is on Kubernetes %s but node group(s) %s", ex.KubernetesVersion, strings.Join(behind, ", "))
}
