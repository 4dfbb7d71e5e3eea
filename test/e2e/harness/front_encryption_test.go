package harness_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
)

// TestFrontAssociateEncryptionConfig: secrets encryption added to a running cluster shows in DescribeCluster,
// its update is Successful, and a second association is refused as EKS refuses it.
func TestFrontAssociateEncryptionConfig(t *testing.T) {
	t.Parallel()
	front, c, ctx := startEKS(t)
	createCluster(t, c, "enc", "1.32", nil)
	pause(front)
	key := newKey(t, front.URL)
	cfg := []ekstypes.EncryptionConfig{{Resources: []string{"secrets"}, Provider: &ekstypes.Provider{KeyArn: aws.String(key)}}}
	out, err := c.AssociateEncryptionConfig(ctx, &eks.AssociateEncryptionConfigInput{ClusterName: aws.String("enc"), EncryptionConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	u := waitUpdate(t, c, &eks.DescribeUpdateInput{Name: aws.String("enc"), UpdateId: out.Update.Id})
	if u.Status != ekstypes.UpdateStatusSuccessful || u.Type != ekstypes.UpdateTypeAssociateEncryptionConfig {
		t.Fatalf("update: %+v", u)
	}
	d, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("enc")})
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 deprecated in the SDK but still in the EKS API, and hashicorp/aws 5.x sends it (encryption_config.resources is required): the front keeps what was associated
	if ec := d.Cluster.EncryptionConfig; len(ec) != 1 || aws.ToString(ec[0].Provider.KeyArn) != key || ec[0].Resources[0] != "secrets" {
		t.Errorf("cluster encryption %+v", ec)
	}
	_, err = c.AssociateEncryptionConfig(ctx, &eks.AssociateEncryptionConfigInput{ClusterName: aws.String("enc"), EncryptionConfig: cfg})
	wantAPIError(t, "second association", err, "InvalidParameterException", "Encryption is already enabled on the cluster")
	_, err = c.AssociateEncryptionConfig(ctx, &eks.AssociateEncryptionConfigInput{ClusterName: aws.String("nope"), EncryptionConfig: cfg})
	wantAPIError(t, "missing cluster", err, "ResourceNotFoundException", "No cluster found")
}
