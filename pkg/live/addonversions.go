package live

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
)

// AddonVersions is what EKS offers of one add-on for one Kubernetes version.
type AddonVersions struct {
	Name       string
	Kubernetes string
	// Default is the build EKS installs when none is asked for; "" when EKS names none.
	Default string
	// Offered are the builds EKS accepts for the version, newest first as EKS lists them.
	Offered []string
}

// Offers reports whether EKS accepts build v for the version.
func (a AddonVersions) Offers(v string) bool {
	for _, o := range a.Offered {
		if o == v {
			return true
		}
	}
	return false
}

// ResolveAddonVersions asks EKS (DescribeAddonVersions) which builds of each named add-on it offers for Kubernetes
// k8s, and which one it installs by default. EKS never upgrades an add-on with its cluster, so an upgrade has to
// name the build for the new version itself.
func ResolveAddonVersions(ctx context.Context, c EKSAPI, k8s string, names []string) (map[string]AddonVersions, error) {
	out := map[string]AddonVersions{}
	for _, name := range names {
		av := AddonVersions{Name: name, Kubernetes: k8s}
		p := eks.NewDescribeAddonVersionsPaginator(c, &eks.DescribeAddonVersionsInput{AddonName: aws.String(name),
			KubernetesVersion: aws.String(k8s)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, wrap("eks:DescribeAddonVersions", fmt.Errorf("%s for Kubernetes %s: %w", name, k8s, err))
			}
			for _, a := range page.Addons {
				if aws.ToString(a.AddonName) != name {
					continue
				}
				for _, v := range a.AddonVersions {
					for _, cp := range v.Compatibilities {
						if aws.ToString(cp.ClusterVersion) != k8s {
							continue
						}
						av.Offered = append(av.Offered, aws.ToString(v.AddonVersion))
						if cp.DefaultVersion {
							av.Default = aws.ToString(v.AddonVersion)
						}
						break
					}
				}
			}
		}
		out[name] = av
	}
	return out, nil
}
