package live

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/config"
)

// verifyStorageClass checks the default StorageClass tapstack applies inside the cluster (each fact of
// incluster.CheckDefaultStorageClass): encrypted gp3 with the outputs' key when the stack has one, and the only
// class marked default. A mismatch's note is its fix.
func verifyStorageClass(ctx context.Context, v *verifier) []Item {
	res := "StorageClass " + incluster.DefaultStorageClassName
	key := ""
	if v.cfg.Cluster.SecretsEncryption || v.cfg.Cluster.LogEncryption {
		k, missing := v.output("kms_key_arn", res)
		if missing != nil {
			return []Item{*missing}
		}
		key = k
	}
	client, err := v.kube(ctx)
	if err != nil {
		return []Item{kubeFailure(ctx, v.cfg, res, err)}
	}
	facts, err := incluster.CheckDefaultStorageClass(ctx, client, incluster.DefaultStorageClass(key))
	if err != nil {
		return []Item{kubeFailure(ctx, v.cfg, res, err)}
	}
	items := make([]Item, 0, len(facts))
	for _, f := range facts {
		it := Item{Resource: "StorageClass " + f.StorageClass, Field: f.Field, Expected: f.Want, Actual: f.Have, Status: Match}
		if !f.OK() {
			it.Status, it.Note = Mismatch, f.Fix
		}
		items = append(items, it)
	}
	return items
}

// kubeFailure turns an error of the cluster's Kubernetes API into an item: unreachable (with why, and where to
// run from), refused (not checked: the caller's access), or any other failure.
func kubeFailure(ctx context.Context, cfg *config.Config, resource string, err error) Item {
	it := Item{Resource: resource, Field: "Kubernetes API", Status: Failed}
	switch {
	case incluster.Unreachable(err):
		it.Note = fmt.Sprintf("cannot reach the Kubernetes API of cluster %s (%s): %s; run tapstack verify from inside "+
			"the VPC, or pass --skip-in-cluster", cfg.ClusterName(), short(err),
			incluster.ReachHint(cfg.Cluster.EndpointPublicAccess, cfg.Cluster.PublicAccessCIDRs))
	case apierrors.IsUnauthorized(err), apierrors.IsForbidden(err):
		it.Status = NotChecked
		it.Note = fmt.Sprintf("cluster %s refused the caller (%s): it needs an access entry that may list StorageClasses",
			cfg.ClusterName(), short(err))
	default:
		return failure(ctx, resource, "Kubernetes API", err)
	}
	return it
}
