package e2e

import (
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

// workloadIdentitiesYAML is what a team writes: one service account with an inline policy that uses a Pod
// Identity session tag, one with an AWS managed policy.
const workloadIdentitiesYAML = `workloadIdentities:
  - namespace: shop
    serviceAccount: orders
    inlinePolicy:
      Version: 2012-10-17
      Statement:
        - Effect: Allow
          Action: [s3:GetObject]
          Resource: "arn:aws:s3:::orders/${aws:PrincipalTag/kubernetes-namespace}/*"
  - name: reports
    namespace: analytics
    serviceAccount: reporter
    managedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
`

// wantIdentity is what each workload identity of workloadIdentitiesYAML must be in the emulated account.
type wantIdentity struct{ name, namespace, serviceAccount, managed, inline string }

var wantIdentities = []wantIdentity{
	{name: "shop-orders", namespace: "shop", serviceAccount: "orders",
		inline: "arn:aws:s3:::orders/${aws:PrincipalTag/kubernetes-namespace}/*"},
	{name: "reports", namespace: "analytics", serviceAccount: "reporter", managed: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},
}

// checkWorkloadIdentities checks in the emulator that each workload identity has its role, trusted by Pod Identity
// for its cluster, namespace and service account only, with its policies, and one association; and that the
// outputs file maps each name to its role's ARN.
func checkWorkloadIdentities(t *testing.T, d *deployStack, wc string) {
	t.Helper()
	ctx := testContext(t)
	ic, ec := iamAPI(d.endpoint), eksAPI(d.endpoint)
	v, err := outputs.Read(filepath.Join(wc, outputs.DefaultPath), d.name())
	if err != nil {
		t.Fatal(err)
	}
	arns, _ := v["workload_identity_role_arns"].(map[string]any)
	if len(arns) != len(wantIdentities) {
		t.Errorf("output workload_identity_role_arns = %v, want %d roles", v["workload_identity_role_arns"], len(wantIdentities))
	}
	list, err := ec.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(d.cluster())})
	if err != nil {
		t.Fatal(err)
	}
	// The platform add-ons' associations are the add-ons' own (ownerArn set, N8); the workload identities' are not.
	own := 0
	for _, a := range list.Associations {
		if aws.ToString(a.OwnerArn) == "" {
			own++
		}
	}
	if own != len(wantIdentities) {
		t.Errorf("%d Pod Identity associations without an owning add-on in %s, want %d: %+v", own, d.cluster(), len(wantIdentities), list.Associations)
	}
	for _, w := range wantIdentities {
		roleName := "eks-workload-" + w.name + "-v1-" + d.suffix
		role, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
		if err != nil {
			t.Errorf("role %s: %v", roleName, err)
			continue
		}
		arn := aws.ToString(role.Role.Arn)
		if arns[w.name] != arn {
			t.Errorf("output workload_identity_role_arns[%s] = %v, the role is %s", w.name, arns[w.name], arn)
		}
		checkPodIdentityTrust(t, aws.ToString(role.Role.AssumeRolePolicyDocument), d, w)

		attached, err := ic.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(roleName)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range attached.AttachedPolicies {
			got = append(got, aws.ToString(p.PolicyArn))
		}
		if want := slices.DeleteFunc([]string{w.managed}, func(s string) bool { return s == "" }); !slices.Equal(got, want) {
			t.Errorf("role %s has managed policies %v, want %v", roleName, got, want)
		}
		inline, err := ic.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String("workload-identity")})
		var noSuch *iamtypes.NoSuchEntityException
		switch {
		case w.inline == "" && !errors.As(err, &noSuch):
			t.Errorf("role %s has an inline policy (%v)", roleName, err)
		case w.inline != "":
			doc, _ := url.QueryUnescape(aws.ToString(inline.PolicyDocument))
			if err != nil || !strings.Contains(doc, w.inline) {
				t.Errorf("role %s's inline policy %s (%v), want one on %s", roleName, doc, err, w.inline)
			}
		}

		found := 0
		for _, a := range list.Associations {
			if aws.ToString(a.Namespace) != w.namespace || aws.ToString(a.ServiceAccount) != w.serviceAccount {
				continue
			}
			found++
			got, err := ec.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(d.cluster()), AssociationId: a.AssociationId})
			if err != nil || aws.ToString(got.Association.RoleArn) != arn || aws.ToString(got.Association.OwnerArn) != "" {
				t.Errorf("association of %s/%s: %+v, %v; want role %s", w.namespace, w.serviceAccount, got, err, arn)
			}
		}
		if found != 1 {
			t.Errorf("%d associations for %s/%s, want 1", found, w.namespace, w.serviceAccount)
		}
	}
}

// checkPodIdentityTrust checks a role's trust policy: pods.eks.amazonaws.com may AssumeRole and TagSession, only
// from this account, with this cluster's, namespace's and service account's session tags, and no aws:SourceArn
// (podIdentityTrust in pkg/stack says why).
func checkPodIdentityTrust(t *testing.T, raw string, d *deployStack, w wantIdentity) {
	t.Helper()
	doc, err := url.QueryUnescape(raw)
	if err != nil {
		doc = raw
	}
	var trust struct {
		Statement []struct {
			Effect    string
			Principal struct{ Service any }
			Action    []string
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(doc), &trust); err != nil || len(trust.Statement) != 1 {
		t.Errorf("trust policy %s: %v", doc, err)
		return
	}
	s := trust.Statement[0]
	eksARN := "arn:aws:eks:" + harness.Region + ":123456789012:"
	cluster := eksARN + "cluster/" + d.cluster()
	if s.Effect != "Allow" || s.Principal.Service != "pods.eks.amazonaws.com" || !sameSet(s.Action, []string{"sts:AssumeRole", "sts:TagSession"}) ||
		s.Condition["StringEquals"]["aws:SourceAccount"] != "123456789012" ||
		s.Condition["StringEquals"]["aws:RequestTag/eks-cluster-arn"] != cluster ||
		s.Condition["StringEquals"]["aws:RequestTag/kubernetes-namespace"] != w.namespace ||
		s.Condition["StringEquals"]["aws:RequestTag/kubernetes-service-account"] != w.serviceAccount ||
		len(s.Condition) != 1 || len(s.Condition["StringEquals"]) != 4 {
		t.Errorf("trust policy of %s: %s", w.name, doc)
	}
}

// checkWorkloadRolesGone checks that destroy removed the workload identities' roles.
func checkWorkloadRolesGone(t *testing.T, d *deployStack) {
	t.Helper()
	for _, w := range wantIdentities {
		name := "eks-workload-" + w.name + "-v1-" + d.suffix
		_, err := iamAPI(d.endpoint).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String(name)})
		var noSuch *iamtypes.NoSuchEntityException
		if !errors.As(err, &noSuch) {
			t.Errorf("role %s after destroy: %v, want NoSuchEntity", name, err)
		}
	}
}
