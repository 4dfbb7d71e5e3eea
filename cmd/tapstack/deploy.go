package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/live"
)

func init() { register(newDeployCommand) }

// deployOptions are deploy's own flags.
type deployOptions struct {
	allowDestroy, skipLive, skipInCluster bool
	liveTimeout                           time.Duration
	format                                string
}

func newDeployCommand(s stdio) *cobra.Command {
	var (
		sf *stackFlags
		ef *engineFlags
		of *outputFlags
		do deployOptions
	)
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "check, synth, init, plan, guard, apply and write the outputs",
		Long: `deploy checks the configuration (it refuses invalid and would-fail findings; --allow ID overrules a
would-fail one knowingly), runs the live checks against the account (--skip-live-checks skips them), synthesizes
the stack, runs init (once per working copy and backend), reads the state from S3 and what the cluster runs from
EKS, plans, prints the plan's summary, refuses a plan that deletes or replaces the cluster, the VPC, a subnet, the
OIDC provider, a node group or a log group (unless --allow-destroy), applies it (a second round when a safe migration needs one) and writes the outputs file
atomically. With the EBS CSI driver on, it then applies the default StorageClass through the cluster's Kubernetes
API and un-marks any other default, on every deploy; a runner that cannot reach the cluster's endpoint (a
private-only endpoint from outside the VPC) fails there, after Terraform's changes and the outputs, unless
--skip-in-cluster, which lists what it did not do. A failure names its step ("tapstack deploy: check: ..."). The
engine's progress goes to stderr; stdout gets the outputs file's path, or with --format json the summary of each
round and what was done inside the cluster (docs/json.md).

Exit 0 deployed; 2 refused (nothing planned or applied); 1 any other failure.`,
		Example: `  tapstack deploy
  tapstack deploy --config takeover.yaml --adopt-existing
  tapstack deploy --allow-destroy --lock-timeout 10m
  tapstack deploy --skip-live-checks --flat --outputs-file outputs.json`,
		RunE: func(*cobra.Command, []string) error { return runDeploy(sf, ef, of, do, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, buildFlags)
	ef = addEngineFlags(fs)
	of = addOutputFlags(fs)
	fs.BoolVar(&do.allowDestroy, "allow-destroy", false,
		"apply a plan that deletes or replaces the cluster, the VPC, a subnet, the OIDC provider, a node group or the log group")
	fs.BoolVar(&do.skipLive, "skip-live-checks", false, "do not run the live checks of tapstack check --live before planning")
	fs.DurationVar(&do.liveTimeout, "live-timeout", live.DefaultTimeout, "the time limit of each live check")
	fs.StringVar(&do.format, "format", "text", "text: print the outputs file's path on stdout; json: the deploy's summary (docs/json.md)")
	fs.BoolVar(&do.skipInCluster, "skip-in-cluster", false,
		"do not apply the default StorageClass through the cluster's Kubernetes API (for a runner that cannot reach the endpoint)")
	return cmd
}

func runDeploy(sf *stackFlags, ef *engineFlags, of *outputFlags, do deployOptions, s stdio) error {
	if do.liveTimeout <= 0 {
		return fail(exitInvalid, "--live-timeout: %s is not a positive duration", do.liveTimeout)
	}
	if err := checkFormat(do.format); err != nil {
		return err
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	// Terraform's output is progress: stderr. Stdout gets the outputs file's path, or the JSON summary.
	res, err := lifecycle.Deploy(ctx, p, options(sf, ef, newProgress(s)), lifecycle.DeployOptions{
		AllowDestroy: do.allowDestroy, SkipLive: do.skipLive, LiveTimeout: do.liveTimeout, Outputs: of.options(),
		Details: do.format == "json", SkipInCluster: do.skipInCluster})
	if res != nil {
		for _, l := range res.InCluster.Lines() {
			fmt.Fprintln(s.err, l)
		}
	}
	if err != nil {
		return commandError(s, err)
	}
	fmt.Fprintf(s.err, "deployed %s; wrote %d outputs\n", res.Stack, len(res.Outputs))
	if do.format == "json" {
		return writeJSON(s.out, deploySummary{SchemaVersion: summarySchemaVersion, Command: "deploy", DeployResult: res})
	}
	fmt.Fprintln(s.out, of.file)
	return nil
}
