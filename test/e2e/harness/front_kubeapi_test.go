package harness_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
)

// ServeKubernetesAPI replaces moto's endpoint and CA of the named cluster, from its creation on, and of no other.
func TestFrontServeKubernetesAPI(t *testing.T) {
	t.Parallel()
	front, c, ctx := startEKS(t)
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	front.ServeKubernetesAPI("served", "https://127.0.0.1:6443", ca)
	created := createCluster(t, c, "served", "1.33", nil)
	createCluster(t, c, "other", "1.33", nil)
	out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("served")})
	if err != nil {
		t.Fatal(err)
	}
	for what, cl := range map[string]struct{ endpoint, ca, version string }{
		"created":   {aws.ToString(created.Endpoint), aws.ToString(created.CertificateAuthority.Data), aws.ToString(created.Version)},
		"described": {aws.ToString(out.Cluster.Endpoint), aws.ToString(out.Cluster.CertificateAuthority.Data), aws.ToString(out.Cluster.Version)},
	} {
		if cl.endpoint != "https://127.0.0.1:6443" || cl.ca != base64.StdEncoding.EncodeToString(ca) || cl.version != "1.33" {
			t.Errorf("%s cluster: endpoint %q, CA %.40q, version %q", what, cl.endpoint, cl.ca, cl.version)
		}
	}
	other, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	if ep := aws.ToString(other.Cluster.Endpoint); !strings.HasSuffix(ep, ".eks.amazonaws.com/") {
		t.Errorf("other cluster's endpoint %q: want moto's", ep)
	}
}
