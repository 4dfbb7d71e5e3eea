package harness

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The front's fixture data. The add-on versions are test data shaped like EKS's, not a copy of what EKS offers
// today: the project must not take them for facts. The Kubernetes calendar is front_calendar.go's.

// k8sVersions are the Kubernetes versions the fixtures know, oldest first.
var k8sVersions = []string{"1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36"}

type fixtureAddonVersion struct {
	version   string
	min, max  string   // compatible Kubernetes versions, inclusive
	defaultOn []string // Kubernetes versions it is the default version for
}

type fixtureAddon struct {
	typ      string
	versions []fixtureAddonVersion // newest first, as EKS lists them
	// podIdentity is what DescribeAddonConfiguration's podIdentityConfiguration lists for versions from
	// podIdentitySince on (test data shaped like EKS's: one service account and its recommended policies).
	podIdentity      *podIdentityConfig
	podIdentitySince string
}

type podIdentityConfig struct {
	serviceAccount string
	policies       []string
	// namespace is where the add-on runs, and so where its associations are made ("" is kube-system).
	namespace string
}

var addonCatalog = map[string]fixtureAddon{
	"vpc-cni": {typ: "networking", versions: []fixtureAddonVersion{
		{"v1.20.4-eksbuild.2", "1.29", "1.36", []string{"1.33", "1.34", "1.35", "1.36"}},
		{"v1.19.6-eksbuild.1", "1.29", "1.35", []string{"1.31", "1.32"}},
		{"v1.18.3-eksbuild.3", "1.29", "1.32", []string{"1.29", "1.30"}},
		{"v1.18.1-eksbuild.3", "1.25", "1.32", nil}, // the original's pin, still offered on 1.32 where EKS moved it
	}, podIdentity: &podIdentityConfig{serviceAccount: "aws-node", policies: []string{"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}},
		podIdentitySince: "v1.19.6-eksbuild.1"},
	"coredns": {typ: "networking", versions: []fixtureAddonVersion{
		{"v1.12.1-eksbuild.2", "1.33", "1.36", []string{"1.33", "1.34", "1.35", "1.36"}},
		{"v1.11.4-eksbuild.2", "1.31", "1.32", []string{"1.31", "1.32"}},
		{"v1.11.1-eksbuild.9", "1.29", "1.30", []string{"1.29", "1.30"}},
	}},
	"kube-proxy": {typ: "networking", versions: kubeProxyVersions()},
	"eks-pod-identity-agent": {typ: "security", versions: []fixtureAddonVersion{
		{"v1.3.8-eksbuild.2", "1.29", "1.36", k8sVersions},
		{"v1.3.4-eksbuild.1", "1.29", "1.34", nil},
	}},
	// The platform add-ons. Their service accounts and namespaces are AWS's: EKS user guide, csi-iam-role
	// (kube-system/ebs-csi-controller-sa) and amazon-cloudwatch-observability (amazon-cloudwatch/cloudwatch-agent);
	// the CloudWatch add-on takes Pod Identity from 3.1.0 on (CloudWatch user guide,
	// Container-Insights-setup-EKS-addon). metrics-server and the node monitoring agent call no AWS API.
	"aws-ebs-csi-driver": {typ: "storage", versions: []fixtureAddonVersion{
		{"v1.48.0-eksbuild.2", "1.30", "1.36", k8sVersions[1:]},
		{"v1.45.0-eksbuild.1", "1.29", "1.34", []string{"1.29"}},
	}, podIdentity: &podIdentityConfig{serviceAccount: "ebs-csi-controller-sa",
		policies: []string{"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"}},
		podIdentitySince: "v1.45.0-eksbuild.1"},
	"metrics-server": {typ: "observability", versions: []fixtureAddonVersion{
		{"v0.8.0-eksbuild.1", "1.29", "1.36", k8sVersions},
	}},
	"amazon-cloudwatch-observability": {typ: "observability", versions: []fixtureAddonVersion{
		{"v4.4.0-eksbuild.1", "1.29", "1.36", k8sVersions},
		{"v3.1.0-eksbuild.1", "1.29", "1.34", nil},
		{"v3.0.0-eksbuild.1", "1.29", "1.33", nil},
	}, podIdentity: &podIdentityConfig{serviceAccount: "cloudwatch-agent", namespace: "amazon-cloudwatch",
		policies: []string{"arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"}},
		podIdentitySince: "v3.1.0-eksbuild.1"},
	"eks-node-monitoring-agent": {typ: "observability", versions: []fixtureAddonVersion{
		{"v1.4.0-eksbuild.2", "1.29", "1.36", k8sVersions},
	}},
}

// kubeProxyVersions follows the cluster's minor version, one per Kubernetes version.
func kubeProxyVersions() []fixtureAddonVersion {
	var vs []fixtureAddonVersion
	for i := len(k8sVersions) - 1; i >= 0; i-- {
		k := k8sVersions[i]
		vs = append(vs, fixtureAddonVersion{"v" + k + ".0-eksbuild.1", k, k, []string{k}})
	}
	return vs
}

// minor returns the minor number of a "1.N" version (-1 when it is not one).
func minor(v string) int {
	major, m, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(m)
	if !ok || major != "1" || err != nil {
		return -1
	}
	return n
}

func (v fixtureAddonVersion) compatible(k8s string) bool {
	n := minor(k8s)
	return n >= 0 && minor(v.min) <= n && n <= minor(v.max)
}

func addonVersionSupported(name, version, k8s string) bool {
	for _, v := range addonCatalog[name].versions {
		if v.version == version {
			return k8s == "" || v.compatible(k8s)
		}
	}
	return false
}

func defaultAddonVersion(name, k8s string) string {
	for _, v := range addonCatalog[name].versions {
		for _, d := range v.defaultOn {
			if d == k8s {
				return v.version
			}
		}
	}
	return ""
}

// describeAddonVersions serves GET /addons/supported-versions, with its addonName, kubernetesVersion, types,
// publishers and owners filters, in one page.
func (f *Front) describeAddonVersions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k8s := q.Get("kubernetesVersion")
	names := make([]string, 0, len(addonCatalog))
	for n := range addonCatalog {
		if q.Get("addonName") == "" || q.Get("addonName") == n {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := []map[string]any{}
	for _, n := range names {
		a := addonCatalog[n]
		if !allowed(q["types"], a.typ) || !allowed(q["publishers"], "eks") || !allowed(q["owners"], "aws") {
			continue
		}
		var versions []map[string]any
		for _, v := range a.versions {
			var compat []map[string]any
			for _, k := range k8sVersions {
				if v.compatible(k) && (k8s == "" || k == k8s) {
					compat = append(compat, map[string]any{
						"clusterVersion":   k,
						"platformVersions": []string{"*"},
						"defaultVersion":   defaultAddonVersion(n, k) == v.version,
					})
				}
			}
			if len(compat) > 0 {
				versions = append(versions, map[string]any{
					"addonVersion":           v.version,
					"architecture":           []string{"amd64", "arm64"},
					"computeTypes":           []string{"ec2", "hybrid"},
					"compatibilities":        compat,
					"requiresConfiguration":  false,
					"requiresIamPermissions": false,
				})
			}
		}
		if len(versions) > 0 {
			out = append(out, map[string]any{
				"addonName": n, "type": a.typ, "owner": "aws", "publisher": "eks",
				"addonVersions": versions, "marketplaceInformation": map[string]any{},
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"addons": out})
}

func allowed(filter []string, v string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if f == v {
			return true
		}
	}
	return false
}
