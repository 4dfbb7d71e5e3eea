package rules

import (
	"fmt"
	"regexp"

	"github.com/tapstack/tapstack/pkg/versions"
)

var cniPinPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$`)

func init() {
	register(Rule{ID: "TS110", Kind: Invalid, Summary: "the vpc-cni settings are well-formed",
		Check: func(in *Input) []Finding {
			c := in.Config.Addons.VPCCNI
			var fs []Finding
			if c.Version != "" && !cniPinPattern.MatchString(c.Version) {
				fs = append(fs, Finding{Path: "addons.vpcCni.version", Message: fmt.Sprintf("%q is not an EKS add-on version", c.Version),
					Fix: "use the form v1.18.1-eksbuild.3, or leave it empty for EKS's default"})
			}
			if c.WarmPrefixTarget < 0 {
				fs = append(fs, Finding{Path: "addons.vpcCni.warmPrefixTarget", Message: "WARM_PREFIX_TARGET is negative", Fix: "use 0 or more"})
			}
			if c.ResolveOnCreate != "NONE" && c.ResolveOnCreate != "OVERWRITE" {
				fs = append(fs, Finding{Path: "addons.vpcCni.resolveConflictsOnCreate", Message: fmt.Sprintf("%q is not allowed", c.ResolveOnCreate),
					Fix: "use NONE or OVERWRITE"})
			}
			if c.ResolveOnUpdate != "NONE" && c.ResolveOnUpdate != "OVERWRITE" && c.ResolveOnUpdate != "PRESERVE" {
				fs = append(fs, Finding{Path: "addons.vpcCni.resolveConflictsOnUpdate", Message: fmt.Sprintf("%q is not allowed", c.ResolveOnUpdate),
					Fix: "use NONE, OVERWRITE or PRESERVE"})
			}
			return fs
		}})
	register(Rule{ID: "TS205", Kind: WouldFail, Summary: "a pinned vpc-cni build is published for the Kubernetes version",
		Check: func(in *Input) []Finding {
			pin, k8s := in.Config.Addons.VPCCNI.Version, in.Config.Cluster.KubernetesVersion
			if pin == "" || !cniPinPattern.MatchString(pin) || !versionOK(k8s) {
				return nil
			}
			b, known := in.Data.CNIBuildFor(pin)
			if !known || (versions.CompareMinor(k8s, b.KubernetesMin) >= 0 && versions.CompareMinor(k8s, b.KubernetesMax) <= 0) {
				return nil
			}
			return []Finding{{Path: "addons.vpcCni.version",
				Message: fmt.Sprintf("vpc-cni %s was published for Kubernetes %s to %s, not %s: EKS answers \"Addon version specified is not supported\"",
					pin, b.KubernetesMin, b.KubernetesMax, k8s),
				Fix: "leave addons.vpcCni.version empty so EKS installs its default for the cluster's version, or pin a build DescribeAddonVersions lists (tapstack check --live)"}}
		}})
	register(Rule{ID: "TS303", Kind: Advice, Summary: "a pinned vpc-cni is not older than upstream's recommended minimum",
		Check: func(in *Input) []Finding {
			pin, k8s := in.Config.Addons.VPCCNI.Version, in.Config.Cluster.KubernetesVersion
			if pin == "" || !cniPinPattern.MatchString(pin) || !versionOK(k8s) {
				return nil
			}
			m, ok := in.Data.CNIRecommendedMinimum(k8s)
			if !ok || versions.CompareSemver(pin, m.Version) >= 0 {
				return nil
			}
			return []Finding{{Path: "addons.vpcCni.version",
				Message: fmt.Sprintf("vpc-cni %s is older than %s, the oldest upstream recommends for Kubernetes %s", pin, m.Version, m.Kubernetes),
				Fix:     fmt.Sprintf("pin %s or newer (latest upstream %s), or leave the version empty", m.Version, in.Data.VPCCNI.LatestUpstream)}}
		}})
}
