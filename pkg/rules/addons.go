package rules

import (
	"fmt"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/stack"
)

// IDPodIdentityAgent is the rule that add-ons with a Pod Identity role have the agent that hands out its credentials.
const IDPodIdentityAgent = "TS220"

func init() {
	register(Rule{ID: IDPodIdentityAgent, Kind: WouldFail, Summary: "add-ons with a Pod Identity role run with the Pod Identity agent",
		Check: func(in *Input) []Finding {
			c := in.Config
			if c.Addons.PodIdentityAgent || c.Cluster.Compute == config.ComputeAuto {
				return nil
			}
			// Without the agent's DaemonSet no pod receives the association's credentials (EKS user guide,
			// pod-id-agent-setup): the add-on installs and then fails on every AWS call.
			var fs []Finding
			for _, p := range stack.PlatformAddons(c) {
				if p.RoleName == "" {
					continue
				}
				fs = append(fs, Finding{Path: "addons.podIdentityAgent", Message: fmt.Sprintf(
					"add-on %s gets its role through Pod Identity, but the eks-pod-identity-agent add-on is off: its pods would get no credentials",
					p.Name), Fix: "set addons.podIdentityAgent: true, or turn the add-on off"})
			}
			return fs
		}})
}
