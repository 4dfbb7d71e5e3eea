package live

import (
	"bytes"
	"context"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// StateObjectsAPI is the S3 subset that keeps objects beside a stack's state object (a roll's record).
type StateObjectsAPI interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// RollRecordKey is where `tapstack roll` keeps its progress: beside the state object and named after it
// (TapStackdev/dev/terraform.roll.json), so that two states sharing a folder under custom keys never share a
// record. The fleet commands read only keys ending in .tfstate.
func RollRecordKey(stateKey string) string {
	dir, base := path.Split(stateKey)
	return dir + strings.TrimSuffix(base, ".tfstate") + ".roll.json"
}

// ReadRollRecord returns the record's bytes; (nil, nil) when there is none.
func ReadRollRecord(ctx context.Context, c StateObjectsAPI, bucket, key string) ([]byte, error) {
	return getObject(ctx, c, bucket, key, "NoSuchKey", "NotFound")
}

// WriteRollRecord writes the record in one PutObject: S3 never stores part of an object ("Amazon S3 never adds
// partial objects", S3 user guide, PutObject), so a crash leaves the old record or the new one. encrypt asks for
// server-side encryption, as the state's backend does.
func WriteRollRecord(ctx context.Context, c StateObjectsAPI, bucket, key string, b []byte, encrypt bool) error {
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b),
		ContentType: aws.String("application/json")}
	if encrypt {
		in.ServerSideEncryption = s3types.ServerSideEncryptionAes256
	}
	_, err := c.PutObject(ctx, in)
	return wrap("s3:PutObject", err)
}

// DeleteRollRecord removes the record; removing one that is not there is no error (S3 answers 204 either way).
func DeleteRollRecord(ctx context.Context, c StateObjectsAPI, bucket, key string) error {
	_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return wrap("s3:DeleteObject", err)
}
