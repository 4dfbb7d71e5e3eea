package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tapstack/tapstack/pkg/rules"
)

// IDCaller is the check that reads the caller's account and partition.
const IDCaller = "TS801"

func init() {
	register(Check{ID: IDCaller, Name: "caller account and partition", Actions: []string{"sts:GetCallerIdentity"}, run: checkCaller})
	register(Check{ID: "TS818", Name: "the creator is not also an admin principal", Actions: []string{"sts:GetCallerIdentity", "eks:DescribeCluster"},
		run: checkCreatorEntry})
}

// principalOf is the IAM principal EKS records for a caller: a user as it is, an assumed role's session as its
// role (arn:aws:sts::A:assumed-role/R/S -> arn:aws:iam::A:role/R; a role's path is not in the session ARN).
func principalOf(callerARN string) string {
	prefix, rest, ok := strings.Cut(callerARN, ":assumed-role/")
	if !ok {
		return callerARN
	}
	role, _, _ := strings.Cut(rest, "/")
	return strings.Replace(prefix, ":sts::", ":iam::", 1) + ":role/" + role
}

// samePrincipal reports whether an admin principal ARN names the role of principal, whatever its path.
func samePrincipal(admin, principal string) bool {
	if admin == principal {
		return true
	}
	ap, an, ok1 := strings.Cut(admin, ":role/")
	pp, pn, ok2 := strings.Cut(principal, ":role/")
	return ok1 && ok2 && ap == pp && an[strings.LastIndex(an, "/")+1:] == pn
}

// checkCreatorEntry: with access entries and bootstrapCreatorAdmin, EKS gives whoever creates the cluster an
// access entry itself; an access entry the stack also creates for that principal then fails with
// ResourceInUseException after the cluster exists (EKS user guide, access-entries; terraform-aws-eks #2968).
func checkCreatorEntry(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	c := e.cfg.Cluster
	if c.AuthenticationMode == "" || c.AuthenticationMode == "CONFIG_MAP" || !c.BootstrapCreatorAdmin || len(c.AdminPrincipals) == 0 {
		return nil, "no admin principals beside the creator's entry", nil
	}
	cl, err := describeCluster(ctx, e.c.EKS, e.cfg.ClusterName())
	if err != nil {
		return nil, "", err
	}
	if cl != nil {
		return nil, "the cluster exists: EKS gave its creator an entry at creation, if any", nil
	}
	out, err := e.c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, "", wrap("sts:GetCallerIdentity", err)
	}
	creator := principalOf(aws.ToString(out.Arn))
	for i, p := range c.AdminPrincipals {
		if samePrincipal(p, creator) {
			return []rules.Finding{{Path: fmt.Sprintf("cluster.adminPrincipals[%d]", i), Message: fmt.Sprintf(
				"%s creates the cluster, and EKS gives the creator an access entry itself (cluster.bootstrapCreatorAdmin): "+
					"the stack's own entry for it would fail with ResourceInUseException after the cluster exists", p),
				Fix: "remove it from cluster.adminPrincipals, or set cluster.bootstrapCreatorAdmin: false"}}, "creator " + creator, nil
		}
	}
	return nil, "creator " + creator + " is not an admin principal", nil
}

// PartitionOf returns the AWS partition a region belongs to.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "eusc-"):
		return "aws-eusc"
	}
	return "aws"
}

func checkCaller(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	out, err := e.c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, "", wrap("sts:GetCallerIdentity", err)
	}
	arn := aws.ToString(out.Arn)
	partition := ""
	if f := strings.SplitN(arn, ":", 3); len(f) == 3 {
		partition = f[1]
	}
	note := fmt.Sprintf("account %s, partition %s, as %s", aws.ToString(out.Account), partition, arn)
	if want := PartitionOf(e.cfg.Region); partition != "" && partition != want {
		return []rules.Finding{{Path: "region", Message: fmt.Sprintf(
			"the credentials belong to partition %s, but region %s is in partition %s", partition, e.cfg.Region, want),
			Fix: "use credentials of an account in " + want + ", or a region of " + partition}}, note, nil
	}
	return nil, note, nil
}
