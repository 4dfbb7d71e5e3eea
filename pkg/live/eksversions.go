package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

// AddonAddress is the vpc-cni add-on's Terraform address.
const AddonAddress = "aws_eks_addon.vpc_cni_addon"

// The checks of the Kubernetes version and the vpc-cni build against what EKS offers; they concern the version
// an upgrade step moves to.
const (
	IDKubernetesOffered = "TS809"
	IDVPCCNIOffered     = "TS810"
)

func init() {
	register(Check{ID: IDKubernetesOffered, Name: "Kubernetes version offered in the region", Actions: []string{"eks:DescribeClusterVersions"}, run: checkKubernetesVersion})
	register(Check{ID: IDVPCCNIOffered, Name: "vpc-cni version offered for the Kubernetes version", Actions: []string{"eks:DescribeAddonVersions"}, run: checkVPCCNIVersion})
}

func day(t interface{ Format(string) string }) string { return t.Format("2006-01-02") }

func checkKubernetesVersion(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	v := e.cfg.Cluster.KubernetesVersion
	p := eks.NewDescribeClusterVersionsPaginator(e.c.EKS,
		&eks.DescribeClusterVersionsInput{ClusterVersions: []string{v}, IncludeAll: aws.Bool(true)})
	var info *ekstypes.ClusterVersionInformation
	for info == nil && p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", wrap("eks:DescribeClusterVersions", err)
		}
		for i := range out.ClusterVersions {
			if aws.ToString(out.ClusterVersions[i].ClusterVersion) == v {
				info = &out.ClusterVersions[i]
			}
		}
	}
	path := "cluster.kubernetesVersion"
	if info == nil {
		return []rules.Finding{{Path: path, Message: fmt.Sprintf("EKS does not offer Kubernetes %s in %s", v, e.cfg.Region),
			Fix: "choose a version EKS offers (aws eks describe-cluster-versions)"}}, "not offered", nil
	}
	status := string(info.Status)
	if status == "" {
		status = strings.ToLower(strings.ReplaceAll(string(info.VersionStatus), "_", "-"))
	}
	note := "Kubernetes " + v + ": " + status
	if info.EndOfStandardSupportDate != nil {
		note += ", standard support until " + day(info.EndOfStandardSupportDate.UTC())
	}
	if info.EndOfExtendedSupportDate != nil {
		note += ", extended support until " + day(info.EndOfExtendedSupportDate.UTC())
	}
	if info.DefaultVersion {
		note += ", the region's default"
	}
	if want := e.data.StatusOn(v, e.in.Date); !sameStatus(want, status) {
		note += fmt.Sprintf("; the version data says %s on %s (update pkg/versions/data/eks.json if EKS changed its calendar)", want, e.in.Date)
	}
	switch status {
	case "standard-support":
		return nil, note, nil
	case "extended-support":
		return []rules.Finding{{Kind: rules.Advice, Path: path, Message: fmt.Sprintf(
			"Kubernetes %s is in extended support in %s: the control plane is billed at the extended rate", v, e.cfg.Region),
			Fix: "upgrade to a version in standard support"}}, note, nil
	case "unsupported":
		return []rules.Finding{{Path: path, Message: fmt.Sprintf(
			"Kubernetes %s is past the end of support in %s: EKS no longer creates clusters on it", v, e.cfg.Region),
			Fix: "choose a version in standard support"}}, note, nil
	}
	return nil, note, nil
}

func sameStatus(s versions.Status, api string) bool {
	switch s {
	case versions.StatusStandard:
		return api == "standard-support"
	case versions.StatusExtended:
		return api == "extended-support"
	case versions.StatusEnded:
		return api == "unsupported"
	}
	return false
}

// pinnedVPCCNI is the vpc-cni version the stack asks for: the synthesized document's addon_version when it is a
// literal, else the configuration's pin; "" lets EKS choose.
func pinnedVPCCNI(e *env) string {
	if v := docAttr(e.in.Doc, AddonAddress, "addon_version"); v != "" {
		return v
	}
	return e.cfg.Addons.VPCCNI.Version
}

// docAttr returns a literal string attribute of a resource in doc ("" for references and absent values).
func docAttr(doc *tfdoc.Document, address, attr string) string {
	if doc == nil {
		return ""
	}
	r, ok := doc.Lookup(address)
	if !ok {
		return ""
	}
	s, _ := r.Body[attr].(string)
	if strings.Contains(s, "${") {
		return ""
	}
	return s
}

func checkVPCCNIVersion(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	k8s := e.cfg.Cluster.KubernetesVersion
	p := eks.NewDescribeAddonVersionsPaginator(e.c.EKS,
		&eks.DescribeAddonVersionsInput{AddonName: aws.String("vpc-cni"), KubernetesVersion: aws.String(k8s)})
	var offered []string
	def := ""
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", wrap("eks:DescribeAddonVersions", err)
		}
		for _, a := range out.Addons {
			if aws.ToString(a.AddonName) != "vpc-cni" {
				continue
			}
			for _, av := range a.AddonVersions {
				for _, c := range av.Compatibilities {
					if aws.ToString(c.ClusterVersion) != k8s {
						continue
					}
					offered = append(offered, aws.ToString(av.AddonVersion))
					if c.DefaultVersion {
						def = aws.ToString(av.AddonVersion)
					}
				}
			}
		}
	}
	pin := pinnedVPCCNI(e)
	path := "addons.vpcCni.version"
	switch {
	case len(offered) == 0:
		return []rules.Finding{{Path: path, Message: fmt.Sprintf("EKS offers no vpc-cni version for Kubernetes %s in %s", k8s, e.cfg.Region),
			Fix: "choose a Kubernetes version EKS offers the add-on for"}}, "", nil
	case pin == "" && def == "":
		return []rules.Finding{{Kind: rules.Advice, Path: path, Message: fmt.Sprintf(
			"EKS names no default vpc-cni version for Kubernetes %s; unpinned, creating the add-on may fail", k8s),
			Fix: "pin one of " + list(offered)}}, "offered: " + list(offered), nil
	case pin == "":
		return nil, fmt.Sprintf("unpinned: EKS would install %s, its default for Kubernetes %s", def, k8s), nil
	}
	for _, o := range offered {
		if o == pin {
			note := "vpc-cni " + pin + " is offered for Kubernetes " + k8s
			if def != "" && def != pin {
				note += " (the default is " + def + ")"
			}
			return nil, note, nil
		}
	}
	fix := "pin one of " + list(offered)
	if def != "" {
		fix = "leave the version unset (EKS installs its default, " + def + ") or " + fix
	}
	return []rules.Finding{{Path: path, Message: fmt.Sprintf(
		"vpc-cni %s is not offered for Kubernetes %s in %s: creating the add-on fails with \"Addon version specified is not supported\"",
		pin, k8s, e.cfg.Region), Fix: fix}}, "offered: " + list(offered), nil
}
