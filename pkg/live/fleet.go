package live

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// StateBucketAPI is the S3 subset the fleet commands call on a state bucket: list it, read a state, and remove
// the state of an environment that was destroyed.
type StateBucketAPI interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// NewStateBucketClient returns an S3 client for a state bucket in region, from the standard credential chain and
// configuration (as NewClients), path-style when the endpoint is overridden.
func NewStateBucketClient(ctx context.Context, region string) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	pathStyle := cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = o.UsePathStyle || pathStyle
		// A state written without a checksum (an emulator's, an older Terraform's) is no news, once per object.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// BucketObject is an object of a listing.
type BucketObject struct {
	Key          string
	LastModified time.Time
	Size         int64
}

// ListBucket lists every object of bucket under prefix, page by page (ListObjectsV2), in S3's key order.
func ListBucket(ctx context.Context, c StateBucketAPI, bucket, prefix string) ([]BucketObject, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var out []BucketObject
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("s3:ListObjectsV2", err, "s3:ListBucket")
		}
		for _, o := range page.Contents {
			out = append(out, BucketObject{Key: aws.ToString(o.Key), LastModified: aws.ToTime(o.LastModified).UTC(),
				Size: aws.ToInt64(o.Size)})
		}
	}
	return out, nil
}

// ReadBucketObject returns an object's bytes; (nil, nil) when there is no such key.
func ReadBucketObject(ctx context.Context, c StateBucketAPI, bucket, key string) ([]byte, error) {
	return getObject(ctx, c, bucket, key, "NoSuchKey", "NotFound")
}

// DeleteBucketObject removes an object. In a versioned bucket S3 keeps the object's versions behind a delete
// marker, so the history stays.
func DeleteBucketObject(ctx context.Context, c StateBucketAPI, bucket, key string) error {
	_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return wrap("s3:DeleteObject", err)
}
