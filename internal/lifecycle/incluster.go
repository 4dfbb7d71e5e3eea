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
	// AutoscalerImage is the Cluster Autoscaler image applied: the release of the cluster's Kubernetes minor.
	AutoscalerImage string `json:"autoscalerImage,omitempty"`
	// Autoscaler is what applying the Cluster Autoscaler, or removing it once turned off, did to each of its objects.
	Autoscaler []incluster.AutoscalerChange `json:"autoscaler,omitempty"`
	// Skipped says what was not done, and why.
	Skipped []string `json:"skipped,omitempty"`
}

// Lines are the result as lines for a person. The autoscaler's objects are one line when none changed.
func (r *InClusterResult) Lines() []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range r.StorageClass {
		out = append(out, c.String())
	}
	changed := false
	for _, c := range r.Autoscaler {
		if c.Action != incluster.AutoscalerUnchanged {
			out = append(out, "Cluster Autoscaler: "+c.String())
			changed = true
		}
	}
	if r.AutoscalerImage != "" && !changed {
		out = append(out, "Cluster Autoscaler unchanged ("+r.AutoscalerImage+")")
	} else if r.AutoscalerImage != "" {
		out = append(out, "Cluster Autoscaler runs "+r.AutoscalerImage)
	}
	for _, s := range r.Skipped {
		out = append(out, "not done: "+s)
	}
	return out
}

// clusterKeyARN is the ARN of the stack's KMS key in the state; "" when the stack has none (no encryption).
func clusterKeyARN(st *tfjson.State) string {
	arn, _ := engine.Attribute(st, stack.KMSKeyAddress, "arn").(string)
	return arn
}

// noteAutoscaler records, from the state before this workflow's first apply, whether the environment ran the
// Cluster Autoscaler: once it is turned off, the apply removes its role, and inCluster removes its objects.
func (ss *session) noteAutoscaler(ex *stack.Existing) {
	if !ss.followed {
		ss.followed = true
		ss.autoscalerBefore = ex != nil && ex.Addresses[stack.AutoscalerAssociationAddress]
	}
}

// inCluster applies what tapstack owns inside the cluster, after an apply: the default StorageClass (with the EBS
// CSI driver), encrypted with the stack's key when the state has one, and the Cluster Autoscaler at the release of
// the Kubernetes version the state's cluster runs (so each upgrade step moves it), or removes the autoscaler's
// objects in the deploy that turns it off. With skip it only says what it did not do. An error names why the
// cluster could not be reached and how to run it.
func (ss *session) inCluster(ctx context.Context, st *tfjson.State, skip bool) (*InClusterResult, error) {
	cfg := ss.p.Config
	storage, autoscale := stack.OwnsDefaultStorageClass(cfg), cfg.RunsClusterAutoscaler()
	removeAutoscaler := !autoscale && ss.autoscalerBefore
	if !storage && !autoscale && !removeAutoscaler {
		return nil, nil
	}
	res := &InClusterResult{}
	var a incluster.Autoscaler
	if autoscale {
		version, _ := engine.Attribute(st, stack.ClusterAddress, "version").(string)
		if version == "" {
			version = ss.p.Stack.KubernetesVersion
		}
		var err error
		if a, err = incluster.NewAutoscaler(cfg, version); err != nil {
			return res, step("in-cluster", err)
		}
	}
	if skip {
		if storage {
			res.Skipped = append(res.Skipped, fmt.Sprintf("the default StorageClass %s was not applied, nor other classes "+
				"un-marked as default (--skip-in-cluster); run tapstack deploy where the cluster's endpoint is reachable "+
				"to apply it", incluster.DefaultStorageClassName))
		}
		if autoscale {
			res.Skipped = append(res.Skipped, fmt.Sprintf("the Cluster Autoscaler (%s) was not applied (--skip-in-cluster): "+
				"the node groups keep their sizes until tapstack %s runs where the cluster's endpoint is reachable", a.Image, ss.name))
		}
		if removeAutoscaler {
			res.Skipped = append(res.Skipped, "the Cluster Autoscaler's objects were not removed (--skip-in-cluster), and its role "+
				"is gone: delete them with kubectl -n kube-system delete deployment,poddisruptionbudget,role,rolebinding,serviceaccount "+
				"cluster-autoscaler; kubectl delete clusterrole,clusterrolebinding cluster-autoscaler")
		}
		return res, nil
	}
	var client kubernetes.Interface
	connect := func() (err error) {
		if client == nil {
			client, err = ss.o.kube()(ctx, cfg)
		}
		return err
	}
	if storage {
		if err := timed(ss.pr, "default StorageClass", func() error {
			if err := connect(); err != nil {
				return err
			}
			r, err := incluster.EnsureDefaultStorageClass(ctx, client, incluster.DefaultStorageClass(clusterKeyARN(st)))
			res.StorageClass = r.Changes
			return err
		}); err != nil {
			return res, step("in-cluster", explainKube(cfg, "tapstack "+ss.name, err))
		}
	}
	if autoscale || removeAutoscaler {
		phase := "Cluster Autoscaler"
		if removeAutoscaler {
			phase = "Cluster Autoscaler removal"
		}
		if err := timed(ss.pr, phase, func() error {
			if err := connect(); err != nil {
				return err
			}
			var r incluster.AutoscalerResult
			var err error
			if autoscale {
				res.AutoscalerImage = a.Image
				r, err = incluster.ApplyAutoscaler(ctx, client, a)
			} else {
				r, err = incluster.RemoveAutoscaler(ctx, client)
			}
			res.Autoscaler = r.Changes
			return err
		}); err != nil {
			return res, step("in-cluster", explainKube(cfg, "tapstack "+ss.name, err))
		}
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
		return fmt.Errorf("cannot reach the Kubernetes API of cluster %s to apply what tapstack runs inside it: %w; %s: "+
			"run %s %s%s", cfg.ClusterName(), err,
			incluster.ReachHint(cfg.Cluster.EndpointPublicAccess, cfg.Cluster.PublicAccessCIDRs), command, where, skip)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("cluster %s refused the caller's token: %w; the caller needs an access entry on the cluster "+
			"(add it to cluster.adminPrincipals and deploy, or see tapstack kubeconfig's warning)%s", cfg.ClusterName(), err, skip)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("cluster %s does not let the caller manage what tapstack applies (StorageClasses, the Cluster Autoscaler's RBAC and Deployment): %w; associate "+
			"AmazonEKSClusterAdminPolicy with the caller's access entry%s", cfg.ClusterName(), err, skip)
	}
	return err
}
