package kubeaccess

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tapstack/tapstack/internal/fsutil"
)

// Cluster is what a client needs to reach an EKS cluster's API, from DescribeCluster.
type Cluster struct {
	Name     string // signed into tokens (x-k8s-aws-id)
	ARN      string
	Region   string
	Endpoint string
	CAData   []byte // PEM
	// AuthenticationMode is API, API_AND_CONFIG_MAP or CONFIG_MAP; "" when EKS did not say.
	AuthenticationMode string
}

// DefaultCommand is the credential plugin's command in a kubeconfig: found on PATH when kubectl runs, as `aws`
// is for `aws eks update-kubeconfig`. The running executable's path would break with `go run` (a temporary
// binary), a reinstall elsewhere or a kubeconfig shared between machines.
const DefaultCommand = "tapstack"

// Entry is one environment's entries in a kubeconfig.
type Entry struct {
	Cluster Cluster
	// Context names the context; "" names it, like its cluster and user entries, after the cluster's ARN (as
	// `aws eks update-kubeconfig` does), so environments in other accounts or regions do not collide.
	Context string
	// Command runs the credential plugin; "" is DefaultCommand.
	Command string
}

// entryName is the name of the cluster and user entries.
func (e Entry) entryName() string {
	if e.Cluster.ARN != "" {
		return e.Cluster.ARN
	}
	return e.Cluster.Name
}

// ContextName is the context Merge sets.
func (e Entry) ContextName() string {
	if e.Context != "" {
		return e.Context
	}
	return e.entryName()
}

// Merge sets e's cluster, user and context in cfg, replacing entries of the same names, and makes the context
// current; every other entry stays as it was. replaced reports that the context existed.
func Merge(cfg *clientcmdapi.Config, e Entry) (replaced bool) {
	command := e.Command
	if command == "" {
		command = DefaultCommand
	}
	name, context := e.entryName(), e.ContextName()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = e.Cluster.Endpoint
	cluster.CertificateAuthorityData = e.Cluster.CAData
	user := clientcmdapi.NewAuthInfo()
	user.Exec = &clientcmdapi.ExecConfig{
		APIVersion: ExecAPIVersion,
		Command:    command,
		Args:       []string{"token", "--cluster", e.Cluster.Name, "--region", e.Cluster.Region},
		// The plugin never prompts: kubectl may run it where no one can answer (CI, a pipe).
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		InstallHint:     "tapstack signs this cluster's tokens (tapstack token): put the tapstack binary on PATH",
	}
	kctx := clientcmdapi.NewContext()
	kctx.Cluster, kctx.AuthInfo = name, name
	_, replaced = cfg.Contexts[context]
	cfg.Clusters[name], cfg.AuthInfos[name], cfg.Contexts[context] = cluster, user, kctx
	cfg.CurrentContext = context
	return replaced
}

// KubeconfigPath is the file a kubeconfig is merged into: explicit when given, else kubectl's choice through
// clientcmd's loading rules, the first existing file of $KUBECONFIG (or its first file when none exists), or
// ~/.kube/config without KUBECONFIG.
func KubeconfigPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	return clientcmd.NewDefaultClientConfigLoadingRules().GetDefaultFilename()
}

// UpdateFile merges e into the kubeconfig at path (a new one when it does not exist) and writes it atomically with
// mode 0600: a reader sees the old file or the new one. A symbolic link is followed, so the file it points to is
// replaced and the link stays. It takes kubectl's lock (path.lock) while it reads and writes, so kubectl config
// and tapstack do not lose each other's changes. A file clientcmd cannot read is an error and is left as it was.
func UpdateFile(path string, e Entry) (replaced bool, err error) {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, fmt.Errorf("%s exists: another program is writing %s (remove the lock if none is)", lock, path)
		}
		return false, err
	}
	f.Close()
	defer os.Remove(lock)

	cfg, err := clientcmd.LoadFromFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cfg = clientcmdapi.NewConfig()
	case err != nil:
		return false, fmt.Errorf("reading kubeconfig %s: %w", path, err)
	}
	replaced = Merge(cfg, e)
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return false, err
	}
	return replaced, fsutil.WriteFile(path, data, 0o600)
}
