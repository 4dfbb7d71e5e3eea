package lifecycle

import (
	"context"
	"fmt"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	tfjson "github.com/hashicorp/terraform-json"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/stack"
)

// KubeClient connects to the environment's cluster's Kubernetes API.
type KubeClient func(ctx context.Context, cfg *config.Config) (kubernetes.Interface, error)

// kubeRequestTimeout bounds each request to the cluster's API: a private endpoint seen from outside its VPC
// answers nothing, and the deploy should say so rather than wait for TCP to give up.
const kubeRequestTimeout = 30 * time.Second

// ClusterClient is the default KubeClient: the standard credential chain in the cluster's region, and the
// cluster's endpoint and CA from EKS (ClusterREST).
func ClusterClient(ctx context.Context, cfg *config.Config) (kubernetes.Interface, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	rc, err := ClusterREST(ctx, awsCfg, cfg, nil)
	if err != nil {
		return nil, err
	}
	rc.Timeout = kubeRequestTimeout
	return kubernetes.NewForConfig(rc)
}

func (o Options) kube() KubeClient {
	if o.Kube != nil {
		return o.Kube
	}
	return ClusterClient
}

// InClusterResult is what a workflow did inside the cluster through its Kubernetes API.
type InClusterResult struct {
	// StorageClass is what applying the default StorageClass did to each class it touched.
	StorageClass []incluster.Change `json:"storageClass,omitempty"`
	// Skipped says what was not done, and why.
	Skipped []string `json:"skipped,omitempty"`
}

// Lines are the result as lines for a person.
func (r *InClusterResult) Lines() []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range r.StorageClass {
		out = append(out, c.String())
	}
	for _, s := range r.Skipped {
		out = append(out, "not done: "+s)
	}
	return out
}

// wantsInCluster says whether the configuration has tapstack apply anything inside the cluster: the default
// StorageClass.
func wantsInCluster(cfg *config.Config) bool { return stack.OwnsDefaultStorageClass(cfg) }

// clusterKeyARN is the ARN of the stack's KMS key in the state; "" when the stack has none (no encryption).
func clusterKeyARN(st *tfjson.State) string {
	arn, _ := engine.Attribute(st, stack.KMSKeyAddress, "arn").(string)
	return arn
}

// inCluster applies what tapstack owns inside the cluster, after an apply: the default StorageClass, encrypted
// with the stack's key when the state has one. With skip it only says what it did not do. An error names why
// the cluster could not be reached and how to run it.
func (ss *session) inCluster(ctx context.Context, st *tfjson.State, skip bool) (*InClusterResult, error) {
	cfg := ss.p.Config
	if !wantsInCluster(cfg) {
		return nil, nil
	}
	sc := incluster.DefaultStorageClass(clusterKeyARN(st))
	res := &InClusterResult{}
	if skip {
		res.Skipped = append(res.Skipped, fmt.Sprintf("the default StorageClass %s was not applied, nor other classes "+
			"un-marked as default (--skip-in-cluster); run tapstack deploy where the cluster's endpoint is reachable "+
			"to apply it", sc.Name))
		return res, nil
	}
	var client kubernetes.Interface
	err := timed(ss.pr, "default StorageClass", func() (err error) {
		if client, err = ss.o.kube()(ctx, cfg); err != nil {
			return err
		}
		r, err := incluster.EnsureDefaultStorageClass(ctx, client, sc)
		res.StorageClass = r.Changes
		return err
	})
	if err != nil {
		return res, step("in-cluster", explainKube(cfg, "tapstack "+ss.name, err))
	}
	return res, nil
}

// explainKube adds to an error of the cluster's Kubernetes API why it happens and what to do; command is what to
// run again ("tapstack deploy").
func explainKube(cfg *config.Config, command string, err error) error {
	skip := "; or pass --skip-in-cluster, which applies the rest and lists what it did not do"
	switch {
	case incluster.Unreachable(err):
		where := "from inside the VPC (a CI runner or a bastion there)"
		if cfg.Cluster.EndpointPublicAccess {
			where = "from a network that reaches the endpoint, or from inside the VPC"
		}
		return fmt.Errorf("cannot reach the Kubernetes API of cluster %s to apply the default StorageClass: %w; %s: "+
			"run %s %s%s", cfg.ClusterName(), err,
			incluster.ReachHint(cfg.Cluster.EndpointPublicAccess, cfg.Cluster.PublicAccessCIDRs), command, where, skip)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("cluster %s refused the caller's token: %w; the caller needs an access entry on the cluster "+
			"(add it to cluster.adminPrincipals and deploy, or see tapstack kubeconfig's warning)%s", cfg.ClusterName(), err, skip)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("cluster %s does not let the caller manage StorageClasses: %w; associate "+
			"AmazonEKSClusterAdminPolicy with the caller's access entry%s", cfg.ClusterName(), err, skip)
	}
	return err
}
