package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"k8s.io/client-go/rest"

	"github.com/tapstack/tapstack/internal/kubeaccess"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
)

// KubeconfigEKS is the EKS subset Kubeconfig calls.
type KubeconfigEKS interface {
	kubeaccess.DescribeClusterAPI
	ListAccessEntries(context.Context, *eks.ListAccessEntriesInput, ...func(*eks.Options)) (*eks.ListAccessEntriesOutput, error)
}

// KubeconfigSTS is the STS subset Kubeconfig calls.
type KubeconfigSTS interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// KubeconfigOptions say which kubeconfig gets the environment's context, and under what name.
type KubeconfigOptions struct {
	// File is the kubeconfig to merge into; "" is kubectl's (kubeaccess.KubeconfigPath).
	File string
	// Alias names the context; "" names it after the cluster's ARN.
	Alias string
	// Command runs the credential plugin; "" is kubeaccess.DefaultCommand.
	Command string
	// EKS and STS replace the clients of the standard credential chain (tests).
	EKS KubeconfigEKS
	STS KubeconfigSTS
}

// KubeconfigResult is what Kubeconfig wrote and what it found about the caller's access.
type KubeconfigResult struct {
	File     string
	Context  string
	Cluster  kubeaccess.Cluster
	Replaced bool // the context existed and was replaced
	// Caller is the caller's IAM principal (an assumed role as its role's ARN); "" when it could not be read.
	Caller string
	// Notes and Warnings are about the caller's access to the cluster; neither stops the workflow.
	Notes, Warnings []string
}

// Kubeconfig reads the environment's cluster from EKS and merges a context for it into a kubeconfig: the
// cluster's endpoint and CA, and a user whose credential plugin is `tapstack token`. It then checks that the
// caller has an access entry on the cluster, and warns when it has none: kubectl would be refused.
func Kubeconfig(ctx context.Context, p *Prepared, ko KubeconfigOptions) (*KubeconfigResult, error) {
	if err := refuse(p.Findings, "; nothing was written", rules.Invalid); err != nil {
		return nil, err
	}
	cfg := p.Config
	if ko.EKS == nil || ko.STS == nil {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
		if err != nil {
			return nil, step("AWS configuration", err)
		}
		if ko.EKS == nil {
			ko.EKS = eks.NewFromConfig(awsCfg)
		}
		if ko.STS == nil {
			ko.STS = sts.NewFromConfig(awsCfg)
		}
	}
	name := cfg.ClusterName()
	cluster, err := kubeaccess.Describe(ctx, ko.EKS, name, cfg.Region)
	if err != nil {
		var nf *ekstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			err = fmt.Errorf("cluster %s does not exist in %s: deploy the environment first, or name it (--environment-suffix, --region): %w", name, cfg.Region, err)
		}
		return nil, step("describe cluster", err)
	}
	entry := kubeaccess.Entry{Cluster: cluster, Context: ko.Alias, Command: ko.Command}
	res := &KubeconfigResult{File: kubeaccess.KubeconfigPath(ko.File), Context: entry.ContextName(), Cluster: cluster}
	if res.Replaced, err = kubeaccess.UpdateFile(res.File, entry); err != nil {
		return nil, step("kubeconfig", err)
	}
	checkAccess(ctx, ko.EKS, ko.STS, cluster, cfg.Cluster.AdminPrincipals, res)
	return res, nil
}

// ClusterREST is a client-go configuration for the environment's cluster that authenticates as awsCfg's
// credentials with the token `tapstack token` prints, signed in process (kubeaccess.RESTConfig): how a workflow
// talks to the cluster. api nil describes the cluster with awsCfg.
func ClusterREST(ctx context.Context, awsCfg aws.Config, cfg *config.Config, api kubeaccess.DescribeClusterAPI) (*rest.Config, error) {
	if api == nil {
		api = eks.NewFromConfig(awsCfg)
	}
	cluster, err := kubeaccess.Describe(ctx, api, cfg.ClusterName(), cfg.Region)
	if err != nil {
		return nil, step("describe cluster", err)
	}
	return kubeaccess.RESTConfig(awsCfg, cluster, nil), nil
}

// checkAccess looks for the caller's access entry on the cluster. EKS's access entries name IAM principals; a
// caller in an assumed-role session is its role. Access entries do not apply in CONFIG_MAP mode, and in
// API_AND_CONFIG_MAP mode the aws-auth ConfigMap may map a caller without one.
func checkAccess(ctx context.Context, eksAPI KubeconfigEKS, stsAPI KubeconfigSTS, c kubeaccess.Cluster, admins []string, res *KubeconfigResult) {
	if c.AuthenticationMode == string(ekstypes.AuthenticationModeConfigMap) {
		res.Notes = append(res.Notes, fmt.Sprintf("cluster %s authenticates through the aws-auth ConfigMap only "+
			"(authentication mode CONFIG_MAP): access entries do not apply, so the caller needs a mapping there", c.Name))
		return
	}
	id, err := stsAPI.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("could not tell who the caller is, so its access entry on %s was not checked: %v", c.Name, err))
		return
	}
	res.Caller = principalARN(aws.ToString(id.Arn))
	var entries []string
	pages := eks.NewListAccessEntriesPaginator(eksAPI, &eks.ListAccessEntriesInput{ClusterName: aws.String(c.Name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("could not list the access entries of %s, so %s's was not checked: %v", c.Name, res.Caller, err))
			return
		}
		entries = append(entries, page.AccessEntries...)
	}
	for _, e := range entries {
		if e == res.Caller || withoutRolePath(e) == res.Caller {
			return
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s has no access entry on cluster %s, so the cluster will refuse kubectl", res.Caller, c.Name)
	if c.AuthenticationMode == string(ekstypes.AuthenticationModeApiAndConfigMap) {
		b.WriteString(" unless the aws-auth ConfigMap maps it")
	}
	if slices.Contains(admins, res.Caller) {
		b.WriteString(". It is in cluster.adminPrincipals: deploy to create its entry")
	} else {
		partition := "aws"
		if parts := strings.SplitN(res.Caller, ":", 3); len(parts) == 3 {
			partition = parts[1]
		}
		fmt.Fprintf(&b, ". Add it to cluster.adminPrincipals in the configuration and deploy, or run:\n"+
			"  aws eks create-access-entry --region %[1]s --cluster-name %[2]s --principal-arn %[3]s\n"+
			"  aws eks associate-access-policy --region %[1]s --cluster-name %[2]s --principal-arn %[3]s "+
			"--policy-arn arn:%[4]s:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster",
			c.Region, c.Name, res.Caller, partition)
	}
	res.Warnings = append(res.Warnings, b.String())
}

// principalARN is the IAM principal of a caller ARN: arn:P:sts::A:assumed-role/ROLE/SESSION is the role
// arn:P:iam::A:role/ROLE (its path, if any, is not in the session ARN); any other ARN is itself.
func principalARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return arn
	}
	role, _, _ := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
	return strings.Join([]string{"arn", parts[1], "iam", "", parts[4], "role/" + role}, ":")
}

// withoutRolePath drops a role ARN's path: an access entry may name arn:P:iam::A:role/PATH/ROLE (EKS allows paths
// there: https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html), while the caller's
// session ARN names only the role.
func withoutRolePath(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return arn
	}
	path := parts[5]
	parts[5] = "role/" + path[strings.LastIndex(path, "/")+1:]
	return strings.Join(parts, ":")
}
