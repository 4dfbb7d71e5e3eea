package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
)

// LogGroupAddress is the control-plane log group's Terraform address (pkg/stack's LogGroupAddress).
const LogGroupAddress = "aws_cloudwatch_log_group.eks_cluster_log_group"

func init() {
	register(Check{ID: "TS802", Name: "IAM roles of this stack's names", Actions: []string{"iam:GetRole"}, run: checkRoles})
	register(Check{ID: "TS803", Name: "EKS cluster of this stack's name", Actions: []string{"eks:DescribeCluster"}, run: checkCluster})
	register(Check{ID: "TS804", Name: "node groups of this stack's names", Actions: []string{"eks:DescribeCluster", "eks:DescribeNodegroup"}, run: checkNodeGroups})
	register(Check{ID: "TS805", Name: "log groups of this stack's names (adoption)", Actions: []string{"logs:DescribeLogGroups"}, run: checkLogGroups})
	register(Check{ID: "TS806", Name: "OIDC provider of the cluster's issuer", Actions: []string{"eks:DescribeCluster", "iam:ListOpenIDConnectProviders"}, run: checkOIDC})
}

func checkRoles(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	var fs []rules.Finding
	var seen []string
	for _, n := range e.cfg.Names() {
		if n.Kind != config.KindIAMRole {
			continue
		}
		seen = append(seen, n.Value)
		out, err := e.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(n.Value)})
		if hasCode(err, "NoSuchEntity", "NoSuchEntityException") {
			continue
		}
		if err != nil {
			return fs, "", wrap("iam:GetRole", err)
		}
		if e.owned(n.Value, aws.ToString(out.Role.Arn)) {
			continue
		}
		created := ""
		if out.Role.CreateDate != nil {
			created = ", created " + out.Role.CreateDate.UTC().Format("2006-01-02")
		}
		fs = append(fs, e.collision(n.Resource, fmt.Sprintf(
			"IAM role %s already exists (%s%s) but %s: creating it fails with EntityAlreadyExists",
			n.Value, aws.ToString(out.Role.Arn), created, e.stateWord()),
			fmt.Sprintf("if an earlier deployment of this environment left it behind, delete it (detach its policies, "+
				"then aws iam delete-role --role-name %s) or import it (terraform import %s %s); if another "+
				"environment owns it, choose another environmentSuffix", n.Value, n.Resource, n.Value)))
	}
	return fs, "looked for " + list(seen), nil
}

// describeCluster returns the cluster, or nil when it does not exist.
func describeCluster(ctx context.Context, c EKSAPI, name string) (*ekstypes.Cluster, error) {
	out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if hasCode(err, "ResourceNotFoundException") {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("eks:DescribeCluster", err)
	}
	return out.Cluster, nil
}

func checkCluster(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	name := e.cfg.ClusterName()
	cl, err := describeCluster(ctx, e.c.EKS, name)
	if err != nil || cl == nil {
		return nil, "no cluster " + name, err
	}
	if e.owned(name, aws.ToString(cl.Arn)) {
		return nil, "cluster " + name + " is this stack's", nil
	}
	return []rules.Finding{e.collision("aws_eks_cluster.eks_cluster", fmt.Sprintf(
		"EKS cluster %s already exists (%s, status %s, Kubernetes %s) but %s: creating it fails with ResourceInUseException",
		name, aws.ToString(cl.Arn), cl.Status, aws.ToString(cl.Version), e.stateWord()),
		fmt.Sprintf("if it is left over from an earlier deployment, delete it (its node groups first: aws eks "+
			"delete-nodegroup, then aws eks delete-cluster --name %s); if another environment owns it, choose another "+
			"environmentSuffix", name))}, "", nil
}

func checkNodeGroups(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	ngs := nodeGroups(e.cfg)
	if len(ngs) == 0 {
		return nil, "no managed node groups (EKS Auto Mode)", nil
	}
	cluster := e.cfg.ClusterName()
	cl, err := describeCluster(ctx, e.c.EKS, cluster)
	if err != nil || cl == nil {
		return nil, "no cluster " + cluster + ", so none of its node groups", err
	}
	var fs []rules.Finding
	for _, ng := range ngs {
		out, err := e.c.EKS.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{
			ClusterName: aws.String(cluster), NodegroupName: aws.String(ng.Name)})
		if hasCode(err, "ResourceNotFoundException") {
			continue
		}
		if err != nil {
			return fs, "", wrap("eks:DescribeNodegroup", err)
		}
		if e.owned(cluster+":"+ng.Name, aws.ToString(out.Nodegroup.NodegroupArn)) {
			continue
		}
		fs = append(fs, e.collision(ng.Address, fmt.Sprintf(
			"node group %s already exists in cluster %s (status %s) but %s: creating it fails with ResourceInUseException",
			ng.Name, cluster, out.Nodegroup.Status, e.stateWord()),
			fmt.Sprintf("delete it (aws eks delete-nodegroup --cluster-name %s --nodegroup-name %s) or import it "+
				"(terraform import %s %s:%s)", cluster, ng.Name, ng.Address, cluster, ng.Name)))
	}
	return fs, "", nil
}

func checkLogGroups(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	var fs []rules.Finding
	var notes, seen []string
	for _, n := range e.cfg.Names() {
		if n.Kind != config.KindLogGroup {
			continue
		}
		seen = append(seen, n.Value)
		lg, err := findLogGroup(ctx, e.c.Logs, n.Value)
		if err != nil {
			return fs, "", err
		}
		if lg == nil || e.owned(n.Value, aws.ToString(lg.Arn)) {
			continue
		}
		retention := "never expires"
		if lg.RetentionInDays != nil {
			retention = fmt.Sprintf("retention %d days", *lg.RetentionInDays)
		}
		controlPlane := n.Resource == LogGroupAddress
		switch {
		case controlPlane && e.in.Adopt:
			notes = append(notes, "adopting "+n.Value)
			fs = append(fs, rules.Finding{Kind: rules.Advice, Severity: rules.Warning, Path: n.Resource, Message: fmt.Sprintf(
				"log group %s exists outside this stack's state (%s); --adopt-existing imports it at %s, keeping its "+
					"events, and the next apply sets the configured retention", n.Value, retention, n.Resource)})
		case controlPlane:
			fs = append(fs, e.collision(n.Resource, fmt.Sprintf(
				"log group %s already exists (%s) but %s: EKS creates it for a cluster of this name and leaves it "+
					"behind when the cluster is deleted; creating it fails with ResourceAlreadyExistsException",
				n.Value, retention, e.stateWord()),
				"adopt it with --adopt-existing (an import block brings it into the state, keeping its events), or "+
					"delete it (aws logs delete-log-group --log-group-name "+n.Value+")"))
		default:
			fs = append(fs, e.collision(n.Resource, fmt.Sprintf(
				"log group %s already exists (%s) but %s: creating it fails with ResourceAlreadyExistsException",
				n.Value, retention, e.stateWord()),
				fmt.Sprintf("delete it (aws logs delete-log-group --log-group-name %s) or import it (terraform "+
					"import %s %s)", n.Value, n.Resource, n.Value)))
		}
	}
	return fs, strings.Join(append([]string{"looked for " + list(seen)}, notes...), "; "), nil
}

// findLogGroup returns the log group named exactly name, or nil.
func findLogGroup(ctx context.Context, c LogsAPI, name string) (*logGroup, error) {
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)}
	// An emulator that answers with the token it was sent would otherwise be asked forever (the SDK's default is
	// to keep going).
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, in, func(o *cloudwatchlogs.DescribeLogGroupsPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("logs:DescribeLogGroups", err)
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) == name {
				return &logGroup{Arn: g.Arn, RetentionInDays: g.RetentionInDays}, nil
			}
		}
	}
	return nil, nil
}

type logGroup struct {
	Arn             *string
	RetentionInDays *int32
}

// issuerPath is an OIDC issuer without its scheme, as IAM names the provider.
func issuerPath(issuer string) string {
	return strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
}

func checkOIDC(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	cluster := e.cfg.ClusterName()
	cl, err := describeCluster(ctx, e.c.EKS, cluster)
	if err != nil || cl == nil {
		return nil, "no cluster " + cluster + ", so no provider of its issuer", err
	}
	issuer := ""
	if cl.Identity != nil && cl.Identity.Oidc != nil {
		issuer = aws.ToString(cl.Identity.Oidc.Issuer)
	}
	if issuer == "" {
		return nil, "cluster " + cluster + " has no OIDC issuer yet", nil
	}
	out, err := e.c.IAM.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, "", wrap("iam:ListOpenIDConnectProviders", err)
	}
	for _, p := range out.OpenIDConnectProviderList {
		arn := aws.ToString(p.Arn)
		if !strings.HasSuffix(arn, ":oidc-provider/"+issuerPath(issuer)) {
			continue
		}
		if e.owned(arn) {
			return nil, "the provider of " + issuer + " is this stack's", nil
		}
		return []rules.Finding{e.collision("aws_iam_openid_connect_provider.eks_oidc_provider", fmt.Sprintf(
			"an IAM OIDC provider for the cluster's issuer %s already exists (%s) but %s: creating it fails with "+
				"EntityAlreadyExists", issuer, arn, e.stateWord()),
			fmt.Sprintf("import it (terraform import aws_iam_openid_connect_provider.eks_oidc_provider %s) or "+
				"delete it (aws iam delete-open-id-connect-provider --open-id-connect-provider-arn %s)", arn, arn))}, "", nil
	}
	return nil, "", nil
}
