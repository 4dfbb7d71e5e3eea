package lifecycle

import (
	"context"
	"fmt"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/pkg/config"
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
