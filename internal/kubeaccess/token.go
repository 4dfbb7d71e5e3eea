// Package kubeaccess reaches an EKS cluster's Kubernetes API the way aws-iam-authenticator and `aws eks
// get-token` do: a bearer token that is a presigned STS GetCallerIdentity URL naming the cluster, a kubeconfig
// whose user runs `tapstack token` as an exec credential plugin, and a client-go configuration that signs its
// own tokens.
package kubeaccess

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

// The token's format, as kubernetes-sigs/aws-iam-authenticator pkg/token/token.go (GetWithSTS) and aws-cli
// awscli/customizations/eks/get_token.py (TokenGenerator) build it; EKS's authenticator verifies it.
const (
	// TokenPrefix starts every token; the unpadded base64url of the presigned URL follows.
	TokenPrefix = "k8s-aws-v1."
	// ClusterIDHeader is signed into the URL so that a token for one cluster is refused by another.
	ClusterIDHeader = "x-k8s-aws-id"
	// presignExpires is X-Amz-Expires. STS ignores it (a presigned GetCallerIdentity URL is good for 15 minutes
	// after X-Amz-Date); both tools send 60 because authenticators 0.3.0 and older want 0 to 60.
	presignExpires = "60"
	// TokenLifetime is the expiration reported to the client: get_token.py's TOKEN_EXPIRATION_MINS, one minute
	// short of the 15 minutes STS honours the signature, so client-go asks again before the server refuses it.
	TokenLifetime = 14 * time.Minute
)

// Token is a bearer token for one cluster and when the client should stop using it.
type Token struct {
	Value      string
	Expiration time.Time
}

// NewToken signs a token for cluster with cfg's credentials, against the regional STS endpoint of cfg.Region (or
// the endpoint cfg and the environment override: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL). now is the signing
// clock; nil means time.Now. It makes no network call, though resolving cfg's credentials may.
func NewToken(ctx context.Context, cfg aws.Config, cluster string, now func() time.Time) (Token, error) {
	if cluster == "" {
		return Token{}, errors.New("no cluster name to sign into the token")
	}
	if now == nil {
		now = time.Now
	}
	signedAt := now().UTC()
	client := sts.NewFromConfig(cfg)
	presigner := sts.NewPresignClient(client, func(o *sts.PresignOptions) {
		o.Presigner = clockPresigner{signer: v4.NewSigner(), at: signedAt}
	})
	req, err := presigner.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, sts.WithAPIOptions(
			// A header that is not X-Amz-* stays a header and so a signed header; X-Amz-Expires moves to
			// the query (the signer's header hoisting).
			smithyhttp.AddHeaderValue(ClusterIDHeader, cluster),
			smithyhttp.AddHeaderValue("X-Amz-Expires", presignExpires),
		))
	})
	if err != nil {
		return Token{}, err
	}
	return Token{
		Value:      TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)),
		Expiration: signedAt.Add(TokenLifetime),
	}, nil
}

// clockPresigner signs at a given time instead of the SDK's clock, so that the token's X-Amz-Date and its
// expiration come from the same instant (and tests can fix it).
type clockPresigner struct {
	signer *v4.Signer
	at     time.Time
}

func (p clockPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service,
	region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.at, optFns...)
}
