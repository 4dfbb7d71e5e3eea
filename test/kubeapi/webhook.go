package kubeapi

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	authnv1 "k8s.io/api/authentication/v1"
)

// The token format and the checks on it follow the server side of aws-iam-authenticator, which EKS runs as its
// webhook token authenticator: kubernetes-sigs/aws-iam-authenticator pkg/token/token.go (Verify) and
// pkg/arn/arn.go (Canonicalize).
const (
	tokenPrefix     = "k8s-aws-v1."
	clusterIDHeader = "x-k8s-aws-id"
	maxTokenLen     = 4096 // token.go maxTokenLenBytes
	// maxExpires: aws-iam-authenticator clients always send 60. Upstream now accepts up to 900 (STS ignores the
	// parameter); the harness holds clients to what they send.
	maxExpires = 60
	// presignedLifetime: STS honours a presigned GetCallerIdentity URL for 15 minutes after X-Amz-Date, whatever
	// X-Amz-Expires says (token.go presignedURLExpiration).
	presignedLifetime = 15 * time.Minute
	amzDateFormat     = "20060102T150405Z"
	stsAPIVersion     = "2011-06-15"
	// emptySHA256 is the payload hash of a GET: STS signs the empty body.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// AdminGroup is the group an admin gets. EKS maps an access entry with AmazonEKSClusterAdminPolicy to
	// cluster-admin; in a plain API server system:masters is the group with that power.
	AdminGroup = "system:masters"
)

// allowedParams is token.go's parameterWhitelist: any other query parameter makes the token malformed.
var allowedParams = map[string]bool{
	"action": true, "version": true, "x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true,
	"x-amz-expires": true, "x-amz-security-token": true, "x-amz-signature": true, "x-amz-signedheaders": true,
}

// AuthOptions configures an Authenticator.
type AuthOptions struct {
	// Cluster is the cluster name tokens must be signed for (their x-k8s-aws-id header).
	Cluster string
	// STSEndpoint is the emulator's URL: tokens must be presigned for its scheme and host (EKS accepts only
	// https://sts[.REGION].amazonaws.com), and the webhook replays them there.
	STSEndpoint string
	// Admins are IAM principal ARNs (users, roles) mapped to AdminGroup, as by an EKS access entry with
	// AmazonEKSClusterAdminPolicy. Members have an access entry and no policy: authenticated with no group, so
	// RBAC allows them only what it allows every authenticated user. Any other principal is refused, as EKS
	// refuses a principal with no access entry.
	Admins, Members []string
	// SecretKeys maps access key IDs to their secret keys. STS checks a presigned URL's signature, which covers
	// the x-k8s-aws-id header's value, so it is what refuses a token signed for another cluster; moto checks no
	// signature, so the webhook does, with these.
	SecretKeys map[string]string
	// Now is the clock (nil: time.Now); Client calls STS (nil: a client with a ten-second timeout).
	Now    func() time.Time
	Client *http.Client
}

// Authenticator is a webhook token authenticator (TokenReview v1) for EKS tokens, checked against the emulator's
// STS: what aws-iam-authenticator does in EKS, for the test API server.
type Authenticator struct {
	opts     AuthOptions
	endpoint *url.URL
}

// NewAuthenticator checks opts and returns an Authenticator.
func NewAuthenticator(opts AuthOptions) (*Authenticator, error) {
	u, err := url.Parse(opts.STSEndpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("STSEndpoint must be an absolute URL, got %q", opts.STSEndpoint)
	}
	if opts.Cluster == "" {
		return nil, errors.New("no cluster name")
	}
	for _, a := range append(slices.Clone(opts.Admins), opts.Members...) {
		if c, err := canonicalARN(a); err != nil || c != a {
			return nil, fmt.Errorf("access entry principal %q is not an IAM user or role ARN", a)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Authenticator{opts: opts, endpoint: u}, nil
}

// Identity is the caller STS reports for a token.
type Identity struct {
	ARN          string // as STS answers it
	CanonicalARN string // an assumed role's session becomes the role's IAM ARN
	Account      string
	UserID       string
	SessionName  string
	AccessKeyID  string
}

// presigned is a token that passed the format checks.
type presigned struct {
	url         *url.URL
	params      map[string]string // by lower-case name
	accessKeyID string
	region      string
	signedAt    time.Time
}

// parseToken makes aws-iam-authenticator's format checks (token.go Verify, up to the STS call) and the
// emulator's endpoint in place of STS's host names.
func (a *Authenticator) parseToken(token string) (*presigned, error) {
	if len(token) > maxTokenLen {
		return nil, errors.New("token is too large")
	}
	enc, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return nil, fmt.Errorf("token lacks the %q prefix", tokenPrefix)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("token is not unpadded base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		return nil, fmt.Errorf("token is not a URL: %v", err)
	}
	if u.Scheme != a.endpoint.Scheme || u.Host != a.endpoint.Host || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("presigned URL is not for the STS endpoint %s", a.endpoint.Host)
	}
	if u.Path != "/" {
		return nil, errors.New("unexpected path in presigned URL")
	}
	p := &presigned{url: u, params: map[string]string{}}
	for k, vs := range u.Query() {
		lk := strings.ToLower(k)
		if !allowedParams[lk] {
			return nil, fmt.Errorf("query parameter %q is not allowed", k)
		}
		if _, dup := p.params[lk]; dup || len(vs) != 1 {
			return nil, fmt.Errorf("query parameter %q has more than one value", k)
		}
		p.params[lk] = vs[0]
	}
	if p.params["action"] != "GetCallerIdentity" || p.params["version"] != stsAPIVersion {
		return nil, errors.New("presigned URL is not an STS GetCallerIdentity call")
	}
	if p.params["x-amz-algorithm"] != "AWS4-HMAC-SHA256" {
		return nil, errors.New("presigned URL is not signed with AWS4-HMAC-SHA256")
	}
	signed := strings.Split(p.params["x-amz-signedheaders"], ";")
	if !slices.Contains(signed, clusterIDHeader) {
		return nil, fmt.Errorf("the %s header is not signed", clusterIDHeader)
	}
	// The replay sends only host and x-k8s-aws-id (as Verify does): STS could not match a signature over others.
	for _, h := range signed {
		if h != "host" && h != clusterIDHeader {
			return nil, fmt.Errorf("signed header %q would not be sent to STS", h)
		}
	}
	expires, err := strconv.Atoi(p.params["x-amz-expires"])
	if err != nil || expires < 0 || expires > maxExpires {
		return nil, fmt.Errorf("X-Amz-Expires %q is not between 0 and %d", p.params["x-amz-expires"], maxExpires)
	}
	p.signedAt, err = time.Parse(amzDateFormat, p.params["x-amz-date"])
	if err != nil {
		return nil, fmt.Errorf("X-Amz-Date %q: %v", p.params["x-amz-date"], err)
	}
	if a.opts.Now().After(p.signedAt.Add(presignedLifetime)) {
		return nil, fmt.Errorf("token expired: signed at %s, good for %s", p.signedAt.Format(time.RFC3339), presignedLifetime)
	}
	// X-Amz-Credential: KEY/DATE/REGION/sts/aws4_request.
	scope := strings.Split(p.params["x-amz-credential"], "/")
	if len(scope) != 5 || scope[0] == "" || scope[1] != p.signedAt.Format("20060102") || scope[2] == "" ||
		scope[3] != "sts" || scope[4] != "aws4_request" {
		return nil, fmt.Errorf("X-Amz-Credential %q is not an STS credential scope of the signing day", p.params["x-amz-credential"])
	}
	p.accessKeyID, p.region = scope[0], scope[2]
	return p, nil
}

// checkSignature recomputes the URL's signature with the secret key of its access key and x-k8s-aws-id set to
// the cluster, as STS would on the replay: so a token signed for another cluster, or with a wrong secret, fails.
func (a *Authenticator) checkSignature(ctx context.Context, p *presigned) error {
	secret, ok := a.opts.SecretKeys[p.accessKeyID]
	if !ok {
		// STS: InvalidClientTokenId.
		return fmt.Errorf("unknown access key %s", p.accessKeyID)
	}
	q := url.Values{}
	for k, v := range p.url.Query() {
		switch strings.ToLower(k) {
		case "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signedheaders", "x-amz-signature", "x-amz-security-token":
			// the signer adds them again
		default:
			q[k] = v
		}
	}
	u := *p.url
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set(clusterIDHeader, a.opts.Cluster)
	creds := aws.Credentials{AccessKeyID: p.accessKeyID, SecretAccessKey: secret, SessionToken: p.params["x-amz-security-token"]}
	want, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, emptySHA256, "sts", p.region, p.signedAt)
	if err != nil {
		return err
	}
	wu, err := url.Parse(want)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(wu.Query().Get("X-Amz-Signature")), []byte(p.params["x-amz-signature"])) {
		// STS: SignatureDoesNotMatch.
		return fmt.Errorf("signature does not match (a token for another cluster than %s, or a wrong secret key)", a.opts.Cluster)
	}
	return nil
}

// check makes every check of a token that needs no call to STS.
func (a *Authenticator) check(ctx context.Context, token string) (*presigned, error) {
	p, err := a.parseToken(token)
	if err != nil {
		return nil, err
	}
	return p, a.checkSignature(ctx, p)
}

// callerIdentity replays the presigned URL against the emulator's STS, as Verify does against STS, and returns
// the caller it reports.
//
// moto 5.2.1 needs one addition: it picks the service from an Authorization header's credential scope and reads
// the caller's access key only from there (moto/core/responses.py get_access_key), so the bare presigned URL would
// reach moto's S3 (ListBuckets). The replay carries the URL's own credential, signed headers and signature in
// header form; moto checks no signature either way.
func (a *Authenticator) callerIdentity(ctx context.Context, p *presigned) (Identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url.String(), nil)
	if err != nil {
		return Identity{}, err
	}
	req.Header.Set(clusterIDHeader, a.opts.Cluster)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s",
		p.params["x-amz-credential"], p.params["x-amz-signedheaders"], p.params["x-amz-signature"]))
	resp, err := a.opts.Client.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("STS GetCallerIdentity: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Identity{}, fmt.Errorf("STS GetCallerIdentity: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Identity{}, fmt.Errorf("STS GetCallerIdentity: HTTP %d: %s", resp.StatusCode, body)
	}
	// STS answers JSON to Accept: application/json (what Verify parses); moto answers XML.
	var res struct {
		Arn     string `json:"Arn" xml:"Arn"`
		Account string `json:"Account" xml:"Account"`
		UserID  string `json:"UserId" xml:"UserId"`
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		var w struct {
			GetCallerIdentityResponse struct {
				GetCallerIdentityResult json.RawMessage
			}
		}
		err = json.Unmarshal(body, &w)
		if err == nil {
			err = json.Unmarshal(w.GetCallerIdentityResponse.GetCallerIdentityResult, &res)
		}
	} else {
		var w struct {
			Result *struct {
				Arn     string `xml:"Arn"`
				Account string `xml:"Account"`
				UserID  string `xml:"UserId"`
			} `xml:"GetCallerIdentityResult"`
		}
		err = xml.Unmarshal(body, &w)
		if err == nil && w.Result == nil {
			err = errors.New("no GetCallerIdentityResult")
		}
		if err == nil {
			res.Arn, res.Account, res.UserID = w.Result.Arn, w.Result.Account, w.Result.UserID
		}
	}
	if err != nil {
		return Identity{}, fmt.Errorf("STS GetCallerIdentity answer %q: %v", body, err)
	}
	id := Identity{ARN: res.Arn, Account: res.Account, AccessKeyID: p.accessKeyID}
	if id.CanonicalARN, err = canonicalARN(res.Arn); err != nil {
		return Identity{}, err
	}
	// UserId is "ID" for a user and "ID:SESSION" for an assumed role (token.go Verify).
	id.UserID, id.SessionName, _ = strings.Cut(res.UserID, ":")
	return id, nil
}

// canonicalARN is aws-iam-authenticator's arn.Canonicalize: IAM users, roles and accounts as they are, federated
// users as they are, and an assumed role's session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) as its role
// (arn:aws:iam::ACCOUNT:role/ROLE). Anything else is no identity, moto's default caller for an unknown access key
// (arn:aws:sts::ACCOUNT:user/moto) included.
func canonicalARN(s string) (string, error) {
	a, err := awsarn.Parse(s)
	if err != nil {
		return "", fmt.Errorf("ARN %q: %v", s, err)
	}
	parts := strings.Split(a.Resource, "/")
	switch {
	case a.Service == "iam" && (parts[0] == "user" || parts[0] == "role") && len(parts) >= 2, a.Service == "iam" && a.Resource == "root":
		return s, nil
	case a.Service == "sts" && parts[0] == "federated-user" && len(parts) >= 2:
		return s, nil
	case a.Service == "sts" && parts[0] == "assumed-role" && len(parts) >= 3:
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", a.Partition, a.AccountID, strings.Join(parts[1:len(parts)-1], "/")), nil
	}
	return "", fmt.Errorf("ARN %q is not an IAM identity", s)
}

// Authenticate checks a token and maps its caller: the username is the canonical ARN, an admin gets AdminGroup.
// A caller with no access entry (neither admin nor member) is refused.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (authnv1.UserInfo, error) {
	p, err := a.check(ctx, token)
	if err != nil {
		return authnv1.UserInfo{}, err
	}
	id, err := a.callerIdentity(ctx, p)
	if err != nil {
		return authnv1.UserInfo{}, err
	}
	var groups []string
	switch {
	case slices.Contains(a.opts.Admins, id.CanonicalARN):
		groups = []string{AdminGroup}
	case slices.Contains(a.opts.Members, id.CanonicalARN):
	default:
		return authnv1.UserInfo{}, fmt.Errorf("%s has no access entry for cluster %s", id.CanonicalARN, a.opts.Cluster)
	}
	// UID and extra as aws-iam-authenticator's server.go sets them.
	return authnv1.UserInfo{
		Username: id.CanonicalARN,
		UID:      "aws-iam-authenticator:" + id.Account + ":" + id.UserID,
		Groups:   groups,
		Extra: map[string]authnv1.ExtraValue{
			"arn":          {id.ARN},
			"canonicalArn": {id.CanonicalARN},
			"sessionName":  {id.SessionName},
			"accessKeyId":  {id.AccessKeyID},
		},
	}, nil
}

// ServeHTTP answers the API server's TokenReview (authentication.k8s.io/v1): authenticated with the user, or
// authenticated=false with the reason, which the API server turns into 401 Unauthorized.
func (a *Authenticator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var review authnv1.TokenReview
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&review) != nil {
		http.Error(w, "want a POSTed TokenReview", http.StatusBadRequest)
		return
	}
	user, err := a.Authenticate(r.Context(), review.Spec.Token)
	status := authnv1.TokenReviewStatus{Authenticated: err == nil, User: user}
	if err != nil {
		status.Error = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(authnv1.TokenReview{TypeMeta: review.TypeMeta, Status: status})
}
