package harness_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
)

// contractPodIdentity are the Pod Identity associations made through the API (P1-P2), beside the add-ons' own
// (N6).
var contractPodIdentity = []contractCase{
	{"P1_OneAssociationPerServiceAccount", contractP1},
	{"P2_AssociationRoleMustTrustPodIdentity", contractP2},
}

func (e *contractEnv) associate(cluster, ns, sa, role string) (*ekstypes.PodIdentityAssociation, error) {
	out, err := e.eks.CreatePodIdentityAssociation(e.ctx, &eks.CreatePodIdentityAssociationInput{ClusterName: aws.String(cluster),
		Namespace: aws.String(ns), ServiceAccount: aws.String(sa), RoleArn: aws.String(role), Tags: map[string]string{"Team": "shop"}})
	if err != nil {
		return nil, err
	}
	return out.Association, nil
}

func contractP1(t *testing.T) {
	e := newContractEnv(t)
	e.cluster(t, "c", "1.34", nil)
	role := e.role(t, "orders", "pods.eks.amazonaws.com")
	other := e.role(t, "other", "pods.eks.amazonaws.com")
	first, err := e.associate("c", "shop", "orders", role)
	if err != nil {
		t.Fatalf("first association: %v", err)
	}
	id := aws.ToString(first.AssociationId)
	if !strings.HasPrefix(aws.ToString(first.AssociationArn), "arn:aws:eks:us-east-1:123456789012:podidentityassociation/c/a-") ||
		aws.ToString(first.RoleArn) != role || first.OwnerArn != nil {
		t.Errorf("created %+v", first)
	}
	d, err := e.eks.DescribePodIdentityAssociation(e.ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("c"), AssociationId: aws.String(id)})
	if err != nil || aws.ToString(d.Association.Namespace) != "shop" || aws.ToString(d.Association.ServiceAccount) != "orders" || d.Association.Tags["Team"] != "shop" {
		t.Errorf("described %+v, %v", d, err)
	}

	// The same service account again, with any role: refused, naming the association it has.
	_, err = e.associate("c", "shop", "orders", other)
	wantAPIError(t, "a second association", err, "ResourceInUseException", "Association already exists: "+id)
	// Also when an add-on made the first (vpc-cni through Pod Identity, as in N6).
	cni := e.role(t, "cni", "pods.eks.amazonaws.com", "AmazonEKS_CNI_Policy")
	e.addon(t, &eks.CreateAddonInput{ClusterName: aws.String("c"), AddonName: aws.String("vpc-cni"), AddonVersion: aws.String("v1.19.6-eksbuild.1"),
		PodIdentityAssociations: []ekstypes.AddonPodIdentityAssociations{{RoleArn: aws.String(cni), ServiceAccount: aws.String("aws-node")}}})
	_, err = e.associate("c", "kube-system", "aws-node", other)
	wantAPIError(t, "the add-on's service account", err, "ResourceInUseException", "Association already exists: a-")
	// Another service account, or the same name in another namespace, is another association.
	if _, err := e.associate("c", "shop", "reports", other); err != nil {
		t.Errorf("another service account: %v", err)
	}
	if _, err := e.associate("c", "billing", "orders", other); err != nil {
		t.Errorf("another namespace: %v", err)
	}
	list, err := e.eks.ListPodIdentityAssociations(e.ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("c"), Namespace: aws.String("shop")})
	if err != nil || len(list.Associations) != 2 {
		t.Errorf("the associations in shop: %+v, %v", list, err)
	}

	// Deleted, the service account is free again; an add-on's association is the add-on's to delete.
	if _, err := e.eks.DeletePodIdentityAssociation(e.ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("c"), AssociationId: aws.String(id)}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = e.eks.DescribePodIdentityAssociation(e.ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("c"), AssociationId: aws.String(id)})
	wantAPIError(t, "a deleted association", err, "ResourceNotFoundException", "No Pod Identity Association found for id: "+id)
	_, err = e.eks.DeletePodIdentityAssociation(e.ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("c"), AssociationId: aws.String(id)})
	wantAPIError(t, "deleting it again", err, "ResourceNotFoundException", id)
	if _, err := e.associate("c", "shop", "orders", other); err != nil {
		t.Errorf("the freed service account: %v", err)
	}
}

func contractP2(t *testing.T) {
	e := newContractEnv(t)
	cl := e.cluster(t, "c", "1.34", nil)
	_, err := e.associate("c", "shop", "orders", "arn:aws:iam::123456789012:role/missing")
	wantAPIError(t, "a missing role", err, "InvalidParameterException", "Role provided in the request does not exist")
	// An IRSA role (terraform-provider-aws #41483), a role for another service, a role without TagSession.
	issuer := aws.ToString(cl.Identity.Oidc.Issuer)
	for name, trust := range map[string]string{
		"irsa": irsaTrust("arn:aws:iam::123456789012:oidc-provider/"+strings.TrimPrefix(issuer, "https://"), issuer, "system:serviceaccount:shop:orders"),
		"ec2":  "ec2.amazonaws.com",
		"no-tag-session": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},` +
			`"Action":"sts:AssumeRole"}]}`,
	} {
		_, err := e.associate("c", "shop", "orders", e.role(t, name, trust))
		wantAPIError(t, "a role trusting "+name, err, "InvalidParameterException", "Trust policy of the role provided is invalid")
	}
	good := e.role(t, "good", "pods.eks.amazonaws.com")
	a, err := e.associate("c", "shop", "orders", good)
	if err != nil {
		t.Fatalf("a role Pod Identity can assume: %v", err)
	}
	// UpdatePodIdentityAssociation checks a new role the same way.
	_, err = e.eks.UpdatePodIdentityAssociation(e.ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("c"),
		AssociationId: a.AssociationId, RoleArn: aws.String("arn:aws:iam::123456789012:role/ec2")})
	wantAPIError(t, "updated to an EC2 role", err, "InvalidParameterException", "Trust policy of the role provided is invalid")
	good2 := e.role(t, "good2", "pods.eks.amazonaws.com")
	up, err := e.eks.UpdatePodIdentityAssociation(e.ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("c"),
		AssociationId: a.AssociationId, RoleArn: aws.String(good2)})
	if err != nil || aws.ToString(up.Association.RoleArn) != good2 {
		t.Errorf("updated to a usable role: %+v, %v", up, err)
	}
}
