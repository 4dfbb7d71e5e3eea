package stack

import (
	"encoding/json"
	"strconv"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

type addons struct {
	vpcCNI     *tfdoc.Resource
	beforeNode []*tfdoc.Resource // the add-ons nodes need to become Ready
}

func addon(d *tfdoc.Document, cfg *config.Config, cl cluster, addr, name, version string, body tfdoc.Body) *tfdoc.Resource {
	if body == nil {
		body = tfdoc.Body{}
	}
	body["cluster_name"] = cl.eks.Ref("name")
	body["addon_name"] = name
	if _, set := body["resolve_conflicts_on_create"]; !set {
		body["resolve_conflicts_on_create"] = "OVERWRITE"
		body["resolve_conflicts_on_update"] = "OVERWRITE"
	}
	if version != "" {
		body["addon_version"] = version
	}
	return d.Resource("aws_eks_addon", addr, setTags(body, tags(cfg, "")))
}

// buildAddons declares the add-ons that must run before nodes join: vpc-cni, kube-proxy and the Pod Identity
// agent. Versions come from the configuration (vpc-cni pin) or from opts.AddonVersions (resolved live for the
// cluster's version); unset, EKS installs its default for the cluster's version.
func buildAddons(d *tfdoc.Document, cfg *config.Config, cl cluster, cniRole *tfdoc.Resource, opts Options) addons {
	c := cfg.Addons.VPCCNI
	version := c.Version
	if version == "" {
		version = opts.AddonVersions["vpc-cni"]
	}
	body := tfdoc.Body{
		"configuration_values":        VPCCNIConfiguration(c),
		"resolve_conflicts_on_create": c.ResolveOnCreate,
		"resolve_conflicts_on_update": c.ResolveOnUpdate,
	}
	if cniRole != nil {
		body["service_account_role_arn"] = cniRole.Ref("arn")
	}
	out := addons{vpcCNI: addon(d, cfg, cl, "vpc_cni_addon", "vpc-cni", version, body)}
	out.beforeNode = append(out.beforeNode, out.vpcCNI)
	if cfg.Addons.KubeProxy {
		out.beforeNode = append(out.beforeNode, addon(d, cfg, cl, "kube_proxy_addon", "kube-proxy", opts.AddonVersions["kube-proxy"], nil))
	}
	if cfg.Addons.PodIdentityAgent {
		out.beforeNode = append(out.beforeNode, addon(d, cfg, cl, "pod_identity_agent_addon", "eks-pod-identity-agent", opts.AddonVersions["eks-pod-identity-agent"], nil))
	}
	return out
}

// buildCoreDNS declares coredns after the node groups: it is a Deployment and stays DEGRADED without nodes.
func buildCoreDNS(d *tfdoc.Document, cfg *config.Config, cl cluster, ngs []*tfdoc.Resource, opts Options) {
	if !cfg.Addons.CoreDNS {
		return
	}
	addon(d, cfg, cl, "coredns_addon", "coredns", opts.AddonVersions["coredns"], nil).DependOn(ngs...)
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
