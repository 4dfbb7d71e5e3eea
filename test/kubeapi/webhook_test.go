package kubeapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	authnv1 "k8s.io/api/authentication/v1"
)

const (
	testCluster = "tapstack-dev"
	testRegion  = "us-east-1"
)

var (
	testNow   = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	userCreds = aws.Credentials{AccessKeyID: "AKIAADMIN0000000001", SecretAccessKey: "admin-secret"}
	roleCreds = aws.Credentials{AccessKeyID: "ASIAROLE00000000001", SecretAccessKey: "role-secret", SessionToken: "session-token/with+odd=chars"}
	viewer    = aws.Credentials{AccessKeyID: "AKIAVIEWER000000001", SecretAccessKey: "viewer-secret"}
	stranger  = aws.Credentials{AccessKeyID: "AKIASTRANGER0000001", SecretAccessKey: "stranger-secret"}
)

func testAuthenticator(t *testing.T, endpoint string) *Authenticator {
	t.Helper()
	secrets := map[string]string{}
	for _, c := range []aws.Credentials{userCreds, roleCreds, viewer, stranger} {
		secrets[c.AccessKeyID] = c.SecretAccessKey
	}
	a, err := NewAuthenticator(AuthOptions{
		Cluster:     testCluster,
		STSEndpoint: endpoint,
		Admins:      []string{"arn:aws:iam::123456789012:user/admin", "arn:aws:iam::123456789012:role/deployer"},
		Members:     []string{"arn:aws:iam::123456789012:user/viewer"},
		SecretKeys:  secrets,
		Now:         func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func token(t *testing.T, r TokenRequest) string {
	t.Helper()
	if r.Region == "" {
		r.Region = testRegion
	}
	if r.Cluster == "" {
		r.Cluster = testCluster
	}
	if r.SignedAt.IsZero() {
		r.SignedAt = testNow.Add(-time.Minute)
	}
	tok, err := PresignToken(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// presignedURL decodes a token that PresignToken made.
func presignedURL(t *testing.T, tok string) *url.URL {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, tokenPrefix))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// withQuery re-encodes tok with its query changed by edit (the signature no longer matters: the format checks
// come first).
func withQuery(t *testing.T, tok string, edit func(url.Values)) string {
	t.Helper()
	u := presignedURL(t, tok)
	q := u.Query()
	edit(q)
	u.RawQuery = q.Encode()
	return tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(u.String()))
}

func TestPresignTokenShape(t *testing.T) {
	const endpoint = "http://127.0.0.1:9"
	tok := token(t, TokenRequest{Credentials: userCreds, Endpoint: endpoint})
	if !strings.HasPrefix(tok, "k8s-aws-v1.") || strings.Contains(tok, "=") {
		t.Fatalf("token %q: want the k8s-aws-v1. prefix and unpadded base64url", tok)
	}
	u := presignedURL(t, tok)
	q := u.Query()
	want := map[string]string{
		"Action":              "GetCallerIdentity",
		"Version":             "2011-06-15",
		"X-Amz-Algorithm":     "AWS4-HMAC-SHA256",
		"X-Amz-Credential":    userCreds.AccessKeyID + "/20261201/us-east-1/sts/aws4_request",
		"X-Amz-Date":          "20261201T115900Z",
		"X-Amz-Expires":       "60",
		"X-Amz-SignedHeaders": "host;x-k8s-aws-id",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q (URL %s)", k, q.Get(k), v, u)
		}
	}
	if u.Scheme+"://"+u.Host != endpoint || q.Get("X-Amz-Signature") == "" {
		t.Errorf("URL %s: want the endpoint %s and a signature", u, endpoint)
	}
}

func TestTokenChecks(t *testing.T) {
	const endpoint = "http://127.0.0.1:9"
	a := testAuthenticator(t, endpoint)
	good := token(t, TokenRequest{Credentials: userCreds, Endpoint: endpoint})
	goodURL := presignedURL(t, good).String()
	padded := tokenPrefix + base64.URLEncoding.EncodeToString([]byte(goodURL+"&"))
	if !strings.HasSuffix(padded, "=") {
		t.Fatal("the padded case has no padding: change its URL's length")
	}
	otherHost := strings.Replace(goodURL, "127.0.0.1:9", "sts.amazonaws.com", 1)
	otherPort := strings.Replace(goodURL, "127.0.0.1:9", "127.0.0.1:10", 1)

	for _, c := range []struct {
		name, token, want string // want: a piece of the error; "" accepts the token
	}{
		{"user token", good, ""},
		{"assumed role token with a session token", token(t, TokenRequest{Credentials: roleCreds, Endpoint: endpoint}), ""},
		{"signed 14 minutes ago", token(t, TokenRequest{Credentials: userCreds, Endpoint: endpoint, SignedAt: testNow.Add(-14 * time.Minute)}), ""},
		{"empty", "", "prefix"},
		{"wrong prefix", "k8s-aws-v2." + strings.TrimPrefix(good, tokenPrefix), "prefix"},
		{"bare URL", goodURL, "prefix"},
		{"padded base64", padded, "base64url"},
		{"standard base64", tokenPrefix + base64.RawStdEncoding.EncodeToString([]byte(goodURL+"??>")), "base64url"},
		{"garbage", tokenPrefix + "!!!not-base64!!!", "base64url"},
		{"too large", tokenPrefix + strings.Repeat("A", maxTokenLen), "too large"},
		{"non-STS host", tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(otherHost)), "not for the STS endpoint"},
		{"other port", tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(otherPort)), "not for the STS endpoint"},
		{"https in place of http", tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(goodURL, "http://", "https://", 1))), "not for the STS endpoint"},
		{"other path", tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(goodURL, "127.0.0.1:9/", "127.0.0.1:9/x", 1))), "path"},
		{"wrong action", withQuery(t, good, func(q url.Values) { q.Set("Action", "AssumeRole") }), "not an STS GetCallerIdentity"},
		{"wrong version", withQuery(t, good, func(q url.Values) { q.Set("Version", "2010-01-01") }), "not an STS GetCallerIdentity"},
		{"no action", withQuery(t, good, func(q url.Values) { q.Del("Action") }), "not an STS GetCallerIdentity"},
		{"extra parameter", withQuery(t, good, func(q url.Values) { q.Set("RoleArn", "x") }), "not allowed"},
		{"repeated parameter", withQuery(t, good, func(q url.Values) { q.Add("Action", "GetCallerIdentity") }), "more than one value"},
		{"same parameter in two cases", withQuery(t, good, func(q url.Values) { q.Set("action", "GetCallerIdentity") }), "more than one value"},
		{"other algorithm", withQuery(t, good, func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256") }), "AWS4-HMAC-SHA256"},
		{"x-k8s-aws-id not signed", withQuery(t, good, func(q url.Values) { q.Set("X-Amz-SignedHeaders", "host") }), "x-k8s-aws-id header is not signed"},
		{"another header signed", withQuery(t, good, func(q url.Values) { q.Set("X-Amz-SignedHeaders", "host;x-k8s-aws-id;x-other") }), "would not be sent"},
		{"expires 61", withQuery(t, good, func(q url.Values) { q.Set("X-Amz-Expires", "61") }), "X-Amz-Expires"},
		{"expires 900", withQuery(t, good, func(q url.Values) { q.Set("X-Amz-Expires", "900") }), "X-Amz-Expires"},
		{"expires negative", withQuery(t, good, func(q url.Values) { q.Set("X-Amz-Expires", "-1") }), "X-Amz-Expires"},
		{"no expires", withQuery(t, good, func(q url.Values) { q.Del("X-Amz-Expires") }), "X-Amz-Expires"},
		{"no date", withQuery(t, good, func(q url.Values) { q.Del("X-Amz-Date") }), "X-Amz-Date"},
		{"expired (signed 16 minutes ago)", token(t, TokenRequest{Credentials: userCreds, Endpoint: endpoint, SignedAt: testNow.Add(-16 * time.Minute)}), "expired"},
		{"scope of another service", withQuery(t, good, func(q url.Values) {
			q.Set("X-Amz-Credential", userCreds.AccessKeyID+"/20261201/us-east-1/iam/aws4_request")
		}), "credential scope"},
		{"scope of another day", withQuery(t, good, func(q url.Values) {
			q.Set("X-Amz-Credential", userCreds.AccessKeyID+"/20261130/us-east-1/sts/aws4_request")
		}), "credential scope"},
		{"wrong cluster", token(t, TokenRequest{Credentials: userCreds, Endpoint: endpoint, Cluster: "tapstack-prod"}), "signature does not match"},
		{"wrong secret key", token(t, TokenRequest{Credentials: aws.Credentials{AccessKeyID: userCreds.AccessKeyID, SecretAccessKey: "guess"}, Endpoint: endpoint}), "signature does not match"},
		{"other session token", withQuery(t, token(t, TokenRequest{Credentials: roleCreds, Endpoint: endpoint}), func(q url.Values) { q.Set("X-Amz-Security-Token", "other") }), "signature does not match"},
		{"tampered signature", withQuery(t, good, func(q url.Values) { q.Set("X-Amz-Signature", strings.Repeat("0", 64)) }), "signature does not match"},
		{"unknown access key", token(t, TokenRequest{Credentials: aws.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"}, Endpoint: endpoint}), "unknown access key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.check(context.Background(), c.token)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted; want an error about %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q; want one about %q", err, c.want)
			}
		})
	}
}

func TestCanonicalARN(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"arn:aws:iam::123456789012:user/admin", "arn:aws:iam::123456789012:user/admin"},
		{"arn:aws:iam::123456789012:user/team/admin", "arn:aws:iam::123456789012:user/team/admin"},
		{"arn:aws:iam::123456789012:role/deployer", "arn:aws:iam::123456789012:role/deployer"},
		{"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"},
		{"arn:aws:sts::123456789012:assumed-role/deployer/ci-run", "arn:aws:iam::123456789012:role/deployer"},
		{"arn:aws:sts::123456789012:federated-user/bob", "arn:aws:sts::123456789012:federated-user/bob"},
		{"arn:aws:sts::123456789012:user/moto", ""}, // moto's caller for an unknown access key
		{"arn:aws:sts::123456789012:assumed-role/deployer", ""},
		{"arn:aws:iam::123456789012:group/admins", ""},
		{"arn:aws:s3:::bucket", ""},
		{"not an arn", ""},
	} {
		got, err := canonicalARN(c.in)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("canonicalARN(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// fakeSTS answers GetCallerIdentity like moto (XML) or STS (JSON to Accept: application/json) for the access key
// in the Authorization header, and records the requests.
type fakeSTS struct {
	json     bool
	callers  map[string][3]string // access key -> ARN, account, user ID
	requests []*http.Request
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests = append(f.requests, r)
	_, rest, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	key, _, _ := strings.Cut(rest, "/")
	c, ok := f.callers[key]
	if !ok || r.URL.Query().Get("Action") != "GetCallerIdentity" {
		http.Error(w, "<Error><Code>InvalidClientTokenId</Code></Error>", http.StatusForbidden)
		return
	}
	if f.json {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"GetCallerIdentityResponse": map[string]any{
			"GetCallerIdentityResult": map[string]string{"Arn": c[0], "Account": c[1], "UserId": c[2]}}})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
		`<UserId>` + c[2] + `</UserId><Account>` + c[1] + `</Account><Arn>` + c[0] + `</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`))
}

func TestAuthenticateMapsTheCaller(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		sts := &fakeSTS{json: asJSON, callers: map[string][3]string{
			userCreds.AccessKeyID: {"arn:aws:iam::123456789012:user/admin", "123456789012", "AIDAADMIN"},
			roleCreds.AccessKeyID: {"arn:aws:sts::123456789012:assumed-role/deployer/ci-run", "123456789012", "AROADEPLOYER:ci-run"},
			viewer.AccessKeyID:    {"arn:aws:iam::123456789012:user/viewer", "123456789012", "AIDAVIEWER"},
			stranger.AccessKeyID:  {"arn:aws:iam::123456789012:user/stranger", "123456789012", "AIDASTRANGER"},
		}}
		srv := httptest.NewServer(sts)
		a := testAuthenticator(t, srv.URL)
		for _, c := range []struct {
			name     string
			creds    aws.Credentials
			username string
			groups   []string
			session  string
			refused  string
		}{
			{name: "admin user", creds: userCreds, username: "arn:aws:iam::123456789012:user/admin", groups: []string{AdminGroup}},
			{name: "admin role, assumed", creds: roleCreds, username: "arn:aws:iam::123456789012:role/deployer", groups: []string{AdminGroup}, session: "ci-run"},
			{name: "member", creds: viewer, username: "arn:aws:iam::123456789012:user/viewer"},
			{name: "no access entry", creds: stranger, refused: "no access entry"},
		} {
			user, err := a.Authenticate(context.Background(), token(t, TokenRequest{Credentials: c.creds, Endpoint: srv.URL}))
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Errorf("json=%v %s: got %+v, %v; want refused for %q", asJSON, c.name, user, err, c.refused)
				}
				continue
			}
			if err != nil {
				t.Errorf("json=%v %s: %v", asJSON, c.name, err)
				continue
			}
			if user.Username != c.username || !slices.Equal(user.Groups, c.groups) || user.UID == "" ||
				!slices.Equal(user.Extra["sessionName"], []string{c.session}) ||
				!slices.Equal(user.Extra["accessKeyId"], []string{c.creds.AccessKeyID}) {
				t.Errorf("json=%v %s: got %+v; want user %s, groups %v, session %q", asJSON, c.name, user, c.username, c.groups, c.session)
			}
		}
		// The replay is the presigned URL itself, with the cluster header and the credential in header form.
		for _, r := range sts.requests {
			if r.Method != http.MethodGet || r.Header.Get(clusterIDHeader) != testCluster || r.URL.Query().Get("X-Amz-Signature") == "" ||
				!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=") {
				t.Errorf("json=%v: replay %s %s with headers %v", asJSON, r.Method, r.URL, r.Header)
			}
		}
		if len(sts.requests) != 4 {
			t.Errorf("json=%v: %d calls to STS, want 4", asJSON, len(sts.requests))
		}
		srv.Close()
	}
}

func TestWebhookAnswersTokenReviews(t *testing.T) {
	sts := &fakeSTS{callers: map[string][3]string{
		userCreds.AccessKeyID: {"arn:aws:iam::123456789012:user/admin", "123456789012", "AIDAADMIN"},
	}}
	srv := httptest.NewServer(sts)
	defer srv.Close()
	a := testAuthenticator(t, srv.URL)
	review := func(tok string) authnv1.TokenReview {
		t.Helper()
		body, _ := json.Marshal(authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: tok}})
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/authenticate", bytes.NewReader(body)))
		var out authnv1.TokenReview
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
		}
		return out
	}
	ok := review(token(t, TokenRequest{Credentials: userCreds, Endpoint: srv.URL}))
	if !ok.Status.Authenticated || ok.Status.User.Username != "arn:aws:iam::123456789012:user/admin" || ok.Status.Error != "" {
		t.Errorf("good token: %+v", ok.Status)
	}
	bad := review("k8s-aws-v1.garbage!")
	if bad.Status.Authenticated || bad.Status.Error == "" || bad.Status.User.Username != "" {
		t.Errorf("garbage token: %+v", bad.Status)
	}
}

func TestNewAuthenticatorRefusesNonIAMPrincipals(t *testing.T) {
	for _, admins := range [][]string{
		{"arn:aws:sts::123456789012:assumed-role/deployer/session"},
		{"deployer"},
	} {
		if _, err := NewAuthenticator(AuthOptions{Cluster: "c", STSEndpoint: "http://127.0.0.1:9", Admins: admins}); err == nil {
			t.Errorf("admins %v accepted", admins)
		}
	}
}
