package harness_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

const clusterAdmin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

// TestFrontAccessEntryAPI drives the front's access entries with aws-sdk-go-v2's EKS client, which escapes the
// principal ARN (and its '/') into one path segment, as the provider's client does.
func TestFrontAccessEntryAPI(t *testing.T) {
	t.Parallel()
	front, c, ctx := startEKS(t)

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
	role, err := iamClient(front.URL).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("dev"), Path: aws.String("/team/"),
		AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	roleARN := aws.ToString(role.Role.Arn) // arn:aws:iam::123456789012:role/team/dev
	user, err := iamClient(front.URL).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	userARN := aws.ToString(user.User.Arn)

	apiMode := func(in *eks.CreateClusterInput) {
		// Without the creator's entry (TestContract/A1 shows it), so the lists below hold only this test's.
		in.AccessConfig = &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap,
			BootstrapClusterCreatorAdminPermissions: aws.Bool(false)}
	}
	cl := createCluster(t, c, "api", "1.33", apiMode)
	createCluster(t, c, "cm", "1.33", nil)

	out, err := c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(roleARN),
		KubernetesGroups: []string{"viewers"}, Tags: map[string]string{"Team": "a"}})
	if err != nil {
		t.Fatalf("create access entry: %v", err)
	}
	e := out.AccessEntry
	wantARN := strings.Replace(aws.ToString(cl.Arn), ":cluster/api", ":access-entry/api/role/123456789012/dev/", 1)
	if !strings.HasPrefix(aws.ToString(e.AccessEntryArn), wantARN) || aws.ToString(e.PrincipalArn) != roleARN ||
		aws.ToString(e.Type) != "STANDARD" || aws.ToString(e.ClusterName) != "api" ||
		// a role's username is its STS session ARN, without the role's path
		aws.ToString(e.Username) != "arn:aws:sts::123456789012:assumed-role/dev/{{SessionName}}" ||
		!slices.Equal(e.KubernetesGroups, []string{"viewers"}) || e.Tags["Team"] != "a" || e.CreatedAt == nil || e.CreatedAt.IsZero() {
		t.Errorf("created access entry = %+v, want ARN prefix %s", e, wantARN)
	}
	ue, err := c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(userARN)})
	if err != nil || aws.ToString(ue.AccessEntry.Username) != userARN {
		t.Errorf("access entry of a user: %+v, %v; want the user's ARN as username", ue, err)
	}

	// The refusals EKS makes, as the SDK's error types.
	_, err = c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(roleARN)})
	var inUse *ekstypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("duplicate access entry: %v, want ResourceInUseException", err)
	}
	_, err = c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("cm"), PrincipalArn: aws.String(userARN)})
	var invalidReq *ekstypes.InvalidRequestException
	if !errors.As(err, &invalidReq) || !strings.Contains(aws.ToString(invalidReq.Message), "authentication mode") {
		t.Errorf("access entry on a CONFIG_MAP cluster: %v, want InvalidRequestException about the authentication mode", err)
	}
	_, err = c.ListAccessEntries(ctx, &eks.ListAccessEntriesInput{ClusterName: aws.String("cm")})
	wantAPIError(t, "list on a CONFIG_MAP cluster", err, "InvalidRequestException", "authentication mode")
	_, err = c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("nope"), PrincipalArn: aws.String(userARN)})
	wantAPIError(t, "unknown cluster", err, "ResourceNotFoundException", "No cluster found for name: nope.")
	_, err = c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String("arn:aws:iam::123456789012:role/missing")})
	wantAPIError(t, "role that does not exist", err, "InvalidParameterException", "invalid principal")
	_, err = c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String("arn:aws:iam::123456789012:role/dev")}) // the role's name without its path
	wantAPIError(t, "role on another path", err, "InvalidParameterException", "invalid principal")
	_, err = c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String("arn:aws:iam::210987654321:user/x"), Username: aws.String("system:admin")})
	wantAPIError(t, "reserved username", err, "InvalidParameterException", "can't start with system:")
	_, err = c.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String(userARN), Type: aws.String("EC2_LINUX")})
	wantAPIError(t, "node entry for a user", err, "InvalidParameterException", "invalid principal")
	_, err = c.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String("arn:aws:iam::123456789012:role/other")})
	var notFound *ekstypes.ResourceNotFoundException
	if !errors.As(err, &notFound) || !strings.Contains(aws.ToString(notFound.Message), "principalArn could not be found") {
		t.Errorf("unknown access entry: %v, want ResourceNotFoundException", err)
	}

	// A client that leaves the ARN's '/' unescaped reaches the same entry.
	if got := rawGet(t, front.URL+"/clusters/api/access-entries/"+roleARN); got["accessEntry"]["principalArn"] != roleARN {
		t.Errorf("describe with an unescaped ARN = %v", got)
	}

	up, err := c.UpdateAccessEntry(ctx, &eks.UpdateAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(roleARN),
		KubernetesGroups: []string{"editors", "viewers"}})
	if err != nil || !slices.Equal(up.AccessEntry.KubernetesGroups, []string{"editors", "viewers"}) ||
		up.AccessEntry.ModifiedAt.Before(*up.AccessEntry.CreatedAt) ||
		aws.ToString(up.AccessEntry.Username) != aws.ToString(e.Username) {
		t.Errorf("update access entry: %+v, %v", up, err)
	}

	// Access policies.
	as, err := c.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(roleARN),
		PolicyArn: aws.String(clusterAdmin), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}})
	if err != nil || aws.ToString(as.AssociatedAccessPolicy.PolicyArn) != clusterAdmin || as.AssociatedAccessPolicy.AssociatedAt == nil ||
		aws.ToString(as.PrincipalArn) != roleARN {
		t.Fatalf("associate access policy: %+v, %v", as, err)
	}
	view := "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	if _, err := c.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(userARN),
		PolicyArn: aws.String(view), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"apps"}}}); err != nil {
		t.Fatalf("associate a namespaced policy: %v", err)
	}
	_, err = c.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(userARN),
		PolicyArn: aws.String(view), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace}})
	wantAPIError(t, "namespace scope without namespaces", err, "InvalidParameterException", "namespace")
	_, err = c.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String("arn:aws:iam::123456789012:role/other"), PolicyArn: aws.String(view),
		AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}})
	wantAPIError(t, "policy for an unknown entry", err, "ResourceNotFoundException", "principalArn could not be found")

	lp, err := c.ListAssociatedAccessPolicies(ctx, &eks.ListAssociatedAccessPoliciesInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(userARN)})
	if err != nil || len(lp.AssociatedAccessPolicies) != 1 || aws.ToString(lp.AssociatedAccessPolicies[0].PolicyArn) != view ||
		lp.AssociatedAccessPolicies[0].AccessScope.Type != ekstypes.AccessScopeTypeNamespace ||
		!slices.Equal(lp.AssociatedAccessPolicies[0].AccessScope.Namespaces, []string{"apps"}) {
		t.Errorf("associated policies of %s: %+v, %v", userARN, lp, err)
	}
	admins, err := c.ListAccessEntries(ctx, &eks.ListAccessEntriesInput{ClusterName: aws.String("api"), AssociatedPolicyArn: aws.String(clusterAdmin)})
	if err != nil || !slices.Equal(admins.AccessEntries, []string{roleARN}) {
		t.Errorf("entries with %s: %+v, %v", clusterAdmin, admins, err)
	}
	var all []string
	for p := eks.NewListAccessEntriesPaginator(c, &eks.ListAccessEntriesInput{ClusterName: aws.String("api"), MaxResults: aws.Int32(1)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list access entries: %v", err)
		}
		if len(page.AccessEntries) > 1 {
			t.Errorf("page of %d entries with maxResults 1", len(page.AccessEntries))
		}
		all = append(all, page.AccessEntries...)
	}
	if !slices.Equal(all, []string{roleARN, userARN}) {
		t.Errorf("all access entries, a page at a time = %v", all)
	}

	if _, err := c.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String(userARN), PolicyArn: aws.String(view)}); err != nil {
		t.Errorf("disassociate: %v", err)
	}
	_, err = c.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{ClusterName: aws.String("api"),
		PrincipalArn: aws.String(userARN), PolicyArn: aws.String(view)})
	if !errors.As(err, &notFound) {
		t.Errorf("disassociate twice: %v, want ResourceNotFoundException", err)
	}

	// Tags on the entry's ARN.
	arn := e.AccessEntryArn
	if _, err := c.TagResource(ctx, &eks.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"Owner": "b"}}); err != nil {
		t.Errorf("tag access entry: %v", err)
	}
	if _, err := c.UntagResource(ctx, &eks.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"Team"}}); err != nil {
		t.Errorf("untag access entry: %v", err)
	}
	d, err := c.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(roleARN)})
	if err != nil || len(d.AccessEntry.Tags) != 1 || d.AccessEntry.Tags["Owner"] != "b" {
		t.Errorf("access entry's tags: %+v, %v; want Owner=b only", d, err)
	}

	// Deleting an entry drops its policies; deleting the cluster drops its entries.
	if _, err := c.DeleteAccessEntry(ctx, &eks.DeleteAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(userARN)}); err != nil {
		t.Errorf("delete access entry: %v", err)
	}
	_, err = c.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: aws.String("api"), PrincipalArn: aws.String(userARN)})
	if !errors.As(err, &notFound) {
		t.Errorf("deleted access entry: %v, want ResourceNotFoundException", err)
	}
	if _, err := c.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTagsForResource(ctx, &eks.ListTagsForResourceInput{ResourceArn: arn})
	wantAPIError(t, "tags of an entry of a deleted cluster", err, "ResourceNotFoundException", "not found")
	createCluster(t, c, "api", "1.33", apiMode)
	if l, err := c.ListAccessEntries(ctx, &eks.ListAccessEntriesInput{ClusterName: aws.String("api")}); err != nil || len(l.AccessEntries) != 0 {
		t.Errorf("access entries of a re-created cluster: %+v, %v; want none", l, err)
	}
}

// rawGet sends an EKS GET with the path as written and decodes the answer.
func rawGet(t *testing.T, url string) map[string]map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20250101/"+harness.Region+"/eks/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]map[string]any
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return out
}
