package main

import (
	"errors"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/rules"
)

func init() { register(newVerifyCommand) }

// verifyFlags: verify compares the account with the configuration and the outputs file. It reads no state and
// refuses only invalid findings, so --date and --allow change nothing, and it writes nothing and drives no engine
// (no --out, --adopt-existing or --engine).
var verifyFlags = stackFlagSet{settings: shapesEnvironment}

func newVerifyCommand(s stdio) *cobra.Command {
	var (
		sf            *stackFlags
		path          string
		rf            reportFlags
		skipInCluster bool
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "check the live stack against the configuration and the outputs file",
		Long: `verify reads the outputs file (nested or flat; snake_case, camelCase or PascalCase keys) and checks the live
stack against it and the configuration: the cluster ACTIVE on the configured version with the same endpoint; the
OIDC provider for its issuer; each node group with its capacity type, instance types and scaling; the vpc-cni
add-on with its version and configuration; the log group's retention; the subnets. Through the cluster's
Kubernetes API (as the caller's AWS identity, like tapstack token): every node Ready and on the cluster's minor
version as EKS reports it (the kubelet's version), coredns's Deployment available and the other add-ons'
Deployments and DaemonSets available where they run; with the EBS CSI driver on, the default StorageClass
(encrypted gp3 with the stack's key, the only default); with autoscaling: cluster-autoscaler, the Cluster
Autoscaler (available, on the configured version's release, with its flags, service account and region). When
that API cannot be reached (a private endpoint from outside the VPC) verify says so for each of those checks,
which count as not verified; --skip-in-cluster leaves them out on purpose, for a runner that cannot reach the
endpoint, and the report lists them as skipped. Each mismatch is printed as expected vs actual.

Exit 0 when every fact was read and matches, 2 when a fact does not match (or the input is bad), 1 when nothing
mismatched but some fact could not be read.`,
		Example: `  tapstack verify
  tapstack verify --outputs cfn-outputs/flat-outputs.json --format json
  tapstack verify --kubernetes-version 1.32`,
		RunE: func(*cobra.Command, []string) error { return runVerify(sf, path, rf, skipInCluster, s) },
	}
	flags := cmd.Flags()
	sf = addStackFlags(flags, verifyFlags)
	flags.StringVar(&path, "outputs", outputs.DefaultPath, "the outputs file (nested per stack or flat; any key case)")
	rf = addReportFlags(flags, "the time limit of each part of the verification")
	flags.BoolVar(&skipInCluster, "skip-in-cluster", false,
		"do not verify through the cluster's Kubernetes API (nodes, add-on workloads, the default StorageClass, the Cluster Autoscaler), for a runner that cannot reach the endpoint")
	return cmd
}

// runVerify exits 0 when every fact was read and matches, 2 when any fact does not match (or the input is bad:
// an invalid configuration, a missing or unreadable outputs file), and 1 when nothing mismatched but some fact
// could not be read (a missing permission, an API the endpoint lacks, a timeout, a network error).
func runVerify(sf *stackFlags, path string, rf reportFlags, skipInCluster bool, s stdio) error {
	format, timeout := rf.format, rf.timeout
	if err := rf.validate(); err != nil {
		return err
	}
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	if err := lifecycle.Refuse(p.Findings, "; nothing was checked", rules.Invalid); err != nil {
		return commandError(s, err)
	}
	vals, err := outputs.Read(path, p.Config.StackName())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(exitInvalid, "outputs file %s does not exist: run tapstack deploy (or tapstack outputs) first, or name it with --outputs", path)
		}
		return fail(exitInvalid, "outputs file %s: %v", path, err)
	}
	ctx, stop := commandContext()
	defer stop()
	r, err := lifecycle.Verify(ctx, p, vals, lifecycle.VerifyOptions{Timeout: *timeout, SkipInCluster: skipInCluster, Kube: kubeClient})
	if err != nil {
		return err
	}
	if *format == "json" {
		err = r.WriteJSON(s.out)
	} else {
		err = r.WriteText(s.out)
	}
	if err != nil {
		return err
	}
	switch {
	case r.Summary.Mismatched > 0:
		return fail(exitInvalid, "%d fact(s) of the live stack do not match", r.Summary.Mismatched)
	case !r.OK():
		return fail(exitFailure, "%d fact(s) could not be verified", r.Summary.NotChecked+r.Summary.Errors)
	}
	return nil
}
