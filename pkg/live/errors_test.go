package live

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
)

// The classification of errors as the real SDK produces them, from an endpoint answering as moto or AWS do.
func TestClassifyRealSDKErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		call   func(ctx context.Context, url string) error
		want   errClass
	}{
		{"moto's HTML 404 for an unknown EKS path", 404, map[string]string{"Content-Type": "text/html"}, "<!doctype html><title>404 Not Found</title>",
			eksVersions, classNotImplemented},
		{"moto's HTML 500 for an unimplemented JSON action", 500, map[string]string{"Content-Type": "text/html"}, "<!doctype html><title>500</title>",
			defaultQuota, classNotImplemented},
		{"EKS ResourceNotFoundException is a real 404", 404, map[string]string{"x-amzn-ErrorType": "ResourceNotFoundException"}, `{"message":"No cluster"}`,
			eksVersions, classOther},
		{"AWS InternalFailure is a real 500", 500, map[string]string{"Content-Type": "application/x-amz-json-1.1"}, `{"__type":"InternalFailure","message":"boom"}`,
			defaultQuota, classOther},
		{"EKS AccessDeniedException", 403, map[string]string{"x-amzn-ErrorType": "AccessDeniedException"}, `{"message":"not authorized"}`,
			eksVersions, classDenied},
		{"Service Quotas AccessDeniedException", 400, map[string]string{"Content-Type": "application/x-amz-json-1.1"}, `{"__type":"AccessDeniedException","message":"no"}`,
			defaultQuota, classDenied},
		{"S3 HeadBucket 403 without a body", 403, nil, "", headBucket, classDenied},
		{"S3 HeadBucket 404 is a missing bucket, not a missing API", 404, nil, "", headBucket, classOther},
		{"a not-yet-implemented message", 400, map[string]string{"x-amzn-ErrorType": "InvalidRequestException"}, `{"message":"The action is not yet implemented"}`,
			eksVersions, classNotImplemented},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			ctx := context.Background()
			err := c.call(ctx, srv.URL)
			if err == nil {
				t.Fatal("no error")
			}
			if got := classify(ctx, err); got != c.want {
				t.Errorf("classify(%v) = %d, want %d", err, got, c.want)
			}
		})
	}
}

func TestHeadBucketNotFoundIsAMissingBucket(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	defer srv.Close()
	if err := headBucket(context.Background(), srv.URL); !hasCode(err, "NotFound", "NoSuchBucket") {
		t.Fatalf("HeadBucket 404: %v has no NotFound code", err)
	}
}

var creds = credentials.NewStaticCredentialsProvider("test", "test", "")

func eksVersions(ctx context.Context, url string) error {
	c := eks.New(eks.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 1})
	_, err := c.DescribeClusterVersions(ctx, &eks.DescribeClusterVersionsInput{})
	return wrap("eks:DescribeClusterVersions", err)
}

func defaultQuota(ctx context.Context, url string) error {
	c := servicequotas.New(servicequotas.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, RetryMaxAttempts: 1})
	_, err := c.GetAWSDefaultServiceQuota(ctx, &servicequotas.GetAWSDefaultServiceQuotaInput{ServiceCode: aws.String("ec2"), QuotaCode: aws.String(QuotaOnDemandVCPUs)})
	return err
}

func headBucket(ctx context.Context, url string) error {
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, UsePathStyle: true, RetryMaxAttempts: 1})
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b")})
	return err
}
