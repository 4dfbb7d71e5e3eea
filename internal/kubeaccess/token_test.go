package kubeaccess

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

const (
	testAccessKey = "AKIDEXAMPLE"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var signedAt = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func fixedClock() time.Time { return signedAt }

// noNetwork fails the test on any request: signing a token never calls STS.
type noNetwork struct{ t *testing.T }

func (n noNetwork) Do(r *http.Request) (*http.Response, error) {
	n.t.Errorf("a request reached the network: %s %s", r.Method, r.URL)
	return nil, fmt.Errorf("no network in unit tests")
}

func staticConfig(t *testing.T, sessionToken string) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, sessionToken),
		HTTPClient:  noNetwork{t},
	}
}

// decode undoes the token's encoding: the prefix, then unpadded base64url of the URL.
func decode(t *testing.T, token string) *url.URL {
	t.Helper()
	rest, ok := strings.CutPrefix(token, "k8s-aws-v1.")
	if !ok {
		t.Fatalf("token %q lacks the k8s-aws-v1. prefix", token)
	}
	if strings.ContainsAny(rest, "=+/") {
		t.Errorf("token %q is not unpadded base64url", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		t.Fatalf("token body: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatalf("token URL %q: %v", raw, err)
	}
	return u
}

// The token is the URL of a presigned GET of STS GetCallerIdentity with the cluster's name in a signed
// x-k8s-aws-id header; its signature is recomputed here from the SigV4 specification, without the SDK's signer.
func TestTokenSignature(t *testing.T) {
	for _, sessionToken := range []string{"", "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+/="} {
		t.Run(fmt.Sprintf("session token %t", sessionToken != ""), func(t *testing.T) {
			tok, err := NewToken(context.Background(), staticConfig(t, sessionToken), "eks-cluster-v1-dev", fixedClock)
			if err != nil {
				t.Fatal(err)
			}
			u := decode(t, tok.Value)
			if u.Scheme != "https" || u.Host != "sts.us-east-1.amazonaws.com" || (u.Path != "/" && u.Path != "") {
				t.Errorf("URL %s: want https://sts.us-east-1.amazonaws.com/ (the regional endpoint)", u)
			}
			q := u.Query()
			want := map[string]string{
				"Action":              "GetCallerIdentity",
				"Version":             "2011-06-15",
				"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
				"X-Amz-Credential":    testAccessKey + "/20260314/us-east-1/sts/aws4_request",
				"X-Amz-Date":          "20260314T092653Z",
				"X-Amz-Expires":       "60",
				"X-Amz-SignedHeaders": "host;x-k8s-aws-id",
			}
			if sessionToken != "" {
				want["X-Amz-Security-Token"] = sessionToken
			}
			for k, v := range want {
				if got := q.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for k := range q {
				if _, ok := want[k]; !ok && k != "X-Amz-Signature" {
					t.Errorf("unexpected query parameter %s=%q", k, q.Get(k))
				}
			}
			headers := map[string]string{"host": u.Host, "x-k8s-aws-id": "eks-cluster-v1-dev"}
			if got, want := q.Get("X-Amz-Signature"), sigV4Presigned(q, headers, "us-east-1", "sts", testSecretKey); got != want {
				t.Errorf("X-Amz-Signature = %s, recomputed %s", got, want)
			}
			if want := signedAt.Add(14 * time.Minute); !tok.Expiration.Equal(want) {
				t.Errorf("expiration %s, want %s (14 minutes after signing)", tok.Expiration, want)
			}
		})
	}
}

// A token names its cluster: the same signer and clock give another signature for another cluster.
func TestTokenNamesItsCluster(t *testing.T) {
	a, err := NewToken(context.Background(), staticConfig(t, ""), "a", fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewToken(context.Background(), staticConfig(t, ""), "b", fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := decode(t, a.Value).Query().Get("X-Amz-Signature"), decode(t, b.Value).Query().Get("X-Amz-Signature")
	if sa == "" || sa == sb {
		t.Errorf("signatures for clusters a and b: %q and %q", sa, sb)
	}
	if _, err := NewToken(context.Background(), staticConfig(t, ""), "", fixedClock); err == nil {
		t.Error("a token without a cluster name was signed")
	}
}

// sigV4Presigned is the signature of a presigned request, step by step from the SigV4 specification
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): canonical request, string to
// sign, signing key, signature. query is every parameter but X-Amz-Signature; headers are the signed ones.
func sigV4Presigned(query url.Values, headers map[string]string, region, service, secret string) string {
	// Canonical query string: keys sorted, keys and values URI-encoded (RFC 3986 unreserved characters kept).
	var keys []string
	for k := range query {
		if k != "X-Amz-Signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var params []string
	for _, k := range keys {
		params = append(params, uriEncode(k)+"="+uriEncode(query.Get(k)))
	}
	// Canonical headers: lower-case names, sorted, "name:value\n" each.
	var names []string
	for name := range headers {
		names = append(names, name)
	}
	slices.Sort(names)
	var canonicalHeaders strings.Builder
	for _, name := range names {
		canonicalHeaders.WriteString(name + ":" + strings.TrimSpace(headers[name]) + "\n")
	}
	emptyPayload := sha256.Sum256(nil)
	canonicalRequest := strings.Join([]string{
		"GET",
		"/",
		strings.Join(params, "&"),
		canonicalHeaders.String(),
		strings.Join(names, ";"),
		hex.EncodeToString(emptyPayload[:]),
	}, "\n")

	amzDate := query.Get("X-Amz-Date")
	day := amzDate[:8]
	scope := day + "/" + region + "/" + service + "/aws4_request"
	crHash := sha256.Sum256([]byte(canonicalRequest))
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])

	key := hmacSHA256([]byte("AWS4"+secret), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// uriEncode is SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX, upper-case hex.
func uriEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// An emulator's endpoint, from the configuration or the environment, is where the token points: the SDK's own
// resolution (AWS_ENDPOINT_URL_STS before AWS_ENDPOINT_URL), through config.LoadDefaultConfig with every other
// source pinned: static credentials, no shared files, no instance metadata.
func TestTokenEndpointOverride(t *testing.T) {
	cfg := staticConfig(t, "")
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:4566")
	tok, err := NewToken(context.Background(), cfg, "c", fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	if u := decode(t, tok.Value); u.Scheme != "http" || u.Host != "127.0.0.1:4566" {
		t.Errorf("BaseEndpoint: token URL %s", u)
	}

	for _, tc := range []struct {
		sts, all, want string
	}{
		{"http://127.0.0.1:5000", "http://127.0.0.1:4566", "127.0.0.1:5000"},
		{"", "http://127.0.0.1:4566", "127.0.0.1:4566"},
		{"", "", "sts.eu-west-1.amazonaws.com"},
	} {
		t.Setenv("AWS_ENDPOINT_URL_STS", tc.sts)
		t.Setenv("AWS_ENDPOINT_URL", tc.all)
		t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		t.Setenv("AWS_PROFILE", "")
		t.Setenv("AWS_CA_BUNDLE", "")
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
		cfg, err := config.LoadDefaultConfig(context.Background(),
			config.WithRegion("eu-west-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, "")),
			config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
			config.WithHTTPClient(noNetwork{t}))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := NewToken(context.Background(), cfg, "c", fixedClock)
		if err != nil {
			t.Fatal(err)
		}
		if u := decode(t, tok.Value); u.Host != tc.want {
			t.Errorf("AWS_ENDPOINT_URL_STS=%q AWS_ENDPOINT_URL=%q: token URL %s, want host %s", tc.sts, tc.all, u, tc.want)
		}
	}
}
