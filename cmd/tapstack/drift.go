package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
)

func init() { register(newDriftCommand) }

// defaultCacheDir holds the fleet commands' working copies, kept between runs so that init is reused.
const defaultCacheDir = "cdktf.out/fleet"

// driftFlags are drift's stack flags: the bucket and the engine.
var driftFlags = stackFlagSet{settings: locatesBucket, engine: true}

// driftReport is `tapstack drift --format json` (docs/fleet.md).
type driftReport struct {
	SchemaVersion int    `json:"schemaVersion"`
	Command       string `json:"command"`
	*lifecycle.DriftReport
}

func newDriftCommand(s stdio) *cobra.Command {
	var (
		sf       *stackFlags
		format   string
		cacheDir string
		parallel int
	)
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "a refresh-only plan of every environment in the bucket: in sync, drifted or failed",
		Long: `drift lists the state bucket as envs does and, for each environment that is tapstack's (not foreign, not a
copy), runs a refresh-only plan against its recorded state, --parallel at a time: in its own working copy under
--cache-dir (kept, so that init is reused), with a configuration generated from the state (the S3 backend's
bucket, key and region; the provider's region from the state's ARNs and the default tags the state records),
never from the local configuration. It prints each environment as in sync, drifted (what changed outside
Terraform: the plan's resource_drift) or failed (why). The engine's output of each is in its working copy's
drift.log. --format json prints one document (docs/fleet.md).

Exit 0 every environment in sync; 2 any drifted; 1 any error (a failed check, bad flags), so a pipeline never
takes an error for drift.`,
		Example: `  tapstack drift
  tapstack drift --parallel 2 --format json
  tapstack drift --state-bucket my-tf-states --state-bucket-region eu-west-1`,
		Args: func(cmd *cobra.Command, args []string) error { return detailedExit(noArgs(cmd, args)) },
		RunE: func(*cobra.Command, []string) error {
			return detailedExit(runDrift(sf, format, cacheDir, parallel, s))
		},
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, driftFlags)
	fs.StringVar(&format, "format", "text", "text: a table; json: one document for scripts (docs/fleet.md)")
	fs.StringVar(&cacheDir, "cache-dir", defaultCacheDir, "where each environment's working copy is kept (<dir>/drift/<bucket>/<suffix>)")
	fs.IntVar(&parallel, "parallel", lifecycle.DefaultParallel, "how many environments are checked at once")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: exitFailure, msg: err.Error()} })
	return cmd
}

func runDrift(sf *stackFlags, format, cacheDir string, parallel int, s stdio) error {
	var bad error
	if parallel < 1 {
		bad = fail(exitInvalid, "--parallel: %d is not a positive number", parallel)
	}
	engine, engineErr := sf.engineName()
	cfg, cfgErr := sf.load(s)
	if err := joinInvalid(checkFormat(format), bad, engineErr, cfgErr); err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	o, err := fleetOptions(ctx, cfg, time.Now().UTC())
	if err != nil {
		return err
	}
	r, err := lifecycle.Drift(ctx, o, lifecycle.DriftOptions{Parallel: parallel, CacheDir: cacheDir, Engine: engine,
		Progress: newProgress(s)})
	if err != nil {
		return commandError(s, err)
	}
	if format == "json" {
		if err := writeJSON(s.out, driftReport{SchemaVersion: fleetSchemaVersion, Command: "drift", DriftReport: r}); err != nil {
			return err
		}
	} else {
		writeDrift(s.out, r)
	}
	if n := r.Count(lifecycle.Failed); n > 0 {
		return fail(exitFailure, "%d of %s could not be checked", n, plural(len(r.Environments), "environment", "environments"))
	}
	if n := r.Count(lifecycle.Drifted); n > 0 {
		fmt.Fprintf(s.err, "tapstack drift: %d of %s drifted\n", n, plural(len(r.Environments), "environment", "environments"))
		return errChanges // exit 2, through detailedExit
	}
	return nil
}

// writeDrift prints a line per environment, and a line per change under a drifted one.
func writeDrift(w io.Writer, r *lifecycle.DriftReport) {
	fmt.Fprintf(w, "s3://%s (%s): %s checked: %d in sync, %d drifted, %d failed\n", r.Bucket, r.BucketRegion,
		plural(len(r.Environments), "environment", "environments"), r.Count(lifecycle.InSync), r.Count(lifecycle.Drifted),
		r.Count(lifecycle.Failed))
	tw := newTable(w)
	fmt.Fprintln(tw, "SUFFIX\tREGION\tSTATUS\tWHAT")
	for _, e := range r.Environments {
		what := ""
		switch e.Status {
		case lifecycle.Failed:
			what = e.Error + " (log: " + e.Log + ")"
		case lifecycle.Drifted:
			what = "changed outside Terraform:"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Suffix, dash(e.Region), strings.ReplaceAll(string(e.Status), "-", " "), what)
		for _, c := range e.Changes {
			fmt.Fprintf(tw, "\t\t\t  %s\n", describeChange(c))
		}
	}
	tw.Flush()
	if len(r.Skipped) > 0 {
		fmt.Fprintln(w, "not checked:")
		for _, sk := range r.Skipped {
			fmt.Fprintf(w, "  %s %s: %s\n", sk.Class, sk.Key, sk.Why)
		}
	}
}

// describeChange is one resource's drift: deleted, or the attributes that changed (with the values when plain).
func describeChange(c lifecycle.DriftChange) string {
	if c.Action == "delete" {
		return c.Address + ": deleted outside Terraform"
	}
	var parts []string
	for _, a := range c.Attributes {
		if a.Before != nil || a.After != nil {
			parts = append(parts, fmt.Sprintf("%s %v -> %v", a.Name, a.Before, a.After))
		} else {
			parts = append(parts, a.Name)
		}
	}
	return c.Address + ": " + strings.Join(parts, ", ")
}
