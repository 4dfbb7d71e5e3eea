package main

import (
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/kubeaccess"
	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/config"
)

func init() { register(newKubeconfigCommand) }

// namesCluster selects the settings the cluster's name and region follow from; kubeconfig reads no state, so the
// state bucket's are not its flags.
func namesCluster(s config.Setting) bool {
	switch s.Path {
	case "profile", "environmentSuffix", "region":
		return true
	}
	return false
}

func newKubeconfigCommand(s stdio) *cobra.Command {
	var (
		sf         *stackFlags
		out, alias string
	)
	cmd := &cobra.Command{
		Use:   "kubeconfig",
		Short: "merge a context for the environment's cluster into the kubeconfig",
		Long: `kubeconfig reads the environment's cluster from EKS (endpoint and CA) and merges a context for it into the
kubeconfig: --out FILE, else the first existing file of KUBECONFIG, else ~/.kube/config. The context's user runs
tapstack token as kubectl's credential plugin, so kubectl needs only tapstack on PATH and AWS credentials. Other
contexts, clusters and users stay as they were; the context becomes the current one; running it again replaces
it. The file is written atomically with mode 0600. It prints the file's path on stdout.

It then looks for the caller's access entry on the cluster and warns on stderr when there is none (kubectl would
be refused), with the way to add one.`,
		Example: `  tapstack kubeconfig
  tapstack kubeconfig --alias dev
  tapstack kubeconfig --environment-suffix pr42 --out ./kubeconfig`,
		RunE: func(*cobra.Command, []string) error { return runKubeconfig(sf, out, alias, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, stackFlagSet{settings: namesCluster})
	fs.StringVar(&out, "out", "", "kubeconfig file to merge into (default: the first file of KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&alias, "alias", "", "name of the context (default: the cluster's ARN)")
	return cmd
}

func runKubeconfig(sf *stackFlags, out, alias string, s stdio) error {
	p, err := sf.prepare(s)
	if err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	res, err := lifecycle.Kubeconfig(ctx, p, lifecycle.KubeconfigOptions{File: out, Alias: alias})
	if err != nil {
		return commandError(s, err)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(s.err, "note: %s\n", n)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(s.err, "warning: %s\n", w)
	}
	if _, err := exec.LookPath(kubeaccess.DefaultCommand); err != nil {
		fmt.Fprintf(s.err, "warning: %s is not on PATH: kubectl runs `%s token` for this context and will not find it\n",
			kubeaccess.DefaultCommand, kubeaccess.DefaultCommand)
	}
	verb := "added"
	if res.Replaced {
		verb = "replaced"
	}
	fmt.Fprintf(s.err, "%s context %s (cluster %s, %s) in %s; it is the current context\n", verb, res.Context,
		res.Cluster.Name, res.Cluster.Endpoint, res.File)
	fmt.Fprintln(s.out, res.File)
	return nil
}
