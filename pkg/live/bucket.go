package live

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tapstack/tapstack/pkg/rules"
)

// IDStateBucket is the check of the state bucket: it exists, in its region, versioned.
const IDStateBucket = "TS812"

func init() {
	register(Check{ID: IDStateBucket, Name: "state bucket exists, in its region, versioned",
		Actions: []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"}, run: checkStateBucket})
}

// bucketRegion turns a LocationConstraint into a region name.
func bucketRegion(c s3types.BucketLocationConstraint) string {
	switch c {
	case "":
		return "us-east-1"
	case "EU":
		return "eu-west-1"
	}
	return string(c)
}

func checkStateBucket(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	st := e.cfg.State
	bucket := aws.String(st.Bucket)
	_, err := e.c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: bucket})
	switch {
	case hasCode(err, "NotFound", "NoSuchBucket"):
		return []rules.Finding{{Path: "state.bucket", Message: fmt.Sprintf(
			"the state bucket %s does not exist (or is not visible to these credentials): terraform init fails", st.Bucket),
			Fix: fmt.Sprintf("create it with versioning on (aws s3api create-bucket --bucket %s --region %s; aws s3api "+
				"put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled), or set TERRAFORM_STATE_BUCKET",
				st.Bucket, st.Region, st.Bucket)}}, "", nil
	case hasCode(err, "PermanentRedirect", "BucketRegionError", "301", "MovedPermanently"), httpStatus(err) == 301:
		// In another region than the client's: GetBucketLocation below says which.
	case err != nil:
		return nil, "", wrap("s3:HeadBucket", err, "s3:ListBucket")
	}
	loc, err := e.c.S3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: bucket})
	if err != nil {
		return nil, "", wrap("s3:GetBucketLocation", err)
	}
	region := bucketRegion(loc.LocationConstraint)
	var fs []rules.Finding
	if region != st.Region {
		fs = append(fs, rules.Finding{Path: "state.region", Message: fmt.Sprintf(
			"the state bucket %s is in %s, not in %s as configured: the S3 backend fails with a region error",
			st.Bucket, region, st.Region), Fix: "set state.region (TERRAFORM_STATE_BUCKET_REGION) to " + region})
	}
	v, err := e.c.S3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket})
	if err != nil {
		return fs, "in " + region, wrap("s3:GetBucketVersioning", err)
	}
	versioning := string(v.Status)
	if v.Status != s3types.BucketVersioningStatusEnabled {
		if versioning == "" {
			versioning = "never enabled"
		}
		fs = append(fs, rules.Finding{Kind: rules.Advice, Path: "state.bucket", Message: fmt.Sprintf(
			"versioning of the state bucket %s is %s: an overwritten or deleted state cannot be recovered", st.Bucket, versioning),
			Fix: "aws s3api put-bucket-versioning --bucket " + st.Bucket + " --versioning-configuration Status=Enabled"})
	}
	return fs, fmt.Sprintf("%s in %s, versioning %s", st.Bucket, region, versioning), nil
}
