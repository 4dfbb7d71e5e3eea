package live

import (
	"context"

	"github.com/tapstack/tapstack/internal/incluster"
)

// verifyAutoscaler checks the Cluster Autoscaler tapstack applies inside the cluster (each fact of
// incluster.CheckAutoscaler): its ServiceAccount, the priority expander's ConfigMap, and its Deployment available
// on the release of the configured Kubernetes version with its command, service account and region. A mismatch's
// note is its fix.
func verifyAutoscaler(ctx context.Context, v *verifier) []Item {
	const res = "Cluster Autoscaler"
	a, err := incluster.NewAutoscaler(v.cfg, v.cfg.Cluster.KubernetesVersion)
	if err != nil { // rule TS221 refuses such a configuration before a deploy
		return []Item{{Resource: res, Field: "image", Status: Failed, Note: err.Error()}}
	}
	client, err := v.kube(ctx)
	if err != nil {
		return []Item{kubeFailure(ctx, v.cfg, res, err)}
	}
	facts, err := incluster.CheckAutoscaler(ctx, client, a)
	if err != nil {
		return []Item{kubeFailure(ctx, v.cfg, res, err)}
	}
	items := make([]Item, 0, len(facts))
	for _, f := range facts {
		it := Item{Resource: f.Object, Field: f.Field, Expected: f.Want, Actual: f.Have, Status: Match}
		if !f.OK() {
			it.Status, it.Note = Mismatch, f.Problem+"; "+f.Fix
		}
		items = append(items, it)
	}
	return items
}
