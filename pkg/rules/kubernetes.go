package rules

import (
	"fmt"
	"regexp"

	"github.com/tapstack/tapstack/pkg/versions"
)

var minorPattern = regexp.MustCompile(`^[1-9][0-9]*\.(0|[1-9][0-9]*)$`)

func versionOK(v string) bool { return minorPattern.MatchString(v) }

// IDSupportEnded is the rule that refuses a version past the end of extended support, by the calendar alone.
// Upgrade lets it pass for an intermediate version: EKS moves a cluster through versions it no longer creates.
const IDSupportEnded = "TS202"

func init() {
	register(Rule{ID: "TS104", Kind: Invalid, Summary: "the Kubernetes version is major.minor",
		Check: func(in *Input) []Finding {
			if v := in.Config.Cluster.KubernetesVersion; !versionOK(v) {
				return []Finding{{Path: "cluster.kubernetesVersion", Message: fmt.Sprintf("%q is not a Kubernetes version", v),
					Fix: fmt.Sprintf("use major.minor, such as %s", in.Data.DefaultKubernetesVersion)}}
			}
			return nil
		}})
	register(Rule{ID: "TS201", Kind: WouldFail, Summary: "the Kubernetes version is in the EKS calendar",
		Check: func(in *Input) []Finding {
			v := in.Config.Cluster.KubernetesVersion
			if _, ok := in.Data.Lookup(v); ok || !versionOK(v) {
				return nil
			}
			return []Finding{{Path: "cluster.kubernetesVersion",
				Message: fmt.Sprintf("Kubernetes %s is not in the EKS calendar (data checked %s)", v, in.Data.Checked),
				Fix:     fmt.Sprintf("use a listed version (tapstack versions), such as %s; for a version newer than the data, --allow TS201", in.Data.DefaultKubernetesVersion)}}
		}})
	register(Rule{ID: IDSupportEnded, Kind: WouldFail, Summary: "the Kubernetes version has not reached the end of extended support",
		Check: func(in *Input) []Finding {
			v := in.Config.Cluster.KubernetesVersion
			if in.Data.StatusOn(v, in.Date) != versions.StatusEnded {
				return nil
			}
			k, _ := in.Data.Lookup(v)
			return []Finding{{Path: "cluster.kubernetesVersion",
				Message: fmt.Sprintf("Kubernetes %s reached the end of extended support on %s: EKS cannot create a cluster on it", v, k.EndOfExtended),
				Fix:     fmt.Sprintf("use %s (tapstack versions lists what is supported); for an existing cluster EKS already moved, --allow %s", in.Data.DefaultKubernetesVersion, IDSupportEnded)}}
		}})
	register(Rule{ID: "TS203", Kind: WouldFail, Summary: "the Kubernetes version is released on EKS",
		Check: func(in *Input) []Finding {
			v := in.Config.Cluster.KubernetesVersion
			if in.Data.StatusOn(v, in.Date) != versions.StatusUnreleased {
				return nil
			}
			k, _ := in.Data.Lookup(v)
			return []Finding{{Path: "cluster.kubernetesVersion",
				Message: fmt.Sprintf("Kubernetes %s is not released on EKS until %s", v, k.Released),
				Fix:     "use a released version (tapstack versions)"}}
		}})
	register(Rule{ID: "TS204", Kind: WouldFail, Summary: "the version is one the provider can create (Auto Mode minimum)",
		Check: func(in *Input) []Finding {
			v := in.Config.Cluster.KubernetesVersion
			if !versionOK(v) || versions.CompareMinor(v, in.Data.AutoModeMinimum) >= 0 {
				return nil
			}
			return []Finding{{Path: "cluster.kubernetesVersion",
				Message: fmt.Sprintf("Kubernetes %s is below %s: %s, so EKS answers \"EKS Auto Mode is only supported for cluster version %s or above\"",
					v, in.Data.AutoModeMinimum, in.Data.ComputeConfigProviderNote, in.Data.AutoModeMinimum),
				Fix: fmt.Sprintf("use %s or newer", in.Data.AutoModeMinimum)}}
		}})
	register(Rule{ID: "TS301", Kind: Advice, Summary: "the Kubernetes version is in extended support (billed at the higher rate)",
		Check: func(in *Input) []Finding {
			v := in.Config.Cluster.KubernetesVersion
			if in.Data.StatusOn(v, in.Date) != versions.StatusExtended {
				return nil
			}
			k, _ := in.Data.Lookup(v)
			p := in.Data.Prices
			diff := (p.ControlPlaneExtendedHourly.Value - p.ControlPlaneStandardHourly.Value) * p.HoursPerMonth
			return []Finding{{Path: "cluster.kubernetesVersion",
				Message: fmt.Sprintf("Kubernetes %s left standard support on %s; extended support costs $%.2f instead of $%.2f per cluster-hour (+$%.2f a month) and ends %s",
					v, k.EndOfStandard, p.ControlPlaneExtendedHourly.Value, p.ControlPlaneStandardHourly.Value, diff, k.EndOfExtended),
				Fix: fmt.Sprintf("use %s", in.Data.DefaultKubernetesVersion)}}
		}})
	register(Rule{ID: "TS302", Kind: Advice, Summary: "the Kubernetes version is not within 90 days of the end of standard support",
		Check: func(in *Input) []Finding {
			v := in.Config.Cluster.KubernetesVersion
			if in.Data.StatusOn(v, in.Date) != versions.StatusStandard {
				return nil
			}
			k, _ := in.Data.Lookup(v)
			days := int(k.EndOfStandard.Sub(in.Date.Time).Hours() / 24)
			if days > 90 {
				return nil
			}
			return []Finding{{Path: "cluster.kubernetesVersion",
				Message: fmt.Sprintf("standard support for Kubernetes %s ends on %s, in %d days; then it is billed as extended support", v, k.EndOfStandard, days),
				Fix:     fmt.Sprintf("plan the upgrade, or start on %s", in.Data.DefaultKubernetesVersion)}}
		}})
}
