package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tapstack/tapstack/pkg/rules"
)

func init() {
	register(Check{ID: "TS801", Name: "caller account and partition", Actions: []string{"sts:GetCallerIdentity"}, run: checkCaller})
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
