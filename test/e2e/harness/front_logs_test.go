package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

// TestFrontLogGroupKMSKey: a key associated with an existing group shows in DescribeLogGroups, and goes with
// DisassociateKmsKey; moto alone has neither call.
func TestFrontLogGroupKMSKey(t *testing.T) {
	t.Parallel()
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	c := logsClient(front.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: CI runs many emulators on two cores
	defer cancel()
	const group = "/aws/eks/c1/cluster"
	key := createKey(t, ctx, kmsClient(front.URL), keyPolicy(logsStatement("Allow", harness.Region, "ArnEquals", logGroupARN(group))))
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	keyOf := func() string {
		out, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
		if err != nil || len(out.LogGroups) != 1 {
			t.Fatalf("describe: %v %+v", err, out)
		}
		return aws.ToString(out.LogGroups[0].KmsKeyId)
	}
	if k := keyOf(); k != "" {
		t.Fatalf("a new group has key %q", k)
	}
	if _, err := c.AssociateKmsKey(ctx, &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String(group), KmsKeyId: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	if k := keyOf(); k != key {
		t.Errorf("after AssociateKmsKey the group has key %q, want %s", k, key)
	}
	if _, err := c.DisassociateKmsKey(ctx, &cloudwatchlogs.DisassociateKmsKeyInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if k := keyOf(); k != "" {
		t.Errorf("after DisassociateKmsKey the group has key %q", k)
	}
}
