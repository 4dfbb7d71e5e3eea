package kubeaccess

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
)

// DescribeClusterAPI is the EKS call Describe makes; *eks.Client has it.
type DescribeClusterAPI interface {
	DescribeCluster(context.Context, *eks.DescribeClusterInput, ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
}

// Describe reads what a client needs to reach the cluster: its endpoint, CA and authentication mode. A cluster
// without an endpoint yet (still creating) is an error.
func Describe(ctx context.Context, api DescribeClusterAPI, name, region string) (Cluster, error) {
	out, err := api.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		return Cluster{}, err
	}
	if out.Cluster == nil {
		return Cluster{}, fmt.Errorf("DescribeCluster %s returned no cluster", name)
	}
	c := out.Cluster
	cl := Cluster{Name: name, ARN: aws.ToString(c.Arn), Region: region, Endpoint: aws.ToString(c.Endpoint)}
	if cl.Endpoint == "" {
		return Cluster{}, fmt.Errorf("cluster %s has no endpoint yet (status %s)", name, c.Status)
	}
	if c.CertificateAuthority != nil && aws.ToString(c.CertificateAuthority.Data) != "" {
		// EKS gives the PEM base64-encoded, as the kubeconfig's certificate-authority-data holds it.
		cl.CAData, err = base64.StdEncoding.DecodeString(aws.ToString(c.CertificateAuthority.Data))
		if err != nil {
			return Cluster{}, fmt.Errorf("cluster %s: certificate authority data: %w", name, err)
		}
	}
	if c.AccessConfig != nil {
		cl.AuthenticationMode = string(c.AccessConfig.AuthenticationMode)
	}
	return cl, nil
}
