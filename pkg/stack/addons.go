package stack

import (
	"encoding/json"
	"strconv"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

type addons struct {
	vpcCNI *tfdoc.Resource
}

func buildAddons(d *tfdoc.Document, cfg *config.Config, cl cluster) addons {
	c := cfg.Addons.VPCCNI
	body := tfdoc.Body{
		"cluster_name":                cl.eks.Ref("name"),
		"addon_name":                  "vpc-cni",
		"configuration_values":        VPCCNIConfiguration(c),
		"resolve_conflicts_on_create": c.ResolveOnCreate,
		"resolve_conflicts_on_update": c.ResolveOnUpdate,
	}
	if c.Version != "" {
		body["addon_version"] = c.Version
	}
	return addons{vpcCNI: d.Resource("aws_eks_addon", "vpc_cni_addon", setTags(body, tags(cfg, "")))}
}

// VPCCNIConfiguration is the add-on's configuration_values. EKS wants every env value as a string.
func VPCCNIConfiguration(c config.VPCCNI) string {
	env := map[string]string{"ENABLE_PREFIX_DELEGATION": strconv.FormatBool(c.PrefixDelegation)}
	if c.PrefixDelegation { // WARM_PREFIX_TARGET only applies with prefix delegation on
		env["WARM_PREFIX_TARGET"] = strconv.Itoa(c.WarmPrefixTarget)
	}
	b, _ := json.Marshal(map[string]any{"env": env})
	return string(b)
}
