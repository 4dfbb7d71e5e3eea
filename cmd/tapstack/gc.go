package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
)

func init() { register(newGCCommand) }

// gcFlags are gc's stack flags: the bucket, --now and the engine.
var gcFlags = stackFlagSet{settings: locatesBucket, now: true, engine: true}

// suffixList is --keep: suffixes, repeatable and comma-separable.
type suffixList struct{ listFlag }

func (*suffixList) Type() string { return "SUFFIX,..." }

func newGCCommand(s stdio) *cobra.Command {
	var (
		sf        *stackFlags
		expired   bool
		olderThan time.Duration
		keep      suffixList
		yes       bool
		parallel  int
		cacheDir  string
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "destroy the bucket's expired or stale ephemeral environments, safely",
		Long: `gc lists the state bucket as envs does and selects the environments of tapstack's that are past their
expiry (--expired) or that carry a ttl or the ephemeral tag and whose state has not changed for --older-than D (an
unmarked or protected environment never). It never touches a foreign state, a copy, a protected environment, one
kept with --keep, or one whose state lock is held.

Without --yes it prints what it would destroy and the monthly saving, and changes nothing. With --yes it destroys
each, --parallel at a time, through the path of destroy --yes (what Kubernetes left in the VPC, the stack, the log
group EKS writes again), having read its state and lock once more, and then deletes the emptied state object (a
versioned bucket keeps its history). A failure on one is reported and the others go on. Times are judged at --now
(default the clock).

Exit 0 when everything selected was destroyed (or on a dry run); 1 when any failed; 2 on bad input.`,
		Example: `  tapstack gc --expired
  tapstack gc --expired --yes --parallel 2
  tapstack gc --older-than 72h --keep staging,demo --yes`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var bad []error
			if older := cmd.Flags().Changed("older-than"); older && olderThan <= 0 {
				bad = append(bad, fail(exitInvalid, "--older-than: %s is not a positive duration", olderThan))
			} else if !older && !expired {
				bad = append(bad, fail(exitInvalid, "say what to reap: --expired, --older-than D, or both"))
			}
			if parallel < 1 {
				bad = append(bad, fail(exitInvalid, "--parallel: %d is not a positive number", parallel))
			}
			return runGC(sf, lifecycle.GCOptions{Expired: expired, OlderThan: olderThan, Keep: keep.listFlag, Yes: yes,
				Parallel: parallel, CacheDir: cacheDir}, bad, s)
		},
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, gcFlags)
	fs.BoolVar(&expired, "expired", false, "select the environments past their recorded expiry (tapstack:expires-at)")
	fs.DurationVar(&olderThan, "older-than", 0, "select the ephemeral environments (a ttl, or tapstack:ephemeral) whose state has not changed for this long")
	fs.Var(&keep, "keep", "suffix of an environment never to destroy (repeatable, comma-separated)")
	fs.BoolVar(&yes, "yes", false, "destroy what is selected; without it gc only says what it would destroy")
	fs.IntVar(&parallel, "parallel", lifecycle.DefaultParallel, "how many environments are destroyed at once")
	fs.StringVar(&cacheDir, "cache-dir", defaultCacheDir, "where the destroys' working copies are kept (<dir>/gc/<bucket>)")
	return cmd
}

// runGC runs gc once every flag is known good: bad holds the problems already found, and the others join them.
func runGC(sf *stackFlags, gc lifecycle.GCOptions, bad []error, s stdio) error {
	now, nowErr := parseNow(sf.now)
	engine, engineErr := sf.engineName()
	cfg, cfgErr := sf.load(s)
	if err := joinInvalid(append(bad, nowErr, engineErr, cfgErr)...); err != nil {
		return err
	}
	gc.Engine = engine
	ctx, stop := commandContext()
	defer stop()
	o, err := fleetOptions(ctx, cfg, now)
	if err != nil {
		return err
	}
	gc.Rules, gc.Progress = runRules, newProgress(s)
	r, err := lifecycle.GC(ctx, o, gc)
	if err != nil {
		return commandError(s, err)
	}
	for _, k := range r.UnknownKeep {
		fmt.Fprintf(s.err, "note: --keep %s: no state of the bucket has that suffix\n", k)
	}
	writeGC(s.out, r)
	if n := r.Count(lifecycle.GCFailed); n > 0 {
		return fail(exitFailure, "%d of %s could not be destroyed", n, plural(len(r.Selected), "environment", "environments"))
	}
	return nil
}

// writeGC prints what gc selected (and what became of it), then what it spared and why.
func writeGC(w io.Writer, r *lifecycle.GCReport) {
	fmt.Fprintf(w, "s3://%s (%s) at %s\n", r.Bucket, r.BucketRegion, r.Now.Format(time.RFC3339))
	saving := money(r.Saving.Low, r.Saving.High) + " " + r.Saving.Currency + " a month"
	if len(r.Saving.Unpriced) > 0 {
		saving += fmt.Sprintf(" (and %d unpriced item(s))", len(r.Saving.Unpriced))
	}
	switch {
	case len(r.Selected) == 0:
		fmt.Fprintln(w, "nothing to destroy")
	case r.DryRun:
		fmt.Fprintf(w, "would destroy %s, saving %s:\n", plural(len(r.Selected), "environment", "environments"), saving)
	default:
		var low, high float64
		for _, e := range r.Selected {
			if e.Status == lifecycle.Destroyed {
				low, high = low+e.Monthly.Low, high+e.Monthly.High
			}
		}
		fmt.Fprintf(w, "destroyed %d of %s selected, saving %s %s a month:\n", r.Count(lifecycle.Destroyed),
			plural(len(r.Selected), "environment", "environments"), money(low, high), r.Saving.Currency)
	}
	if len(r.Selected) > 0 {
		tw := newTable(w)
		fmt.Fprintln(tw, "SUFFIX\tREGION\tSELECTED\tUSD/MONTH\tSTATUS")
		for _, e := range r.Selected {
			status := strings.ReplaceAll(string(e.Status), "-", " ")
			switch {
			case e.Why != "":
				status += ": " + e.Why
			case e.StateRemoved:
				status += ", state object removed"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Suffix, dash(e.Region), e.Reason, money(e.Monthly.Low, e.Monthly.High), status)
		}
		tw.Flush()
	}
	if len(r.Spared) > 0 {
		fmt.Fprintln(w, "selected, but never touched:")
		for _, e := range r.Spared {
			fmt.Fprintf(w, "  %s (%s, %s): %s\n", dash(e.Suffix), e.Key, e.Reason, e.Why)
		}
	}
	if r.Foreign > 0 {
		fmt.Fprintf(w, "%s not tapstack's: never touched\n", plural(r.Foreign, "state is", "states are"))
	}
	if r.DryRun && len(r.Selected) > 0 {
		fmt.Fprintln(w, "run again with --yes to destroy them")
	}
}
