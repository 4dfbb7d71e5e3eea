package rules

import (
	"fmt"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/stack"
)

// IDAutoscaling and IDAutoscalerRuns are the Cluster Autoscaler's rules: the setting itself, and what the
// autoscaler needs to run.
const (
	IDAutoscaling    = "TS123"
	IDAutoscalerRuns = "TS221"
)

func init() {
	register(Rule{ID: IDAutoscaling, Kind: Invalid, Summary: "autoscaling takes a known value; no Cluster Autoscaler with Auto Mode or beside a workload identity for its service account",
		Check: func(in *Input) []Finding {
			c := in.Config
			if fs := oneOf("autoscaling", c.Autoscaling, config.AutoscalingClusterAutoscaler, config.AutoscalingNone); fs != nil {
				return fs
			}
			if c.Autoscaling != config.AutoscalingClusterAutoscaler {
				return nil
			}
			if c.Cluster.Compute == config.ComputeAuto {
				// Auto Mode launches and removes its own nodes (EKS user guide, automode); it has no node group for
				// the autoscaler to size, and two autoscalers would fight over the same pending pods.
				return []Finding{{Path: "autoscaling", Message: "the Cluster Autoscaler with cluster.compute: auto, which scales its own nodes",
					Fix: "remove autoscaling (it defaults to none with Auto Mode), or use cluster.compute: node-groups"}}
			}
			var fs []Finding
			for i, w := range c.WorkloadIdentities {
				if w.Namespace == stack.AutoscalerNamespace && w.ServiceAccount == stack.AutoscalerServiceAccount {
					// EKS keeps one Pod Identity association per service account (EKS user guide, pod-id-association).
					fs = append(fs, Finding{Path: fmt.Sprintf("workloadIdentities[%d]", i),
						Message: fmt.Sprintf("%s:%s is the Cluster Autoscaler's service account, which has its own role and association", w.Namespace, w.ServiceAccount),
						Fix:     "use another service account, or set autoscaling: none"})
				}
			}
			return fs
		}})
	register(Rule{ID: IDAutoscalerRuns, Kind: WouldFail, Summary: "the Cluster Autoscaler has a release for the Kubernetes version and the Pod Identity agent for its credentials",
		Check: func(in *Input) []Finding {
			c := in.Config
			if !c.RunsClusterAutoscaler() {
				return nil
			}
			var fs []Finding
			if v := c.Cluster.KubernetesVersion; versionOK(v) {
				if _, _, ok := in.Data.ClusterAutoscalerImage(v); !ok {
					fs = append(fs, Finding{Path: "cluster.kubernetesVersion",
						Message: fmt.Sprintf("the version data holds no Cluster Autoscaler release for Kubernetes %s; an autoscaler of another minor is untested against it (kubernetes/autoscaler README, Releases)", v),
						Fix:     "add the release to pkg/versions/data/eks.json (clusterAutoscaler.releases), choose a version that has one, or set autoscaling: none"})
				}
			}
			if !c.Addons.PodIdentityAgent {
				// Without the agent's DaemonSet no pod receives the association's credentials (EKS user guide,
				// pod-id-agent-setup): the autoscaler would start and fail on every AWS call.
				fs = append(fs, Finding{Path: "addons.podIdentityAgent",
					Message: "the Cluster Autoscaler gets its role through Pod Identity, but the eks-pod-identity-agent add-on is off: its pods would get no credentials",
					Fix:     "set addons.podIdentityAgent: true, or autoscaling: none"})
			}
			return fs
		}})
}
