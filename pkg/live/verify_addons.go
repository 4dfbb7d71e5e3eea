package live

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/tapstack/tapstack/pkg/stack"
)

// verifyPlatformAddon checks one platform add-on: ACTIVE, at the build the document pins (any EKS installed when
// it pins none), and its Pod Identity association: owned by the add-on, for the service account in its namespace,
// with the role the stack names; an add-on without a role has no association.
func verifyPlatformAddon(ctx context.Context, v *verifier, p stack.PlatformAddon) []Item {
	cluster := v.clusterName()
	res := p.Name + " on " + cluster
	out, err := v.c.EKS.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: aws.String(cluster), AddonName: aws.String(p.Name)})
	if hasCode(err, "ResourceNotFoundException") {
		return []Item{{Resource: res, Field: "exists", Expected: "yes", Actual: "no such add-on", Status: Mismatch}}
	}
	if err != nil {
		return []Item{failure(ctx, res, "add-on", wrap("eks:DescribeAddon", err))}
	}
	a := out.Addon
	items := []Item{compare(res, "status", "ACTIVE", string(a.Status))}
	if version := docAttr(v.doc, p.Address, "addon_version"); version != "" {
		items = append(items, compare(res, "addonVersion", version, aws.ToString(a.AddonVersion)))
	} else {
		items = append(items, Item{Resource: res, Field: "addonVersion", Expected: "EKS's default", Actual: aws.ToString(a.AddonVersion),
			Status: Match, Note: "unpinned: any version EKS installed matches"})
	}
	want := 0
	if p.RoleName != "" {
		want = 1
	}
	items = append(items, compare(res, "Pod Identity associations", strconv.Itoa(want), strconv.Itoa(len(a.PodIdentityAssociations))))
	if want == 0 || len(a.PodIdentityAssociations) != 1 {
		return items
	}
	arn := a.PodIdentityAssociations[0]
	pa, err := v.c.EKS.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String(cluster), AssociationId: aws.String(arn[strings.LastIndex(arn, "/")+1:])})
	if err != nil {
		return append(items, failure(ctx, res, "Pod Identity association", wrap("eks:DescribePodIdentityAssociation", err)))
	}
	as := pa.Association
	role := aws.ToString(as.RoleArn)
	return append(items,
		compare(res, "association owner (the add-on)", aws.ToString(a.AddonArn), aws.ToString(as.OwnerArn)),
		compare(res, "association namespace", p.Namespace, aws.ToString(as.Namespace)),
		compare(res, "association service account", p.ServiceAccount, aws.ToString(as.ServiceAccount)),
		compare(res, "association role name", p.RoleName, role[strings.LastIndex(role, "/")+1:]))
}
