package kubeaccess

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
)

type describeFunc func(*eks.DescribeClusterInput) (*eks.DescribeClusterOutput, error)

func (f describeFunc) DescribeCluster(_ context.Context, in *eks.DescribeClusterInput, _ ...func(*eks.Options)) (*eks.DescribeClusterOutput, error) {
	return f(in)
}

func TestDescribe(t *testing.T) {
	cluster := func(c ekstypes.Cluster) describeFunc {
		return func(in *eks.DescribeClusterInput) (*eks.DescribeClusterOutput, error) {
			if aws.ToString(in.Name) != "c1" {
				t.Errorf("described %q", aws.ToString(in.Name))
			}
			return &eks.DescribeClusterOutput{Cluster: &c}, nil
		}
	}
	got, err := Describe(context.Background(), cluster(ekstypes.Cluster{Arn: aws.String("arn:c1"), Endpoint: aws.String("https://e"),
		CertificateAuthority: &ekstypes.Certificate{Data: aws.String("LS0tLS1CRUdJTg==")},
		AccessConfig:         &ekstypes.AccessConfigResponse{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap}}), "c1", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "c1" || got.ARN != "arn:c1" || got.Region != "eu-west-1" || got.Endpoint != "https://e" ||
		string(got.CAData) != "-----BEGIN" || got.AuthenticationMode != "API_AND_CONFIG_MAP" {
		t.Errorf("%+v", got)
	}
	if _, err := Describe(context.Background(), cluster(ekstypes.Cluster{Status: ekstypes.ClusterStatusCreating}), "c1", "r"); err == nil ||
		!strings.Contains(err.Error(), "no endpoint yet (status CREATING)") {
		t.Errorf("creating cluster: %v", err)
	}
	if _, err := Describe(context.Background(), cluster(ekstypes.Cluster{Endpoint: aws.String("https://e"),
		CertificateAuthority: &ekstypes.Certificate{Data: aws.String("not base64!")}}), "c1", "r"); err == nil ||
		!strings.Contains(err.Error(), "certificate authority data") {
		t.Errorf("bad CA: %v", err)
	}
}
