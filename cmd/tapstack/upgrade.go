package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
)

func init() { register(newUpgradeCommand) }

// upgradeOptions are upgrade's own flags.
type upgradeOptions struct {
	to                                            string
	dryRun, allowDestroy, skipLive, skipInCluster bool
	liveTimeout                                   time.Duration
}

func newUpgradeCommand(s stdio) *cobra.Command {
	var (
		sf *stackFlags
		ef *engineFlags
		uo upgradeOptions
	)
	cmd := &cobra.Command{
		Use:   "upgrade --to VERSION",
		Short: "move the cluster to a newer Kubernetes version, one minor version at a time",
		Long: `upgrade moves the cluster from the Kubernetes version its state records to --to, one minor version at a
time. Each step updates the control plane, then the add-ons (to EKS's default build for the version unless the
running one is offered and newer) and the node groups. Every step's checks (rules, and the live checks of its
version unless --skip-live-checks) run before the first step changes anything. After each apply the state must
show the new version, and the default StorageClass is applied through the cluster's Kubernetes API as deploy
does (--skip-in-cluster leaves it out); a failure stops with the version everything is on, and running the same
command again continues from there. --dry-run prints the steps without planning or applying.

Exit 0 upgraded (or nothing to do); 2 refused before anything changed; 1 any other failure.`,
		Example: `  tapstack upgrade --to 1.36 --dry-run
  tapstack upgrade --to 1.36
  tapstack upgrade --config takeover.yaml --to 1.34 --skip-live-checks`,
		RunE: func(*cobra.Command, []string) error { return runUpgrade(sf, ef, uo, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, buildFlags)
	ef = addEngineFlags(fs)
	fs.StringVar(&uo.to, "to", "", "the Kubernetes version to move the cluster to, one minor version at a time (required)")
	fs.BoolVar(&uo.dryRun, "dry-run", false, "print every step (control plane, add-ons, node groups) without planning or applying")
	fs.BoolVar(&uo.allowDestroy, "allow-destroy", false,
		"apply a step whose plan deletes or replaces the cluster, the VPC, a subnet, the OIDC provider, a node group or the log group")
	fs.BoolVar(&uo.skipLive, "skip-live-checks", false, "do not run the live checks of each step's version before the first step")
	fs.DurationVar(&uo.liveTimeout, "live-timeout", live.DefaultTimeout, "the time limit of each live check")
	fs.BoolVar(&uo.skipInCluster, "skip-in-cluster", false,
		"do not apply the default StorageClass through the cluster's Kubernetes API after each step (for a runner that cannot reach the endpoint)")
	return cmd
}

func runUpgrade(sf *stackFlags, ef *engineFlags, uo upgradeOptions, s stdio) error {
	if err := lifecycle.CheckUpgradeTarget(uo.to); err != nil {
		return commandError(s, err)
	}
	if uo.liveTimeout <= 0 {
		return fail(exitInvalid, "--live-timeout: %s is not a positive duration", uo.liveTimeout)
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	_, err = lifecycle.Upgrade(ctx, p, options(sf, ef, newProgress(s)), lifecycle.UpgradeOptions{
		To: uo.to, DryRun: uo.dryRun, AllowDestroy: uo.allowDestroy, SkipLive: uo.skipLive, LiveTimeout: uo.liveTimeout,
		ResolveAddons: resolveAddons, Live: upgradeLive, SkipInCluster: uo.skipInCluster})
	return commandError(s, err)
}

// kubeClient reaches the cluster's Kubernetes API (deploy, upgrade, verify) unless a test replaces it (nil:
// lifecycle.ClusterClient).
var kubeClient lifecycle.KubeClient

// resolveAddons and upgradeLive are the account's unless a test replaces them (nil: lifecycle's defaults).
var (
	resolveAddons func(ctx context.Context, cfg *config.Config, k8s string, names []string) (map[string]live.AddonVersions, error)
	upgradeLive   func(ctx context.Context, in live.Input, opts live.Options) (*live.Report, error)
)
