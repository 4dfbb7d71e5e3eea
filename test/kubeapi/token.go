package kubeapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TokenRequest is what PresignToken signs.
type TokenRequest struct {
	Credentials aws.Credentials
	Endpoint    string // the STS endpoint URL the token is presigned for (the emulator's)
	Region      string
	Cluster     string    // the x-k8s-aws-id header's value
	SignedAt    time.Time // the signing time; zero means now
}

// PresignToken builds an EKS bearer token the way aws-iam-authenticator's client does
// (kubernetes-sigs/aws-iam-authenticator pkg/token/token.go, GetWithSTS): "k8s-aws-v1." and the unpadded base64url
// of an STS GetCallerIdentity URL presigned with the x-k8s-aws-id header signed and X-Amz-Expires=60. It is the
// tests' own, independent of tapstack's token command, so that each can check the other.
func PresignToken(ctx context.Context, r TokenRequest) (string, error) {
	if r.Cluster == "" || r.Endpoint == "" || r.Region == "" {
		return "", errors.New("a token needs a cluster, an STS endpoint and a region")
	}
	client := sts.NewFromConfig(aws.Config{
		Region:       r.Region,
		BaseEndpoint: aws.String(r.Endpoint),
		Credentials:  aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return r.Credentials, nil }),
	})
	presign := sts.NewPresignClient(client, func(o *sts.PresignOptions) {
		if !r.SignedAt.IsZero() {
			o.Presigner = presignerAt{v4.NewSigner(), r.SignedAt}
		}
	})
	req, err := presign.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, sts.WithAPIOptions(
			// x-k8s-aws-id stays a header, so it is signed; the signer moves X-Amz-Expires into the query.
			smithyhttp.AddHeaderValue(clusterIDHeader, r.Cluster),
			smithyhttp.AddHeaderValue("X-Amz-Expires", "60"),
		))
	})
	if err != nil {
		return "", err
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)), nil
}

// presignerAt signs at a fixed time, for tokens that are already expired.
type presignerAt struct {
	signer *v4.Signer
	at     time.Time
}

func (p presignerAt) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service,
	region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.at, optFns...)
}
